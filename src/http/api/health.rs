//! `GET /healthz` and `GET /readyz`: what a monitor or an orchestrator asks.
//!
//! - `/healthz` is healthy only when comments can be stored: 200
//!   `{"status": "ok", "writable": true}`, or 503 `{"status": "degraded",
//!   "writable": false, "problem": "no space left on device"}` while the
//!   store refuses writes (a full disk, a read-only file system).
//! - `/readyz` is ready while pages can be read: 200 `{"status": "ready",
//!   "writable": …}` even while writes are refused (readers still see the
//!   comments), 503 `{"status": "not_ready", …}` only while the database is
//!   being reopened.

use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::{Method, StatusCode};
use warp::reply::{Reply, Response};

use crate::http::{AppState, endpoint, with_state};

/// The two health routes.
pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    let health = warp::path!("healthz")
        .and(warp::get())
        .and(with_state(state.clone()))
        .map(|state: AppState| health_get(&state));
    let ready = warp::path!("readyz")
        .and(warp::get())
        .and(with_state(state))
        .map(|state: AppState| ready_get(&state));
    endpoint(Method::GET, "/healthz", health)
        .or(endpoint(Method::GET, "/readyz", ready))
        .unify()
        .boxed()
}

/// GET /healthz
///
/// 200 `{"status": "ok", "writable": true}`; 503 `{"status": "degraded",
/// "writable": false, "problem"}` while comments cannot be stored.
fn health_get(state: &AppState) -> Response {
    let health = state.store().health();
    let (status, word) = if health.writable {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "degraded")
    };
    answer(status, word, health)
}

/// GET /readyz
///
/// 200 `{"status": "ready", "writable"}` while pages can be read (also
/// while writes are refused); 503 `{"status": "not_ready", "writable":
/// false, "problem"}` while the database is being reopened.
fn ready_get(state: &AppState) -> Response {
    let health = state.store().health();
    let (status, word) = if health.readable {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not_ready")
    };
    answer(status, word, health)
}

fn answer(status: StatusCode, word: &str, health: crate::domain::ports::StoreHealth) -> Response {
    let mut body = serde_json::json!({ "status": word, "writable": health.writable });
    if let Some(problem) = health.problem {
        body["problem"] = problem.into();
    }
    let mut response = warp::reply::with_status(warp::reply::json(&body), status).into_response();
    response.headers_mut().insert(
        warp::http::header::CACHE_CONTROL,
        warp::http::HeaderValue::from_static("no-store"),
    );
    response
}

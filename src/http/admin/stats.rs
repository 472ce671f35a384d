//! `GET /admin/stats`: the counts the admin page's tabs show.

use warp::filters::BoxedFilter;
use warp::http::Method;
use warp::reply::Response;
use warp::{Filter, Reply};

use crate::domain::Status;
use crate::http::auth::{Scope, guard};
use crate::http::{AppState, endpoint, with_state};

/// The stats route.
pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    endpoint(
        Method::GET,
        "/admin/stats",
        warp::path!("admin" / "stats")
            .and(warp::get())
            .and(guard(state.clone(), Scope::Admin))
            .and(with_state(state))
            .map(|state: AppState| stats_get(&state)),
    )
}

/// GET /admin/stats
///
/// 200 with `{"pending": n, "approved": n, "rejected": n, "spam": n,
/// "site": "https://blog.example" | null}`: the counts come from the
/// store's counters; `site` is the first allowed origin, which the admin
/// page puts before a comment's page path to link to it.
fn stats_get(state: &AppState) -> Response {
    let mut stats = serde_json::Map::new();
    for status in Status::ALL {
        stats.insert(
            status.as_str().to_owned(),
            state.store().status_count(status).into(),
        );
    }
    stats.insert(
        "site".to_owned(),
        state.config.allowed_origins.first().cloned().into(),
    );
    warp::reply::json(&stats).into_response()
}

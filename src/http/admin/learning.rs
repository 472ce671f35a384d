//! `GET /admin/learning`: what the learning filter has learned, for the
//! admin page's learning line.

use warp::filters::BoxedFilter;
use warp::http::Method;
use warp::reply::Response;
use warp::{Filter, Reply};

use crate::http::auth::{Scope, guard};
use crate::http::{ApiError, AppState, endpoint, with_state};

/// The learning route.
pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    endpoint(
        Method::GET,
        "/admin/learning",
        warp::path!("admin" / "learning")
            .and(warp::get())
            .and(guard(state.clone(), Scope::Admin))
            .and(with_state(state))
            .then(learning_get),
    )
}

/// GET /admin/learning
///
/// 200 with `{"enabled", "learned": {"spam", "ham"}, "trained": {"spam",
/// "ham"}, "seed": {"spam", "ham"}, "bins_on_its_own", "model": {"features",
/// "cap", "bytes"}, "agreement": {"decisions", "agreed", "rate"}}`:
/// decisions learned (every ledger entry; `trained` of them from files),
/// the model's size, and how often the learned verdict agreed with the
/// author over the last 200 decisions (`rate` is `null` before the first).
/// Hashes and counts only: no word, name or domain. 500 when the model
/// cannot be loaded.
async fn learning_get(state: AppState) -> Result<Response, ApiError> {
    let stats = state.moderator.learning_stats().await?;
    Ok(warp::reply::json(&stats).into_response())
}

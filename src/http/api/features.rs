//! `GET /api/config`: which optional features are on, so the embed offers
//! only what works (the mail boxes need SMTP; editing needs a window).

use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::{HeaderValue, Method, header};
use warp::reply::{Reply, Response};

use crate::http::{AppState, endpoint, read_limited, with_state};

/// The route under `/api`, without CORS.
pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    let config = warp::path!("config")
        .and(warp::get())
        .and(read_limited(state.clone()))
        .and(with_state(state))
        .map(config_get);
    endpoint(Method::GET, "/api/config", config)
}

/// GET /api/config
///
/// 200 with `{"reply_notifications", "approval_notifications",
/// "edit_window_secs", "feeds"}`; cached for five minutes.
fn config_get(state: AppState) -> Response {
    let mail = state.config.reader_mail().enabled;
    let body = serde_json::json!({
        "reply_notifications": mail,
        "approval_notifications": mail,
        "edit_window_secs": state.config.edit_window().as_secs(),
        "feeds": true,
    });
    let mut response = warp::reply::json(&body).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

//! The public API: what the embed script and plain HTML forms call, and
//! the embed's own files.

mod body;
mod comments;
mod edit;
mod embed;
mod features;
mod feed;
mod health;
pub mod reader_pages;

use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::Method;
use warp::reply::Response;

use super::AppState;

/// Every public route; the `/api` ones with CORS.
pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    let health = health::routes(state.clone());
    // Every refusal of an endpoint is answered inside it (see `endpoint`), so
    // a 413, 415 or 429 carries the CORS headers too and the embed can read
    // it (and its Retry-After); a path no route takes is answered here,
    // inside CORS, for the same reason.
    let api = warp::path("api")
        .and(
            comments::routes(state.clone())
                .or(edit::routes(state.clone()))
                .unify()
                .or(features::routes(state.clone()))
                .unify()
                .recover(super::error::handle_rejection)
                .unify(),
        )
        .with(cors(&state.config.allowed_origins))
        .map(warp::Reply::into_response);
    api.or(health)
        .unify()
        .or(embed::routes())
        .unify()
        .or(feed::routes(state.clone()))
        .unify()
        .or(reader_pages::routes(state))
        .unify()
        .boxed()
}

/// CORS for the public API: the configured origins, or any when none are.
fn cors(allowed_origins: &[String]) -> warp::cors::Builder {
    let builder = warp::cors()
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
        // `authorization` carries a writer's edit token (never a cookie:
        // credentials stay omitted).
        .allow_headers(["content-type", "authorization"])
        .expose_headers(["retry-after", "location", "etag"])
        .max_age(86_400);
    if allowed_origins.is_empty() {
        builder.allow_any_origin()
    } else {
        builder.allow_origins(allowed_origins.iter().map(String::as_str))
    }
}

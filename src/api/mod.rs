//! The public API: what the embed script and plain HTML forms call.

mod body;
pub mod cache;
mod comments;
mod views;

use std::convert::Infallible;
use std::net::IpAddr;

use warp::Filter;
use warp::http::Method;

use crate::server::PeerAddr;
use crate::state::AppState;

pub use body::BodyKind;
pub use views::{AdminComment, PublicComment, format_time};

/// Largest body accepted, in bytes; larger ones get 413 before being read.
pub const MAX_BODY_BYTES: u64 = 64 * 1024;

/// Every public route, with CORS.
pub fn routes(
    state: AppState,
) -> impl Filter<Extract = (impl warp::Reply,), Error = warp::Rejection> + Clone {
    let health = warp::path!("healthz")
        .and(warp::get())
        .map(|| warp::reply::json(&serde_json::json!({ "status": "ok" })));
    let api = comments::routes(state.clone()).with(cors(&state.config.allowed_origins));
    api.or(health)
}

/// CORS for the public API: the configured origins, or any when none are.
fn cors(allowed_origins: &[String]) -> warp::cors::Builder {
    let builder = warp::cors()
        .allow_methods([Method::GET, Method::POST])
        .allow_headers(["content-type"])
        .expose_headers(["retry-after", "location", "etag"])
        .max_age(86_400);
    if allowed_origins.is_empty() {
        builder.allow_any_origin()
    } else {
        builder.allow_origins(allowed_origins.iter().map(String::as_str))
    }
}

/// Injects the shared state.
pub fn with_state(
    state: AppState,
) -> impl Filter<Extract = (AppState,), Error = Infallible> + Clone {
    warp::any().map(move || state.clone())
}

/// The address of the TCP peer: from our accept loop, or from `warp::test`.
pub fn peer_ip() -> impl Filter<Extract = (Option<IpAddr>,), Error = Infallible> + Clone {
    warp::ext::optional::<PeerAddr>()
        .and(warp::addr::remote())
        .map(
            |peer: Option<PeerAddr>, remote: Option<std::net::SocketAddr>| {
                peer.map(|PeerAddr(addr)| addr)
                    .or(remote)
                    .map(|addr| addr.ip())
            },
        )
}

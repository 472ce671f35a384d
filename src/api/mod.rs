//! The public API: what the embed script and plain HTML forms call.

mod body;
pub mod cache;
mod comments;
pub mod embed;
mod views;

use std::convert::Infallible;
use std::net::IpAddr;

use warp::Filter;
use warp::http::Method;

use crate::server::PeerAddr;
use crate::state::AppState;

pub use body::BodyKind;
pub use views::{AdminComment, DecisionView, PublicComment, format_time};

/// Largest body accepted, in bytes; larger ones get 413 before being read.
pub const MAX_BODY_BYTES: u64 = 64 * 1024;

/// Every public route, with CORS.
pub fn routes(
    state: AppState,
) -> impl Filter<Extract = (impl warp::Reply,), Error = warp::Rejection> + Clone {
    let health = warp::path!("healthz")
        .and(warp::get())
        .map(|| warp::reply::json(&serde_json::json!({ "status": "ok" })));
    // Errors are turned into responses inside the CORS wrapper, so a 413,
    // 415 or 429 from a filter carries the CORS headers too and the embed
    // can read it (and its Retry-After).
    let api = warp::path("api")
        .and(comments::routes(state.clone()).recover(crate::error::handle_rejection))
        .with(cors(&state.config.allowed_origins));
    api.or(health).or(embed::routes())
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

/// The client address: the peer, or what a trusted proxy says it forwarded
/// (see [`crate::client_addr`]).
pub fn client_ip(
    state: AppState,
) -> impl Filter<Extract = (Option<IpAddr>,), Error = Infallible> + Clone {
    peer_ip().and(warp::header::headers_cloned()).map(
        move |peer: Option<IpAddr>, headers: warp::http::HeaderMap| {
            let values = |name: &str| -> Vec<String> {
                headers
                    .get_all(name)
                    .iter()
                    .filter_map(|v| v.to_str().ok().map(str::to_owned))
                    .collect()
            };
            let forwarded = values("forwarded");
            let x_forwarded_for = values("x-forwarded-for");
            state.client_addr.resolve(
                peer,
                &forwarded.iter().map(String::as_str).collect::<Vec<_>>(),
                &x_forwarded_for
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>(),
            )
        },
    )
}

/// Which limit a route counts against.
#[derive(Debug, Clone, Copy)]
pub enum Limit {
    /// Posting comments.
    Post,
    /// Public reads.
    Read,
}

/// Resolves the client address and takes one cell of `limit` for it; 429
/// with `Retry-After` when the address is over its limit. Runs before the
/// body is read, so a refused request costs almost nothing and stores
/// nothing.
pub fn rate_limited(
    state: AppState,
    limit: Limit,
) -> impl Filter<Extract = (Option<IpAddr>,), Error = warp::Rejection> + Clone {
    client_ip(state.clone()).and_then(move |ip: Option<IpAddr>| {
        let verdict = match (&state.limits, ip) {
            (Some(limits), Some(ip)) => match limit {
                Limit::Post => limits.post.check(ip),
                Limit::Read => limits.read.check(ip),
            },
            // In-process tests without an address, or limits turned off.
            _ => Ok(()),
        };
        if verdict.is_err() {
            state.metrics.rate_limited(match limit {
                Limit::Post => "post",
                Limit::Read => "read",
            });
        }
        async move {
            match verdict {
                Ok(()) => Ok(ip),
                Err(retry_after) => {
                    Err(warp::reject::custom(crate::error::ApiError::RateLimited {
                        retry_after,
                    }))
                }
            }
        }
    })
}

/// [`rate_limited`] for public reads, which need no client address.
pub fn read_limited(state: AppState) -> impl Filter<Extract = (), Error = warp::Rejection> + Clone {
    rate_limited(state, Limit::Read).map(|_| ()).untuple_one()
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

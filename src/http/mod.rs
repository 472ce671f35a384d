//! The HTTP shell: warp routes around the core. [`api`] holds the public
//! routes (the embed, plain forms), [`admin`] the author's; they sit side
//! by side and share only what is here:
//!
//! - [`routes`], the one root: every area, the one rejection handler, and a
//!   log line plus metrics per request, labelled with its route template;
//! - [`endpoint`], how an area mounts a route (and names it);
//! - the shared filters: [`with_state`], [`json_body`], [`client_ip`],
//!   [`post_limited`] / [`read_limited`];
//! - [`server`], our accept loop with timeouts; [`error`], `ApiError`;
//!   [`auth`], the guard of every admin surface; [`html`], server-made
//!   pages; [`asset`], compiled-in
//!   files with ETags; [`views`], comments as JSON; [`cache`], the page cache;
//!   [`limits`] and [`client_addr`], rate limits per client address.

pub mod admin;
pub mod api;
pub mod asset;
pub mod auth;
pub mod cache;
pub mod client_addr;
pub mod error;
pub mod html;
pub mod limits;
pub mod metrics;
pub mod openapi;
pub mod server;
mod state;
pub mod views;

use std::convert::Infallible;
use std::net::IpAddr;
use std::time::Instant;

use serde::de::DeserializeOwned;
use warp::filters::BoxedFilter;
use warp::http::Method;
use warp::path::FullPath;
use warp::reply::{Reply, Response};
use warp::{Filter, Rejection};

pub use error::ApiError;
pub use state::AppState;

use metrics::{Metrics, RouteLabel};
use server::PeerAddr;

/// Largest body accepted, in bytes; larger ones get 413 before being read.
pub const MAX_BODY_BYTES: u64 = 64 * 1024;

/// Every route, with JSON errors, a log line and metrics per request: the
/// one root.
pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    let counters = state.metrics.clone();
    let areas = api::routes(state.clone())
        .or(admin::routes(state.clone()))
        .unify()
        .or(metrics::routes(state))
        .unify()
        .or(openapi::routes())
        .unify()
        .recover(error::handle_rejection)
        .unify();
    warp::any()
        .map(Instant::now)
        .and(warp::method())
        .and(warp::path::full())
        .and(areas)
        .map(
            move |start: Instant, method: Method, path: FullPath, response: Response| {
                log_request(&counters, start, &method, path.as_str(), &response);
                response
            },
        )
        .boxed()
}

/// Mounts one endpoint: `method` and `template`, its path as the API
/// documents it (`/admin/comments/{id}`), name it in the route table
/// ([`mounted_routes`], which the OpenAPI test compares with
/// `openapi.json`) and label its log lines and metrics, set here, where the
/// route is defined, so that no route goes unnamed or undocumented.
///
/// `route` must start with the endpoint's path and `method` filters. A
/// request that fails those passes on to the next route; any other refusal
/// (a missing token, a bad body, a rate limit) is this endpoint's answer,
/// and is answered here, with the label.
pub fn endpoint<F, R>(method: Method, template: &'static str, route: F) -> BoxedFilter<(Response,)>
where
    F: Filter<Extract = (R,), Error = Rejection> + Clone + Send + Sync + 'static,
    R: Reply + 'static,
{
    ROUTE_TABLE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert((method.as_str().to_owned(), template));
    route
        .map(Reply::into_response)
        .or_else(|rejection: Rejection| async move {
            if rejection.is_not_found()
                || rejection.find::<warp::reject::MethodNotAllowed>().is_some()
            {
                Err(rejection)
            } else {
                Ok((error::answer(&rejection),))
            }
        })
        .map(move |mut response: Response| {
            response.extensions_mut().insert(RouteLabel(template));
            response
        })
        .boxed()
}

/// Every `(method, template)` mounted by [`endpoint`] in this process.
static ROUTE_TABLE: std::sync::Mutex<std::collections::BTreeSet<(String, &'static str)>> =
    std::sync::Mutex::new(std::collections::BTreeSet::new());

/// The route table: every `(method, template)` that [`endpoint`] mounted
/// (after [`routes`] was built), sorted.
pub fn mounted_routes() -> Vec<(String, &'static str)> {
    ROUTE_TABLE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
        .cloned()
        .collect()
}

/// One structured line per request: method, route template, path, status,
/// latency, also counted in the metrics. Never the query string, the body
/// or a header, which may carry private data.
fn log_request(
    metrics: &Metrics,
    start: Instant,
    method: &Method,
    path: &str,
    response: &Response,
) {
    let elapsed = start.elapsed();
    let route = response
        .extensions()
        .get::<RouteLabel>()
        .map_or_else(|| metrics::unmatched(path), |label| label.0);
    let status = response.status().as_u16();
    metrics.request(route, method.as_str(), status, elapsed);
    tracing::info!(
        method = %method,
        route,
        // Decision and reader links carry credentials: keep them out of the log.
        path = if path.starts_with("/admin/decide/") {
            "/admin/decide/[token]"
        } else if path.starts_with(api::reader_pages::PREFIX) {
            "/notifications/[token]"
        } else {
            path
        },
        status,
        latency_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
        "request"
    );
}

/// Injects the shared state.
pub fn with_state(
    state: AppState,
) -> impl Filter<Extract = (AppState,), Error = Infallible> + Clone {
    warp::any().map(move || state.clone())
}

/// A JSON body of at most [`MAX_BODY_BYTES`], decoded into `T`; 400 naming
/// the expected shape (`shape`, e.g. `{"comment": "..."}`) otherwise.
pub fn json_body<T: DeserializeOwned + Send>(
    shape: &'static str,
) -> impl Filter<Extract = (T,), Error = Rejection> + Clone {
    warp::body::content_length_limit(MAX_BODY_BYTES)
        .and(warp::body::bytes())
        .and_then(move |body: bytes::Bytes| async move {
            serde_json::from_slice::<T>(&body).map_err(|e| {
                warp::reject::custom(ApiError::BadRequest(format!("expected {shape}: {e}")))
            })
        })
}

/// The client address: the peer, or what a trusted proxy says it forwarded
/// (see [`client_addr`]).
pub fn client_ip(
    state: AppState,
) -> impl Filter<Extract = (Option<IpAddr>,), Error = Infallible> + Clone {
    peer_ip().and(warp::header::headers_cloned()).map(
        move |peer: Option<IpAddr>, headers: warp::http::HeaderMap| {
            let values = |name: &str| -> Vec<&str> {
                headers
                    .get_all(name)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .collect()
            };
            state
                .client_addr
                .resolve(peer, &values("forwarded"), &values("x-forwarded-for"))
        },
    )
}

/// The address of the TCP peer: from our accept loop, or from `warp::test`.
fn peer_ip() -> impl Filter<Extract = (Option<IpAddr>,), Error = Infallible> + Clone {
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

/// Resolves the client address and takes one cell of the posting limit for
/// it; 429 with `Retry-After` when the address is over it. Runs before the
/// body is read, so a refused request costs almost nothing and stores
/// nothing.
pub fn post_limited(
    state: AppState,
) -> impl Filter<Extract = (Option<IpAddr>,), Error = Rejection> + Clone {
    limited(state, "post", |limits, ip| limits.post.check(ip))
}

/// [`post_limited`] for public reads, which need no client address after.
pub fn read_limited(state: AppState) -> impl Filter<Extract = (), Error = Rejection> + Clone {
    limited(state, "read", |limits, ip| limits.read.check(ip))
        .map(|_| ())
        .untuple_one()
}

fn limited(
    state: AppState,
    kind: &'static str,
    take: fn(&limits::RateLimits, IpAddr) -> Result<(), std::time::Duration>,
) -> impl Filter<Extract = (Option<IpAddr>,), Error = Rejection> + Clone {
    client_ip(state.clone()).and_then(move |ip: Option<IpAddr>| {
        let verdict = match (&state.limits, ip) {
            (Some(limits), Some(ip)) => take(limits, ip),
            // In-process tests without an address, or limits turned off.
            _ => Ok(()),
        };
        if verdict.is_err() {
            state.metrics.rate_limited(kind);
        }
        async move {
            verdict
                .map(|()| ip)
                .map_err(|retry_after| warp::reject::custom(ApiError::RateLimited { retry_after }))
        }
    })
}

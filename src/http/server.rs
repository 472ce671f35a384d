//! Our own accept loop around warp's filter, because warp's has no
//! timeouts: a client that sends its headers or body slowly, or keeps an
//! idle connection open, is cut off after the configured timeout, so a few
//! hundred idle sockets cannot exhaust the server.
//!
//! Since warp's `addr::remote()` only works with warp's own loop, the peer
//! address travels to the filters as a [`PeerAddr`] request extension.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tower_service::Service;
use warp::Reply;
use warp::filters::BoxedFilter;
use warp::reply::Response;

use super::ApiError;

/// The TCP peer of a request, inserted by [`serve`].
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

/// How long requests in flight may take to finish after a stop signal.
pub const DRAIN_DEADLINE: Duration = Duration::from_secs(10);

/// Most header bytes a request may send (hyper's default is ~400 KiB).
const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Serves `routes` on `listener` until `shutdown` resolves, then stops
/// accepting, lets requests in flight finish (at most [`DRAIN_DEADLINE`]),
/// and returns.
///
/// `timeout` bounds the time to receive a request's headers (which also
/// closes idle keep-alive connections) and the time to handle a request
/// including reading its body (a slow body gets 408).
pub async fn serve(
    listener: TcpListener,
    routes: BoxedFilter<(Response,)>,
    timeout: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // EMFILE and friends: wait for descriptors to free up
                    // instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = warp::service(routes.clone());
        let handler = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(PeerAddr(peer));
            let mut service = service.clone();
            async move {
                let response = match tokio::time::timeout(timeout, service.call(request)).await {
                    Ok(Ok(response)) => response,
                    Ok(Err(never)) => match never {},
                    Err(_) => ApiError::RequestTimeout.into_response(),
                };
                Ok::<_, std::convert::Infallible>(response)
            }
        });
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(timeout)
            .max_buf_size(MAX_HEADER_BYTES)
            .serve_connection(TokioIo::new(stream), handler);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("all requests finished"),
        () = tokio::time::sleep(DRAIN_DEADLINE) => tracing::warn!("requests still running after the drain deadline"),
    }
}

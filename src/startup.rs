//! Building the application from its configuration and running it until a
//! stop signal: the composition root of the service.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::reply::{Reply, Response};

use crate::config::Config;
use crate::metrics::{self, Metrics};
use crate::state::{self, AppState};
use crate::{admin, api, error, server};

/// Why the service could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Secrets or database.
    #[error(transparent)]
    State(#[from] state::Error),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The final flush failed.
    #[error("cannot flush the database at shutdown: {0}")]
    Flush(#[from] crate::store::Error),
}

/// A built application with its socket bound, ready to run.
#[derive(Debug)]
pub struct App {
    state: AppState,
    listener: TcpListener,
    addr: SocketAddr,
}

impl App {
    /// Opens the data directory and binds the listen address.
    ///
    /// # Errors
    /// [`Error`] naming what failed.
    pub async fn build(config: Config) -> Result<App, Error> {
        let listen = config.listen.clone();
        let (state, token) = AppState::open(config)?;
        if token.generated {
            // Printed once, at the start that created it (DESIGN.md); it is
            // kept in the data directory, mode 0600, for later starts.
            tracing::info!(
                admin_token = %token.token,
                file = %state.config.data_dir.join(crate::secrets::ADMIN_TOKEN_FILE).display(),
                "generated an admin token; it is shown only this once"
            );
        }
        let listener = TcpListener::bind(&listen)
            .await
            .map_err(|source| Error::Bind {
                addr: listen.clone(),
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| Error::Bind {
            addr: listen,
            source,
        })?;
        Ok(App {
            state,
            listener,
            addr,
        })
    }

    /// The bound address (useful with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The shared state.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, lets requests finish, flushes.
    ///
    /// # Errors
    /// [`Error::Flush`] when the final flush fails.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
        tracing::info!(addr = %self.addr, "listening");
        let timeout = Duration::from_secs(self.state.config.request_timeout_secs);
        let reloader = tokio::spawn(reload_rules_on_sighup(self.state.clone()));
        let pruner = self.state.limits.clone().map(|limits| {
            tokio::spawn(async move {
                let mut every = tokio::time::interval(crate::ratelimit::PRUNE_INTERVAL);
                loop {
                    every.tick().await;
                    limits.prune();
                }
            })
        });
        let notifier = self.spawn_notifier();
        server::serve(self.listener, routes(self.state.clone()), timeout, shutdown).await;
        reloader.abort();
        if let Some(pruner) = pruner {
            pruner.abort();
        }
        if let Some(notifier) = notifier {
            // Notifications still queued are dropped: the comments are stored
            // and wait in the queue of the admin page.
            notifier.abort();
        }
        self.state.store.flush().await?;
        tracing::info!("stopped; database flushed");
        Ok(())
    }
}

impl App {
    /// Starts the notification worker when email or a webhook is set up.
    fn spawn_notifier(&self) -> Option<tokio::task::JoinHandle<()>> {
        match self
            .state
            .notifier
            .worker(self.state.config.clone(), self.state.privacy.clone())
        {
            Ok(Some(worker)) => Some(tokio::spawn(worker.run())),
            Ok(None) => None,
            Err(e) => {
                tracing::error!(error = %e, "notifications are off");
                None
            }
        }
    }
}

/// Every route, with JSON errors and request logs; the one root.
pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    let counters = state.metrics.clone();
    api::routes(state.clone())
        .or(admin::routes(state.clone()))
        .or(metrics::routes(state))
        .recover(error::handle_rejection)
        .with(warp::log::custom(move |info| log_request(&counters, info)))
        .map(Reply::into_response)
        .boxed()
}

/// One structured line per request: method, route, path, status, latency,
/// also counted in the metrics. Never the query string, the body or a
/// header, which may carry private data.
fn log_request(metrics: &Metrics, info: warp::log::Info<'_>) {
    let route = metrics::route_label(info.path());
    metrics.request(
        route,
        info.method().as_str(),
        info.status().as_u16(),
        info.elapsed(),
    );
    tracing::info!(
        method = %info.method(),
        route,
        // A decision link's token is a credential: keep it out of the log.
        path = if info.path().starts_with("/admin/decide/") {
            "/admin/decide/[token]"
        } else {
            info.path()
        },
        status = info.status().as_u16(),
        latency_us = u64::try_from(info.elapsed().as_micros()).unwrap_or(u64::MAX),
        "request"
    );
}

/// Reloads the spam rules on every SIGHUP; a bad file keeps the old rules
/// (and the log says why).
async fn reload_rules_on_sighup(state: AppState) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangup = match signal(SignalKind::hangup()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot listen for SIGHUP; reload with POST /admin/rules/reload");
            return;
        }
    };
    while hangup.recv().await.is_some() {
        tracing::info!("SIGHUP: reloading the spam rules");
        // The outcome is logged by reload_rules.
        let _ = state.reload_rules();
    }
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot listen for SIGTERM");
            std::future::pending::<()>().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: stopping"),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: stopping"),
    }
}

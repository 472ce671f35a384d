//! The composition root: builds the core and its shells from the
//! configuration and runs the service until a stop signal. The one place
//! that knows every module; nothing below it knows it.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::config::Config;
use crate::domain::moderation::Moderator;
use crate::domain::ports::{Notifications, StoreError};
use crate::domain::privacy::Privacy;
use crate::domain::rules::{self, RuleSet};
use crate::http::auth::{TokenDigest, Tokens};
use crate::http::{self, AppState};
use crate::notify::Notifier;
use crate::secrets;
use crate::store::SledStore;

/// Why the service could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A secret file could not be read or created.
    #[error(transparent)]
    Secrets(#[from] secrets::Error),
    /// The database could not be opened, or its final flush failed.
    #[error("database: {0}")]
    Store(#[source] StoreError),
    /// A rule file is invalid.
    #[error("spam rules: {0}")]
    Rules(#[from] rules::Error),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// The cause.
        source: std::io::Error,
    },
}

/// Everything a running service is made of, before it listens.
#[derive(Debug)]
pub struct Parts {
    /// The HTTP shell's state (which holds the core).
    pub state: AppState,
    /// Wakes the notification worker, which [`App::run_until`] starts.
    pub notifier: Notifier,
    /// The admin token, and whether this start generated it.
    pub admin_token: secrets::TokenFile,
}

/// Creates the data directory and its secrets if needed, opens the
/// database, and builds the core and the HTTP state.
///
/// # Errors
/// [`Error`] when a secret, the database or the rules cannot be opened.
pub fn build(config: Config) -> Result<Parts, Error> {
    secrets::ensure_data_dir(&config.data_dir)?;
    let admin_token = secrets::admin_token(&config.data_dir, config.admin_token.as_deref())?;
    let master = secrets::master_key(&config.data_dir)?;
    let rules = RuleSet::load_dir(&config.rules_dir)?;
    let store = SledStore::open(&config.db_path(), config.cache_capacity_mb * 1024 * 1024)
        .map_err(Error::Store)?;
    let privacy = Arc::new(Privacy::new(&master));
    let notifier = Notifier::new();
    let moderator = Moderator::new(
        Arc::new(store),
        Arc::new(notifier.clone()) as Arc<dyn Notifications>,
        privacy,
        rules,
        config.moderation_settings(),
    );
    let tokens = Tokens {
        admin: TokenDigest::new(&admin_token.token),
        metrics: config.metrics_token.as_deref().map(TokenDigest::new),
    };
    let state = AppState::new(config, Arc::new(moderator), tokens);
    Ok(Parts {
        state,
        notifier,
        admin_token,
    })
}

/// A built application with its socket bound, ready to run.
#[derive(Debug)]
pub struct App {
    parts: Parts,
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
        let parts = build(config)?;
        if parts.admin_token.generated {
            // Printed once, at the start that created it; it is kept in the
            // data directory, mode 0600, for later starts.
            tracing::info!(
                admin_token = %parts.admin_token.token,
                file = %parts.state.config.data_dir.join(secrets::ADMIN_TOKEN_FILE).display(),
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
            parts,
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
        &self.parts.state
    }

    /// Serves until `shutdown` resolves, lets requests finish, flushes.
    ///
    /// # Errors
    /// [`Error::Store`] when the final flush fails.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
        let state = self.parts.state;
        tracing::info!(addr = %self.addr, "listening");
        let timeout = Duration::from_secs(state.config.request_timeout_secs);
        let reloader = tokio::spawn(reload_rules_on_sighup(state.clone()));
        let pruner = state.limits.clone().map(|limits| {
            tokio::spawn(async move {
                let mut every = tokio::time::interval(http::limits::PRUNE_INTERVAL);
                loop {
                    every.tick().await;
                    limits.prune();
                }
            })
        });
        let expirer = tokio::spawn(expire_unconfirmed_requests(state.clone()));
        let notifier = match self.parts.notifier.worker(
            &state.config,
            state.store().clone(),
            state.moderator.privacy().clone(),
            state.moderator.links().clone(),
        ) {
            Ok(Some(worker)) => Some(tokio::spawn(worker.run())),
            Ok(None) => None,
            Err(e) => {
                tracing::error!(error = %e, "notifications are off");
                None
            }
        };
        http::server::serve(
            self.listener,
            http::routes(state.clone()),
            timeout,
            shutdown,
        )
        .await;
        reloader.abort();
        expirer.abort();
        if let Some(pruner) = pruner {
            pruner.abort();
        }
        if let Some(notifier) = notifier {
            // Jobs not sent yet stay in the outbox: the next start sends them.
            notifier.abort();
        }
        state.store().flush().await.map_err(Error::Store)?;
        tracing::info!("stopped; database flushed");
        Ok(())
    }
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
        let reloaded = state.moderator.reload_rules();
        state.metrics.rules_reloaded(reloaded.is_ok());
    }
}

/// Forgets readers' unconfirmed notification requests once they expired
/// (issue 13), every hour.
async fn expire_unconfirmed_requests(state: AppState) {
    let mut every = tokio::time::interval(Duration::from_secs(3600));
    loop {
        every.tick().await;
        let subscriptions = state.moderator.subscriptions();
        if let Err(e) = subscriptions.expire(crate::domain::now_millis()).await {
            tracing::error!(error = %e, "cannot expire unconfirmed notification requests");
        }
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

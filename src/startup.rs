//! The composition root: builds the core and its shells from the
//! configuration and runs the service until a stop signal. The one place
//! that knows every module; nothing below it knows it.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::config::Config;
use crate::domain::moderation::Moderator;
use crate::domain::ports::{NoNotifications, Notifications, Store, StoreError};
use crate::domain::privacy::Privacy;
use crate::domain::rules::{self, RuleSet};
use crate::http::auth::{TokenDigest, Tokens};
use crate::http::{self, AppState};
use crate::notify::Notifier;
use crate::secrets;
use crate::store::postgres::{self, PgStore};
use crate::store::{ReopeningStore, SealCheck};

/// Why the service could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A secret file could not be read or created.
    #[error(transparent)]
    Secrets(#[from] secrets::Error),
    /// The database could not be opened, or its final flush failed.
    #[error("database: {0}")]
    Store(#[source] StoreError),
    /// PostgreSQL could not be opened (unreachable, a newer schema, another
    /// master key).
    #[error(transparent)]
    Postgres(#[from] postgres::OpenError),
    /// No thread or runtime to open PostgreSQL on.
    #[error("cannot start the database runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// A rule file is invalid.
    #[error("spam rules: {0}")]
    Rules(#[from] rules::Error),
    /// The data directory is damaged or incomplete; the message says what
    /// to do.
    #[error("{0}")]
    Damaged(String),
    /// Another process (a running service) holds the sled database open.
    #[error("the database in {0} cannot be opened: {reason}", reason = crate::store::reopen::IN_USE)]
    InUse(String),
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
    /// The sled store, for its seal at a clean stop; `None` on PostgreSQL.
    pub sled: Option<ReopeningStore>,
}

/// Opens the database (`database_url`: PostgreSQL; otherwise sled in the
/// data directory, created with its secrets if needed), and builds the
/// core and the HTTP state. Must run inside a tokio runtime when
/// `database_url` is set (the store starts its watcher).
///
/// # Errors
/// [`Error`] when a secret, the database or the rules cannot be opened.
pub fn build(config: Config) -> Result<Parts, Error> {
    let rules = RuleSet::load_dir(&config.rules_dir)?;
    let opened = open_store(&config)?;
    let admin_token = secrets::admin_token(&config.data_dir, config.admin_token.as_deref())?;
    let privacy = Arc::new(Privacy::new(&opened.master));
    let notifier = Notifier::new();
    let moderator = Moderator::new(
        opened.store,
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
        sled: opened.sled,
    })
}

/// The core a command opened over the configured database, without a
/// server around it. [`Offline::close`] ends it as a clean stop of the
/// service does: a final flush and, on sled, the seal, so the next start
/// finds the database as the command left it (a command that stored
/// comments would otherwise leave a seal that no longer matches).
#[derive(Debug)]
pub struct Offline {
    /// The core.
    pub moderator: Arc<Moderator>,
    sled: Option<(ReopeningStore, PathBuf)>,
}

impl Offline {
    /// Flushes, then seals a sled database.
    ///
    /// # Errors
    /// [`Error::Store`] when the flush or the seal fails.
    pub async fn close(self) -> Result<(), Error> {
        self.moderator.store().flush().await.map_err(Error::Store)?;
        if let Some((store, data_dir)) = self.sled {
            store
                .readable()
                .and_then(|sled| sled.write_seal(&data_dir, true))
                .map_err(Error::Store)?;
        }
        Ok(())
    }
}

/// The core over the configured database (sled in the data directory, or
/// PostgreSQL) without a server around it, for commands that change what
/// is stored (`moderato learn train`): the store, the keys and the rules,
/// and nobody to notify (jobs wait in the outbox for the service). On sled
/// they run on a stopped service (sled's lock refuses a second process;
/// the error says so); PostgreSQL takes them beside running replicas. Must
/// run inside a tokio runtime (as [`build`]).
///
/// # Errors
/// [`Error`] when a secret, the database or the rules cannot be opened.
pub fn offline(config: &Config) -> Result<Offline, Error> {
    let rules = RuleSet::load_dir(&config.rules_dir)?;
    offline_with(config, rules)
}

/// [`offline`] without the spam rules, for the command line's `import` and
/// `export`: imports do not run the rules (the source's decisions stand),
/// so a missing or broken rules directory does not stop them. A missing
/// data directory and key are created, so an import can fill a new
/// instance.
///
/// # Errors
/// [`Error`] when a secret or the database cannot be opened.
pub fn offline_moderator(config: &Config) -> Result<Offline, Error> {
    offline_with(config, RuleSet::from_sources(&config.rules_dir, &[])?)
}

fn offline_with(config: &Config, rules: RuleSet) -> Result<Offline, Error> {
    let opened = open_store(config)?;
    let moderator = Moderator::new(
        opened.store,
        Arc::new(NoNotifications),
        Arc::new(Privacy::new(&opened.master)),
        rules,
        config.moderation_settings(),
    );
    Ok(Offline {
        moderator: Arc::new(moderator),
        sled: opened.sled.map(|sled| (sled, config.data_dir.clone())),
    })
}

/// What [`open_store`] opened.
struct Opened {
    store: Arc<dyn Store>,
    master: [u8; 32],
    /// The same store when it is sled (for its seal).
    sled: Option<ReopeningStore>,
}

/// The store the configuration names (`database_url`: PostgreSQL;
/// otherwise sled in the data directory) and the master key.
fn open_store(config: &Config) -> Result<Opened, Error> {
    if config.uses_postgres() {
        // No data directory: the key comes from the configuration
        // (`Config::validate` requires it), and the database keeps its
        // check value.
        let master = secrets::master_key_from_file(Path::new(&config.master_key_file))?;
        let store = open_postgres(config, Privacy::new(&master).key_check())?;
        return Ok(Opened {
            store: Arc::new(store),
            master,
            sled: None,
        });
    }
    let (store, master) = open_sled(config)?;
    Ok(Opened {
        store: Arc::new(store.clone()),
        master,
        sled: Some(store),
    })
}

/// Opens sled in the data directory, creating the directory and its key
/// on a first start only: never a new key over an existing database, nor
/// a new database beside a key that has written one (see "When things go
/// wrong" in README.md). Refuses another key than the data was written
/// with, and a database that changed since the last clean stop.
fn open_sled(config: &Config) -> Result<(ReopeningStore, [u8; 32]), Error> {
    secrets::ensure_data_dir(&config.data_dir)?;
    let db_path = config.db_path();
    let db_exists = database_exists(&db_path);
    if !db_exists && secrets::kept_key_check(&config.data_dir)?.is_some() {
        return Err(Error::Damaged(format!(
            "the data directory {} holds a master key and its key.check but no database \
             (db/ is missing or empty): restore a backup (`moderato restore FILE`), or, to start \
             afresh, move the whole data directory aside",
            config.data_dir.display()
        )));
    }
    let master = if config.master_key_file.is_empty() {
        secrets::master_key(&config.data_dir, db_exists)?
    } else {
        secrets::master_key_from_file(Path::new(&config.master_key_file))?
    };
    let store = ReopeningStore::open(
        &db_path,
        config.cache_capacity_mb * 1024 * 1024,
        config.disk_reserve_mb * 1024 * 1024,
    )
    .map_err(|e| open_failed(&db_path, e))?;
    secrets::verify_key_check(&config.data_dir, &Privacy::new(&master).key_check_hex())?;
    verify_seal(&store, config)?;
    Ok((store, master))
}

/// Whether `db/` holds a database (sled creates the directory with files).
fn database_exists(db_path: &Path) -> bool {
    std::fs::read_dir(db_path).is_ok_and(|mut entries| entries.next().is_some())
}

/// The one line that says why the database cannot be opened, and what to do.
fn open_failed(db_path: &Path, error: StoreError) -> Error {
    let path = db_path.display();
    match error {
        StoreError::Unavailable { reason } if reason == crate::store::reopen::IN_USE => {
            Error::InUse(path.to_string())
        }
        StoreError::Unavailable { reason } => {
            Error::Damaged(format!("the database in {path} cannot be opened: {reason}"))
        }
        other => {
            let mut cause = other.to_string();
            let mut source = std::error::Error::source(&other);
            while let Some(s) = source {
                cause = format!("{cause}: {s}");
                source = s.source();
            }
            Error::Damaged(format!(
                "the database in {path} is damaged ({cause}): restore the latest backup \
                 (`moderato restore FILE --force`), or try `moderato check --repair`"
            ))
        }
    }
}

/// Refuses a database that changed since the last clean stop (see
/// [`crate::store::seal`]), then marks it running.
fn verify_seal(store: &ReopeningStore, config: &Config) -> Result<(), Error> {
    let sled = store.readable().map_err(Error::Store)?;
    match sled.check_seal(&config.data_dir).map_err(Error::Store)? {
        SealCheck::Matches => tracing::debug!("the database matches its seal"),
        SealCheck::Unknown(why) => tracing::info!("database seal not compared: {why}"),
        SealCheck::Differs { sealed, found } => {
            return Err(Error::Damaged(format!(
                "the database in {} does not hold what it held at the last clean stop \
                 ({sealed} comments then, {found} now, contents differ): it was damaged while \
                 the service was stopped. Restore the latest backup (`moderato restore FILE \
                 --force`), or run `moderato check --repair` to go on with what is left",
                config.db_path().display()
            )));
        }
    }
    sled.write_seal(&config.data_dir, false)
        .map_err(Error::Store)
}

/// Connects to PostgreSQL, migrates it and checks the key, then starts the
/// store on the current runtime. The connecting runs on a thread and
/// runtime of its own, so that this synchronous function works inside any
/// runtime (a current-thread one included) without blocking its tasks.
///
/// # Errors
/// [`Error::Postgres`] saying what failed.
pub fn open_postgres(config: &Config, key_check: [u8; 32]) -> Result<PgStore, Error> {
    let options = postgres::Options {
        url: config.database_url.clone(),
        pool_size: usize::try_from(config.database_pool_size).unwrap_or(usize::MAX),
        key_check,
    };
    let prepared = std::thread::scope(|scope| {
        scope
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(Error::Runtime)?;
                runtime
                    .block_on(PgStore::prepare(options))
                    .map_err(Error::Postgres)
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })?;
    Ok(prepared.start())
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
        // Seed + ledger before the first request (logged with its time); if
        // the ledger cannot be read the service still runs, without the
        // learned rule, and the first comment or decision tries again.
        if let Err(e) = parts.state.moderator.load_learning().await {
            tracing::error!(error = %e, "the learning filter cannot be loaded");
        }
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
        let sled = self.parts.sled;
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
        let backups = backup_schedule(&state.config).map(|schedule| {
            tracing::info!(dir = %schedule.dir.display(), every_secs = schedule.every.as_secs(), keep = schedule.keep, "backups on");
            tokio::spawn(crate::backup::run(
                state.store().clone(),
                state.moderator.privacy().key_check_hex(),
                schedule,
            ))
        });
        let expirer = tokio::spawn(expire_unconfirmed_requests(state.clone()));
        let trimmer = tokio::spawn(crate::memory::release_periodically());
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
        if let Some(backups) = backups {
            // A snapshot cut off here leaves only its temporary file, which
            // the next one does not count.
            backups.abort();
        }
        expirer.abort();
        trimmer.abort();
        if let Some(pruner) = pruner {
            pruner.abort();
        }
        if let Some(notifier) = notifier {
            // Jobs not sent yet stay in the outbox: the next start (or
            // another replica) sends them.
            notifier.abort();
            if let Err(e) = state.store().release_claims().await {
                tracing::warn!(error = %e, "cannot give back claimed notifications; they wait for their lease to end");
            }
        }
        state.store().flush().await.map_err(Error::Store)?;
        // Only after the last flush: the seal says what the disk holds.
        // (PostgreSQL has none: the server keeps its own files whole.)
        if let Some(sled) = sled {
            let sealed = sled
                .readable()
                .and_then(|sled| sled.write_seal(&state.config.data_dir, true));
            if let Err(e) = sealed {
                tracing::warn!(error = %e, "the database seal could not be written");
            }
        }
        tracing::info!("stopped; database flushed");
        Ok(())
    }
}

/// The backup schedule, when `backup_every` is set.
pub fn backup_schedule(config: &Config) -> Option<crate::backup::Schedule> {
    let every = crate::config::parse_period(&config.backup_every)?;
    Some(crate::backup::Schedule {
        dir: config.backup_path(),
        every,
        keep: usize::try_from(config.backup_keep).unwrap_or(usize::MAX),
        reserve_bytes: config.disk_reserve_mb.saturating_mul(1024 * 1024),
    })
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

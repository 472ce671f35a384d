//! The core's [`Store`](crate::domain::ports::Store) port on PostgreSQL,
//! for several replicas sharing one database (ARCHITECTURE.md, "Storage
//! layout (PostgreSQL)" and "Running several replicas").
//!
//! Every write is one transaction over the comment row, its copies of the
//! indexed fields, the per-status counts and the page's change counter,
//! committed before the method returns: PostgreSQL's commit is the flush.
//! Duplicates and single-use links are unique constraints, so they hold
//! across replicas; parents are locked (`FOR SHARE` / `FOR UPDATE`) inside
//! the transaction that depends on them. What a replica keeps in memory
//! (the counts, the page generations) is refreshed by [`watch`] from the
//! database, never trusted alone.
//!
//! No `tokio_postgres` type leaves this module.

mod check;
mod learning;
mod outbox;
mod port;
mod read;
mod readers;
mod schema;
mod watch;
mod write;

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::config::SslMode;
use tokio_postgres::error::SqlState;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{Client, NoTls, Socket};

use crate::domain::ports::StoreError as Error;
use crate::domain::{Comment, CommentId, Status};

/// How to reach the database.
#[derive(Clone)]
pub struct Options {
    /// `postgres://user:password@host:port/db` (any libpq-style URL
    /// tokio-postgres accepts; `sslmode=disable|prefer|require`).
    pub url: String,
    /// Connections kept at most.
    pub pool_size: usize,
    /// The master key's check value ([`crate::domain::privacy::Privacy::key_check`]).
    pub key_check: [u8; 32],
}

impl std::fmt::Debug for Options {
    /// The URL holds a password: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("pool_size", &self.pool_size)
            .finish_non_exhaustive()
    }
}

/// Why the database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// `database_url` does not parse.
    #[error("database_url is not a valid PostgreSQL URL: {0}")]
    Url(String),
    /// The server could not be reached, or refused the login.
    #[error("cannot connect to PostgreSQL: {0}")]
    Connect(#[source] tokio_postgres::Error),
    /// A newer moderato migrated this database.
    #[error(
        "the database has schema version {found}, newer than the {known} this moderato knows: \
         run a moderato at least as new as the one that migrated it"
    )]
    NewerSchema {
        /// The version in the database.
        found: i32,
        /// The newest version this binary knows.
        known: i32,
    },
    /// The master key differs from the one the database was written with.
    #[error(
        "the master key (master_key_file) is not the key this database was written with: \
         every replica must use the same key file, or it would store emails no other \
         replica can read"
    )]
    WrongKey,
    /// A statement of the migration or the key check failed.
    #[error("database error while opening: {0}")]
    Database(#[from] tokio_postgres::Error),
    /// The stored counts cannot be read.
    #[error("database error while opening: {0}")]
    Store(#[from] Error),
}

impl From<tokio_postgres::Error> for Error {
    /// A server that cannot take the write now (a lost connection, a full
    /// disk, a shutdown, a standby after a failover) is
    /// [`Error::Unavailable`]: the request answers 503 with `Retry-After`
    /// and the pool gets a fresh connection for the next one. Everything
    /// else is a fault.
    fn from(e: tokio_postgres::Error) -> Error {
        match unavailable_reason(&e) {
            Some(reason) => Error::Unavailable {
                reason: reason.to_owned(),
            },
            None => Error::Backend(Box::new(e)),
        }
    }
}

impl From<deadpool_postgres::PoolError> for Error {
    fn from(e: deadpool_postgres::PoolError) -> Error {
        use deadpool_postgres::PoolError;
        match e {
            // The pool's backend errors are its new connections': the
            // server is down, refuses connections, or is unreachable. The
            // URL and the login were proved at start-up.
            PoolError::Backend(_) => Error::Unavailable {
                reason: "the database server cannot be reached".to_owned(),
            },
            PoolError::Timeout(_) => Error::Unavailable {
                reason: "no connection to the database server in time".to_owned(),
            },
            other => Error::Backend(Box::new(other)),
        }
    }
}

/// Why the server cannot serve now, in a few words (no host, no data), or
/// `None` for an error of the statement itself.
fn unavailable_reason(e: &tokio_postgres::Error) -> Option<&'static str> {
    let Some(code) = e.code() else {
        // No SQLSTATE: a connection failed or was lost (an I/O error
        // underneath), or a value did not convert (a fault).
        let lost = e.is_closed()
            || std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
            || e.to_string().starts_with("timeout waiting for server");
        return lost.then_some("the database server cannot be reached");
    };
    let reason = match code {
        c if *c == SqlState::DISK_FULL => "no space left on the database server",
        c if *c == SqlState::INSUFFICIENT_RESOURCES || *c == SqlState::OUT_OF_MEMORY => {
            "the database server is out of resources"
        }
        c if *c == SqlState::TOO_MANY_CONNECTIONS => "the database server has too many connections",
        c if *c == SqlState::ADMIN_SHUTDOWN
            || *c == SqlState::CRASH_SHUTDOWN
            || *c == SqlState::CANNOT_CONNECT_NOW =>
        {
            "the database server is shutting down or starting"
        }
        c if *c == SqlState::READ_ONLY_SQL_TRANSACTION => {
            "the database server is read-only (a standby?)"
        }
        _ => return None,
    };
    Some(reason)
}

/// The PostgreSQL store; cloning shares its pool and its memory.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    shared: Arc<watch::Shared>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").finish_non_exhaustive()
    }
}

/// A database that is migrated and matches the key, not yet served: what
/// [`PgStore::prepare`] did on one connection of its own, which may run on
/// another runtime than the one that will use the store.
pub struct Prepared {
    config: tokio_postgres::Config,
    pool_size: usize,
    counts: [i64; 4],
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared").finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects, migrates, checks the key, and starts the store (which
    /// needs a tokio runtime: it spawns [`watch`]).
    ///
    /// # Errors
    /// [`OpenError`] saying what failed.
    pub async fn open(options: Options) -> Result<PgStore, OpenError> {
        Ok(PgStore::prepare(options).await?.start())
    }

    /// The part of [`PgStore::open`] that talks to the database: connects
    /// once, migrates the schema, checks the key, reads the counts.
    ///
    /// # Errors
    /// [`OpenError`] saying what failed.
    pub async fn prepare(options: Options) -> Result<Prepared, OpenError> {
        let config: tokio_postgres::Config = options
            .url
            .parse()
            .map_err(|e: tokio_postgres::Error| OpenError::Url(e.to_string()))?;
        let mut client = match config.get_ssl_mode() {
            SslMode::Disable => connect(&config, NoTls).await?,
            _ => connect(&config, tls()).await?,
        };
        let found = schema::migrate(&mut client).await?;
        schema::check_key(&client, &options.key_check).await?;
        let synchronous: String = client
            .query_one("SHOW synchronous_commit", &[])
            .await?
            .get(0);
        if matches!(synchronous.as_str(), "off" | "local") {
            tracing::warn!(
                synchronous_commit = %synchronous,
                "the server does not wait for its own or its standby's disk at commit: \
                 an acknowledged comment can be lost in a server crash"
            );
        }
        let counts = watch::read_counts(&client).await?;
        tracing::info!(
            schema = schema::latest(),
            migrated_from = found,
            "PostgreSQL store opened"
        );
        Ok(Prepared {
            config,
            pool_size: options.pool_size.max(1),
            counts,
        })
    }
}

impl Prepared {
    /// Builds the pool and starts the watcher on the current tokio runtime.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn start(self) -> PgStore {
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = match self.config.get_ssl_mode() {
            SslMode::Disable => Manager::from_config(self.config, NoTls, manager_config),
            _ => Manager::from_config(self.config, tls(), manager_config),
        };
        let pool = Pool::builder(manager)
            .max_size(self.pool_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(10)))
            .create_timeout(Some(Duration::from_secs(10)))
            .build()
            .expect("a pool with a runtime and a manager always builds");
        let shared = Arc::new(watch::Shared::new(self.counts));
        tokio::spawn(watch::run(Arc::downgrade(&shared), pool.clone()));
        PgStore { pool, shared }
    }
}

/// One connection outside the pool, its connection task on this runtime.
async fn connect<T>(config: &tokio_postgres::Config, tls: T) -> Result<Client, OpenError>
where
    T: MakeTlsConnect<Socket> + Send + 'static,
    T::Stream: Send + 'static,
    T::TlsConnect: Send,
    <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
{
    let (client, connection) = config.connect(tls).await.map_err(OpenError::Connect)?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "PostgreSQL connection closed");
        }
    });
    Ok(client)
}

/// TLS with the Mozilla roots and the aws-lc-rs provider the rest of the
/// service uses (`sslmode=prefer`, the default, falls back to plain text
/// when the server offers no TLS; `require` insists).
fn tls() -> tokio_postgres_rustls::MakeRustlsConnect {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("aws-lc-rs supports the default protocol versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    tokio_postgres_rustls::MakeRustlsConnect::new(config)
}

/// The comment id as the `id` column holds it.
fn id_bytes(id: CommentId) -> Vec<u8> {
    id.to_bytes().to_vec()
}

/// The `status` column's value.
fn status_name(status: Status) -> &'static str {
    status.as_str()
}

fn status_of(name: &str) -> Result<Status, Error> {
    name.parse().map_err(|()| Error::Corrupt {
        id: "?".into(),
        message: format!("unknown status `{name}`"),
    })
}

/// Decodes a `body` column, naming the row's id when it fails.
fn decode(id: &[u8], body: &str) -> Result<Comment, Error> {
    serde_json::from_str(body).map_err(|e| Error::Corrupt {
        id: CommentId::from_bytes(id).map_or_else(|| hex::encode(id), |id| id.to_string()),
        message: e.to_string(),
    })
}

fn encode(comment: &Comment) -> Result<String, Error> {
    serde_json::to_string(comment).map_err(|e| Error::Corrupt {
        id: comment.id.to_string(),
        message: e.to_string(),
    })
}

/// Whether `e` is the unique constraint on live comments' fingerprints.
fn is_duplicate(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&SqlState::UNIQUE_VIOLATION)
        && e.as_db_error()
            .and_then(|db| db.constraint())
            .is_some_and(|c| c == "comments_fingerprint_key")
}

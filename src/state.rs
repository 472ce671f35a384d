//! `AppState`: the handles every request needs, built once at start-up.

use std::sync::Arc;

use crate::admin::AdminToken;
use crate::config::Config;
use crate::privacy::Privacy;
use crate::sanitize::Sanitizer;
use crate::secrets;
use crate::store::Store;

/// Shared state. Cloning is shallow: every field is an `Arc` or a sled
/// handle, so each filter can own a copy.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The configuration it was built from.
    pub config: Arc<Config>,
    /// The database.
    pub store: Store,
    /// Email encryption and keyed hashes.
    pub privacy: Arc<Privacy>,
    /// The HTML allowlist.
    pub sanitizer: Arc<Sanitizer>,
    /// The admin token's digest.
    pub admin_token: Arc<AdminToken>,
}

/// Why the state could not be built.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A secret file could not be read or created.
    #[error(transparent)]
    Secrets(#[from] secrets::Error),
    /// The database could not be opened.
    #[error("cannot open the database: {0}")]
    Store(#[from] crate::store::Error),
}

impl AppState {
    /// Creates the data directory and its secrets if needed, opens the
    /// database, and builds the shared components. Returns the admin token
    /// too, so the caller can print it when it was just generated.
    ///
    /// # Errors
    /// [`Error`] when a secret or the database cannot be opened.
    pub fn open(config: Config) -> Result<(AppState, secrets::AdminToken), Error> {
        secrets::ensure_data_dir(&config.data_dir)?;
        let token = secrets::admin_token(&config.data_dir, config.admin_token.as_deref())?;
        let master = secrets::master_key(&config.data_dir)?;
        let store = Store::open(&config.db_path(), config.cache_capacity_mb * 1024 * 1024)?;
        let state = AppState {
            store,
            privacy: Arc::new(Privacy::new(&master)),
            sanitizer: Arc::new(Sanitizer::new()),
            admin_token: Arc::new(AdminToken::new(&token.token)),
            config: Arc::new(config),
        };
        Ok((state, token))
    }
}

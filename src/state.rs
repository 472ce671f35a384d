//! `AppState`: the handles every request needs, built once at start-up.

use std::sync::{Arc, PoisonError, RwLock};

use crate::admin::AdminToken;
use crate::api::cache::PageCache;
use crate::client_addr::ClientAddrResolver;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::notify::Notifier;
use crate::domain::privacy::Privacy;
use crate::ratelimit::Limits;
use crate::domain::rules::{self, FormTokens, RuleSet};
use crate::domain::sanitize::Sanitizer;
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
    /// Rate limits; `None` when turned off in the configuration.
    pub limits: Option<Arc<Limits>>,
    /// Finds the client address behind trusted proxies.
    pub client_addr: Arc<ClientAddrResolver>,
    /// Signs and checks the form tokens of the `min_time` rule.
    pub form_tokens: Arc<FormTokens>,
    /// The queue of email and webhook notifications.
    pub notifier: Notifier,
    /// The spam rules in force. Readers clone the inner `Arc` and drop the
    /// lock at once; a reload swaps it, so requests in flight finish with
    /// the rules they started with.
    rules: Arc<RwLock<Arc<RuleSet>>>,
    /// Counters for `GET /metrics`.
    pub metrics: Arc<Metrics>,
    /// Public JSON of pages, served from memory.
    pub page_cache: Arc<PageCache>,
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
    /// A rule file is invalid.
    #[error("spam rules: {0}")]
    Rules(#[from] rules::Error),
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
        let rules = RuleSet::load_dir(&config.rules_dir)?;
        let store = Store::open(&config.db_path(), config.cache_capacity_mb * 1024 * 1024)?;
        let privacy = Privacy::new(&master);
        let state = AppState {
            store,
            form_tokens: Arc::new(FormTokens::new(privacy.form_token_key())),
            notifier: Notifier::new(&config),
            limits: Limits::from_config(&config).map(Arc::new),
            client_addr: Arc::new(ClientAddrResolver::new(config.trusted_proxies.clone())),
            rules: Arc::new(RwLock::new(Arc::new(rules))),
            privacy: Arc::new(privacy),
            sanitizer: Arc::new(Sanitizer::new()),
            admin_token: Arc::new(AdminToken::new(&token.token)),
            config: Arc::new(config),
            metrics: Arc::default(),
            page_cache: Arc::default(),
        };
        Ok((state, token))
    }
}

impl AppState {
    /// The rules in force now.
    pub fn rules(&self) -> Arc<RuleSet> {
        // A poisoned lock still holds a complete rule set: swapping an Arc
        // cannot be interrupted half-way.
        self.rules
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Loads the rules directory again and puts it in force. On error the
    /// old rules stay in force and the error says why.
    ///
    /// # Errors
    /// The [`rules::Error`] naming file, rule and problem.
    pub fn reload_rules(&self) -> Result<Arc<RuleSet>, rules::Error> {
        let loaded = RuleSet::load_dir(&self.config.rules_dir);
        self.metrics.rules_reloaded(loaded.is_ok());
        match loaded {
            Ok(fresh) => {
                let fresh = Arc::new(fresh);
                *self.rules.write().unwrap_or_else(PoisonError::into_inner) = fresh.clone();
                tracing::info!(dir = %self.config.rules_dir.display(), "spam rules reloaded");
                Ok(fresh)
            }
            Err(e) => {
                tracing::error!(error = %e, "spam rules not reloaded; the previous rules stay in force");
                Err(e)
            }
        }
    }
}

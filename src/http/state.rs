//! `AppState`: the handles every request needs, built once at start-up by
//! `crate::startup`.

use std::sync::Arc;

use super::auth::Tokens;
use super::cache::PageCache;
use super::client_addr::ClientAddrResolver;
use super::limits::RateLimits;
use super::metrics::Metrics;
use crate::config::Config;
use crate::domain::moderation::Moderator;
use crate::domain::ports::Store;
use crate::domain::privacy::Privacy;

/// Shared state. Cloning is shallow: every field is an `Arc`, so each filter
/// can own a copy.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The configuration it was built from.
    pub config: Arc<Config>,
    /// The moderation steps: every change to what is stored goes through it.
    pub moderator: Arc<Moderator>,
    /// The bearer tokens of the admin surfaces.
    pub tokens: Arc<Tokens>,
    /// Rate limits; `None` when turned off in the configuration.
    pub limits: Option<Arc<RateLimits>>,
    /// Finds the client address behind trusted proxies.
    pub client_addr: Arc<ClientAddrResolver>,
    /// Counters for `GET /metrics`.
    pub metrics: Arc<Metrics>,
    /// Public JSON of pages, served from memory.
    pub page_cache: Arc<PageCache>,
}

impl AppState {
    /// The state of a service on `moderator`, with rate limits, proxies and
    /// tokens from `config`.
    pub fn new(config: Config, moderator: Arc<Moderator>, tokens: Tokens) -> AppState {
        AppState {
            limits: RateLimits::from_config(&config).map(Arc::new),
            client_addr: Arc::new(ClientAddrResolver::new(config.trusted_proxies.clone())),
            config: Arc::new(config),
            moderator,
            tokens: Arc::new(tokens),
            metrics: Arc::default(),
            page_cache: Arc::default(),
        }
    }

    /// The store, for reads.
    pub fn store(&self) -> &Arc<dyn Store> {
        self.moderator.store()
    }

    /// The keys (admin views decrypt emails with them).
    pub fn privacy(&self) -> &Arc<Privacy> {
        self.moderator.privacy()
    }
}

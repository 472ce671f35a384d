//! moderato: a self-hosted comment moderation service for blogs.
//!
//! A reader's comment travels: HTTP body ([`api`]) -> validated
//! [`domain::NewComment`] -> [`intake::submit`] (sanitize with [`sanitize`],
//! protect the email with [`privacy`]) -> [`store`] (sled, one transaction
//! per change, flushed before the answer) -> the author's decision through
//! [`admin`] -> back out through [`api`] once approved.
//!
//! # Layout
//! - [`config`]: keys and validation; `config::load` layers defaults, TOML
//!   file and `MODERATO_*` overrides.
//! - [`secrets`]: admin token and master key in the data directory.
//! - [`startup`]: builds the app and its routes; [`server`]: the accept loop.
//! - [`api`]: public routes; [`admin`]: admin routes; [`error`]: `ApiError`;
//!   [`etag`]: content validators and 304s.
//! - [`domain`], [`intake`], [`sanitize`], [`privacy`], [`store`].
//! - [`learn`]: the learning filter (features, models, prequential replay),
//!   pure and not yet wired into the store or the routes.
//! - [`rules`]: the spam rules engine (rule files, normalization, verdicts,
//!   form tokens, and the `rules check` / `rules eval` commands).
//! - [`client_addr`]: the client address behind trusted proxies;
//!   [`ratelimit`]: governor limits per address, admin lockout.
//! - [`notify`]: email and webhook notifications of queued comments, and
//!   the signed one-click decision links of the email.
//! - [`cli`]: the command line; [`telemetry`]: logging; [`metrics`]:
//!   `GET /metrics`.

#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]

pub mod admin;
pub mod api;
pub mod cli;
pub mod client_addr;
pub mod config;
pub mod domain;
pub mod error;
pub mod etag;
pub mod intake;
pub mod learn;
pub mod metrics;
pub mod notify;
pub mod privacy;
pub mod ratelimit;
pub mod rules;
pub mod sanitize;
pub mod secrets;
pub mod server;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;

//! moderato: a self-hosted comment moderation service for blogs.
//!
//! A core that knows nothing of HTTP, storage or mail, and shells around it
//! that depend on the core and never on each other (ARCHITECTURE.md draws
//! the layers and the one way data flows in and out):
//!
//! - [`domain`]: the core. The comment and its validated input, the
//!   moderation steps, the spam rules, privacy (encryption, keyed hashes,
//!   signed tokens), the sanitizer, and the ports the shells implement.
//! - [`http`]: the HTTP shell: the public API and the embed
//!   ([`http::api`]) beside the admin API and page ([`http::admin`]).
//! - [`store`]: the store shell, sled.
//! - [`notify`]: the notification shell, mail and webhooks.
//! - [`backup`]: scheduled snapshots of the records as stored, and their
//!   reading for `moderato restore`.
//! - [`import`]: streaming readers of WordPress (WXR), Disqus and Isso
//!   exports; [`export`]: a WXR writer for the way back; [`transfer`]:
//!   an import of a file into the core, and the WXR export of the store.
//! - [`config`], [`secrets`], [`telemetry`], [`memory`]: configuration,
//!   the secret files of the data directory, logging, the heap handed back
//!   to the system.
//! - [`startup`]: builds the core and the shells and runs the service;
//!   [`cli`]: the command line, above everything.

#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]

pub mod backup;
pub mod cli;
pub mod config;
pub mod domain;
pub mod export;
pub mod http;
pub mod import;
pub mod memory;
pub mod notify;
pub mod secrets;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod transfer;

//! moderato: self-hosted comment moderation for blogs.
//!
//! # Layout
//! - [`rules`]: the spam rules engine (rule files, normalization, verdicts,
//!   form tokens, and the `rules check` / `rules eval` commands).
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]

pub mod rules;

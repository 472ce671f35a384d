//! Integration tests: one binary, real sled databases in temporary
//! directories (or, with `TEST_MODERATO_BACKEND=postgres`, a fresh
//! PostgreSQL database per test: see `backend.rs`), routes through
//! `warp::test` and a few over real TCP. Each file is named by the
//! behaviour it covers.

mod admin;
mod admin_page;
mod architecture;
mod backend;
mod backup;
mod bulk;
mod cache;
mod comments;
mod connections;
mod crash;
mod damaged;
mod data;
mod disk_full;
mod edit;
mod feed;
mod helpers;
mod import;
mod import_cli;
mod learning;
mod metrics;
mod notify;
mod openapi;
mod privacy;
mod privacy_reader;
mod rate_limits;
mod reader_mail;
mod replies;
mod rules;
mod server;
mod sinks;
mod storage;
mod thread;

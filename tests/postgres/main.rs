//! Tests of what only the PostgreSQL backend has: versioned migrations and
//! the key check, several replicas on one database, and `moderato check`
//! on what its schema copies. Every test needs the server that
//! `TEST_MODERATO_DATABASE_URL` names (`bash tests/with-postgres.sh cargo
//! test --test postgres`; `tests/run.sh` does it) and fails without it.

#[path = "../api/backend.rs"]
#[allow(dead_code)]
mod backend;
mod balancer;
mod check;
mod health;
#[path = "../api/helpers.rs"]
#[allow(dead_code)]
mod helpers;
mod outbox;
mod replicas;
mod schema;
#[path = "../api/sinks.rs"]
#[allow(dead_code)]
mod sinks;
mod support;

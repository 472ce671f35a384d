//! Versioned schema migrations, applied at start-up, and the key check.
//!
//! `moderato_schema` records every version applied. A start takes a
//! transaction-scoped advisory lock (so replicas starting together migrate
//! once), applies the versions it knows and the database lacks, each with
//! its row in `moderato_schema`, and commits them together. A database that
//! records a version this binary does not know was migrated by a newer
//! moderato: the start is refused rather than writing rows the newer
//! schema does not expect.
//!
//! A new migration is a new file in `migrations/` and one line in
//! [`MIGRATIONS`]; a file once released is never edited.

use tokio_postgres::Client;

use super::OpenError;

/// Every migration this binary knows, in order: (version, SQL).
pub(super) const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("migrations/0001_initial.sql")),
    (2, include_str!("migrations/0002_outbox.sql")),
    (3, include_str!("migrations/0003_ledger.sql")),
    (4, include_str!("migrations/0004_readers.sql")),
];

/// The newest schema this binary knows.
pub(super) fn latest() -> i32 {
    MIGRATIONS.last().map_or(0, |(v, _)| *v)
}

/// Any constant: the key of the advisory lock that serializes migrations
/// ("mod" "erato" in ASCII).
const MIGRATION_LOCK: i64 = 0x6d6f_6465_7261_746f;

/// Brings the schema to [`latest`], or refuses a newer one. Returns the
/// version found before.
///
/// # Errors
/// [`OpenError::NewerSchema`], or the database's error.
pub(super) async fn migrate(client: &mut Client) -> Result<i32, OpenError> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS moderato_schema (
             version    integer     PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now()
         )",
    )
    .await?;
    let found: i32 = tx
        .query_one("SELECT coalesce(max(version), 0) FROM moderato_schema", &[])
        .await?
        .get(0);
    if found > latest() {
        return Err(OpenError::NewerSchema {
            found,
            known: latest(),
        });
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > found) {
        tx.batch_execute(sql).await?;
        tx.execute(
            "INSERT INTO moderato_schema (version) VALUES ($1)",
            &[version],
        )
        .await?;
        tracing::info!(version, "database schema migrated");
    }
    tx.commit().await?;
    Ok(found)
}

/// Stores `check` as the database's key check value on first use, and
/// refuses a start whose key gives another value.
///
/// # Errors
/// [`OpenError::WrongKey`], or the database's error.
pub(super) async fn check_key(client: &Client, check: &[u8; 32]) -> Result<(), OpenError> {
    client
        .execute(
            "INSERT INTO moderato_meta (key, value) VALUES ('key_check', $1)
             ON CONFLICT (key) DO NOTHING",
            &[&check.as_slice()],
        )
        .await?;
    let stored: Vec<u8> = client
        .query_one(
            "SELECT value FROM moderato_meta WHERE key = 'key_check'",
            &[],
        )
        .await?
        .get(0);
    if stored != check.as_slice() {
        return Err(OpenError::WrongKey);
    }
    Ok(())
}

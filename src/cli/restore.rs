//! `moderato restore FILE [--force]`: brings a backup back into the data
//! directory, with the service stopped.
//!
//! The data directory must hold the master key the backup was written with
//! (its check value is in the backup's header); the database must be empty
//! or missing, unless `--force`, which moves it aside (`db.before-restore-
//! <time>`), never deletes it. Comments are stored as they were (ids,
//! statuses, times, sealed emails), their duplicate fingerprints recomputed;
//! so are readers' mail records and the learning filter's ledger; then
//! everything is flushed, the key check and a clean seal written. Mails
//! that were waiting in the outbox are not in a backup.

use std::path::Path;

use crate::backup::{self, Snapshot};
use crate::config::Config;
use crate::domain::moderation::fingerprint;
use crate::domain::now_millis;
use crate::domain::privacy::Privacy;
use crate::domain::subscription::Subscriber;
use crate::secrets;
use crate::store::SledStore;

/// Restores `file` into the configured data directory; a summary, or what
/// is wrong in one line.
///
/// # Errors
/// What is wrong and what to do, in words.
pub fn restore(config: &Config, file: &Path, force: bool) -> Result<String, String> {
    if config.uses_postgres() {
        // Backups are of sled's data directory; a PostgreSQL database is
        // backed up and restored with the server's own tools.
        return Err(
            "restore brings a backup back into a sled data directory, and database_url is \
             set: restore PostgreSQL with its own tools (pg_restore or psql from your pg_dump, \
             or the server's base backup), or bring a `moderato export` file in with \
             `moderato import FILE`"
                .to_owned(),
        );
    }
    let snapshot: Snapshot = backup::read_snapshot(file).map_err(|e| e.to_string())?;
    let data_dir = &config.data_dir;
    secrets::ensure_data_dir(data_dir).map_err(|e| e.to_string())?;
    if !data_dir.join(secrets::MASTER_KEY_FILE).exists() {
        return Err(format!(
            "{} has no secret.key: put the secret.key of the instance this backup came from \
             there (mode 0600); a backup can be read only with its master key",
            data_dir.display()
        ));
    }
    let master = secrets::master_key(data_dir, true).map_err(|e| e.to_string())?;
    let privacy = Privacy::new(&master);
    if privacy.key_check_hex() != snapshot.header.key_check {
        return Err(format!(
            "{}/secret.key is not the key this backup was written with: put that key there",
            data_dir.display()
        ));
    }
    let db_path = config.db_path();
    let occupied = std::fs::read_dir(&db_path).is_ok_and(|mut e| e.next().is_some());
    if occupied {
        if !force {
            return Err(format!(
                "{} already holds a database: restore refuses to overwrite it; with --force \
                 it is moved aside first (nothing is deleted)",
                db_path.display()
            ));
        }
        let aside = data_dir.join(format!("db.before-restore-{}", now_millis()));
        std::fs::rename(&db_path, &aside)
            .map_err(|e| format!("cannot move {} aside: {e}", db_path.display()))?;
        let _ = std::fs::remove_file(data_dir.join(crate::store::seal::SEAL_FILE));
    }
    let store = SledStore::open(&db_path, config.cache_capacity_mb * 1024 * 1024)
        .map_err(|e| format!("cannot open {}: {e}", db_path.display()))?;
    let mut restored = 0usize;
    for comment in &snapshot.comments {
        let prints = fingerprint::of_reader_text(
            &privacy,
            comment.email_key(),
            &comment.page,
            &comment.text,
        );
        if store
            .import(comment, &prints)
            .map_err(|e| format!("comment {}: {e}", comment.id))?
        {
            restored += 1;
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    for subscriber in &snapshot.subscribers {
        // A backup holds no outbox: a digest or confirmation job the record
        // waited for is not there, so the next reply schedules one anew.
        let subscriber = Subscriber {
            digest_scheduled: false,
            confirmation_job: None,
            ..subscriber.clone()
        };
        runtime
            .block_on(store.put_subscriber(None, Some(&subscriber), &[]))
            .map_err(|e| format!("a subscriber record: {e}"))?;
    }
    for entries in snapshot.ledger.chunks(1024) {
        runtime
            .block_on(store.put_ledger(entries))
            .map_err(|e| format!("the learning ledger: {e}"))?;
    }
    runtime
        .block_on(store.flush())
        .map_err(|e| format!("the restored data could not be flushed: {e}"))?;
    secrets::verify_key_check(data_dir, &privacy.key_check_hex()).map_err(|e| e.to_string())?;
    store
        .write_seal(data_dir, true)
        .map_err(|e| format!("the seal could not be written: {e}"))?;
    let skipped: Vec<String> = snapshot
        .unknown
        .iter()
        .map(|(kind, n)| format!("{n} {kind}"))
        .collect();
    Ok(format!(
        "restored {restored} comments, {} readers' mail records and {} learned decisions \
         from {} (taken at {}){}",
        snapshot.subscribers.len(),
        snapshot.ledger.len(),
        file.display(),
        crate::domain::format_time(snapshot.header.started_at),
        if skipped.is_empty() {
            String::new()
        } else {
            format!(
                "; records of kinds this version does not know were skipped: {}",
                skipped.join(", ")
            )
        }
    ))
}

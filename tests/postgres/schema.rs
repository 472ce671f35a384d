//! Start-up on PostgreSQL: the schema is migrated once, a newer schema and
//! another master key are refused with messages that say so, and the data
//! directory is never opened.

use moderato::config::Config;
use moderato::startup;

use crate::backend::{key_file, sql};
use crate::support::{Replica, postgres_config, query};

fn start_error(config: &Config) -> String {
    match startup::build(config.clone()) {
        Ok(_) => panic!("the start should have been refused"),
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
async fn the_schema_is_migrated_once_even_by_replicas_starting_together() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = postgres_config(&dir);
    let starts: Vec<_> = (0..4)
        .map(|_| {
            let config = config.clone();
            std::thread::spawn(move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime")
                    .block_on(async { startup::build(config).map(|_| ()) })
            })
        })
        .collect();
    for start in starts {
        start.join().expect("thread").expect("every replica starts");
    }
    // Each version once, 1 to the newest, none skipped.
    let versions = || {
        query(
            &config.database_url,
            "SELECT count(*), count(DISTINCT version), min(version), max(version)
             FROM moderato_schema",
        )[0]
        .iter()
        .map(|v| {
            v.clone()
                .expect("a number")
                .parse::<i64>()
                .expect("a number")
        })
        .collect::<Vec<_>>()
    };
    let found = versions();
    assert!(found[3] >= 2, "{found:?}");
    assert_eq!(found, vec![found[3], found[3], 1, found[3]]);
    // A later start finds it migrated and changes nothing.
    Replica::of(&config);
    assert_eq!(versions(), found);
}

#[tokio::test]
async fn a_database_migrated_by_a_newer_moderato_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = postgres_config(&dir);
    Replica::of(&config);
    sql(
        &config.database_url,
        "INSERT INTO moderato_schema (version) VALUES (999)",
    );
    let error = start_error(&config);
    assert!(
        error.contains("schema version 999") && error.contains("newer"),
        "{error}"
    );
}

#[tokio::test]
async fn a_replica_with_another_master_key_refuses_to_start_and_says_why() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = postgres_config(&dir);
    let first = Replica::of(&config);
    let other_dir = tempfile::tempdir().expect("tempdir");
    let mut other = config.clone();
    other.master_key_file = key_file(other_dir.path()).display().to_string();
    let error = start_error(&other);
    assert!(
        error.contains("master key") && error.contains("master_key_file"),
        "{error}"
    );
    // The stored check value identifies the key without being it.
    let key = std::fs::read_to_string(&config.master_key_file).expect("key");
    let stored = query(
        &config.database_url,
        "SELECT encode(value, 'hex') FROM moderato_meta WHERE key = 'key_check'",
    );
    let stored = stored[0][0].clone().expect("a key check value");
    assert_ne!(stored, key.trim());
    drop(first);
    // The right key still starts.
    Replica::of(&config);
}

#[tokio::test]
async fn with_database_url_the_data_directory_is_never_created() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = postgres_config(&dir);
    config.data_dir = dir.path().join("never-made");
    let replica = Replica::of(&config);
    let body = crate::helpers::comment("/p/", "Ann", "ann@example.org");
    assert_eq!(replica.post_json(&body).await.status(), 201);
    assert!(!config.data_dir.exists());
}

#[test]
fn database_url_requires_the_shared_secrets_and_names_the_missing_key() {
    let env = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<Vec<_>>()
    };
    let url = ("MODERATO_DATABASE_URL", "postgres://u:p@127.0.0.1:5432/db");
    let no_token = Config::load(None, env(&[url])).expect_err("refused");
    assert!(no_token.to_string().contains("admin_token"), "{no_token}");
    let no_key = Config::load(
        None,
        env(&[url, ("MODERATO_ADMIN_TOKEN", "a-token-of-twenty-chars")]),
    )
    .expect_err("refused");
    assert!(no_key.to_string().contains("master_key_file"), "{no_key}");
    let not_a_url = Config::load(None, env(&[("MODERATO_DATABASE_URL", "mysql://u@h/db")]))
        .expect_err("refused");
    assert!(
        not_a_url.to_string().contains("database_url"),
        "{not_a_url}"
    );
    // The password never shows in the configuration's debug form.
    let config = Config::load(
        None,
        env(&[
            url,
            ("MODERATO_ADMIN_TOKEN", "a-token-of-twenty-chars"),
            ("MODERATO_MASTER_KEY_FILE", "/run/secrets/moderato.key"),
        ]),
    )
    .expect("valid");
    assert!(!format!("{config:?}").contains("u:p@"));
    // Scheduled backups are of sled's data directory: PostgreSQL has its
    // own tools, and the refusal says so.
    let backups = Config::load(
        None,
        env(&[
            url,
            ("MODERATO_ADMIN_TOKEN", "a-token-of-twenty-chars"),
            ("MODERATO_MASTER_KEY_FILE", "/run/secrets/moderato.key"),
            ("MODERATO_BACKUP_EVERY", "24h"),
        ]),
    )
    .expect_err("refused");
    let text = backups.to_string();
    assert!(
        text.contains("backup_every") && text.contains("pg_dump"),
        "{text}"
    );
}

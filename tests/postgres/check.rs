//! `moderato check [--repair]` on PostgreSQL: what the schema copies beside
//! each comment's body (the indexed columns, the fingerprint) and the
//! per-status counts can drift; the check finds each, the repair restores
//! them from the bodies while a replica keeps serving, and the replica
//! serves the repaired page within a second.

use std::process::Command;
use std::time::{Duration, Instant};

use moderato::config::Config;

use crate::backend::sql;
use crate::helpers::{ADMIN_TOKEN, body_json, comment};
use crate::support::{Replica, postgres_config};

fn check(config: &Config, repair: bool) -> (Option<i32>, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_moderato"));
    command.arg("check");
    if repair {
        command.arg("--repair");
    }
    let output = command
        .env("MODERATO_DATABASE_URL", &config.database_url)
        .env("MODERATO_MASTER_KEY_FILE", &config.master_key_file)
        .env("MODERATO_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run moderato check");
    (
        output.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drifted_columns_fingerprints_and_counts_are_found_then_repaired_online() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = postgres_config(&dir);
    let replica = Replica::of(&config);
    let mut ids = Vec::new();
    for i in 0..4 {
        let created = replica
            .post_json(&comment("/p/", "Ann", &format!("reader{i}@example.org")))
            .await;
        assert_eq!(created.status(), 201);
        ids.push(body_json(&created)["id"].as_str().expect("id").to_owned());
    }
    let approved = replica
        .admin("POST", &format!("/admin/comments/{}/approve", ids[0]))
        .await;
    assert_eq!(approved.status(), 200);
    let (code, report) = check(&config, false);
    assert_eq!(code, Some(0), "{report}");
    assert!(report.contains("problems: none") && report.contains("comments checked: 4"));

    // The approved comment's status column says spam (so the page loses
    // it), another loses its fingerprint, a third carries a wrong one, and
    // the pending count is off by five.
    let hex_id = |id: &str| {
        let id: moderato::domain::CommentId = id.parse().expect("id");
        hex::encode(id.to_bytes())
    };
    sql(
        &config.database_url,
        &format!(
            "UPDATE comments SET status = 'spam' WHERE id = '\\x{}';
             UPDATE comments SET fingerprint = NULL WHERE id = '\\x{}';
             UPDATE comments SET fingerprint = '\\x{}' WHERE id = '\\x{}';
             UPDATE status_counts SET n = n + 5 WHERE status = 'pending' AND shard = 7;
             UPDATE page_changes SET generation = generation + 1 WHERE page = '/p/'",
            hex_id(&ids[0]),
            hex_id(&ids[1]),
            "ab".repeat(32),
            hex_id(&ids[2]),
        ),
    );
    let page = async || {
        body_json(&replica.get("/api/comments?page=/p/").await)["count"]
            .as_u64()
            .expect("count")
    };
    let started = Instant::now();
    while page().await != 0 {
        assert!(started.elapsed() < Duration::from_secs(1));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let (code, report) = check(&config, false);
    assert_eq!(code, Some(1), "{report}");
    for line in [
        "comments.status",
        "fingerprint   missing",
        "fingerprint   stale",
        "status_counts wrong count",
        "INCONSISTENT",
    ] {
        assert!(report.contains(line), "no `{line}` in:\n{report}");
    }
    assert!(report.contains("problems: 4"), "{report}");

    let (code, report) = check(&config, true);
    assert_eq!(code, Some(0), "{report}");
    assert!(report.contains("repaired: 4"), "{report}");
    let (code, report) = check(&config, false);
    assert_eq!(code, Some(0), "{report}");
    assert!(report.contains("problems: none"), "{report}");

    // The running replica serves the repaired page, and its count is the
    // database's again.
    let started = Instant::now();
    while page().await != 1 {
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "the repaired page is not served"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let started = Instant::now();
    while replica
        .state
        .store()
        .status_count(moderato::domain::Status::Pending)
        != 3
    {
        assert!(started.elapsed() < Duration::from_secs(1));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

//! The reader's email never leaves the author's view: not in a public
//! response, not in a log line, not unencrypted in the database (sled's
//! files, or everything `pg_dump` gets out of PostgreSQL).

use std::process::{Command, Stdio};

use serde_json::json;

use sha2::{Digest, Sha256};

use crate::backend::Backend;
use crate::helpers::{ADMIN_TOKEN, TestApp, body_json, comment, free_port, wait_healthy};

pub const EMAIL: &str = "Grieving.Reader+private@Quiet-Harbor.net";

pub fn assert_no_email(text: &str, place: &str) {
    let lower = text.to_lowercase();
    for needle in [
        EMAIL.to_lowercase(),
        "grieving.reader".into(),
        "quiet-harbor".into(),
    ] {
        assert!(
            !lower.contains(&needle),
            "{place} contains `{needle}`: {text}"
        );
    }
}

#[tokio::test]
async fn no_public_response_contains_the_email() {
    let app = TestApp::new();
    let created = app.post_json(&comment("/p/", "Ann", EMAIL)).await;
    assert_no_email(&String::from_utf8_lossy(created.body()), "the 201 answer");
    let id = body_json(&created)["id"].as_str().expect("id").to_owned();
    app.admin("POST", &format!("/admin/comments/{id}/approve"))
        .await;

    // A validation error must not echo the address either.
    let mut invalid = comment("/p/", "", EMAIL);
    invalid["email"] = json!(format!("{EMAIL}@"));
    let refused = app.post_json(&invalid).await;
    assert_eq!(refused.status(), 422);
    assert_no_email(&String::from_utf8_lossy(refused.body()), "the 422 answer");

    for path in [
        "/api/comments?page=/p/".to_owned(),
        format!("/api/comments/{id}"),
        "/api/counts?page=/p/".into(),
    ] {
        let response = app.get(&path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_no_email(&String::from_utf8_lossy(response.body()), &path);
        for (name, value) in response.headers() {
            assert_no_email(
                value.to_str().unwrap_or(""),
                &format!("{path} header {name}"),
            );
        }
    }
    // The author does see it.
    let admin = body_json(&app.admin("GET", &format!("/admin/comments/{id}")).await);
    assert_eq!(admin["email"], EMAIL);
}

#[tokio::test]
async fn the_database_never_holds_the_email_or_its_plain_hash() {
    let app = TestApp::new();
    for i in 0..20 {
        let id = app.post_comment(&format!("/p{i}/"), "Ann", EMAIL).await;
        app.admin("POST", &format!("/admin/comments/{id}/approve"))
            .await;
    }
    app.state.store().flush().await.expect("flush");

    // Everything the database holds: sled's files, or PostgreSQL's whole
    // database as `pg_dump` writes it (bytea as hex, so hex needles too).
    let stored: Vec<(String, Vec<u8>)> = match crate::backend::backend() {
        Backend::Sled => crate::helpers::files_under(app.dir.path()),
        Backend::Postgres => vec![(
            "pg_dump".to_owned(),
            crate::backend::dump(&app.state.config.database_url),
        )],
    };
    let lower_email = EMAIL.to_lowercase();
    let plain_hash = Sha256::digest(lower_email.as_bytes());
    // The domain too: the learning filter learned it from the approvals
    // (a hashed feature, in its ledger).
    let needles = [
        lower_email.clone(),
        "grieving.reader".to_owned(),
        "quiet-harbor".to_owned(),
        hex::encode(lower_email.as_bytes()),
        hex::encode("grieving.reader"),
        hex::encode("quiet-harbor"),
        hex::encode(plain_hash),
    ];
    let mut bytes_read = 0;
    for (place, bytes) in &stored {
        let lower = bytes.to_ascii_lowercase();
        for needle in &needles {
            assert!(
                !lower.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{place} holds `{needle}`"
            );
        }
        assert!(
            !bytes
                .windows(plain_hash.len())
                .any(|w| w == plain_hash.as_slice()),
            "{place} holds the unkeyed hash of the email"
        );
        bytes_read += bytes.len();
    }
    // The check must have looked at real data: the comments are in there.
    let comment_text = "It helped me through a hard week";
    assert!(
        stored.iter().any(|(_, b)| b
            .windows(comment_text.len())
            .any(|w| w == comment_text.as_bytes())),
        "the comments themselves were not found in what was read"
    );
    assert!(
        !stored.is_empty() && bytes_read > 10_000,
        "read {} places, {bytes_read} bytes",
        stored.len()
    );
}

/// Runs the real binary at `trace` level, posts and moderates, then reads
/// every line it logged.
#[tokio::test]
async fn no_log_line_contains_the_email() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    // Logs go to a file: a pipe that nobody drains would block the server.
    let log_path = dir.path().join("moderato.log");
    let log_file = std::fs::File::create(&log_path).expect("log file");
    let mut child = crate::helpers::Running(
        Command::new(env!("CARGO_BIN_EXE_moderato"))
            .envs(crate::backend::backend_env(dir.path()))
            .env("MODERATO_LISTEN", format!("127.0.0.1:{port}"))
            .env("MODERATO_DATA_DIR", dir.path().join("data"))
            .env("MODERATO_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("RUST_LOG", "trace")
            .stdout(Stdio::from(log_file.try_clone().expect("clone")))
            .stderr(Stdio::from(log_file))
            .spawn()
            .expect("start moderato"),
    );
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    wait_healthy(&client, &base).await;

    let created: serde_json::Value = client
        .post(format!("{base}/api/comments"))
        .json(&comment("/p/", "Ann", EMAIL))
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    let id = created["id"].as_str().expect("id");
    let mut invalid = comment("/p/", "Ann", EMAIL);
    invalid["email"] = json!(format!("{EMAIL}@@"));
    client
        .post(format!("{base}/api/comments"))
        .json(&invalid)
        .send()
        .await
        .expect("post");
    let form = format!(
        "page=/p/&author=Ann&comment=hi&email={}",
        EMAIL.replace('+', "%2B")
    );
    client
        .post(format!("{base}/api/comments"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .expect("form post");
    for path in [
        format!("/admin/comments/{id}"),
        "/admin/comments?status=all".into(),
    ] {
        client
            .get(format!("{base}{path}"))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .expect("admin");
    }
    client
        .post(format!("{base}/admin/comments/{id}/approve"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("approve");
    // The learning filter's paths: a decision it learns from (and a
    // changed one it unlearns), its view, and an erasure that unlearns.
    for decision in ["spam", "approve"] {
        client
            .post(format!("{base}/admin/comments/{id}/{decision}"))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .expect("decide");
    }
    let learning = client
        .get(format!("{base}/admin/learning"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("learning")
        .text()
        .await
        .expect("body");
    assert_no_email(&learning, "GET /admin/learning");
    client
        .get(format!("{base}/api/comments?page=/p/"))
        .send()
        .await
        .expect("list");
    client
        .post(format!("{base}/admin/erase"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({ "email": EMAIL }))
        .send()
        .await
        .expect("erase");

    // SIGTERM, then read everything it wrote.
    let pid = child.id().to_string();
    Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    let status = child.wait().expect("wait");
    assert!(status.success(), "exit status {status:?}");
    let logs = std::fs::read_to_string(&log_path).expect("read logs");
    assert!(
        logs.contains(id),
        "the logs should mention the comment id: {logs}"
    );
    assert!(logs.lines().count() > 10, "trace logging should be verbose");
    for line in logs.lines() {
        assert_no_email(line, "a log line");
        assert!(
            !line.contains(ADMIN_TOKEN),
            "a log line holds the admin token: {line}"
        );
    }
}

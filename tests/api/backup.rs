//! Backups for real: the binary writes snapshots on a schedule while
//! writers post; one is restored into a new data directory (with the same
//! master key) and holds every comment acknowledged before it began, the
//! readers' mail records and what the learning filter learned; the
//! last `backup_keep` are kept; a snapshot holds no readable email; restore
//! refuses a non-empty directory without `--force`, a wrong key, and a file
//! cut short.

use std::io::Read;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{all_ids, free_port, sigterm, start_moderato, wait_healthy};

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn backups(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found: Vec<_> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.to_string_lossy().ends_with(".ndjson.gz"))
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

fn restore(data: &Path, file: &Path, force: bool) -> (Option<i32>, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_moderato"));
    command.arg("restore").arg(file);
    if force {
        command.arg("--force");
    }
    let output = command
        .env("MODERATO_DATA_DIR", data)
        .env("RUST_LOG", "warn")
        .output()
        .expect("moderato restore");
    (
        output.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

fn gunzip(file: &Path) -> String {
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(file).expect("open"))
        .read_to_string(&mut text)
        .expect("gzip");
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_load_restores_every_comment_acknowledged_before_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let backup_dir = dir.path().join("backups");
    let port = free_port();
    // Readers' mail on (to a port where nothing listens: the mails wait in
    // the outbox), so that a reader's request is stored.
    let smtp_port = free_port().to_string();
    let public_url = format!("http://127.0.0.1:{port}");
    let mut child = start_moderato(
        &data,
        port,
        &[
            ("MODERATO_BACKUP_DIR", backup_dir.to_str().expect("utf-8")),
            ("MODERATO_BACKUP_EVERY", "1s"),
            ("MODERATO_BACKUP_KEEP", "2"),
            ("MODERATO_SMTP_HOST", "127.0.0.1"),
            ("MODERATO_SMTP_PORT", &smtp_port),
            ("MODERATO_SMTP_SECURITY", "none"),
            ("MODERATO_SMTP_FROM", "moderato <moderato@blog.test>"),
            ("MODERATO_SMTP_TO", "author@blog.test"),
            ("MODERATO_PUBLIC_URL", &public_url),
            // The mails' retries are expected here: keep them out of the output.
            ("RUST_LOG", "error"),
        ],
    );
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    wait_healthy(&client, &base).await;

    // A reader who asks for reply mail, and a comment the author marks as
    // spam (which the learning filter learns).
    let asked = client
        .post(format!("{base}/api/comments"))
        .json(&json!({
            "page": "/p/", "author": "Bea", "email": "bea.reader@example.org",
            "comment": "Please tell me when someone answers.", "notify_replies": true
        }))
        .send()
        .await
        .expect("post");
    assert_eq!(asked.status(), 201);
    let spam = client
        .post(format!("{base}/api/comments"))
        .json(&json!({
            "page": "/p/", "author": "Cheap Pills", "email": "pills@spam.example",
            "comment": "Buy cheap pills now, best prices at our online shop."
        }))
        .send()
        .await
        .expect("post");
    assert_eq!(spam.status(), 201);
    let spam = spam.json::<Value>().await.expect("json")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let marked = client
        .post(format!("{base}/admin/comments/{spam}/spam"))
        .bearer_auth(crate::helpers::ADMIN_TOKEN)
        .send()
        .await
        .expect("decide");
    assert_eq!(marked.status(), 200);
    let decided_at = now_ms();

    // Writers post while snapshots are taken; each ack is timed.
    let acked = Arc::new(Mutex::new(Vec::<(i64, String)>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..3 {
        let (client, base, acked, stop) =
            (client.clone(), base.clone(), acked.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let response = client
                    .post(format!("{base}/api/comments"))
                    .json(&json!({
                        "page": "/p/", "author": "Ann", "email": format!("reader{w}@example.org"),
                        "comment": format!("Reader {w}, note {i}.")
                    }))
                    .send()
                    .await
                    .expect("post");
                assert_eq!(response.status(), 201);
                let id = response.json::<Value>().await.expect("json")["id"]
                    .as_str()
                    .expect("id")
                    .to_owned();
                acked.lock().expect("lock").push((now_ms(), id));
            }
        }));
    }
    let started = Instant::now();
    while backups(&backup_dir).len() < 3 && started.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Wait for one more snapshot, taken under load.
    let seen = backups(&backup_dir);
    while backups(&backup_dir) == seen && started.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.await.expect("writer");
    }
    assert_eq!(sigterm(&mut child, Duration::from_secs(20)), Some(0));
    let files = backups(&backup_dir);
    assert_eq!(files.len(), 2, "backup_keep = 2 keeps two: {files:?}");
    let newest = files.last().expect("a backup");

    // As stored: sealed emails, a header with the key check, an end line.
    let text = gunzip(newest);
    assert!(
        !text.contains("@example.org"),
        "a backup holds no readable email"
    );
    let header: Value = serde_json::from_str(text.lines().next().expect("header")).expect("json");
    assert_eq!(header["type"], "moderato-backup");
    assert_eq!(header["version"], 1);
    let key_check = std::fs::read_to_string(data.join("key.check")).expect("key.check");
    assert_eq!(header["key_check"], key_check.trim());
    let began = header["started_at"].as_i64().expect("started_at");
    assert!(decided_at < began, "the backup began after the decision");
    let kinds: Vec<String> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|l| l["type"].as_str().map(str::to_owned))
        .collect();
    assert!(kinds.iter().any(|k| k == "subscriber"), "{kinds:?}");
    assert!(kinds.iter().any(|k| k == "ledger"), "{kinds:?}");
    assert!(!text.contains("pills@spam.example"), "no readable email");
    let before: Vec<String> = acked
        .lock()
        .expect("lock")
        .iter()
        .filter(|(at, _)| *at < began)
        .map(|(_, id)| id.clone())
        .collect();
    assert!(
        !before.is_empty(),
        "comments were acknowledged before the backup"
    );

    // Restore into a new data directory that holds the same key.
    let restored = dir.path().join("restored");
    std::fs::create_dir_all(&restored).expect("dir");
    let (code, output) = restore(&restored, newest, false);
    assert_eq!(code, Some(1), "no key, no restore: {output}");
    assert!(output.contains("secret.key"), "{output}");
    std::fs::copy(data.join("secret.key"), restored.join("secret.key")).expect("copy key");
    let (code, output) = restore(&restored, newest, false);
    assert_eq!(code, Some(0), "{output}");
    assert!(output.contains("restored"), "{output}");
    let (code, output) = restore(&restored, newest, false);
    assert_eq!(
        code,
        Some(1),
        "a non-empty directory needs --force: {output}"
    );
    assert!(output.contains("--force"), "{output}");
    let (code, output) = restore(&restored, newest, true);
    assert_eq!(code, Some(0), "{output}");

    let port = free_port();
    let mut child = start_moderato(&restored, port, &[]);
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(&client, &base).await;
    let stored = all_ids(&client, &base).await;
    let missing: Vec<&String> = before.iter().filter(|id| !stored.contains(id)).collect();
    assert!(
        missing.is_empty(),
        "{} of {} comments acknowledged before the backup are not in it: {missing:?}",
        missing.len(),
        before.len()
    );
    let one: Value = client
        .get(format!("{base}/admin/comments/{}", before[0]))
        .bearer_auth(crate::helpers::ADMIN_TOKEN)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert!(
        one["email"]
            .as_str()
            .is_some_and(|e| e.ends_with("@example.org")),
        "the email is readable with the same key: {one}"
    );
    // The reader's request and the learned decision came back too.
    let learning: Value = client
        .get(format!("{base}/admin/learning"))
        .bearer_auth(crate::helpers::ADMIN_TOKEN)
        .send()
        .await
        .expect("learning")
        .json()
        .await
        .expect("json");
    assert_eq!(learning["learned"]["spam"], 1, "{learning}");
    let export = client
        .get(format!("{base}/admin/export"))
        .bearer_auth(crate::helpers::ADMIN_TOKEN)
        .send()
        .await
        .expect("export")
        .text()
        .await
        .expect("text");
    let readers: Vec<Value> = export
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["record"] == "subscriber")
        .collect();
    assert_eq!(readers.len(), 1, "{export}");
    assert_eq!(readers[0]["email"], "bea.reader@example.org");
    assert_eq!(sigterm(&mut child, Duration::from_secs(20)), Some(0));

    // A wrong key, and a file cut short, are refused.
    let other = dir.path().join("other");
    std::fs::create_dir_all(&other).expect("dir");
    std::fs::write(other.join("secret.key"), format!("{}\n", "cd".repeat(32))).expect("key");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        other.join("secret.key"),
        std::fs::Permissions::from_mode(0o600),
    )
    .expect("chmod");
    let (code, output) = restore(&other, newest, false);
    assert_eq!(code, Some(1), "{output}");
    assert!(output.contains("not the key"), "{output}");
    let bytes = std::fs::read(newest).expect("read");
    let cut = dir.path().join("cut.ndjson.gz");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("write");
    std::fs::copy(data.join("secret.key"), other.join("secret.key")).expect("copy key");
    let (code, output) = restore(&other, &cut, false);
    assert_eq!(code, Some(1), "{output}");
    assert!(
        !other.join("db").exists(),
        "nothing restored from a cut file"
    );
}

#[test]
fn restore_with_a_database_url_refuses_and_points_to_postgresql_tools() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = crate::backend::key_file(dir.path());
    let file = dir
        .path()
        .join("moderato-backup-20260101T000000Z.ndjson.gz");
    std::fs::write(&file, b"").expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_moderato"))
        .arg("restore")
        .arg(&file)
        .env("MODERATO_DATA_DIR", dir.path().join("data"))
        // Never reached: the refusal comes before any connection.
        .env(
            "MODERATO_DATABASE_URL",
            "postgres://moderato@127.0.0.1:9/none",
        )
        .env("MODERATO_MASTER_KEY_FILE", &key)
        .env("MODERATO_ADMIN_TOKEN", "restore-test-token-0123")
        .env("RUST_LOG", "warn")
        .output()
        .expect("moderato restore");
    let text = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains("pg_dump") && text.contains("database_url"),
        "{text}"
    );
    assert!(!dir.path().join("data/db").exists(), "nothing was created");
}

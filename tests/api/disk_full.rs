//! A full disk, for real: the real binary on a small tmpfs (mounted here,
//! so these tests need root, as CI has; elsewhere they fail saying so).
//! Filled up, a post gets 503 with `Retry-After` and a JSON error, nothing
//! unacknowledged is claimed, `/healthz` says the store cannot write while
//! `/readyz` and the reads stay up; once space comes back the service takes
//! comments again by itself, stops on SIGTERM, and every acknowledged
//! comment is there, with nothing for `moderato check` to repair.
//!
//! Two ways to fill up: with the free-space reserve (the default: writes
//! are refused before sled meets the full disk) and without it (reserve 0:
//! sled itself hits ENOSPC, and the store must reopen the database).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{
    ADMIN_TOKEN, all_ids, free_port, moderato_check, require_root, sigterm, start_moderato,
    wait_healthy,
};

/// A tmpfs of `size` mounted on a fresh directory, unmounted on drop.
struct Tmpfs {
    dir: PathBuf,
    _parent: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Tmpfs {
        require_root("the full-disk test");
        let parent = tempfile::tempdir().expect("tempdir");
        let dir = parent.path().join("disk");
        std::fs::create_dir(&dir).expect("mount point");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .status()
            .expect("run mount");
        assert!(status.success(), "mount -t tmpfs failed: {status}");
        Tmpfs {
            dir,
            _parent: parent,
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

/// Writes a file that leaves about `leave` bytes free on `dir`'s file system.
fn fill_leaving(dir: &Path, leave: u64) -> PathBuf {
    let free = fs2::available_space(dir).expect("statvfs");
    let filler = dir.join("filler");
    let size = free.saturating_sub(leave);
    let file = std::fs::File::create(&filler).expect("filler");
    use std::io::Write;
    let mut writer = std::io::BufWriter::new(file);
    let block = vec![0x5a_u8; 64 * 1024];
    let mut written = 0;
    while written < size {
        let n = block.len().min((size - written) as usize);
        writer.write_all(&block[..n]).expect("write filler");
        written += n as u64;
    }
    writer.flush().expect("flush filler");
    filler
}

/// A long comment, so the disk fills in a few hundred posts.
fn long_comment(writer: usize, i: usize) -> Value {
    json!({
        "page": format!("/post-{}/", i % 3),
        "author": format!("Writer {writer}"),
        "email": format!("writer{writer}@example.org"),
        "comment": format!("Writer {writer}, note {i}: {}", "thank you for this. ".repeat(150)),
    })
}

async fn post_until_refused(
    client: &reqwest::Client,
    base: &str,
) -> (Vec<String>, reqwest::Response) {
    let acked = Arc::new(Mutex::new(Vec::new()));
    let refused = Arc::new(tokio::sync::Mutex::new(None));
    let mut writers = Vec::new();
    for w in 0..4 {
        let (client, base, acked, refused) = (
            client.clone(),
            base.to_owned(),
            acked.clone(),
            refused.clone(),
        );
        writers.push(tokio::spawn(async move {
            for i in 0..5_000 {
                if refused.lock().await.is_some() {
                    return;
                }
                let response = client
                    .post(format!("{base}/api/comments"))
                    .json(&long_comment(w, i))
                    .send()
                    .await
                    .expect("the server answers while the disk is full");
                match response.status().as_u16() {
                    201 => {
                        let body: Value = response.json().await.expect("json");
                        acked
                            .lock()
                            .expect("lock")
                            .push(body["id"].as_str().expect("id").to_owned());
                    }
                    503 => {
                        *refused.lock().await = Some(response);
                        return;
                    }
                    other => panic!(
                        "a post on a filling disk got {other}: {}",
                        response.text().await.unwrap_or_default()
                    ),
                }
            }
        }));
    }
    for writer in writers {
        writer.await.expect("writer");
    }
    let refused = refused
        .lock()
        .await
        .take()
        .expect("the disk never filled up");
    let acked = acked.lock().expect("lock").clone();
    (acked, refused)
}

async fn get(client: &reqwest::Client, url: String) -> (u16, Value) {
    let response = client
        .get(url)
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("get");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn full_disk_round(reserve_mb: &str) {
    let disk = Tmpfs::mount("16m");
    let data = disk.dir.join("data");
    let client = reqwest::Client::new();
    let port = free_port();
    let mut child = start_moderato(&data, port, &[("MODERATO_DISK_RESERVE_MB", reserve_mb)]);
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(&client, &base).await;
    let reserve: u64 = reserve_mb.parse().expect("number");
    if reserve > 0 {
        // Below the reserve before any write: health says so already, and
        // a monitor needs no failed post to see it.
        let low = fill_leaving(&disk.dir, reserve * 1024 * 1024 / 2);
        let (status, health) = get(&client, format!("{base}/healthz")).await;
        assert_eq!(status, 503, "{health}");
        assert_eq!(health["writable"], false, "{health}");
        std::fs::remove_file(&low).expect("free space");
        let (status, health) = get(&client, format!("{base}/healthz")).await;
        assert_eq!(status, 200, "{health}");
    }
    // Leave room for a few hundred comments above the reserve.
    let filler = fill_leaving(&disk.dir, reserve * 1024 * 1024 + 1_500_000);

    // Fill up.
    let (acked, refused) = post_until_refused(&client, &base).await;
    assert!(
        acked.len() >= 20,
        "only {} comments fit: the test did not exercise a filling disk",
        acked.len()
    );
    let retry_after = refused
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    assert!(
        retry_after.is_some_and(|s| s > 0),
        "a 503 carries Retry-After"
    );
    let body: Value = refused.json().await.expect("a JSON error");
    assert_eq!(body["error"], "store_unavailable", "{body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));

    // Health: not writable; ready for reads; reads work.
    let (status, health) = get(&client, format!("{base}/healthz")).await;
    assert_eq!(status, 503, "{health}");
    assert_eq!(health["writable"], false);
    assert!(
        health["problem"]
            .as_str()
            .is_some_and(|p| p.contains("space")),
        "{health}"
    );
    let (status, ready) = get(&client, format!("{base}/readyz")).await;
    assert_eq!(status, 200, "{ready}");
    let (status, _) = get(&client, format!("{base}/api/comments?page=/post-0/")).await;
    assert_eq!(status, 200, "public reads go on");
    let (status, one) = get(&client, format!("{base}/admin/comments/{}", acked[0])).await;
    assert_eq!(status, 200, "{one}");
    // Still refused a moment later, and quickly.
    let again = client
        .post(format!("{base}/api/comments"))
        .json(&long_comment(9, 0))
        .send()
        .await
        .expect("post");
    assert_eq!(again.status(), 503);
    // An import is refused the same way.
    let line = r#"{"id": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "page": "/imported/", "author": "Ann", "email": "ann@example.org", "text": "Imported while full.", "status": "approved", "created_at": 1700000000000, "updated_at": 1700000000000}"#;
    let import = client
        .post(format!("{base}/admin/import"))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "application/x-ndjson")
        .body(format!("{line}\n"))
        .send()
        .await
        .expect("import");
    assert_eq!(import.status(), 503, "an import while the disk is full");
    assert!(import.headers().contains_key("retry-after"));

    // Space comes back: the service recovers by itself.
    std::fs::remove_file(&filler).expect("free space");
    let started = Instant::now();
    loop {
        let (status, health) = get(&client, format!("{base}/healthz")).await;
        if status == 200 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "not writable 30 s after space came back: {health}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let after = client
        .post(format!("{base}/api/comments"))
        .json(&json!({
            "page": "/after/", "author": "Ann", "email": "ann@example.org",
            "comment": "Written once the disk had room again."
        }))
        .send()
        .await
        .expect("post");
    assert_eq!(after.status(), 201, "a post after recovery is stored");
    let after: Value = after.json().await.expect("json");
    assert_eq!(
        sigterm(&mut child, Duration::from_secs(20)),
        Some(0),
        "SIGTERM stops the recovered service cleanly"
    );

    // Nothing acknowledged is missing; nothing needs repair.
    let port = free_port();
    let mut child = start_moderato(&data, port, &[]);
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(&client, &base).await;
    let stored = all_ids(&client, &base).await;
    let after_id = after["id"].as_str().expect("id").to_owned();
    let missing: Vec<&String> = acked
        .iter()
        .chain(std::iter::once(&after_id))
        .filter(|id| !stored.contains(id))
        .collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged comments missing after the full disk: {missing:?}",
        missing.len()
    );
    assert_eq!(sigterm(&mut child, Duration::from_secs(20)), Some(0));
    let (code, report) = moderato_check(&data, &[]);
    assert_eq!(code, Some(0), "{report}");
    assert!(report.contains("problems: none"), "{report}");
    assert!(
        report.contains(&format!("comments checked: {}", stored.len())),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_refused_before_sled_meets_it_and_recovers_by_itself() {
    full_disk_round("2").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_sled_itself_hits_a_full_disk_the_store_reopens_and_recovers() {
    full_disk_round("0").await;
}

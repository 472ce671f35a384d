//! Crash safety: SIGKILL in the middle of concurrent posting. Every comment
//! that got a 201 is there after the restart, exactly once, and the
//! indexes agree with the comments (`moderato check`), on either backend.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::backend::backend_env;
use crate::helpers::{ADMIN_TOKEN, free_port, wait_healthy};

const WRITERS: usize = 8;
/// Acknowledged comments to wait for before the kill.
const ACKS_BEFORE_KILL: usize = 150;

fn start(data: &Path, backend: &[(&str, String)], port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_moderato"))
        .envs(backend.iter().map(|(k, v)| (k, v)))
        .env("MODERATO_LISTEN", format!("127.0.0.1:{port}"))
        .env("MODERATO_DATA_DIR", data)
        .env(
            "MODERATO_RULES_DIR",
            Path::new(env!("CARGO_MANIFEST_DIR")).join("rules"),
        )
        .env("MODERATO_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("MODERATO_RATE_LIMITS_ENABLED", "false")
        .env("RUST_LOG", "warn")
        .spawn()
        .expect("start moderato")
}

/// Every stored comment id, any status, through the admin listing.
async fn all_ids(client: &reqwest::Client, base: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..1000 {
        let mut url = format!("{base}/admin/comments?status=all&limit=200");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page: Value = client
            .get(url)
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .expect("list")
            .json()
            .await
            .expect("json");
        for c in page["comments"].as_array().expect("comments") {
            ids.push(c["id"].as_str().expect("id").to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return ids,
        }
    }
    panic!("listing did not end");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_comment_survives_sigkill_mid_load_exactly_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let backend = backend_env(dir.path());
    let client = reqwest::Client::new();
    let port = free_port();
    let mut child = start(&data, &backend, port);
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(&client, &base).await;

    let acked = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let count = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (client, base) = (client.clone(), base.clone());
        let (acked, count, stop) = (acked.clone(), count.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            for i in 0..5_000 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let body = json!({
                    "page": format!("/post-{}/", i % 5),
                    "author": format!("Writer {w}"),
                    "email": format!("writer{w}@example.org"),
                    "comment": format!("Writer {w} says thank you, note number {i}."),
                });
                let response = match client
                    .post(format!("{base}/api/comments"))
                    .json(&body)
                    .send()
                    .await
                {
                    Ok(r) => r,
                    // The server is gone: this one was never acknowledged.
                    Err(_) => break,
                };
                if response.status() != 201 {
                    continue;
                }
                let Ok(created) = response.json::<Value>().await else {
                    break;
                };
                let id = created["id"].as_str().expect("id").to_owned();
                acked.lock().expect("lock").push(id);
                count.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let started = Instant::now();
    while count.load(Ordering::Relaxed) < ACKS_BEFORE_KILL
        && started.elapsed() < Duration::from_secs(20)
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // std's Child::kill is SIGKILL: no chance to flush at exit.
    child.kill().expect("SIGKILL");
    child.wait().expect("wait");
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.await.expect("writer");
    }
    let acked = acked.lock().expect("lock").clone();
    assert!(
        acked.len() >= ACKS_BEFORE_KILL,
        "only {} comments acknowledged before the kill",
        acked.len()
    );

    let port = free_port();
    let mut child = start(&data, &backend, port);
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(&client, &base).await;
    let stored = all_ids(&client, &base).await;
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for id in &stored {
        *seen.entry(id.as_str()).or_default() += 1;
    }
    assert!(seen.values().all(|n| *n == 1), "a comment is listed twice");
    let lost: Vec<&String> = acked
        .iter()
        .filter(|id| !seen.contains_key(id.as_str()))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged comments lost after SIGKILL: {lost:?}",
        lost.len(),
        acked.len()
    );

    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert_eq!(child.wait().expect("wait").code(), Some(0));
    let check = Command::new(env!("CARGO_BIN_EXE_moderato"))
        .arg("check")
        .envs(backend.iter().map(|(k, v)| (k, v)))
        .env("MODERATO_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("MODERATO_DATA_DIR", &data)
        .env("RUST_LOG", "warn")
        .output()
        .expect("moderato check");
    let report = String::from_utf8_lossy(&check.stdout);
    assert_eq!(check.status.code(), Some(0), "{report}");
    assert!(report.contains("problems: none"), "{report}");
    assert!(
        report.contains(&format!("comments checked: {}", stored.len())),
        "{report}"
    );
}

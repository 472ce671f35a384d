//! Two real `moderato` processes on one PostgreSQL behind a real load
//! balancer (haproxy): posts and reads go through the balancer, one
//! replica is killed with SIGKILL mid-run and started again. Every comment
//! acknowledged with 201 is in the database afterwards, exactly once; the
//! survivor keeps answering reads; `moderato check` finds nothing wrong.
//!
//! `benches/replicas.sh` runs the same with longer phases and more
//! clients (`TEST_MODERATO_REPLICA_SECS`, `TEST_MODERATO_REPLICA_WRITERS`,
//! `TEST_MODERATO_REPLICA_READERS`) and prints the figures.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{ADMIN_TOKEN, free_port, wait_healthy};
use crate::support::query;

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// haproxy from Debian's package (`tests/run.sh` and `benches/replicas.sh`
/// install it when missing).
fn haproxy() -> PathBuf {
    [
        "/usr/sbin/haproxy",
        "/usr/bin/haproxy",
        "/usr/local/sbin/haproxy",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
    .expect("haproxy is not installed: `apt-get install -y haproxy` (tests/run.sh does)")
}

/// A child process killed when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Service {
    env: Vec<(&'static str, String)>,
    log_dir: PathBuf,
}

impl Service {
    fn start(&self, name: &str, port: u16) -> Running {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_dir.join(format!("{name}.log")))
            .expect("log file");
        Running(
            Command::new(env!("CARGO_BIN_EXE_moderato"))
                .envs(self.env.iter().map(|(k, v)| (k, v)))
                .env("MODERATO_LISTEN", format!("127.0.0.1:{port}"))
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(Stdio::from(log))
                .spawn()
                .expect("start moderato"),
        )
    }
}

fn balancer_config(dir: &Path, front: u16, a: u16, b: u16) -> PathBuf {
    let path = dir.join("haproxy.cfg");
    // The configuration README.md shows ("Running several replicas"):
    // health checks on /healthz, and a request that could not reach a
    // replica goes to the other; a POST is never sent twice.
    let config = format!(
        "global
    maxconn 4096
defaults
    mode http
    timeout connect 1s
    timeout client 10s
    timeout server 10s
    retries 3
    option redispatch
    retry-on conn-failure empty-response response-timeout
frontend comments
    bind 127.0.0.1:{front}
    http-request disable-l7-retry if METH_POST
    default_backend replicas
backend replicas
    balance roundrobin
    option httpchk GET /healthz
    server a 127.0.0.1:{a} check inter 250ms fall 2 rise 2
    server b 127.0.0.1:{b} check inter 250ms fall 2 rise 2
"
    );
    std::fs::write(&path, config).expect("write haproxy.cfg");
    path
}

#[derive(Default)]
struct Tally {
    posts_201: AtomicU64,
    posts_failed: AtomicU64,
    reads_ok: AtomicU64,
    reads_failed: AtomicU64,
    /// Reads that failed while only the survivor was up and known down
    /// to the balancer (after the grace period).
    reads_failed_on_survivor: AtomicU64,
    reads_on_survivor: AtomicU64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_behind_haproxy_survive_a_sigkill_with_every_201_stored() {
    let phase = Duration::from_secs(setting("TEST_MODERATO_REPLICA_SECS", 3));
    let writers = setting("TEST_MODERATO_REPLICA_WRITERS", 6);
    let readers = setting("TEST_MODERATO_REPLICA_READERS", 3);
    let dir = tempfile::tempdir().expect("tempdir");
    let database_url = crate::backend::fresh_database();
    let service = Service {
        env: vec![
            ("MODERATO_DATABASE_URL", database_url.clone()),
            (
                "MODERATO_MASTER_KEY_FILE",
                crate::backend::key_file(dir.path()).display().to_string(),
            ),
            ("MODERATO_ADMIN_TOKEN", ADMIN_TOKEN.to_owned()),
            ("MODERATO_MODERATION", "rules".to_owned()),
            // Behind one balancer every reader has its address: see
            // README.md for per-replica rate limits behind a balancer.
            ("MODERATO_RATE_LIMITS_ENABLED", "false".to_owned()),
            (
                "MODERATO_RULES_DIR",
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("rules")
                    .display()
                    .to_string(),
            ),
        ],
        log_dir: dir.path().to_owned(),
    };
    let (port_a, port_b, front) = (free_port(), free_port(), free_port());
    let mut a = service.start("a", port_a);
    let _b = service.start("b", port_b);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    wait_healthy(&client, &format!("http://127.0.0.1:{port_a}")).await;
    wait_healthy(&client, &format!("http://127.0.0.1:{port_b}")).await;
    let _haproxy = Running(
        Command::new(haproxy())
            .args(["-db", "-f"])
            .arg(balancer_config(dir.path(), front, port_a, port_b))
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(dir.path().join("haproxy.log")).expect("log"),
            ))
            .spawn()
            .expect("start haproxy"),
    );
    let base = format!("http://127.0.0.1:{front}");
    wait_healthy(&client, &base).await;

    let acked = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    // Set while only b is up and the balancer has had time to notice.
    let survivor_only = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for w in 0..writers {
        let (client, base, acked, tally, stop) = (
            client.clone(),
            base.clone(),
            acked.clone(),
            tally.clone(),
            stop.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let body = json!({
                    "page": format!("/post-{}/", i % 4),
                    "author": format!("Writer {w}"),
                    "email": format!("writer{w}@example.org"),
                    "comment": format!("Writer {w} thanks you, note number {i}."),
                });
                let created = async {
                    let response = client
                        .post(format!("{base}/api/comments"))
                        .json(&body)
                        .send()
                        .await
                        .ok()?;
                    if response.status() != 201 {
                        return None;
                    }
                    let value: Value = response.json().await.ok()?;
                    value["id"].as_str().map(str::to_owned)
                };
                match created.await {
                    Some(id) => {
                        acked.lock().expect("lock").push(id);
                        tally.posts_201.fetch_add(1, Ordering::Relaxed);
                    }
                    None => {
                        tally.posts_failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for r in 0..readers {
        let (client, base, tally, stop, survivor_only) = (
            client.clone(),
            base.clone(),
            tally.clone(),
            stop.clone(),
            survivor_only.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut i = r;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let only_b = survivor_only.load(Ordering::Relaxed);
                let ok = client
                    .get(format!("{base}/api/comments?page=/post-{}/", i % 4))
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == 200);
                let counter = if ok {
                    &tally.reads_ok
                } else {
                    &tally.reads_failed
                };
                counter.fetch_add(1, Ordering::Relaxed);
                if only_b {
                    tally.reads_on_survivor.fetch_add(1, Ordering::Relaxed);
                    if !ok {
                        tally
                            .reads_failed_on_survivor
                            .fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }

    let started = Instant::now();
    tokio::time::sleep(phase).await;
    let before_kill = tally.posts_201.load(Ordering::Relaxed);
    // SIGKILL: no chance to finish anything.
    a.0.kill().expect("SIGKILL replica a");
    a.0.wait().expect("wait");
    let killed_at = started.elapsed();
    // The balancer notices within two failed checks (2 x 250 ms); give it
    // a second, then every read must be answered by b.
    tokio::time::sleep(Duration::from_secs(1)).await;
    survivor_only.store(true, Ordering::Relaxed);
    tokio::time::sleep(phase).await;
    survivor_only.store(false, Ordering::Relaxed);
    let during_outage = tally.posts_201.load(Ordering::Relaxed) - before_kill;
    a = service.start("a", port_a);
    wait_healthy(&client, &format!("http://127.0.0.1:{port_a}")).await;
    tokio::time::sleep(phase).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.expect("client task");
    }
    let elapsed = started.elapsed();

    let acked = acked.lock().expect("lock").clone();
    let stored: HashSet<String> = query(&database_url, "SELECT encode(id, 'hex') FROM comments")
        .into_iter()
        .filter_map(|row| row.into_iter().next().flatten())
        .collect();
    let lost: Vec<&String> = acked
        .iter()
        .filter(|id| {
            let id: moderato::domain::CommentId = id.parse().expect("a comment id");
            !stored.contains(&hex::encode(id.to_bytes()))
        })
        .collect();
    let unique: HashSet<&String> = acked.iter().collect();
    let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
    eprintln!(
        "replicas: {elapsed:.1?} in all, replica a killed at {killed_at:.1?}; \
         posts: {} acknowledged ({before_kill} before the kill, {during_outage} while a was down), \
         {} not; reads: {} answered, {} failed; with only b up: {} reads, {} failed; \
         comments in the database: {}",
        load(&tally.posts_201),
        load(&tally.posts_failed),
        load(&tally.reads_ok),
        load(&tally.reads_failed),
        load(&tally.reads_on_survivor),
        load(&tally.reads_failed_on_survivor),
        stored.len(),
    );
    assert!(before_kill > 0, "nothing was acknowledged before the kill");
    assert!(
        during_outage > 0,
        "the survivor took no comment while a was down"
    );
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged comments are not in the database: {lost:?}",
        lost.len(),
        acked.len()
    );
    assert_eq!(unique.len(), acked.len(), "an id was acknowledged twice");
    assert!(load(&tally.reads_on_survivor) > 0);
    assert_eq!(
        load(&tally.reads_failed_on_survivor),
        0,
        "reads failed while the survivor was up alone"
    );

    // The database is consistent after the kill.
    let check = Command::new(env!("CARGO_BIN_EXE_moderato"))
        .arg("check")
        .envs(service.env.iter().map(|(k, v)| (k, v)))
        .env("RUST_LOG", "warn")
        .output()
        .expect("moderato check");
    let report = String::from_utf8_lossy(&check.stdout);
    assert_eq!(check.status.code(), Some(0), "{report}");
    assert!(report.contains("problems: none"), "{report}");
    drop(a);
}

//! Do concurrent `flush_async` calls in sled 0.34 coalesce well enough on
//! their own? Runs the same durable-write loop (insert ~1 KB, then wait
//! until it is on disk) from N concurrent tasks for a few seconds, once
//! with one `flush_async` per write and once through the store's
//! [`GroupCommit`], and prints writes/s, p50 and p99.
//!
//! Run: `cargo run --release --example flush_probe -- [TASKS] [SECONDS] [group|each|both]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use moderato::store::commit::GroupCommit;

#[derive(Clone, Copy, Debug)]
enum Mode {
    FlushAsyncEach,
    GroupCommit,
}

async fn run(mode: Mode, tasks: usize, seconds: u64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = sled::Config::new()
        .path(dir.path())
        .cache_capacity(64 * 1024 * 1024)
        .open()
        .expect("open");
    let commit = GroupCommit::new(db.clone());
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let value = Arc::new(vec![b'x'; 1024]);
    let mut handles = Vec::new();
    for t in 0..tasks {
        let (db, commit, value) = (db.clone(), commit.clone(), value.clone());
        handles.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut i = 0u64;
            while Instant::now() < deadline {
                let start = Instant::now();
                let key = [(t as u64).to_be_bytes(), i.to_be_bytes()].concat();
                db.insert(key, value.as_slice()).expect("insert");
                match mode {
                    Mode::FlushAsyncEach => {
                        db.flush_async().await.expect("flush");
                    }
                    Mode::GroupCommit => commit.flush().await.expect("flush"),
                }
                latencies.push(start.elapsed());
                i += 1;
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    let collect = async {
        for handle in handles {
            all.extend(handle.await.expect("task"));
        }
    };
    // sled 0.34.7's concurrent flush_async can hang forever (sled#1308).
    if tokio::time::timeout(Duration::from_secs(seconds + 15), collect)
        .await
        .is_err()
    {
        println!("{mode:?}: {tasks} tasks, HUNG (no progress 15 s after the deadline)");
        return;
    }
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    println!(
        "{mode:?}: {tasks} tasks, {:.0} writes/s, p50 {:.2} ms, p99 {:.2} ms",
        all.len() as f64 / seconds as f64,
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
    );
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let tasks = args.next().and_then(|a| a.parse().ok()).unwrap_or(64);
    let seconds = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let which = args.next().unwrap_or_else(|| "both".into());
    if which != "each" {
        run(Mode::GroupCommit, tasks, seconds).await;
    }
    if which != "group" {
        run(Mode::FlushAsyncEach, tasks, seconds).await;
    }
    // Tasks stuck in sled's pool would keep the runtime from shutting down.
    std::process::exit(0);
}

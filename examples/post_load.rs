//! Load helper for `benches/load.sh`: posts DISTINCT valid comments (a
//! load tool repeats one body, which the duplicate check refuses).
//!
//! ```text
//! post_load seed BASE TOKEN PAGE COUNT      # post COUNT comments to PAGE, approve each
//! post_load load BASE CONNECTIONS SECONDS   # post for SECONDS, print a summary line
//! post_load fill BASE CONNECTIONS COUNT     # post until COUNT more are stored
//! ```
//!
//! `load` prints `rps=… p50_ms=… p99_ms=… errors=… ok=…`. Every comment
//! gets its own email, so commenter history and the queue cap stay out of
//! the measurement; run the server with rate limits off and a high
//! `MODERATO_MAX_PENDING`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

fn body(n: u64, page: &str) -> Value {
    json!({
        "page": page,
        "author": format!("Reader {n}"),
        "email": format!("reader{n}@example.org"),
        "comment": format!(
            "Thank you for this post, it put words on what I went through. \
             Reading it on day {n} of a long month helped more than I can say."
        ),
    })
}

async fn post(client: &reqwest::Client, base: &str, n: u64, page: &str) -> Result<Value, String> {
    let response = client
        .post(format!("{base}/api/comments"))
        .json(&body(n, page))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    if status.as_u16() != 201 {
        return Err(format!("status {status}"));
    }
    response.json().await.map_err(|e| e.to_string())
}

/// Runs `connections` posting tasks until `until` says stop; returns the
/// latencies of the 201s and the number of failures.
async fn hammer(
    base: &str,
    connections: usize,
    until: impl Fn(u64) -> bool + Send + Sync + 'static,
) -> (Vec<Duration>, u64) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()
        .expect("client");
    // Distinct across runs too: the duplicate rule remembers texts.
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0);
    let next = Arc::new(AtomicU64::new(seed));
    let done = Arc::new(AtomicU64::new(0));
    let until = Arc::new(until);
    let mut tasks = Vec::new();
    for c in 0..connections {
        let (client, base, next, done, until) = (
            client.clone(),
            base.to_owned(),
            next.clone(),
            done.clone(),
            until.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            while !until(done.load(Ordering::Relaxed)) {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let start = Instant::now();
                match post(&client, &base, n, &format!("/load/{}/", c % 16)).await {
                    Ok(_) => {
                        latencies.push(start.elapsed());
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        errors += 1;
                        if errors <= 3 {
                            eprintln!("post failed: {e}");
                        }
                    }
                }
            }
            (latencies, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (latencies, e) = task.await.expect("task");
        all.extend(latencies);
        errors += e;
    }
    all.sort();
    (all, errors)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 * p) as usize).min(sorted.len() - 1);
    sorted[index].as_secs_f64() * 1e3
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).cloned().unwrap_or_default();
    match arg(0).as_str() {
        "seed" => {
            let (base, token, page) = (arg(1), arg(2), arg(3));
            let count: u64 = arg(4).parse().expect("COUNT");
            let client = reqwest::Client::new();
            for n in 0..count {
                let created = post(&client, &base, 1_000_000_000 + n, &page)
                    .await
                    .expect("seed post");
                let id = created["id"].as_str().expect("id");
                let approved = client
                    .post(format!("{base}/admin/comments/{id}/approve"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .expect("approve");
                assert_eq!(approved.status().as_u16(), 200, "approve {id}");
            }
            println!("seeded {count} approved comments on {page}");
        }
        "load" => {
            let base = arg(1);
            let connections: usize = arg(2).parse().expect("CONNECTIONS");
            let seconds: u64 = arg(3).parse().expect("SECONDS");
            let deadline = Instant::now() + Duration::from_secs(seconds);
            let started = Instant::now();
            let (latencies, errors) =
                hammer(&base, connections, move |_| Instant::now() >= deadline).await;
            let elapsed = started.elapsed().as_secs_f64();
            println!(
                "rps={:.0} p50_ms={:.2} p99_ms={:.2} errors={} ok={}",
                latencies.len() as f64 / elapsed,
                percentile(&latencies, 0.50),
                percentile(&latencies, 0.99),
                errors,
                latencies.len()
            );
        }
        "fill" => {
            let base = arg(1);
            let connections: usize = arg(2).parse().expect("CONNECTIONS");
            let count: u64 = arg(3).parse().expect("COUNT");
            let started = Instant::now();
            let (latencies, errors) = hammer(&base, connections, move |done| done >= count).await;
            println!(
                "stored {} comments in {:.1} s ({} errors)",
                latencies.len(),
                started.elapsed().as_secs_f64(),
                errors
            );
        }
        _ => {
            eprintln!("usage: post_load seed|load|fill ... (see the source)");
            std::process::exit(2);
        }
    }
}

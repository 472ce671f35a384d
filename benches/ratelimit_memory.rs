//! How much memory a flood of distinct client addresses costs the rate
//! limiter, and how much pruning gives back.
//!
//! Run: `cargo bench --bench ratelimit_memory`. Feeds 1,000,000 distinct
//! IPv4 addresses into the posting limiter (default quota: burst 3, one
//! every 15 s), then prunes once every bucket has refilled, and prints the
//! number of keys and the process's resident memory at each step.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use governor::Quota;
use governor::clock::FakeRelativeClock;
use moderato::http::limits::KeyedLimiter;

fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    const KEYS: u32 = 1_000_000;
    let clock = FakeRelativeClock::default();
    let quota = Quota::with_period(Duration::from_secs(15))
        .expect("a non-zero period")
        .allow_burst(std::num::NonZeroU32::new(3).expect("3"));
    let limiter = KeyedLimiter::with_clock(quota, clock.clone());

    let rss_start = resident_kib();
    let started = Instant::now();
    for n in 0..KEYS {
        let _ = limiter.check(IpAddr::V4(n.into()));
    }
    let fill = started.elapsed();
    let rss_full = resident_kib();
    println!(
        "{:<34} {:>10} keys  {:>8} KiB resident",
        "start", 0, rss_start
    );
    println!(
        "{:<34} {:>10} keys  {:>8} KiB resident  (+{} KiB, {:.0} ns/key)",
        "after 1,000,000 distinct addresses",
        limiter.len(),
        rss_full,
        rss_full.saturating_sub(rss_start),
        fill.as_nanos() as f64 / f64::from(KEYS)
    );

    limiter.prune();
    println!(
        "{:<34} {:>10} keys  {:>8} KiB resident",
        "pruned at once (none recovered)",
        limiter.len(),
        resident_kib()
    );

    clock.advance(Duration::from_secs(60));
    let started = Instant::now();
    limiter.prune();
    println!(
        "{:<34} {:>10} keys  {:>8} KiB resident  (prune took {:?})",
        "pruned 60 s later",
        limiter.len(),
        resident_kib(),
        started.elapsed()
    );
}

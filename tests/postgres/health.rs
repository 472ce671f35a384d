//! A replica whose database cannot be reached says so: `/healthz` and
//! `/readyz` answer 503 with the problem (so a balancer takes it out), a
//! post answers 503 with `Retry-After` (the reader's embed retries; nothing
//! is half-stored), and once the database takes connections again the
//! replica serves by itself, without a restart.

use std::time::{Duration, Instant};

use crate::backend::sql;
use crate::helpers::{body_json, comment};
use crate::support::{Replica, postgres_config};

/// Waits until `path` answers `status`, at most 5 s (the watcher polls
/// every 250 ms).
async fn until_status(replica: &Replica, path: &str, status: u16) -> serde_json::Value {
    let started = Instant::now();
    loop {
        let response = replica.get(path).await;
        if response.status() == status {
            return body_json(&response);
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{path} still answers {} (want {status}): {:?}",
            response.status(),
            response.body()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_that_loses_its_database_says_503_and_recovers_by_itself() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = postgres_config(&dir);
    let replica = Replica::of(&config);
    let healthy = until_status(&replica, "/healthz", 200).await;
    assert_eq!(healthy["writable"], true);

    // Cut the replica off: no new connections, and every open one ended
    // (as a restarting or failed-over server does).
    let url = url::Url::parse(&config.database_url).expect("url");
    let name = url.path().trim_start_matches('/').to_owned();
    let server = crate::backend::server_url();
    sql(
        &server,
        &format!(
            "ALTER DATABASE {name} ALLOW_CONNECTIONS false; \
             SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        ),
    );

    let degraded = until_status(&replica, "/healthz", 503).await;
    assert_eq!(degraded["status"], "degraded");
    assert_eq!(degraded["writable"], false);
    assert!(degraded["problem"].is_string(), "{degraded}");
    let not_ready = until_status(&replica, "/readyz", 503).await;
    assert_eq!(not_ready["status"], "not_ready");
    let refused = replica
        .post_json(&comment("/p/", "Ann", "ann@example.org"))
        .await;
    assert_eq!(refused.status(), 503, "{:?}", refused.body());
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(body_json(&refused)["error"], "store_unavailable");

    sql(
        &server,
        &format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"),
    );
    until_status(&replica, "/healthz", 200).await;
    until_status(&replica, "/readyz", 200).await;
    let stored = replica
        .post_json(&comment("/p/", "Ann", "ann@example.org"))
        .await;
    assert_eq!(stored.status(), 201, "{:?}", stored.body());
}

//! Several replicas on one database: what one replica stores, every other
//! serves within one second (the page cache, the counts), and what must
//! happen once happens once whichever replica is asked (duplicates,
//! decision links).

use std::time::{Duration, Instant, SystemTime};

use moderato::domain::{CommentId, Decision, Status};
use serde_json::Value;

use crate::helpers::{body_json, comment};
use crate::support::{Replica, postgres_config};

/// The bound of the contract: a change on one replica is served by every
/// other within this.
const WITHIN: Duration = Duration::from_secs(1);

/// Waits until `done` holds, at most [`WITHIN`]; how long it took.
async fn within_a_second(what: &str, mut done: impl AsyncFnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !done().await {
        assert!(started.elapsed() < WITHIN, "{what}: not within {WITHIN:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    started.elapsed()
}

async fn page_count(replica: &Replica, page: &str) -> u64 {
    body_json(&replica.get(&format!("/api/comments?page={page}")).await)["count"]
        .as_u64()
        .expect("count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comment_approved_on_one_replica_is_served_by_the_other_within_a_second() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = postgres_config(&dir);
    let (a, b) = (Replica::of(&config), Replica::of(&config));
    // b caches the empty page and serves it from memory (after its first
    // poll of the page, which drops the copy made before it once).
    assert_eq!(page_count(&b, "/p/").await, 0);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(page_count(&b, "/p/").await, 0);
    assert_eq!(page_count(&b, "/p/").await, 0);
    assert!(b.state.page_cache.stats().hits >= 1);

    let created = a.post_json(&comment("/p/", "Ann", "ann@example.org")).await;
    assert_eq!(created.status(), 201);
    let id = body_json(&created)["id"].as_str().expect("id").to_owned();
    let approved = a
        .admin("POST", &format!("/admin/comments/{id}/approve"))
        .await;
    assert_eq!(approved.status(), 200);
    let took = within_a_second("the approval served by the other replica", async || {
        page_count(&b, "/p/").await == 1
    })
    .await;
    eprintln!("served by the other replica after {took:?}");

    // And the other way round: b removes it, a stops serving it.
    assert_eq!(page_count(&a, "/p/").await, 1);
    let rejected = b
        .admin("POST", &format!("/admin/comments/{id}/reject"))
        .await;
    assert_eq!(rejected.status(), 200);
    within_a_second("the rejection served by the first replica", async || {
        page_count(&a, "/p/").await == 0
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_and_the_queue_cap_hold_across_replicas() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = postgres_config(&dir);
    config.max_pending = 3;
    config.moderation = moderato::config::ModerationMode::All;
    let (a, b) = (Replica::of(&config), Replica::of(&config));
    for i in 0..3 {
        let posted = a
            .post_json(&comment("/p/", "Ann", &format!("reader{i}@example.org")))
            .await;
        assert_eq!(posted.status(), 201);
    }
    assert_eq!(a.state.store().status_count(Status::Pending), 3);
    within_a_second("the other replica's pending count", async || {
        b.state.store().status_count(Status::Pending) == 3
    })
    .await;
    // The queue is full for b's readers too.
    let refused = b
        .post_json(&comment("/p/", "Bo", "new-reader@example.org"))
        .await;
    assert_eq!(refused.status(), 503, "{:?}", refused.body());
    // /metrics on b reports the shared queue.
    let metrics = String::from_utf8_lossy(b.admin("GET", "/metrics").await.body()).into_owned();
    assert!(
        metrics
            .lines()
            .any(|l| l.contains("pending") && l.trim_end().ends_with(" 3")),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_comment_posted_to_two_replicas_at_once_is_stored_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = postgres_config(&dir);
    let (a, b) = (Replica::of(&config), Replica::of(&config));
    for round in 0..10 {
        let body = comment(&format!("/race-{round}/"), "Ann", "ann@example.org");
        let (x, y) = tokio::join!(a.post_json(&body), b.post_json(&body));
        let mut statuses = [x.status().as_u16(), y.status().as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [201, 409], "round {round}");
    }
    let all = body_json(&a.admin("GET", "/admin/comments?status=all&limit=200").await);
    assert_eq!(all["comments"].as_array().expect("comments").len(), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decision_link_works_once_across_replicas() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = postgres_config(&dir);
    config.moderation = moderato::config::ModerationMode::All;
    let (a, b) = (Replica::of(&config), Replica::of(&config));
    let created = a.post_json(&comment("/p/", "Ann", "ann@example.org")).await;
    let id: CommentId = body_json(&created)["id"]
        .as_str()
        .expect("id")
        .parse()
        .expect("a comment id");
    let links = a.state.moderator.links();
    let approve = links.sign(id, Decision::Approve, SystemTime::now()).token;
    let spam = links.sign(id, Decision::Spam, SystemTime::now()).token;
    // Both replicas at once: exactly one decides.
    let path = format!("/admin/decide/{approve}");
    let (x, y) = tokio::join!(
        warp::test::request()
            .method("POST")
            .path(&path)
            .reply(&a.routes),
        warp::test::request()
            .method("POST")
            .path(&path)
            .reply(&b.routes),
    );
    let mut statuses = [x.status().as_u16(), y.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409]);
    // Used on a, refused on b later too; another link of the mail works.
    let again = warp::test::request().path(&path).reply(&b.routes).await;
    assert_eq!(again.status(), 409);
    let other = warp::test::request()
        .method("POST")
        .path(&format!("/admin/decide/{spam}"))
        .reply(&b.routes)
        .await;
    assert_eq!(other.status(), 200);
    let stored: Value = body_json(&a.admin("GET", &format!("/admin/comments/{id}")).await);
    assert_eq!(stored["status"], "spam");
}

//! Kill it anywhere: the real binary is SIGKILLed at random moments, 50
//! times, under a mixed load of posts, single and bulk decisions, author
//! replies and NDJSON imports, and restarted each time, on either backend.
//! Afterwards every acknowledged comment, reply, import and decision is
//! there (a decision whose answer never came may or may not have
//! happened), each comment is listed once, the counts agree, and `moderato
//! check` finds nothing to repair.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::backend::backend_env;
use crate::helpers::{
    ADMIN_TOKEN, all_ids, free_port, moderato_check, sigterm, start_moderato, wait_healthy,
};

/// Kills (and restarts).
const KILLS: usize = 50;
/// The whole test stops killing after this, whatever the count.
const TIME_BUDGET: Duration = Duration::from_secs(90);
const WRITERS: usize = 4;

/// A small xorshift: random kill moments and choices without a crate.
struct Random(u64);

impl Random {
    fn new(seed: u64) -> Random {
        Random(seed | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What the load was told, and so what must be there afterwards.
#[derive(Default)]
struct Expected {
    /// Every acknowledged comment: posts, replies, imports.
    comments: BTreeSet<String>,
    /// Posted comments a moderator may act on.
    posted: Vec<String>,
    /// The statuses a comment may have now: the acknowledged one, plus
    /// those of decisions whose answer never came (no entry: no decision
    /// acknowledged yet, any status).
    statuses: HashMap<String, BTreeSet<&'static str>>,
    /// The author's decisions acknowledged (single and bulk).
    decisions: usize,
}

impl Expected {
    fn decided(&mut self, id: &str, status: &'static str) {
        self.statuses
            .insert(id.to_owned(), BTreeSet::from([status]));
    }
    /// A decision sent whose answer may never come. Before the first
    /// acknowledged decision a comment may hold any status (the one it got
    /// when posted, or that of an unanswered decision): it stays unchecked.
    fn maybe(&mut self, id: &str, status: &'static str) {
        if let Some(allowed) = self.statuses.get_mut(id) {
            allowed.insert(status);
        }
    }
}

fn status_of(action: &str) -> &'static str {
    match action {
        "approve" => "approved",
        "reject" => "rejected",
        _ => "spam",
    }
}

async fn writer(
    client: reqwest::Client,
    base: String,
    w: usize,
    sequence: Arc<AtomicU64>,
    expected: Arc<Mutex<Expected>>,
    stop: Arc<AtomicBool>,
) {
    while !stop.load(Ordering::Relaxed) {
        let n = sequence.fetch_add(1, Ordering::Relaxed);
        let body = json!({
            "page": format!("/post-{}/", n % 7),
            "author": format!("Writer {w}"),
            "email": format!("writer{w}@example.org"),
            "comment": format!("Writer {w} says thank you, note number {n}."),
        });
        let Ok(response) = client
            .post(format!("{base}/api/comments"))
            .json(&body)
            .send()
            .await
        else {
            return;
        };
        if response.status() != 201 {
            continue;
        }
        let Ok(created) = response.json::<Value>().await else {
            return;
        };
        let id = created["id"].as_str().expect("id").to_owned();
        let mut expected = expected.lock().expect("lock");
        expected.comments.insert(id.clone());
        expected.posted.push(id);
    }
}

/// Decisions, bulk decisions and replies, one at a time, so the order of
/// the acknowledgements is the order of the changes.
async fn moderator(
    client: reqwest::Client,
    base: String,
    seed: u64,
    expected: Arc<Mutex<Expected>>,
    stop: Arc<AtomicBool>,
) {
    let mut random = Random::new(seed);
    let actions = ["approve", "reject", "spam"];
    while !stop.load(Ordering::Relaxed) {
        let chosen: Option<Vec<String>> = {
            let expected = expected.lock().expect("lock");
            let n = expected.posted.len() as u64;
            (n > 0).then(|| {
                (0..3)
                    .map(|_| expected.posted[random.below(n) as usize].clone())
                    .collect()
            })
        };
        let Some(ids) = chosen else {
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        };
        let action = actions[random.below(3) as usize];
        match random.below(3) {
            0 => {
                let url = format!("{base}/admin/comments/{}/{action}", ids[0]);
                expected
                    .lock()
                    .expect("lock")
                    .maybe(&ids[0], status_of(action));
                match client.post(url).bearer_auth(ADMIN_TOKEN).send().await {
                    Ok(r) if r.status() == 200 => {
                        let mut expected = expected.lock().expect("lock");
                        expected.decided(&ids[0], status_of(action));
                        expected.decisions += 1;
                    }
                    Ok(_) => {}
                    Err(_) => return,
                }
            }
            1 => {
                for id in &ids {
                    expected.lock().expect("lock").maybe(id, status_of(action));
                }
                let sent = client
                    .post(format!("{base}/admin/comments/bulk"))
                    .bearer_auth(ADMIN_TOKEN)
                    .json(&json!({ "ids": ids, "action": action }))
                    .send()
                    .await;
                let Ok(response) = sent else { return };
                let Ok(body) = response.json::<Value>().await else {
                    return;
                };
                let mut expected = expected.lock().expect("lock");
                for result in body["results"].as_array().into_iter().flatten() {
                    if result["ok"] == true {
                        let id = result["id"].as_str().expect("id");
                        expected.decided(id, status_of(action));
                        expected.decisions += 1;
                    }
                }
            }
            _ => {
                let parent = &ids[0];
                expected.lock().expect("lock").maybe(parent, "approved");
                let sent = client
                    .post(format!("{base}/admin/comments/{parent}/reply"))
                    .bearer_auth(ADMIN_TOKEN)
                    .json(&json!({ "comment": format!("Thank you ({}).", random.next()) }))
                    .send()
                    .await;
                let Ok(response) = sent else { return };
                if response.status() != 201 {
                    continue;
                }
                let Ok(body) = response.json::<Value>().await else {
                    return;
                };
                let mut expected = expected.lock().expect("lock");
                expected.decided(parent, "approved");
                let reply = body["reply"]["id"].as_str().expect("reply id").to_owned();
                expected.comments.insert(reply.clone());
                expected.decided(&reply, "approved");
            }
        }
    }
}

/// One NDJSON import of `n` new comments; their ids once acknowledged.
async fn importer(
    client: reqwest::Client,
    base: String,
    round: usize,
    expected: Arc<Mutex<Expected>>,
) {
    let now = 1_700_000_000_000i64 + round as i64 * 1000;
    let mut random = Random::new(round as u64 * 7919 + 1);
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let ids: Vec<String> = (0..20)
        .map(|_| {
            let bits = (u128::from(random.next()) << 64) | u128::from(random.next());
            ulid::Ulid::from_parts(millis, bits).to_string()
        })
        .collect();
    let body: String = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            json!({
                "id": id, "page": "/imported/", "author": "Imported", "email": format!("imported{round}@example.org"),
                "text": format!("Imported comment {i} of round {round}."), "status": "approved",
                "created_at": now, "updated_at": now,
            })
            .to_string()
                + "\n"
        })
        .collect();
    let sent = client
        .post(format!("{base}/admin/import"))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await;
    if let Ok(response) = sent
        && response.status() == 200
    {
        let report: Value = response.json().await.unwrap_or(Value::Null);
        if report["errors"].as_array().is_some_and(Vec::is_empty) {
            let mut expected = expected.lock().expect("lock");
            for id in ids {
                expected.comments.insert(id.clone());
                expected.decided(&id, "approved");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_change_survives_sigkill_at_random_moments() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    // The same database (and key file) for every restart.
    let backend = backend_env(dir.path());
    let backend: Vec<(&str, &str)> = backend.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let expected = Arc::new(Mutex::new(Expected::default()));
    let sequence = Arc::new(AtomicU64::new(0));
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(7, |d| d.as_nanos() as u64);
    println!("kill test seed {seed}");
    let mut random = Random::new(seed);
    let started = Instant::now();
    let mut kills = 0;
    while kills < KILLS && started.elapsed() < TIME_BUDGET {
        let port = free_port();
        let mut child = start_moderato(&data, port, &backend);
        let base = format!("http://127.0.0.1:{port}");
        wait_healthy(&client, &base).await;
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();
        for w in 0..WRITERS {
            tasks.push(tokio::spawn(writer(
                client.clone(),
                base.clone(),
                w,
                sequence.clone(),
                expected.clone(),
                stop.clone(),
            )));
        }
        tasks.push(tokio::spawn(moderator(
            client.clone(),
            base.clone(),
            random.next(),
            expected.clone(),
            stop.clone(),
        )));
        tasks.push(tokio::spawn(importer(
            client.clone(),
            base.clone(),
            kills,
            expected.clone(),
        )));
        tokio::time::sleep(Duration::from_millis(50 + random.below(400))).await;
        // std's Child::kill is SIGKILL: no chance to flush at exit.
        child.kill().expect("SIGKILL");
        child.wait().expect("wait");
        stop.store(true, Ordering::Relaxed);
        for task in tasks {
            task.await.expect("load task");
        }
        kills += 1;
    }
    let elapsed = started.elapsed();
    println!("{kills} kills in {elapsed:?}");
    assert!(kills >= KILLS, "only {kills} kills within {TIME_BUDGET:?}");

    let port = free_port();
    let mut child = start_moderato(&data, port, &backend);
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(&client, &base).await;
    let stored = all_ids(&client, &base).await;
    let unique: BTreeSet<&String> = stored.iter().collect();
    assert_eq!(unique.len(), stored.len(), "a comment is listed twice");
    let expected = std::mem::take(&mut *expected.lock().expect("lock"));
    // On PostgreSQL every write is a round trip to the server, and each new
    // process opens its pool's connections in its short life: fewer land.
    let enough = match crate::backend::backend() {
        crate::backend::Backend::Sled => 200,
        crate::backend::Backend::Postgres => 60,
    };
    assert!(
        expected.comments.len() > enough,
        "the load acknowledged only {} comments",
        expected.comments.len()
    );
    assert!(
        expected.decisions > 20,
        "only {} decisions were acknowledged",
        expected.decisions
    );
    let lost: Vec<&String> = expected
        .comments
        .iter()
        .filter(|id| !unique.contains(id))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged comments lost: {lost:?}",
        lost.len(),
        expected.comments.len()
    );
    let mut wrong = Vec::new();
    let mut counted: HashMap<String, u64> = HashMap::new();
    let mut cursor: Option<String> = None;
    loop {
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
            let (id, status) = (
                c["id"].as_str().expect("id"),
                c["status"].as_str().expect("status"),
            );
            *counted.entry(status.to_owned()).or_default() += 1;
            if let Some(allowed) = expected.statuses.get(id)
                && !allowed.contains(status)
            {
                wrong.push(format!("{id} is {status}, acknowledged {allowed:?}"));
            }
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert!(
        wrong.is_empty(),
        "acknowledged decisions lost:\n{}",
        wrong.join("\n")
    );
    let stats: Value = client
        .get(format!("{base}/admin/stats"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("stats")
        .json()
        .await
        .expect("json");
    for status in ["pending", "approved", "rejected", "spam"] {
        assert_eq!(
            stats[status].as_u64().unwrap_or(0),
            counted.get(status).copied().unwrap_or(0),
            "the {status} count differs from the listing"
        );
    }
    assert_eq!(sigterm(&mut child, Duration::from_secs(20)), Some(0));
    let (code, report) = moderato_check(&data, &backend);
    assert_eq!(code, Some(0), "{report}");
    assert!(report.contains("problems: none"), "{report}");
    assert!(
        report.contains(&format!("comments checked: {}", stored.len())),
        "{report}"
    );
}

//! The learning filter through the service (issue 11), on real sled and
//! real HTTP: what the author's decisions teach, by every route; changed
//! decisions and erasure unlearn exactly; the model a start rebuilds from
//! seed + ledger is the one learned step by step; and nothing learned is
//! kept in clear.

use std::process::Command;
use std::time::{Duration, SystemTime};

use moderato::config::{Config, ModerationMode};
use moderato::domain::Decision;
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::helpers::{ADMIN_TOKEN, RunningApp, spawn_app, test_config};

/// A service on a real socket where every comment waits for the author,
/// and rate limits are off (the tests post dozens of comments at once).
struct Service {
    app: RunningApp,
    client: reqwest::Client,
    config: Config,
    dir: TempDir,
}

impl Service {
    async fn start() -> Service {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = test_config(&dir);
        config.moderation = ModerationMode::All;
        config.rate_limits_enabled = false;
        Service::on(dir, config).await
    }

    async fn on(dir: TempDir, config: Config) -> Service {
        Service {
            app: spawn_app(config.clone()).await,
            client: reqwest::Client::new(),
            config,
            dir,
        }
    }

    /// Stops the service (flushed) and starts it again on the same data.
    async fn restart(self) -> Service {
        self.app.shutdown().await;
        Service::on(self.dir, self.config).await
    }

    /// The environment that points a `moderato` command at this service's
    /// data (and database, on PostgreSQL runs).
    fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![
            (
                "MODERATO_DATA_DIR",
                self.config.data_dir.display().to_string(),
            ),
            (
                "MODERATO_RULES_DIR",
                self.config.rules_dir.display().to_string(),
            ),
        ];
        if !self.config.database_url.is_empty() {
            env.push(("MODERATO_DATABASE_URL", self.config.database_url.clone()));
            env.push((
                "MODERATO_MASTER_KEY_FILE",
                self.config.master_key_file.clone(),
            ));
            if let Some(token) = &self.config.admin_token {
                env.push(("MODERATO_ADMIN_TOKEN", token.clone()));
            }
        }
        env
    }

    async fn post(&self, author: &str, email: &str, text: &str) -> String {
        let response = self
            .client
            .post(self.app.url("/api/comments"))
            .json(&json!({"page": "/grief/", "author": author, "email": email, "comment": text}))
            .send()
            .await
            .expect("post");
        assert_eq!(response.status(), 201);
        let body: Value = response.json().await.expect("json");
        body["id"].as_str().expect("id").to_owned()
    }

    async fn admin(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .client
            .request(method, self.app.url(path))
            .bearer_auth(ADMIN_TOKEN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("admin request");
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.unwrap_or(Value::Null)
    }

    async fn decide(&self, id: &str, decision: &str) {
        self.admin(
            reqwest::Method::POST,
            &format!("/admin/comments/{id}/{decision}"),
            None,
        )
        .await;
    }

    async fn comment(&self, id: &str) -> Value {
        self.admin(reqwest::Method::GET, &format!("/admin/comments/{id}"), None)
            .await
    }

    async fn learning(&self) -> Value {
        self.admin(reqwest::Method::GET, "/admin/learning", None)
            .await
    }

    async fn learned(&self) -> (u64, u64) {
        let l = self.learning().await;
        let n = |k: &str| l["learned"][k].as_u64().expect("count");
        (n("spam"), n("ham"))
    }

    async fn digest(&self) -> String {
        self.app
            .state
            .moderator
            .learning_digest()
            .await
            .expect("digest")
    }
}

/// A spam kind the seed has never seen: solar leasing.
const SOLAR: [&str; 6] = [
    "Homeowners in Dayton: Sunvolt solar panels for zero down, lease today and cut your power bill in half. Free roof survey this week.",
    "Sunvolt solar leasing is back: no money down, panels installed in 48 hours, your power bill cut in half. Book the free roof survey.",
    "Tired of your power bill? Sunvolt solar panels on a zero down lease, and a free roof survey for homeowners this week only.",
    "Why rent your power? Sunvolt solar panels, zero down lease, half the bill from month one. Ask for the free roof survey.",
    "Sunvolt solar: panels on your roof with a zero down lease, the power bill halved. Free roof survey for the first 50 homeowners.",
    "Sunvolt solar panels with a zero down lease save homeowners half their power bill. Free roof survey, call us this week.",
];

fn score(comment: &Value) -> i64 {
    comment["score"].as_i64().expect("score")
}

fn learned_hit(comment: &Value) -> Value {
    comment["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .find(|h| h["rule"] == "learned")
        .cloned()
        .unwrap_or_else(|| panic!("no learned hit: {comment}"))
}

#[tokio::test]
async fn five_spam_decisions_teach_a_new_kind_of_spam() {
    let service = Service::start().await;
    // Five arrive before the author has decided anything, then she marks
    // them as spam.
    let mut five = Vec::new();
    for (i, text) in SOLAR[..5].iter().enumerate() {
        let (name, email) = (format!("Sam {i}"), format!("sam{i}@mail{i}.example"));
        five.push(service.post(&name, &email, text).await);
    }
    let mut before = Vec::new();
    for id in &five {
        before.push(score(&service.comment(id).await));
        service.decide(id, "spam").await;
    }
    assert_eq!(service.learned().await, (5, 0));

    let id = service
        .post("Dana", "dana.w@elsewhere.example", SOLAR[5])
        .await;
    let sixth = service.comment(&id).await;
    let highest_before = before.iter().copied().max().expect("five scores");
    assert!(
        score(&sixth) > highest_before,
        "score {} after learning, {before:?} before: {sixth}",
        score(&sixth)
    );
    let hit = learned_hit(&sixth);
    assert!(hit["score"].as_i64().expect("points") > 0, "{hit}");
    let clues: Vec<&str> = hit["learned"]["clues"]
        .as_array()
        .expect("clues")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    // The clues are what all five shared (which of the equally strong ones
    // is shown first depends on the instance's feature key): each is a word
    // of the spam the author marked, quoted as the admin page shows it.
    let taught = SOLAR[..5].join(" ").to_lowercase();
    assert!(
        !clues.is_empty()
            && clues
                .iter()
                .all(|c| c.trim_matches('"').split(' ').all(|w| taught.contains(w))),
        "the hit names what weighed most: {hit}"
    );
    // Five spam and no ham: the gate is closed, it may hold but not bin.
    assert_eq!(sixth["status"], "pending", "{sixth}");
    assert_eq!(service.learning().await["bins_on_its_own"], false);
    service.app.shutdown().await;
}

#[tokio::test]
async fn every_route_teaches_and_a_changed_decision_unlearns_first() {
    let service = Service::start().await;
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(
            service
                .post(
                    &format!("Reader {i}"),
                    &format!("reader{i}@example.org"),
                    &format!("My brother died in May and I still set his place at dinner ({i})."),
                )
                .await,
        );
    }
    let before = service.digest().await;

    // The admin API: approve teaches ham; a change to spam unlearns it.
    service.decide(&ids[0], "approve").await;
    assert_eq!(service.learned().await, (0, 1));
    service.decide(&ids[0], "spam").await;
    assert_eq!(service.learned().await, (1, 0));
    // Reject teaches nothing and unlearns what was taught.
    service.decide(&ids[0], "reject").await;
    assert_eq!(service.learned().await, (0, 0));
    assert_eq!(service.digest().await, before, "back to the seed exactly");

    // Bulk.
    service
        .admin(
            reqwest::Method::POST,
            "/admin/comments/bulk",
            Some(json!({"action": "approve", "ids": [ids[1], ids[2]]})),
        )
        .await;
    // A decision link of a notification email (its form POST).
    let signer = service
        .app
        .state
        .privacy()
        .link_signer(Duration::from_secs(3600));
    let link = signer.sign(
        ids[3].parse().expect("id"),
        Decision::Spam,
        SystemTime::now(),
    );
    let response = service
        .client
        .post(service.app.url(&format!("/admin/decide/{}", link.token)))
        .send()
        .await
        .expect("decision link");
    assert_eq!(response.status(), 200);
    service.decide(&ids[4], "spam").await;
    // Delete keeps the ledger entry: the author's judgement stands.
    service
        .admin(
            reqwest::Method::DELETE,
            &format!("/admin/comments/{}", ids[4]),
            None,
        )
        .await;

    // The counts are the stored decisions: 1, 2 approved; 3 and the
    // deleted 4 spam; 0 rejected.
    assert_eq!(service.learned().await, (2, 2));
    let listed = service
        .admin(
            reqwest::Method::GET,
            "/admin/comments?status=all&limit=50",
            None,
        )
        .await;
    let status = |id: &str| {
        listed["comments"]
            .as_array()
            .expect("comments")
            .iter()
            .find(|c| c["id"] == id)
            .map(|c| c["status"].clone())
    };
    assert_eq!(status(&ids[1]), Some(json!("approved")));
    assert_eq!(status(&ids[3]), Some(json!("spam")));
    assert_eq!(status(&ids[4]), None, "deleted");
    let agreement = &service.learning().await["agreement"];
    assert_eq!(agreement["decisions"], 4, "{agreement}");
    service.app.shutdown().await;
}

#[tokio::test]
async fn erasing_a_reader_unlearns_their_decisions_exactly() {
    let service = Service::start().await;
    let other = service
        .post(
            "Lee",
            "lee@example.org",
            "Thank you, this helped after my divorce.",
        )
        .await;
    service.decide(&other, "approve").await;
    let without_reader = service.digest().await;

    let mut ids = Vec::new();
    for (i, text) in SOLAR[..3].iter().enumerate() {
        ids.push(service.post("Sol", "sol@solar-reader.example", text).await);
        service
            .decide(&ids[i], if i == 0 { "approve" } else { "spam" })
            .await;
    }
    // One of them deleted: its entry stays until the reader is erased.
    service
        .admin(
            reqwest::Method::DELETE,
            &format!("/admin/comments/{}", ids[2]),
            None,
        )
        .await;
    assert_eq!(service.learned().await, (2, 2));
    assert_ne!(service.digest().await, without_reader);

    let erased = service
        .admin(
            reqwest::Method::POST,
            "/admin/erase",
            Some(json!({"email": "SOL@solar-reader.example "})),
        )
        .await;
    assert_eq!(erased["deleted"], 2, "{erased}");
    assert_eq!(service.learned().await, (0, 1));
    assert_eq!(service.digest().await, without_reader);
    service.app.shutdown().await;
}

#[tokio::test]
async fn the_model_a_start_rebuilds_is_the_one_learned_step_by_step() {
    let service = Service::start().await;
    for (i, text) in SOLAR.iter().enumerate() {
        let id = service
            .post(&format!("P{i}"), &format!("p{i}@example.net"), text)
            .await;
        // Some decisions changed on the way.
        service
            .decide(&id, if i % 2 == 0 { "approve" } else { "spam" })
            .await;
        if i % 3 == 0 {
            service.decide(&id, "spam").await;
        }
    }
    let ham = service
        .post(
            "Kim",
            "kim@example.org",
            "My mother has dementia and I grieve her while she is alive.",
        )
        .await;
    service.decide(&ham, "approve").await;
    let stepwise = service.digest().await;
    let counts = service.learned().await;

    service
        .app
        .state
        .moderator
        .rebuild_learning()
        .await
        .expect("rebuild");
    assert_eq!(service.digest().await, stepwise, "rebuilt in place");

    let service = service.restart().await;
    assert_eq!(service.digest().await, stepwise, "rebuilt by a start");
    assert_eq!(service.learned().await, counts);

    // `moderato learn rebuild` on the stopped service's data directory
    // (sled lets go of its lock a moment after the close).
    let env = service.env();
    service.app.shutdown().await;
    let mut attempts = 0;
    let out = loop {
        let out = Command::new(env!("CARGO_BIN_EXE_moderato"))
            .args(["learn", "rebuild"])
            .envs(env.clone())
            .output()
            .expect("run moderato learn rebuild");
        if out.status.success() || attempts == 50 {
            break out;
        }
        attempts += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("model digest {stepwise}")),
        "{stdout}"
    );
    assert!(stdout.contains("learned: 4 spam, 3 ham"), "{stdout}");
}

#[tokio::test]
async fn learn_train_teaches_a_file_once_however_often_it_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let file = dir.path().join("old-spam.jsonl");
    let mut lines = String::new();
    for (i, text) in SOLAR.iter().enumerate() {
        lines.push_str(
            &json!({"label": "spam", "email": format!("s{i}@example.net"), "comment": text})
                .to_string(),
        );
        lines.push('\n');
    }
    lines.push_str("{\"label\": \"ham\", \"comment\": \"Thank you for the post on grief.\"}\n");
    std::fs::write(&file, lines).expect("write");
    let backend = crate::backend::backend_env(dir.path());
    let moderato = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_moderato"))
            .args(args)
            .envs(backend.clone())
            .env("MODERATO_DATA_DIR", &data)
            .env(
                "MODERATO_RULES_DIR",
                concat!(env!("CARGO_MANIFEST_DIR"), "/rules"),
            )
            .output()
            .expect("run moderato");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{args:?}: {stdout} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    };
    let path = file.to_str().expect("utf-8 path");
    assert!(moderato(&["learn", "train", path]).contains("taught 6 spam and 1 ham"));
    let again = moderato(&["learn", "train", path]);
    assert!(again.contains("(7 replaced"), "{again}");
    let stats: Value =
        serde_json::from_str(&moderato(&["learn", "stats", "--json"])).expect("json");
    assert_eq!(stats["learned"], json!({"spam": 6, "ham": 1}));
    assert_eq!(stats["trained"], json!({"spam": 6, "ham": 1}));
    assert_eq!(stats["bins_on_its_own"], false);

    // A bad line is named and nothing is taught.
    std::fs::write(
        &file,
        "{\"label\": \"spam\", \"comment\": \"x\"}\n{\"comment\": \"no label\"}\n",
    )
    .expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_moderato"))
        .args(["learn", "train", path])
        .envs(backend.clone())
        .env("MODERATO_DATA_DIR", &data)
        .output()
        .expect("run moderato");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 2"));
    let stats: Value =
        serde_json::from_str(&moderato(&["learn", "stats", "--json"])).expect("json");
    assert_eq!(stats["learned"], json!({"spam": 6, "ham": 1}));
}

/// The domain of the learning tests' readers: a feature the model learns,
/// and nowhere in clear on disk, in the model or in what the author sees
/// of the model.
const DOMAIN: &str = "lantern-quay.example";

#[tokio::test]
async fn nothing_learned_is_kept_in_clear() {
    let service = Service::start().await;
    let names = [
        "Rowan", "Ezra", "Tamsin", "Ivo", "Petra", "Noor", "Cass", "Wren",
    ];
    for (i, name) in names.iter().enumerate() {
        let text = format!(
            "A friendly note number {i}: we buy old furniture, quick pickup, fair offers for every room."
        );
        let id = service
            .post(name, &format!("{}{i}@{DOMAIN}", name.to_lowercase()), &text)
            .await;
        service.decide(&id, "spam").await;
    }
    for i in 0..4 {
        let id = service
            .post(
                "Ada",
                &format!("ada{i}@example.org"),
                &format!("Your post on trust ({i}) made me call my sister."),
            )
            .await;
        service.decide(&id, "approve").await;
    }
    // From the learned domain, with no word the model knows: the domain
    // is among the clues, but only as "email domain".
    let probe = service
        .post("Quill", &format!("new@{DOMAIN}"), "Hello there.")
        .await;
    let hit = learned_hit(&service.comment(&probe).await);
    assert!(!hit.to_string().contains("lantern"), "{hit}");
    assert!(
        hit["learned"]["clues"]
            .as_array()
            .expect("clues")
            .contains(&json!("email domain")),
        "{hit}"
    );
    let learning = service.learning().await;
    assert!(!learning.to_string().contains("lantern"), "{learning}");
    service.app.state.store().flush().await.expect("flush");

    // Everything the database holds (sled's files, the ledger and its log
    // included, or PostgreSQL's dump, bytea as hex), and the data directory.
    let mut stored = crate::helpers::files_under(service.dir.path());
    if crate::backend::backend() == crate::backend::Backend::Postgres {
        stored.push((
            "pg_dump".to_owned(),
            crate::backend::dump(&service.config.database_url),
        ));
    }
    for (place, bytes) in &stored {
        let lower = bytes.to_ascii_lowercase();
        for needle in ["lantern".to_owned(), hex::encode("lantern")] {
            assert!(
                !lower.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{place} holds the learned email domain in clear"
            );
        }
    }
    assert!(!stored.is_empty());
    service.app.shutdown().await;
}

//! The spam rules end to end: verdicts stored and shown to the author,
//! never to the client; moderation modes; reload over HTTP and SIGHUP; the
//! `rules` CLI.

use std::process::Command;

use moderato::config::ModerationMode;
use serde_json::{Value, json};

use crate::helpers::{
    ADMIN_TOKEN, TestApp, body_json, comment, free_port, spawn_app, test_config, wait_healthy,
};

const SPELL_CASTER: &str = "My husband left me and I was heartbroken until I contacted \
    Dr Okuta, a powerful spell caster who brought my ex back in 48 hours. \
    Contact him on WhatsApp +234 810 555 0199 or email drokutaspell@gmail.com";

fn rule_names(comment: &Value) -> Vec<String> {
    comment["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .map(|h| h["rule"].as_str().expect("rule").to_owned())
        .collect()
}

#[tokio::test]
async fn spam_gets_the_same_answer_as_a_pending_comment_and_is_filed_as_spam() {
    let app = TestApp::new();
    let mut body = comment("/blog/grief/", "Mary", "mary@example.org");
    body["comment"] = json!(SPELL_CASTER);
    let response = app.post_json(&body).await;
    assert_eq!(response.status(), 201);
    let answer = body_json(&response);
    assert_eq!(
        answer["status"], "pending",
        "the client never learns of a spam verdict"
    );

    let id = answer["id"].as_str().expect("id");
    let stored = body_json(&app.admin("GET", &format!("/admin/comments/{id}")).await);
    assert_eq!(stored["status"], "spam");
    assert_eq!(stored["action"], "spam");
    assert!(stored["score"].as_i64().expect("score") >= 10, "{stored}");
    assert!(
        rule_names(&stored).contains(&"spell-caster".to_owned()),
        "{stored}"
    );
    let queue = body_json(&app.admin("GET", "/admin/comments").await);
    assert!(
        queue["comments"].as_array().expect("array").is_empty(),
        "spam is not in the queue"
    );
}

#[tokio::test]
async fn a_reader_naming_medication_and_a_hotline_is_not_flagged() {
    let app = TestApp::with(|c| c.moderation = ModerationMode::Rules);
    let token = body_json(&app.get("/api/form-token?page=/blog/anxiety/").await)["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let mut body = comment("/blog/anxiety/", "Sam", "sam@example.org");
    body["comment"] = json!(
        "After my divorce I started sertraline and it took weeks to help. \
         If you are in the US, 988 is the crisis line; calling them saved me. \
         I'm still paying off debts from that year, but I'm here."
    );
    body["form_token"] = json!(token);
    let response = app.post_json(&body).await;
    let id = body_json(&response)["id"].as_str().expect("id").to_owned();
    let stored = body_json(&app.admin("GET", &format!("/admin/comments/{id}")).await);
    assert_eq!(stored["action"], "accept", "{stored}");
    // A token this young is "too fast" (min 3 s), which alone stays below hold.
    assert!(rule_names(&stored).iter().all(|r| r != "honeypot"));
}

#[tokio::test]
async fn a_filled_honeypot_is_caught() {
    let app = TestApp::new();
    let mut body = comment("/p/", "Bot", "bot@example.org");
    body["homepage"] = json!("http://spam.example");
    let id = body_json(&app.post_json(&body).await)["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let stored = body_json(&app.admin("GET", &format!("/admin/comments/{id}")).await);
    assert!(
        rule_names(&stored).contains(&"honeypot".to_owned()),
        "{stored}"
    );
    assert_eq!(stored["status"], "spam");
}

#[tokio::test]
async fn moderation_modes_decide_what_goes_live() {
    // rules: a clean comment goes live at once.
    let app = TestApp::with(|c| c.moderation = ModerationMode::Rules);
    let response = app
        .post_json(&comment("/p/", "Ann", "ann@example.org"))
        .await;
    assert_eq!(body_json(&response)["status"], "approved");

    // all: it waits even for a known reader.
    let app = TestApp::with(|c| c.moderation = ModerationMode::All);
    app.approved_comment("/p/").await;
    let response = app
        .post_json(&comment("/p/", "Ann", "ann@example.org"))
        .await;
    assert_eq!(body_json(&response)["status"], "pending");

    // first-time: waits once, then a reader the author approved goes live.
    let app = TestApp::new();
    let first = app
        .post_json(&comment("/p/", "Ann", "ann@example.org"))
        .await;
    assert_eq!(body_json(&first)["status"], "pending");
    let id = body_json(&first)["id"].as_str().expect("id").to_owned();
    app.admin("POST", &format!("/admin/comments/{id}/approve"))
        .await;
    let second = app
        .post_json(&comment("/p/", "Ann", " ANN@example.org "))
        .await;
    assert_eq!(body_json(&second)["status"], "approved");
    // ... unless the rules hold it.
    let mut spammy = comment("/p/", "Ann", "ann@example.org");
    spammy["comment"] = json!(SPELL_CASTER);
    assert_eq!(
        body_json(&app.post_json(&spammy).await)["status"],
        "pending"
    );
}

#[tokio::test]
async fn the_rules_test_route_judges_without_storing() {
    let app = TestApp::new();
    let response = warp::test::request()
        .method("POST")
        .path("/admin/rules/test")
        .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
        .json(&json!({"comment": SPELL_CASTER, "author": "Mary"}))
        .reply(&app.routes)
        .await;
    assert_eq!(response.status(), 200);
    let verdict = body_json(&response);
    assert_eq!(verdict["action"], "spam");
    assert!(
        verdict["skipped"]
            .as_array()
            .expect("skipped")
            .iter()
            .any(|s| s == "honeypot")
    );
    assert!(app.stored().await.is_empty());

    let unauthorized = warp::test::request()
        .method("POST")
        .path("/admin/rules/test")
        .json(&json!({"comment": "x"}))
        .reply(&app.routes)
        .await;
    assert_eq!(unauthorized.status(), 401);
}

/// A rules directory of its own, starting as a copy of the shipped rules.
fn rules_copy(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(&rules).expect("mkdir");
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    for entry in std::fs::read_dir(shipped).expect("read rules") {
        let path = entry.expect("entry").path();
        if path.is_file() {
            std::fs::copy(&path, rules.join(path.file_name().expect("name"))).expect("copy");
        }
    }
    rules
}

const LOCAL_RULE: &str = r#"
[[rule]]
name = "no-tulips"
kind = "words"
words = ["tulip"]
score = 20
"#;

#[tokio::test]
async fn a_reload_applies_good_rules_and_keeps_the_old_ones_on_a_bad_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = rules_copy(&dir);
    let app = TestApp::with(|c| c.rules_dir = rules.clone());
    let reload = || {
        warp::test::request()
            .method("POST")
            .path("/admin/rules/reload")
            .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
            .reply(&app.routes)
    };
    let judge = |text: &str| {
        warp::test::request()
            .method("POST")
            .path("/admin/rules/test")
            .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
            .json(&json!({"comment": text}))
            .reply(&app.routes)
    };
    assert_eq!(
        body_json(&judge("I love a tulip").await)["action"],
        "accept"
    );

    std::fs::write(rules.join("50-local.toml"), LOCAL_RULE).expect("write");
    let response = reload().await;
    assert_eq!(response.status(), 200, "{:?}", response.body());
    assert_eq!(body_json(&judge("I love a tulip").await)["action"], "spam");

    std::fs::write(
        rules.join("60-broken.toml"),
        "[[rule]]\nname = \"bad\"\nkind = \"regex\"\npattern = \"(\"\nscore = 1\n",
    )
    .expect("write");
    let response = reload().await;
    assert_eq!(response.status(), 422);
    let error = body_json(&response);
    assert_eq!(error["error"], "invalid_rules");
    let message = error["message"].as_str().expect("message");
    assert!(
        message.contains("60-broken.toml") && message.contains("bad"),
        "{message}"
    );
    assert_eq!(
        body_json(&judge("I love a tulip").await)["action"],
        "spam",
        "old rules stay"
    );
}

#[tokio::test]
async fn sighup_reloads_the_rules_of_the_running_binary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = rules_copy(&dir);
    let port = free_port();
    let mut child = crate::helpers::Running(
        Command::new(env!("CARGO_BIN_EXE_moderato"))
            .envs(crate::backend::backend_env(dir.path()))
            .env("MODERATO_LISTEN", format!("127.0.0.1:{port}"))
            .env("MODERATO_DATA_DIR", dir.path().join("data"))
            .env("MODERATO_RULES_DIR", &rules)
            .env("MODERATO_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("RUST_LOG", "warn")
            .spawn()
            .expect("start"),
    );
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    wait_healthy(&client, &base).await;
    let judge = || async {
        client
            .post(format!("{base}/admin/rules/test"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"comment": "a tulip for you"}))
            .send()
            .await
            .expect("test")
            .json::<Value>()
            .await
            .expect("json")["action"]
            .clone()
    };
    assert_eq!(judge().await, "accept");
    std::fs::write(rules.join("50-local.toml"), LOCAL_RULE).expect("write");
    Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .expect("kill");
    let mut action = Value::Null;
    for _ in 0..100 {
        action = judge().await;
        if action == "spam" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(action, "spam", "SIGHUP should have loaded 50-local.toml");
    child.kill().expect("kill");
    child.wait().expect("wait");
}

#[tokio::test]
async fn a_bad_rule_file_stops_start_up_naming_file_and_rule() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = rules_copy(&dir);
    std::fs::write(
        rules.join("50-local.toml"),
        "[[rule]]\nname = \"mystery\"\nkind = \"telepathy\"\nscore = 1\n",
    )
    .expect("write");
    let mut config = test_config(&dir);
    config.rules_dir = rules.clone();
    let error = moderato::startup::App::build(config)
        .await
        .expect_err("bad rules")
        .to_string();
    assert!(
        error.contains("50-local.toml") && error.contains("mystery"),
        "{error}"
    );

    let output = Command::new(env!("CARGO_BIN_EXE_moderato"))
        .args(["rules", "check", "--rules"])
        .arg(&rules)
        .output()
        .expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("50-local.toml") && stderr.contains("mystery"),
        "{stderr}"
    );
}

#[tokio::test]
async fn rules_eval_prints_confusion_counts_as_json() {
    let output = Command::new(env!("CARGO_BIN_EXE_moderato"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "rules",
            "eval",
            "tests/fixtures/blog-comments.jsonl",
            "--json",
        ])
        .output()
        .expect("run");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).expect("json");
    for part in ["spam", "flagged"] {
        for key in ["tp", "fp", "fn", "tn", "precision", "recall"] {
            assert!(report[part][key].is_number(), "{part}.{key} in {report}");
        }
    }
    assert!(report["total"].as_u64().expect("total") > 50);
}

#[tokio::test]
async fn the_form_token_route_signs_a_token_for_a_valid_page() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = spawn_app(test_config(&dir)).await;
    let client = reqwest::Client::new();
    let ok = client
        .get(app.url("/api/form-token?page=/p/"))
        .send()
        .await
        .expect("get");
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["cache-control"], "no-store");
    assert!(
        ok.json::<Value>().await.expect("json")["token"]
            .as_str()
            .is_some_and(|t| t.len() > 20)
    );
    let bad = client
        .get(app.url("/api/form-token?page=nope"))
        .send()
        .await
        .expect("get");
    assert_eq!(bad.status(), 422);
    app.shutdown().await;
}

//! Notifications against a real local SMTP server and a real local HTTP
//! receiver, and the one-click decision links of the email.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use moderato::config::{Config, SmtpSecurity};
use moderato::domain::Decision;
use moderato::domain::now_millis;
use moderato::domain::outbox::Job;
use moderato::notify::{Delivery, Outcome, Retry, Worker};
use serde_json::{Value, json};
use warp::http::Response;

use crate::helpers::{TestApp, body_json, spawn_app, test_config};
use crate::sinks::{Mail, hook_sink, smtp_sink};

const PUBLIC_URL: &str = "http://moderato.test";
const SECRET: &str = "webhook-secret-0123456789";

fn notifying(config: &mut Config, smtp: std::net::SocketAddr, hook: &str) {
    config.public_url = PUBLIC_URL.into();
    config.smtp_host = smtp.ip().to_string();
    config.smtp_port = smtp.port();
    config.smtp_security = SmtpSecurity::None;
    config.smtp_from = "moderato <moderato@blog.test>".into();
    config.smtp_to = "author@blog.test".into();
    config.webhook_url = hook.into();
    config.webhook_secret = SECRET.into();
}

fn worker(app: &TestApp) -> Worker {
    let mut worker = app
        .notifier
        .worker(
            &app.state.config,
            app.state.store().clone(),
            app.state.privacy().clone(),
            app.state.moderator.links().clone(),
        )
        .expect("worker builds")
        .expect("notifications are on");
    worker.retry = Retry {
        attempts: 3,
        first_delay: Duration::from_millis(20),
    };
    worker
}

/// Runs the worker until the outbox is empty, moving its clock past each
/// retry's backoff; every delivery made, in order.
async fn deliver_all(worker: &Worker) -> Vec<Delivery> {
    let mut now = now_millis();
    let mut all = Vec::new();
    for _ in 0..10 {
        all.extend(worker.deliver_due(now).await.expect("outbox"));
        now += 60_000;
    }
    all
}

/// The last outcome of each channel's job.
fn last_outcomes(deliveries: &[Delivery]) -> (Option<Outcome>, Option<Outcome>) {
    let last = |webhook: bool| {
        deliveries
            .iter()
            .rev()
            .find(|d| matches!(d.job, Job::Webhook { .. }) == webhook)
            .map(|d| d.outcome.clone())
    };
    (last(false), last(true))
}

/// The path part of the decision link for `verb` in the mail body.
fn link(body: &str, verb: &str) -> String {
    let line = body
        .lines()
        .find(|l| l.starts_with(&format!("{verb}:")))
        .unwrap_or_else(|| panic!("no {verb} link in:\n{body}"));
    let url = line.split_whitespace().last().expect("url");
    url.strip_prefix(PUBLIC_URL)
        .unwrap_or_else(|| panic!("link not under public_url: {url}"))
        .to_owned()
}

async fn unauthenticated(app: &TestApp, method: &str, path: &str) -> Response<Bytes> {
    warp::test::request()
        .method(method)
        .path(path)
        .reply(&app.routes)
        .await
}

fn text(response: &Response<Bytes>) -> String {
    String::from_utf8_lossy(response.body()).into_owned()
}

async fn status_of(app: &TestApp, id: &str) -> String {
    let response = app.admin("GET", &format!("/admin/comments/{id}")).await;
    body_json(&response)["status"]
        .as_str()
        .expect("status")
        .to_owned()
}

async fn next_mail(sink: &mut crate::sinks::SmtpSink) -> Mail {
    tokio::time::timeout(Duration::from_secs(10), sink.mails.recv())
        .await
        .expect("a mail within 10 s")
        .expect("sink running")
}

fn hmac_hex(secret: &str, body: &[u8]) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac =
        <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).expect("hmac key");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

#[tokio::test]
async fn a_pending_comment_mails_working_links_and_posts_a_signed_webhook() {
    // Arrange: both receivers refuse the first attempt, to exercise retries.
    let mut smtp = smtp_sink(1).await;
    let mut hooks = hook_sink(1).await;
    let app = TestApp::with(|c| notifying(c, smtp.addr, &hooks.url()));
    let worker = worker(&app);

    // Act: a reader comments (first-time commenter: pending).
    let response = app
        .post_json(&json!({
            "page": "/blog/grief/",
            "author": "Ann Reader",
            "email": "Ann.Reader@example.org",
            "url": "https://ann.example.org",
            "comment": "Thank you. <b>This</b> helped & I said \"thanks\" to my sister.",
        }))
        .await;
    assert_eq!(response.status(), 201);
    let id = body_json(&response)["id"].as_str().expect("id").to_owned();
    let deliveries = deliver_all(&worker).await;

    // Assert: both delivered on the second attempt, once each.
    assert_eq!(deliveries.len(), 4, "{deliveries:?}");
    let sent = Some(Outcome::Sent { attempts: 2 });
    assert_eq!(
        last_outcomes(&deliveries),
        (sent.clone(), sent),
        "{deliveries:?}"
    );

    // The mail: sender, recipient, the comment with the reader's address.
    let mail = next_mail(&mut smtp).await;
    assert!(mail.from.contains("moderato@blog.test"), "{}", mail.from);
    assert!(mail.to.iter().any(|t| t.contains("author@blog.test")));
    let message_id = mail.header("message-id").expect("message-id");
    assert!(
        message_id.contains(&id) && message_id.ends_with("@moderato.test>"),
        "{message_id}"
    );
    let subject = mail.header("subject").expect("subject");
    assert!(
        subject.contains("Ann Reader") && subject.contains("/blog/grief/"),
        "{subject}"
    );
    let body = mail.body();
    for expected in [
        "Ann Reader",
        "Ann.Reader@example.org",
        "https://ann.example.org",
        "/blog/grief/",
        "> Thank you. <b>This</b> helped & I said \"thanks\" to my sister.",
    ] {
        assert!(body.contains(expected), "mail lacks {expected:?}:\n{body}");
    }
    let approve = link(&body, "Approve");
    let reject = link(&body, "Reject");
    let spam = link(&body, "Mark as spam");
    assert!(approve.starts_with("/admin/decide/") && approve != reject && reject != spam);

    // GET (what a mail scanner does) shows a confirmation and changes nothing.
    let page = unauthenticated(&app, "GET", &approve).await;
    assert_eq!(page.status(), 200);
    let html = text(&page);
    assert!(html.contains("Approve this comment?"), "{html}");
    assert!(
        html.contains("<form method=\"post\" action=\"\">"),
        "{html}"
    );
    assert!(
        html.contains("&lt;b&gt;This&lt;/b&gt; helped &amp; I said &quot;thanks&quot;"),
        "{html}"
    );
    assert!(!html.contains("<b>This</b>"), "escaped: {html}");
    assert!(
        page.headers()["content-security-policy"]
            .to_str()
            .unwrap_or("")
            .contains("default-src 'none'")
    );
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");
    assert_eq!(status_of(&app, &id).await, "pending");
    assert_eq!(
        unauthenticated(&app, "GET", &approve).await.status(),
        200,
        "GET twice is fine"
    );

    // POST acts, without any bearer token.
    let done = unauthenticated(&app, "POST", &approve).await;
    assert_eq!(done.status(), 200, "{}", text(&done));
    assert!(text(&done).contains("approved"));
    assert_eq!(status_of(&app, &id).await, "approved");
    let public = body_json(&app.get("/api/comments?page=/blog/grief/").await);
    assert_eq!(public["count"], 1);

    // Works once.
    let again = unauthenticated(&app, "POST", &approve).await;
    assert_eq!(again.status(), 409);
    assert!(text(&again).contains("already used"));
    assert_eq!(unauthenticated(&app, "GET", &approve).await.status(), 409);

    // A forged token (action changed, MAC kept) is refused and acts not.
    let forged = approve.replacen(".a.", ".s.", 1);
    assert_ne!(forged, approve);
    assert_eq!(unauthenticated(&app, "GET", &forged).await.status(), 404);
    assert_eq!(unauthenticated(&app, "POST", &forged).await.status(), 404);
    assert_eq!(
        unauthenticated(&app, "POST", "/admin/decide/nonsense")
            .await
            .status(),
        404
    );
    assert_eq!(status_of(&app, &id).await, "approved");

    // An expired token, genuinely signed with this instance's key.
    let signer = app.state.privacy().link_signer(Duration::from_secs(3600));
    let past = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        - 1;
    let expired = format!(
        "/admin/decide/{}",
        signer.sign_until(id.parse().expect("id"), Decision::Spam, past)
    );
    assert_eq!(unauthenticated(&app, "GET", &expired).await.status(), 410);
    assert_eq!(unauthenticated(&app, "POST", &expired).await.status(), 410);
    assert_eq!(status_of(&app, &id).await, "approved");

    // Another, unused link of the same mail still works.
    assert_eq!(unauthenticated(&app, "POST", &reject).await.status(), 200);
    assert_eq!(status_of(&app, &id).await, "rejected");

    // The rest of /admin still needs the token.
    assert_eq!(
        unauthenticated(&app, "GET", "/admin/comments")
            .await
            .status(),
        401
    );
    assert_eq!(
        unauthenticated(&app, "GET", "/admin/export").await.status(),
        401
    );

    // The webhook: both attempts signed, JSON, no email.
    let first = hooks.hooks.recv().await.expect("first attempt");
    let hook = hooks.hooks.recv().await.expect("second attempt");
    assert_eq!(first.body, hook.body);
    assert_eq!(
        hook.signature.as_deref(),
        Some(format!("sha256={}", hmac_hex(SECRET, &hook.body)).as_str())
    );
    assert_ne!(
        hook.signature.as_deref(),
        Some(format!("sha256={}", hmac_hex("another-secret-0000", &hook.body)).as_str())
    );
    assert_eq!(hook.event.as_deref(), Some("comment.pending"));
    assert_eq!(hook.content_type.as_deref(), Some("application/json"));
    let payload: Value = serde_json::from_slice(&hook.body).expect("json");
    let comment = &payload["comment"];
    assert_eq!(comment["id"], id.as_str());
    assert_eq!(comment["page"], "/blog/grief/");
    assert_eq!(comment["status"], "pending");
    assert_eq!(comment["author"], "Ann Reader");
    assert!(comment["score"].is_i64() && comment["hits"].is_array());
    assert!(comment.get("email").is_none());
    let raw = String::from_utf8_lossy(&hook.body).to_lowercase();
    assert!(!raw.contains("ann.reader@example.org"), "{raw}");
}

#[tokio::test]
async fn the_webhook_carries_the_email_only_when_configured() {
    let hooks_off = hook_sink(0).await;
    let mut hooks = hook_sink(0).await;
    let app = TestApp::with(|c| {
        c.webhook_url = hooks.url();
        c.webhook_secret = SECRET.into();
        c.webhook_include_email = true;
    });
    drop(hooks_off);
    let worker = worker(&app);
    app.post_comment("/p/", "Bo", "Bo@Example.org").await;
    let deliveries = deliver_all(&worker).await;
    assert_eq!(
        last_outcomes(&deliveries),
        (None, Some(Outcome::Sent { attempts: 1 })),
        "email is off: {deliveries:?}"
    );
    let hook = hooks.hooks.recv().await.expect("hook");
    let payload: Value = serde_json::from_slice(&hook.body).expect("json");
    assert_eq!(payload["comment"]["email"], "Bo@Example.org");
}

#[tokio::test]
async fn only_queued_comments_notify_and_a_full_queue_drops_without_failing_readers() {
    let hooks = hook_sink(0).await;
    let app = TestApp::with(|c| {
        c.webhook_url = hooks.url();
        c.webhook_secret = SECRET.into();
        c.notify_queue_capacity = 2;
    });
    let worker = worker(&app);

    // An approved commenter's next comment goes live: no notification.
    let id = app.post_comment("/p/", "Cy", "cy@example.org").await;
    assert_eq!(deliver_all(&worker).await.len(), 1);
    app.admin("POST", &format!("/admin/comments/{id}/approve"))
        .await;
    let response = app
        .post_json(&crate::helpers::comment("/p/", "Cy", "cy@example.org"))
        .await;
    assert_eq!(body_json(&response)["status"], "approved");
    assert!(
        deliver_all(&worker).await.is_empty(),
        "approved: not queued"
    );

    // Four pending comments with room for two: every reader gets 201.
    for n in 0..4 {
        app.post_comment("/p/", "Di", &format!("di{n}@example.org"))
            .await;
    }
    assert_eq!(
        deliver_all(&worker).await.len(),
        2,
        "the others were dropped"
    );
}

#[tokio::test]
async fn a_running_server_mails_in_the_background() {
    // Arrange: a real server with the worker it starts itself.
    let mut smtp = smtp_sink(0).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = test_config(&dir);
    config.public_url = PUBLIC_URL.into();
    config.smtp_host = "127.0.0.1".into();
    config.smtp_port = smtp.addr.port();
    config.smtp_security = SmtpSecurity::None;
    config.smtp_from = "moderato@blog.test".into();
    config.smtp_to = "author@blog.test".into();
    let app = spawn_app(config).await;
    let client = reqwest::Client::new();

    // Act
    let response = client
        .post(app.url("/api/comments"))
        .json(&crate::helpers::comment("/p/", "Eve", "eve@example.org"))
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), 201);

    // Assert: the mail arrives without anyone driving the worker, and its
    // link works against the running server.
    let mail = next_mail(&mut smtp).await;
    let approve = link(&mail.body(), "Approve");
    let confirm = client.get(app.url(&approve)).send().await.expect("get");
    assert_eq!(confirm.status(), 200);
    let done = client.post(app.url(&approve)).send().await.expect("post");
    assert_eq!(done.status(), 200);
    app.shutdown().await;
}

#[tokio::test]
async fn a_notification_that_could_not_be_sent_before_a_restart_is_sent_after_it() {
    // Arrange: mail points at a port where nothing listens yet.
    let dir = tempfile::tempdir().expect("tempdir");
    let closed_port = crate::helpers::free_port();
    let mut config = test_config(&dir);
    config.public_url = PUBLIC_URL.into();
    config.smtp_host = "127.0.0.1".into();
    config.smtp_port = closed_port;
    config.smtp_security = SmtpSecurity::None;
    config.smtp_from = "moderato@blog.test".into();
    config.smtp_to = "author@blog.test".into();
    let app = spawn_app(config.clone()).await;
    let response = reqwest::Client::new()
        .post(app.url("/api/comments"))
        .json(&crate::helpers::comment("/p/", "Flo", "flo@example.org"))
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), 201);

    // Act: stop the service before the mail could go; the mail server
    // comes up; the service starts again on the same data.
    app.shutdown().await;
    let mut smtp = smtp_sink(0).await;
    config.smtp_port = smtp.addr.port();
    let app = spawn_app(config).await;

    // Assert: the mail of the comment stored before the restart arrives.
    let mail = next_mail(&mut smtp).await;
    assert!(mail.body().contains("Flo"), "{}", mail.body());
    app.shutdown().await;
}

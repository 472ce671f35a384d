//! Readers' mail over a real SMTP dialogue (the in-test server of
//! `sinks.rs`): opt-in, double opt-in, reply notifications with one-click
//! unsubscribe, the approval notice, and nothing else, ever, to an address
//! that did not confirm.

use std::time::Duration;

use moderato::config::{Config, SmtpSecurity};
use moderato::domain::now_millis;
use moderato::notify::{Retry, Worker};
use serde_json::{Value, json};

use crate::helpers::{TestApp, body_json, comment};
use crate::sinks::{Mail, SmtpSink, decode_quoted_printable, smtp_sink};

const PUBLIC_URL: &str = "http://moderato.test";
const ANN: &str = "ann.reader@example.org";
const MINUTE: i64 = 60_000;

fn mailing(config: &mut Config, smtp: std::net::SocketAddr) {
    config.public_url = PUBLIC_URL.into();
    config.smtp_host = smtp.ip().to_string();
    config.smtp_port = smtp.port();
    config.smtp_security = SmtpSecurity::None;
    config.smtp_from = "moderato <moderato@blog.test>".into();
    config.smtp_to = "author@blog.test".into();
    config.allowed_origins = vec!["https://blog.example.org".into()];
    config.moderation = moderato::config::ModerationMode::All;
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
        .expect("mail is on");
    worker.retry = Retry {
        attempts: 3,
        first_delay: Duration::from_millis(20),
    };
    worker
}

/// The test's clock: a little ahead of the real one, so that every job the
/// test's requests write is due at it.
fn start() -> i64 {
    now_millis() + 5_000
}

/// Runs every job due up to `now`.
async fn run(worker: &Worker, now: i64) {
    worker.deliver_due(now).await.expect("outbox");
}

/// Every mail the sink received so far, to `address`.
fn mails_to(sink: &mut SmtpSink, address: &str) -> Vec<Mail> {
    let mut found = Vec::new();
    while let Ok(mail) = sink.mails.try_recv() {
        if mail.to.iter().any(|to| to.contains(address)) {
            found.push(mail);
        }
    }
    found
}

fn text(mail: &Mail) -> String {
    decode_quoted_printable(&mail.data)
}

/// The path of the first link under `prefix` in a mail.
fn link(mail: &Mail, prefix: &str) -> String {
    let text = text(mail);
    let start = text
        .find(&format!("{PUBLIC_URL}{prefix}"))
        .unwrap_or_else(|| panic!("no {prefix} link in:\n{text}"));
    text[start + PUBLIC_URL.len()..]
        .split(|c: char| c.is_whitespace() || c == '"' || c == '<' || c == '>')
        .next()
        .expect("link")
        .to_owned()
}

async fn post(
    app: &TestApp,
    author: &str,
    email: &str,
    parent: Option<&str>,
    extra: Value,
) -> String {
    let mut body = comment("/grief/", author, email);
    if let Some(parent) = parent {
        body["parent"] = json!(parent);
    }
    if let (Value::Object(body), Value::Object(extra)) = (&mut body, extra) {
        body.extend(extra);
    }
    let response = app.post_json(&body).await;
    assert_eq!(response.status(), 201, "{:?}", response.body());
    body_json(&response)["id"].as_str().expect("id").to_owned()
}

async fn approve(app: &TestApp, id: &str) {
    let response = app
        .admin("POST", &format!("/admin/comments/{id}/approve"))
        .await;
    assert_eq!(response.status(), 200);
}

async fn page(app: &TestApp, method: &str, path: &str, body: &str) -> (u16, String) {
    let response = warp::test::request()
        .method(method)
        .path(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("content-length", body.len().to_string())
        .body(body)
        .reply(&app.routes)
        .await;
    (
        response.status().as_u16(),
        String::from_utf8_lossy(response.body()).into_owned(),
    )
}

#[tokio::test]
async fn opt_in_confirm_notify_unsubscribe_then_nothing() {
    // Arrange
    let mut smtp = smtp_sink(0).await;
    let app = TestApp::with(|c| mailing(c, smtp.addr));
    let worker = worker(&app);
    let t0 = start();

    // Act: Ann comments and ticks "Notify me of follow-up replies".
    let ann = post(&app, "Ann", ANN, None, json!({"notify_replies": "1"})).await;
    approve(&app, &ann).await;
    run(&worker, t0).await;

    // Assert: exactly one mail to Ann, the confirmation.
    let mails = mails_to(&mut smtp, ANN);
    assert_eq!(mails.len(), 1, "one confirmation");
    let confirm = link(&mails[0], "/notifications/confirm/");
    assert!(
        mails[0]
            .header("subject")
            .expect("subject")
            .contains("confirm")
    );

    // The page's GET changes nothing; its POST confirms.
    let (status, html) = page(&app, "GET", &confirm, "").await;
    assert_eq!(status, 200);
    assert!(html.contains("<form method=\"post\""), "{html}");
    let (status, html) = page(&app, "GET", &confirm, "").await;
    assert!(
        status == 200 && html.contains("Confirm email notifications"),
        "a GET confirmed: {html}"
    );
    let (status, html) = page(&app, "POST", &confirm, "").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Confirmed"), "{html}");

    // A pending reply sends nothing; once approved, one mail with both headers.
    let bo = post(&app, "Bo", "bo@example.org", Some(&ann), json!({})).await;
    run(&worker, t0 + MINUTE).await;
    run(&worker, t0 + 10 * MINUTE).await;
    assert!(
        mails_to(&mut smtp, ANN).is_empty(),
        "a pending reply sends nothing"
    );
    approve(&app, &bo).await;
    run(&worker, t0 + 11 * MINUTE).await;
    assert!(
        mails_to(&mut smtp, ANN).is_empty(),
        "the digest waits a few minutes"
    );
    run(&worker, t0 + 17 * MINUTE).await;
    let mails = mails_to(&mut smtp, ANN);
    assert_eq!(mails.len(), 1, "one notification");
    let mail = &mails[0];
    let unsubscribe = link(mail, "/notifications/unsubscribe/");
    assert_eq!(
        mail.header("list-unsubscribe"),
        Some(format!("<{PUBLIC_URL}{unsubscribe}>"))
    );
    assert_eq!(
        mail.header("list-unsubscribe-post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    let body = text(mail);
    assert!(
        body.contains("multipart/alternative")
            && body.contains("text/plain")
            && body.contains("text/html"),
        "{body}"
    );
    assert!(
        body.contains("Bo wrote:") && body.contains("Thank you for writing this"),
        "{body}"
    );
    assert!(
        body.contains(&format!("https://blog.example.org/grief/#comment-{bo}")),
        "{body}"
    );
    assert!(
        body.contains("Stop these mails for this comment"),
        "a visible link: {body}"
    );

    // One click (RFC 8058's POST) ends that thread's notifications.
    let (status, html) = page(&app, "GET", &unsubscribe, "").await;
    assert!(
        status == 200 && html.contains("Stop all mail from this site"),
        "{html}"
    );
    let (status, _) = page(&app, "POST", &unsubscribe, "List-Unsubscribe=One-Click").await;
    assert_eq!(status, 200);

    // Another approved reply: nothing.
    let cy = post(&app, "Cy", "cy@example.org", Some(&ann), json!({})).await;
    approve(&app, &cy).await;
    run(&worker, t0 + 30 * MINUTE).await;
    run(&worker, t0 + 40 * MINUTE).await;
    assert!(mails_to(&mut smtp, ANN).is_empty(), "unsubscribed: nothing");
}

#[tokio::test]
async fn an_unconfirmed_address_gets_its_confirmation_and_nothing_else() {
    let mut smtp = smtp_sink(0).await;
    let app = TestApp::with(|c| mailing(c, smtp.addr));
    let worker = worker(&app);
    let t0 = start();

    let ann = post(
        &app,
        "Ann",
        ANN,
        None,
        json!({"notify_replies": true, "notify_approved": "on"}),
    )
    .await;
    approve(&app, &ann).await;
    let second = post(&app, "Ann", ANN, None, json!({"notify_replies": true})).await;
    approve(&app, &second).await;
    for (i, parent) in [&ann, &second, &ann].into_iter().enumerate() {
        let reply = post(&app, "Bo", "bo@example.org", Some(parent), json!({})).await;
        approve(&app, &reply).await;
        run(&worker, t0 + i as i64 * MINUTE).await;
    }
    run(&worker, t0 + 60 * MINUTE).await;
    let mails = mails_to(&mut smtp, ANN);
    assert_eq!(
        mails.len(),
        1,
        "two opt-ins in a day: one confirmation, and nothing else"
    );
    assert!(text(&mails[0]).contains("/notifications/confirm/"));

    // A day later a new opt-in may ask again, still nothing else.
    let third = post(&app, "Ann", ANN, None, json!({"notify_replies": true})).await;
    run(&worker, t0 + 25 * 60 * MINUTE).await;
    let mails = mails_to(&mut smtp, ANN);
    assert_eq!(mails.len(), 1);
    assert!(text(&mails[0]).contains("/notifications/confirm/"));
    let _ = third;
}

#[tokio::test]
async fn pending_spam_and_own_replies_send_nothing_and_a_few_minutes_make_one_mail() {
    let mut smtp = smtp_sink(0).await;
    let app = TestApp::with(|c| mailing(c, smtp.addr));
    let worker = worker(&app);
    let t0 = start();
    let ann = post(&app, "Ann", ANN, None, json!({"notify_replies": "1"})).await;
    approve(&app, &ann).await;
    run(&worker, t0).await;
    let confirm = link(&mails_to(&mut smtp, ANN)[0], "/notifications/confirm/");
    assert_eq!(page(&app, "POST", &confirm, "").await.0, 200);

    // Spam (the honeypot), pending, and Ann's own reply: nothing.
    let spam = post(
        &app,
        "Bot",
        "bot@example.org",
        Some(&ann),
        json!({"homepage": "http://spam.example"}),
    )
    .await;
    assert_eq!(crate::helpers::status_of(&app, &spam).await, "spam");
    post(&app, "Di", "di@example.org", Some(&ann), json!({})).await;
    let own = post(&app, "Ann", ANN, Some(&ann), json!({})).await;
    approve(&app, &own).await;
    run(&worker, t0 + MINUTE).await;
    run(&worker, t0 + 20 * MINUTE).await;
    assert!(
        mails_to(&mut smtp, ANN).is_empty(),
        "spam, pending and own replies send nothing"
    );

    // Two replies approved within a few minutes: one mail with both.
    for (i, name) in ["Eve", "Fay"].into_iter().enumerate() {
        let reply = post(
            &app,
            name,
            &format!("{}@example.org", name.to_lowercase()),
            Some(&ann),
            json!({}),
        )
        .await;
        approve(&app, &reply).await;
        run(&worker, t0 + (30 + i as i64) * MINUTE).await;
    }
    run(&worker, t0 + 40 * MINUTE).await;
    let mails = mails_to(&mut smtp, ANN);
    assert_eq!(mails.len(), 1, "one mail for both");
    let body = text(&mails[0]);
    assert!(
        body.contains("Eve wrote:") && body.contains("Fay wrote:"),
        "{body}"
    );
    assert!(
        mails[0]
            .header("subject")
            .expect("subject")
            .contains("2 new replies")
    );
}

#[tokio::test]
async fn a_confirmed_reader_hears_once_that_a_held_comment_is_approved() {
    let mut smtp = smtp_sink(0).await;
    let app = TestApp::with(|c| mailing(c, smtp.addr));
    let worker = worker(&app);
    let t0 = start();
    let first = post(&app, "Ann", ANN, None, json!({"notify_approved": "1"})).await;
    run(&worker, t0).await;
    let confirm = link(&mails_to(&mut smtp, ANN)[0], "/notifications/confirm/");
    assert_eq!(page(&app, "POST", &confirm, "").await.0, 200);

    approve(&app, &first).await;
    run(&worker, t0 + MINUTE).await;
    let mails = mails_to(&mut smtp, ANN);
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0]
            .header("subject")
            .expect("subject")
            .contains("is published")
    );
    assert!(mails[0].header("list-unsubscribe").is_some());
    // Rejected and approved again: the box was spent, no second mail.
    app.admin("POST", &format!("/admin/comments/{first}/reject"))
        .await;
    approve(&app, &first).await;
    run(&worker, t0 + 2 * MINUTE).await;
    assert!(mails_to(&mut smtp, ANN).is_empty());
}

#[tokio::test]
async fn stop_all_mail_and_erase_forget_the_reader_and_the_export_carries_it() {
    let mut smtp = smtp_sink(0).await;
    let app = TestApp::with(|c| mailing(c, smtp.addr));
    let worker = worker(&app);
    let t0 = start();
    let ann = post(&app, "Ann", ANN, None, json!({"notify_replies": "1"})).await;
    approve(&app, &ann).await;
    run(&worker, t0).await;
    let confirm = link(&mails_to(&mut smtp, ANN)[0], "/notifications/confirm/");
    assert_eq!(page(&app, "POST", &confirm, "").await.0, 200);

    // The export carries the confirmed reader; another instance imports it.
    let export =
        String::from_utf8_lossy(app.admin("GET", "/admin/export").await.body()).into_owned();
    let line = export
        .lines()
        .find(|l| l.contains("\"record\":\"subscriber\""))
        .expect("a reader line");
    let record: Value = serde_json::from_str(line).expect("json");
    assert_eq!(record["email"], ANN);
    assert!(record["confirmed_at"].is_i64());

    // An approval mail's unsubscribe page offers "stop all mail".
    let bo = post(&app, "Bo", "bo@example.org", Some(&ann), json!({})).await;
    approve(&app, &bo).await;
    run(&worker, t0 + MINUTE).await;
    run(&worker, t0 + 10 * MINUTE).await;
    let unsubscribe = link(&mails_to(&mut smtp, ANN)[0], "/notifications/unsubscribe/");
    let (status, html) = page(&app, "POST", &unsubscribe, "scope=all").await;
    assert!(status == 200 && html.contains("no more mail"), "{html}");
    let export =
        String::from_utf8_lossy(app.admin("GET", "/admin/export").await.body()).into_owned();
    assert!(!export.contains("\"record\":\"subscriber\""), "forgotten");
    let second = post(&app, "Ann", ANN, None, json!({"notify_replies": "1"})).await;
    run(&worker, t0 + 2 * 24 * 60 * MINUTE).await;
    assert_eq!(
        mails_to(&mut smtp, ANN).len(),
        1,
        "a new opt-in asks to confirm again"
    );
    let _ = second;

    // Erase removes the record too.
    let erased =
        crate::helpers::admin_json(&app, "POST", "/admin/erase", &json!({"email": ANN})).await;
    assert_eq!(erased.status(), 200);
    let export =
        String::from_utf8_lossy(app.admin("GET", "/admin/export").await.body()).into_owned();
    assert!(!export.to_lowercase().contains("ann.reader"), "{export}");
}

#[tokio::test]
async fn without_smtp_the_boxes_are_off_and_ignored() {
    let app = TestApp::new();
    let config = body_json(&app.get("/api/config").await);
    assert_eq!(config["reply_notifications"], false);
    assert_eq!(config["approval_notifications"], false);
    assert_eq!(config["edit_window_secs"], 900);
    let id = post(&app, "Ann", ANN, None, json!({"notify_replies": "1"})).await;
    let export =
        String::from_utf8_lossy(app.admin("GET", "/admin/export").await.body()).into_owned();
    let line = export.lines().find(|l| l.contains(&id)).expect("line");
    let stored: Value = serde_json::from_str(line).expect("json");
    assert_eq!(
        stored["notify"]["replies"], false,
        "not stored without mail"
    );

    let mut smtp = smtp_sink(0).await;
    let on = TestApp::with(|c| mailing(c, smtp.addr));
    assert_eq!(
        body_json(&on.get("/api/config").await)["reply_notifications"],
        true
    );
    let _ = mails_to(&mut smtp, ANN);
}

#[tokio::test]
async fn the_daily_cap_holds_and_an_unconfirmed_request_expires() {
    let mut smtp = smtp_sink(0).await;
    let app = TestApp::with(|c| {
        mailing(c, smtp.addr);
        c.reader_mails_per_day = 1;
    });
    let worker = worker(&app);
    let t0 = start();
    let ann = post(&app, "Ann", ANN, None, json!({"notify_replies": "1"})).await;
    approve(&app, &ann).await;
    run(&worker, t0).await;
    let confirm = link(&mails_to(&mut smtp, ANN)[0], "/notifications/confirm/");
    assert_eq!(page(&app, "POST", &confirm, "").await.0, 200);
    for round in 0..2 {
        let reply = post(&app, "Bo", "bo@example.org", Some(&ann), json!({})).await;
        approve(&app, &reply).await;
        run(&worker, t0 + (20 * round + 1) * MINUTE).await;
        run(&worker, t0 + (20 * round + 10) * MINUTE).await;
    }
    assert_eq!(mails_to(&mut smtp, ANN).len(), 1, "one a day at most");

    // Cy asks and never confirms: after 7 days the request is forgotten and
    // the link has expired.
    let cy_mail = "cy.reader@example.org";
    post(&app, "Cy", cy_mail, None, json!({"notify_replies": "1"})).await;
    run(&worker, t0 + 60 * MINUTE).await;
    let confirm = link(&mails_to(&mut smtp, cy_mail)[0], "/notifications/confirm/");
    let subscriptions = app.state.moderator.subscriptions();
    assert_eq!(
        subscriptions
            .expire(t0 + 2 * 24 * 60 * MINUTE)
            .await
            .expect("expire"),
        0,
        "not yet"
    );
    assert_eq!(
        subscriptions
            .expire(t0 + 8 * 24 * 60 * MINUTE)
            .await
            .expect("expire"),
        1
    );
    let (status, html) = page(&app, "POST", &confirm, "").await;
    assert_eq!(status, 410, "{html}");
    // A forged or truncated link is not valid.
    assert_eq!(
        page(&app, "GET", &confirm[..confirm.len() - 2], "").await.0,
        404
    );
    assert_eq!(
        page(&app, "POST", "/notifications/unsubscribe/u.00.x.00", "")
            .await
            .0,
        404
    );
}

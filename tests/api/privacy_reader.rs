//! The reader's email stays private on every path of the reader's side of
//! the conversation: edits, long threads, feeds, the mail pages, the
//! subscriber records on disk, and the log of the real binary.

use std::process::{Command, Stdio};
use std::time::Duration;

use moderato::config::SmtpSecurity;
use moderato::domain::now_millis;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_TOKEN, TestApp, body_json, comment, free_port, wait_healthy};
use crate::privacy::{EMAIL, assert_no_email};
use crate::sinks::{SmtpSink, decode_quoted_printable, smtp_sink};

/// A child process killed when dropped (a panicking test included).
struct Stopper(std::process::Child);

impl Drop for Stopper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn link_in(sink_text: &str, prefix: &str) -> String {
    let start = sink_text
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix} in {sink_text}"));
    sink_text[start..]
        .split(|c: char| c.is_whitespace() || c == '"' || c == '<' || c == '>')
        .next()
        .expect("link")
        .to_owned()
}

async fn next_text(sink: &mut SmtpSink) -> String {
    let mail = tokio::time::timeout(Duration::from_secs(15), sink.mails.recv())
        .await
        .expect("a mail in time")
        .expect("sink");
    decode_quoted_printable(&mail.data)
}

/// Every file under `dir`, read whole: none may hold the address in clear.
/// Nothing the database holds has the address's domain in it, in plain
/// text or as hex (sled's files, or PostgreSQL's whole database as
/// `pg_dump` writes it). How many bytes were read.
fn assert_not_stored(app: &TestApp) -> usize {
    let stored: Vec<(String, Vec<u8>)> = match crate::backend::backend() {
        crate::backend::Backend::Sled => crate::helpers::files_under(app.dir.path()),
        crate::backend::Backend::Postgres => vec![(
            "pg_dump".to_owned(),
            crate::backend::dump(&app.state.config.database_url),
        )],
    };
    let mut bytes_read = 0;
    for (place, bytes) in stored {
        let lower = bytes.to_ascii_lowercase();
        for needle in ["grieving.reader".to_owned(), hex::encode("grieving.reader")] {
            assert!(
                !lower.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{place} holds the address"
            );
        }
        bytes_read += bytes.len();
    }
    bytes_read
}

#[tokio::test]
async fn no_reader_path_shows_the_email_and_the_records_are_sealed_on_disk() {
    // Arrange: a subscribed, confirmed reader with a reply, an edit, a placeholder.
    let mut smtp = smtp_sink(0).await;
    let app = TestApp::with(|c| {
        c.public_url = "http://moderato.test".into();
        c.smtp_host = smtp.addr.ip().to_string();
        c.smtp_port = smtp.addr.port();
        c.smtp_security = SmtpSecurity::None;
        c.smtp_from = "moderato@blog.test".into();
        c.smtp_to = "author@blog.test".into();
    });
    let worker = app
        .notifier
        .worker(
            &app.state.config,
            app.state.store().clone(),
            app.state.privacy().clone(),
            app.state.moderator.links().clone(),
        )
        .expect("worker")
        .expect("mail on");
    let mut body = comment("/p/", "Ann", EMAIL);
    body["notify_replies"] = json!(true);
    let created = app.post_json(&body).await;
    let created_text = String::from_utf8_lossy(created.body()).into_owned();
    assert_no_email(&created_text, "the 201 answer");
    let created = body_json(&created);
    let id = created["id"].as_str().expect("id").to_owned();
    let token = created["edit_token"].as_str().expect("token").to_owned();
    app.admin("POST", &format!("/admin/comments/{id}/approve"))
        .await;
    let t0 = now_millis() + 5_000;
    worker.deliver_due(t0).await.expect("outbox");
    let confirmation = next_text(&mut smtp).await;
    let confirm = link_in(&confirmation, "/notifications/confirm/");

    let mut pages: Vec<(String, String)> = Vec::new();
    for method in ["GET", "POST"] {
        let response = warp::test::request()
            .method(method)
            .path(&confirm)
            .reply(&app.routes)
            .await;
        assert_eq!(response.status(), 200);
        pages.push((
            format!("{method} confirm"),
            String::from_utf8_lossy(response.body()).into_owned(),
        ));
    }
    let mut reply = comment("/p/", "Bo", "bo@example.org");
    reply["parent"] = json!(id);
    let reply_id = body_json(&app.post_json(&reply).await)["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.admin("POST", &format!("/admin/comments/{reply_id}/approve"))
        .await;
    worker.deliver_due(t0 + 60_000).await.expect("outbox");
    worker.deliver_due(t0 + 10 * 60_000).await.expect("outbox");
    let notification = next_text(&mut smtp).await;
    let unsubscribe = link_in(&notification, "/notifications/unsubscribe/");
    let unsubscribe_page = app.get(&unsubscribe).await;
    pages.push((
        "unsubscribe page".into(),
        String::from_utf8_lossy(unsubscribe_page.body()).into_owned(),
    ));

    let edit = warp::test::request()
        .method("PUT")
        .path(&format!("/api/comments/{id}"))
        .header("authorization", format!("Bearer {token}"))
        .json(&json!({"comment": "Edited words."}))
        .reply(&app.routes)
        .await;
    assert_eq!(edit.status(), 200);
    pages.push((
        "the edit's answer".into(),
        String::from_utf8_lossy(edit.body()).into_owned(),
    ));
    let invalid = warp::test::request()
        .method("PUT")
        .path(&format!("/api/comments/{id}"))
        .header("authorization", format!("Bearer {token}"))
        .json(&json!({"comment": "", "author": EMAIL}))
        .reply(&app.routes)
        .await;
    pages.push((
        "an edit's 422".into(),
        String::from_utf8_lossy(invalid.body()).into_owned(),
    ));

    // Assert: every public answer, and its headers.
    for path in [
        "/api/comments?page=/p/",
        "/api/comments?page=/p/&limit=1&sort=newest",
        "/feed.atom",
        "/feed.atom?page=/p/",
        "/api/config",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        for (name, value) in response.headers() {
            assert_no_email(
                value.to_str().unwrap_or(""),
                &format!("{path} header {name}"),
            );
        }
        pages.push((
            path.to_owned(),
            String::from_utf8_lossy(response.body()).into_owned(),
        ));
    }
    for (place, text) in &pages {
        assert_no_email(text, place);
    }

    // The subscriber record and everything else on disk is sealed.
    app.state.store().flush().await.expect("flush");
    let record = app
        .state
        .store()
        .subscriber(app.state.privacy().email_key(EMAIL))
        .await
        .expect("read")
        .expect("a record");
    assert!(record.is_confirmed());
    assert!(assert_not_stored(&app) > 10_000, "real data was read");
}

/// The real binary at `trace`, with mail to a local SMTP server: opt-in,
/// confirmation, edit, delete, pages and feeds; no line may hold the
/// address, an edit token or a link token.
#[tokio::test]
async fn no_log_line_of_the_readers_side_holds_the_email_or_a_token() {
    let mut smtp = smtp_sink(0).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let log_path = dir.path().join("moderato.log");
    let log_file = std::fs::File::create(&log_path).expect("log file");
    let child = Command::new(env!("CARGO_BIN_EXE_moderato"))
        .env("MODERATO_LISTEN", format!("127.0.0.1:{port}"))
        .env("MODERATO_DATA_DIR", dir.path().join("data"))
        .env("MODERATO_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("MODERATO_PUBLIC_URL", format!("http://127.0.0.1:{port}"))
        .env("MODERATO_SMTP_HOST", "127.0.0.1")
        .env("MODERATO_SMTP_PORT", smtp.addr.port().to_string())
        .env("MODERATO_SMTP_SECURITY", "none")
        .env("MODERATO_SMTP_FROM", "moderato@blog.test")
        .env("MODERATO_SMTP_TO", "author@blog.test")
        .env("MODERATO_RATE_POST_BURST", "50")
        .env("RUST_LOG", "trace")
        .stdout(Stdio::from(log_file.try_clone().expect("clone")))
        .stderr(Stdio::from(log_file))
        .spawn()
        .expect("start moderato");
    // Killed however the test ends: a server left running would hold the
    // files (and whatever else it inherited) of the test run.
    let mut child = Stopper(child);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    wait_healthy(&client, &base).await;

    let mut body = comment("/p/", "Ann", EMAIL);
    body["notify_replies"] = json!("1");
    let created: Value = client
        .post(format!("{base}/api/comments"))
        .json(&body)
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    let id = created["id"].as_str().expect("id").to_owned();
    let token = created["edit_token"].as_str().expect("token").to_owned();
    client
        .post(format!("{base}/admin/comments/{id}/approve"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("approve");
    // The reader's confirmation (the author's mail, if it went out before
    // the approval, may come first).
    let confirm = loop {
        let text = next_text(&mut smtp).await;
        if text.contains("/notifications/confirm/") {
            break link_in(&text, &format!("{base}/notifications/confirm/"));
        }
    };
    for request in [client.get(&confirm), client.post(&confirm)] {
        assert_eq!(request.send().await.expect("confirm").status(), 200);
    }
    let edited = client
        .put(format!("{base}/api/comments/{id}"))
        .bearer_auth(&token)
        .json(&json!({"comment": "Edited."}))
        .send()
        .await
        .expect("edit");
    assert_eq!(edited.status(), 200);
    for path in [
        "/feed.atom",
        "/feed.atom?page=/p/",
        "/api/comments?page=/p/&limit=5",
        "/api/config",
    ] {
        client
            .get(format!("{base}{path}"))
            .send()
            .await
            .expect("read");
    }
    let deleted = client
        .delete(format!("{base}/api/comments/{id}"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.status(), 204);

    let pid = child.0.id().to_string();
    Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(child.0.wait().expect("wait").success());
    let logs = std::fs::read_to_string(&log_path).expect("read logs");
    assert!(
        logs.contains("/notifications/[token]"),
        "the pages were logged, redacted"
    );
    let link_token = confirm.rsplit('/').next().expect("token");
    for line in logs.lines() {
        assert_no_email(line, "a log line");
        assert!(
            !line.contains(&token),
            "a log line holds the edit token: {line}"
        );
        assert!(
            !line.contains(link_token),
            "a log line holds a link token: {line}"
        );
    }
}

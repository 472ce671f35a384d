//! Abuse resistance: rate limits per client address, trusted proxies, admin
//! lockout, duplicates, the queue cap, slow clients and oversize requests.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use moderato::config::Config;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use warp::http::Response;

use crate::helpers::{ADMIN_TOKEN, TestApp, body_json, comment, spawn_app, test_config};

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("socket address")
}

/// Tiny quotas: 3 posts, then one every 10 minutes; 2 reads, then 1/s.
fn tiny(config: &mut Config) {
    config.rate_post_burst = 3;
    config.rate_post_period_secs = 600;
    config.rate_read_burst = 2;
    config.rate_read_per_sec = 1;
}

async fn post_from(
    app: &TestApp,
    peer: &str,
    headers: &[(&str, &str)],
    body: &Value,
) -> Response<Bytes> {
    let mut request = warp::test::request()
        .method("POST")
        .path("/api/comments")
        .remote_addr(addr(peer))
        .json(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.reply(&app.routes).await
}

#[tokio::test]
async fn the_fourth_rapid_post_from_one_address_is_429_and_stores_nothing() {
    let app = TestApp::with(tiny);
    for n in 1..=3 {
        let response = post_from(
            &app,
            "203.0.113.9:5000",
            &[],
            &comment("/p/", "Ann", &format!("ann{n}@example.org")),
        )
        .await;
        assert_eq!(response.status(), 201, "post {n}");
    }
    let response = post_from(
        &app,
        "203.0.113.9:5001",
        &[],
        &comment("/p/", "Ann", "ann4@example.org"),
    )
    .await;
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!(
        (1..=600).contains(&retry_after),
        "Retry-After: {retry_after}"
    );
    assert_eq!(body_json(&response)["error"], "rate_limited");
    assert_eq!(
        app.stored().await.len(),
        3,
        "the refused post is not stored"
    );
    let metrics = app.admin("GET", "/metrics").await;
    let metrics = String::from_utf8_lossy(metrics.body());
    assert!(
        metrics.contains("moderato_rate_limited_total{kind=\"post\"} 1"),
        "{metrics}"
    );

    // Another address is unaffected; a spoofed X-Forwarded-For changes nothing.
    let other = post_from(
        &app,
        "203.0.113.10:5000",
        &[],
        &comment("/p/", "Bo", "bo@example.org"),
    )
    .await;
    assert_eq!(other.status(), 201);
    let spoofed = post_from(
        &app,
        "203.0.113.9:5002",
        &[
            ("x-forwarded-for", "198.51.100.1"),
            ("forwarded", "for=198.51.100.2"),
        ],
        &comment("/p/", "Ann", "ann5@example.org"),
    )
    .await;
    assert_eq!(
        spoofed.status(),
        429,
        "forwarded headers from an untrusted peer are ignored"
    );
}

#[tokio::test]
async fn a_trusted_proxy_s_forwarded_address_is_the_client() {
    let app = TestApp::with(|c| {
        tiny(c);
        c.trusted_proxies = vec!["127.0.0.1/32".parse().expect("cidr")];
    });
    for n in 1..=3 {
        let response = post_from(
            &app,
            "127.0.0.1:4000",
            &[("x-forwarded-for", "198.51.100.7")],
            &comment("/p/", "Ann", &format!("a{n}@example.org")),
        )
        .await;
        assert_eq!(response.status(), 201);
    }
    let limited = post_from(
        &app,
        "127.0.0.1:4000",
        &[("x-forwarded-for", "6.6.6.6, 198.51.100.7")],
        &comment("/p/", "Ann", "a4@example.org"),
    )
    .await;
    assert_eq!(
        limited.status(),
        429,
        "the client is the right-most untrusted hop, not the spoofed left one"
    );
    let another = post_from(
        &app,
        "127.0.0.1:4000",
        &[("x-forwarded-for", "198.51.100.8")],
        &comment("/p/", "Bo", "b@example.org"),
    )
    .await;
    assert_eq!(
        another.status(),
        201,
        "another reader behind the same proxy"
    );
    let stored = app.stored().await;
    assert!(
        stored.iter().any(|c| c["ip"] == "198.51.100.0"),
        "the stored (truncated) IP is the client's: {stored:?}"
    );
}

#[tokio::test]
async fn reads_have_their_own_generous_limit() {
    let app = TestApp::with(tiny);
    let read = |peer: &'static str| {
        warp::test::request()
            .path("/api/comments?page=/p/")
            .remote_addr(addr(peer))
            .reply(&app.routes)
    };
    assert_eq!(read("203.0.113.9:1").await.status(), 200);
    assert_eq!(read("203.0.113.9:1").await.status(), 200);
    let limited = read("203.0.113.9:1").await;
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    assert_eq!(read("203.0.113.10:1").await.status(), 200);
}

#[tokio::test]
async fn limits_can_be_turned_off_by_configuration_only() {
    let app = TestApp::with(|c| {
        tiny(c);
        c.rate_limits_enabled = false;
    });
    for n in 0..6 {
        let response = post_from(
            &app,
            "203.0.113.9:5000",
            &[],
            &comment("/p/", "Ann", &format!("x{n}@example.org")),
        )
        .await;
        assert_eq!(response.status(), 201);
    }
}

#[tokio::test]
async fn eleven_wrong_admin_tokens_in_a_minute_lock_that_address_out() {
    let app = TestApp::new();
    let admin = |peer: &'static str, token: &str| {
        warp::test::request()
            .path("/admin/comments")
            .remote_addr(addr(peer))
            .header("authorization", format!("Bearer {token}"))
            .reply(&app.routes)
    };
    for n in 1..=10 {
        assert_eq!(
            admin("198.51.100.66:1", "guess").await.status(),
            401,
            "guess {n}"
        );
    }
    let locked = admin("198.51.100.66:1", "guess").await;
    assert_eq!(locked.status(), 429, "the 11th wrong token");
    assert!(locked.headers().contains_key("retry-after"));
    assert_eq!(
        admin("198.51.100.66:2", ADMIN_TOKEN).await.status(),
        429,
        "even the right token, until the window passes"
    );
    assert_eq!(
        admin("198.51.100.67:1", ADMIN_TOKEN).await.status(),
        200,
        "the author elsewhere is unaffected"
    );
}

#[tokio::test]
async fn the_same_text_twice_on_a_page_is_409_and_stores_nothing_new() {
    let app = TestApp::new();
    let body = comment("/p/", "Ann", "ann@example.org");
    assert_eq!(app.post_json(&body).await.status(), 201);

    let mut again = body.clone();
    again["email"] = json!(" ANN@example.org");
    again["comment"] = json!(format!(
        "  {}  ",
        body["comment"].as_str().expect("text").to_uppercase()
    ));
    let response = app.post_json(&again).await;
    assert_eq!(response.status(), 409);
    assert_eq!(body_json(&response)["error"], "duplicate");
    assert_eq!(app.stored().await.len(), 1);

    let mut elsewhere = body.clone();
    elsewhere["page"] = json!("/other/");
    assert_eq!(
        app.post_json(&elsewhere).await.status(),
        201,
        "another page is not a duplicate"
    );
    let mut someone_else = body.clone();
    someone_else["email"] = json!("bea@example.org");
    assert_eq!(
        app.post_json(&someone_else).await.status(),
        201,
        "another commenter is not a duplicate"
    );
}

#[tokio::test]
async fn a_full_queue_turns_new_commenters_away_but_not_approved_ones() {
    let app = TestApp::with(|c| c.max_pending = 2);
    let known = app.approved_comment("/p/").await;
    app.post_comment("/p/", "Bea", "bea@example.org").await;
    app.post_comment("/p/", "Cy", "cy@example.org").await;
    let before = app.stored().await;

    let refused = app
        .post_json(&comment("/p/", "Dee", "dee@example.org"))
        .await;
    assert_eq!(refused.status(), 503);
    assert!(refused.headers().contains_key("retry-after"));
    let error = body_json(&refused);
    assert_eq!(error["error"], "queue_full");
    assert!(
        error["message"]
            .as_str()
            .expect("message")
            .contains("queue is full")
    );
    assert_eq!(app.stored().await, before, "nothing stored or touched");

    // Ann was approved before: she still gets through.
    let mut reply = comment("/p/", "Ann", "ann@example.org");
    reply["parent"] = json!(known);
    assert_eq!(app.post_json(&reply).await.status(), 201);
}

/// Reads until the server closes the connection; returns what it sent.
async fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let result =
        tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut received)).await;
    assert!(
        result.is_ok(),
        "the server should have closed the connection"
    );
    String::from_utf8_lossy(&received).into_owned()
}

#[tokio::test]
async fn slow_and_idle_connections_are_closed_after_the_timeout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = test_config(&dir);
    config.request_timeout_secs = 1;
    let app = spawn_app(config).await;

    // Idle: connects and sends nothing.
    let mut idle = TcpStream::connect(app.addr).await.expect("connect");
    read_until_closed(&mut idle).await;

    // Slow headers: never finishes them.
    let mut slow = TcpStream::connect(app.addr).await.expect("connect");
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("write");
    read_until_closed(&mut slow).await;

    // Slow body: announces 100 bytes, sends 10.
    let mut body = TcpStream::connect(app.addr).await.expect("connect");
    body.write_all(b"POST /api/comments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"page\":\"/").await.expect("write");
    let answer = read_until_closed(&mut body).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");

    // The server still serves everyone else.
    let ok = reqwest::get(app.url("/healthz")).await.expect("get");
    assert_eq!(ok.status(), 200);
    app.shutdown().await;
}

#[tokio::test]
async fn oversize_headers_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = spawn_app(test_config(&dir)).await;
    let mut stream = TcpStream::connect(app.addr).await.expect("connect");
    let huge = "x".repeat(64 * 1024);
    let request = format!("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {huge}\r\n\r\n");
    let _ = stream.write_all(request.as_bytes()).await;
    let answer = read_until_closed(&mut stream).await;
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 431"),
        "{answer}"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn an_oversize_body_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = spawn_app(test_config(&dir)).await;
    let mut stream = TcpStream::connect(app.addr).await.expect("connect");
    // Announce 10 MiB, send none of it: the answer comes from the header alone.
    stream
        .write_all(b"POST /api/comments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10485760\r\n\r\n")
        .await
        .expect("write");
    let mut head = [0u8; 12];
    tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut head))
        .await
        .expect("answered at once")
        .expect("read");
    assert_eq!(&head, b"HTTP/1.1 413");
    app.shutdown().await;
}

#[tokio::test]
async fn refusals_from_filters_carry_cors_headers_so_the_embed_can_read_them() {
    let app = TestApp::with(|c| {
        tiny(c);
        c.allowed_origins = vec!["https://blog.example.org".into()];
    });
    let origin = [("origin", "https://blog.example.org")];
    for n in 0..3 {
        post_from(
            &app,
            "203.0.113.9:1",
            &origin,
            &comment("/p/", "Ann", &format!("c{n}@example.org")),
        )
        .await;
    }
    let limited = post_from(
        &app,
        "203.0.113.9:1",
        &origin,
        &comment("/p/", "Ann", "c9@example.org"),
    )
    .await;
    assert_eq!(limited.status(), 429);
    assert_eq!(
        limited.headers()["access-control-allow-origin"],
        "https://blog.example.org"
    );
    let exposed = limited.headers()["access-control-expose-headers"]
        .to_str()
        .expect("ascii");
    assert!(exposed.contains("retry-after"), "{exposed}");

    let unsupported = warp::test::request()
        .method("POST")
        .path("/api/comments")
        .remote_addr(addr("203.0.113.10:1"))
        .header("origin", "https://blog.example.org")
        .header("content-type", "text/plain")
        .body("hello")
        .reply(&app.routes)
        .await;
    assert_eq!(unsupported.status(), 415);
    assert_eq!(
        unsupported.headers()["access-control-allow-origin"],
        "https://blog.example.org"
    );
}

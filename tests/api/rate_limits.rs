//! Rate limits per client address (posting, reading), trusted proxies, and
//! the lockout of addresses that guess the admin token.

use std::net::SocketAddr;

use bytes::Bytes;
use moderato::config::Config;
use serde_json::Value;
use warp::http::Response;

use crate::helpers::{ADMIN_TOKEN, TestApp, body_json, comment};

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

//! `GET /metrics` through the routes: the guard it shares with every admin
//! route, the metrics token, and the counters.

use crate::helpers::TestApp;

#[tokio::test]
async fn metrics_need_the_admin_token_and_count_requests_by_route() {
    let app = TestApp::new();
    let anonymous = app.get("/metrics").await;
    assert_eq!(anonymous.status(), 401);
    assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");

    let id = app.approved_comment("/p/").await;
    app.get("/api/comments?page=/p/").await;
    app.get("/api/comments?page=/p/").await;
    let response = app.admin("GET", "/metrics").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/plain; version=0.0.4")
    );
    let text = String::from_utf8(response.body().to_vec()).expect("utf-8");
    for line in [
        "moderato_queue_comments{status=\"approved\"} 1",
        "moderato_page_cache_requests_total{result=\"hit\"} 1",
        "moderato_rules_reloads_total{outcome=\"error\"} 0",
        "moderato_http_request_duration_seconds_count{route=\"/api/comments\",method=\"GET\"} 2",
        "moderato_http_request_duration_seconds_count{route=\"/admin/comments/{id}/{action}\",method=\"POST\"} 1",
        "moderato_http_responses_total{route=\"/metrics\",code=\"4xx\"} 1",
        "moderato_store_flush_requests_total 2",
    ] {
        assert!(text.contains(line), "missing {line} in\n{text}");
    }
    assert!(text.contains("moderato_database_size_bytes "));
    let received: u64 = text
        .lines()
        .filter(|l| l.starts_with("moderato_comments_received_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert_eq!(received, 1);
    // Ids and query strings never become labels.
    assert!(!text.contains(&id));
    assert!(!text.contains("page="));
}

/// `/metrics` answers for one peer address with this bearer token.
async fn metrics_from(app: &TestApp, peer: &str, token: Option<&str>) -> u16 {
    let mut request = warp::test::request()
        .path("/metrics")
        .remote_addr(peer.parse().expect("peer"));
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    request.reply(&app.routes).await.status().as_u16()
}

#[tokio::test]
async fn wrong_tokens_at_metrics_lock_the_address_out_like_any_admin_route() {
    // Arrange: the default lockout, 10 failures a minute.
    let app = TestApp::new();
    let guesser = "203.0.113.50:4000";

    // Act: eleven guesses at /metrics.
    let answers = {
        let mut answers = Vec::new();
        for n in 0..11 {
            answers.push(metrics_from(&app, guesser, Some(&format!("guess-{n}"))).await);
        }
        answers
    };

    // Assert: ten 401s, then 429 even with the right token, at /metrics
    // and at every other admin route; another address is unaffected.
    assert!(answers[..10].iter().all(|s| *s == 401), "{answers:?}");
    assert_eq!(answers[10], 429);
    assert_eq!(
        metrics_from(&app, guesser, Some(crate::helpers::ADMIN_TOKEN)).await,
        429
    );
    let admin = warp::test::request()
        .path("/admin/comments")
        .remote_addr(guesser.parse().expect("peer"))
        .header(
            "authorization",
            format!("Bearer {}", crate::helpers::ADMIN_TOKEN),
        )
        .reply(&app.routes)
        .await;
    assert_eq!(admin.status(), 429);
    assert_eq!(
        metrics_from(&app, "198.51.100.7:4000", Some(crate::helpers::ADMIN_TOKEN)).await,
        200
    );
}

#[tokio::test]
async fn the_metrics_token_opens_metrics_and_nothing_else() {
    const METRICS_TOKEN: &str = "prometheus-scraper-token-0123";
    let app = TestApp::with(|c| c.metrics_token = Some(METRICS_TOKEN.into()));
    let peer = "203.0.113.60:4000";

    assert_eq!(metrics_from(&app, peer, Some(METRICS_TOKEN)).await, 200);
    assert_eq!(
        metrics_from(&app, peer, Some(crate::helpers::ADMIN_TOKEN)).await,
        200,
        "the admin token keeps working at /metrics"
    );
    for (method, path) in [
        ("GET", "/admin/comments"),
        ("GET", "/admin/stats"),
        ("GET", "/admin/learning"),
        ("GET", "/admin/export"),
        ("POST", "/admin/rules/reload"),
    ] {
        let response = warp::test::request()
            .method(method)
            .path(path)
            .remote_addr(peer.parse().expect("peer"))
            .header("authorization", format!("Bearer {METRICS_TOKEN}"))
            .reply(&app.routes)
            .await;
        assert_eq!(response.status(), 401, "{method} {path}");
    }
}

#[tokio::test]
async fn every_route_is_counted_under_the_template_it_names() {
    // Arrange: one request to each route (answers may be errors: the label
    // is what is checked).
    let app = TestApp::new();
    let id = app.approved_comment("/p/").await;
    let routes: &[(&str, String, &str)] = &[
        ("GET", "/healthz".into(), "/healthz"),
        ("GET", "/embed.js".into(), "/embed.js"),
        ("GET", "/embed.css".into(), "/embed.css"),
        ("GET", "/api/comments?page=/p/".into(), "/api/comments"),
        ("GET", format!("/api/comments/{id}"), "/api/comments/{id}"),
        ("PUT", format!("/api/comments/{id}"), "/api/comments/{id}"),
        (
            "DELETE",
            format!("/api/comments/{id}"),
            "/api/comments/{id}",
        ),
        ("GET", "/api/counts?page=/p/".into(), "/api/counts"),
        ("GET", "/api/form-token?page=/p/".into(), "/api/form-token"),
        ("GET", "/feed.atom".into(), "/feed.atom"),
        ("GET", "/admin".into(), "/admin"),
        ("GET", "/admin/admin.js".into(), "/admin/admin.js"),
        ("GET", "/admin/admin.css".into(), "/admin/admin.css"),
        ("GET", "/admin/comments".into(), "/admin/comments"),
        (
            "GET",
            format!("/admin/comments/{id}"),
            "/admin/comments/{id}",
        ),
        (
            "POST",
            "/admin/comments/bulk".into(),
            "/admin/comments/bulk",
        ),
        (
            "POST",
            format!("/admin/comments/{id}/reply"),
            "/admin/comments/{id}/reply",
        ),
        ("GET", "/admin/stats".into(), "/admin/stats"),
        ("GET", "/admin/learning".into(), "/admin/learning"),
        ("POST", "/admin/rules/reload".into(), "/admin/rules/reload"),
        ("POST", "/admin/rules/test".into(), "/admin/rules/test"),
        ("GET", "/admin/export".into(), "/admin/export"),
        ("POST", "/admin/import".into(), "/admin/import"),
        ("POST", "/admin/erase".into(), "/admin/erase"),
        (
            "GET",
            "/admin/decide/not-a-token".into(),
            "/admin/decide/{token}",
        ),
        (
            "DELETE",
            "/admin/comments/01ARZ3NDEKTSV4RRFFQ69G5FAV".into(),
            "/admin/comments/{id}",
        ),
    ];

    // Act
    for (method, path, _) in routes {
        app.admin(method, path).await;
    }
    app.get("/wp-login.php").await;
    app.get("/api/nothing").await;
    let text =
        String::from_utf8(app.admin("GET", "/metrics").await.body().to_vec()).expect("utf-8");

    // Assert
    for (method, path, template) in routes {
        assert!(
            text.contains(&format!(
                "moderato_http_request_duration_seconds_count{{route=\"{template}\",method=\"{method}\"}}"
            )),
            "{method} {path} is not counted under {template}:\n{text}"
        );
    }
    assert!(text.contains("route=\"other\""), "{text}");
    assert!(text.contains("route=\"/api/other\""), "{text}");
    assert!(
        !text.contains("route=\"/admin/other\""),
        "an admin route went unlabelled:\n{text}"
    );
}

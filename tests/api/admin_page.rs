//! The author's side of the admin API: the page and its assets, bulk
//! decisions, stats, the author's replies and the audit trail.

use bytes::Bytes;
use moderato::config::ModerationMode;
use serde_json::{Value, json};
use warp::http::Response;

use crate::helpers::{ADMIN_TOKEN, TestApp, body_json};

fn app() -> TestApp {
    TestApp::with(|c| c.moderation = ModerationMode::All)
}

async fn admin_json(app: &TestApp, method: &str, path: &str, body: &Value) -> Response<Bytes> {
    warp::test::request()
        .method(method)
        .path(path)
        .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
        .header("content-type", "application/json")
        .json(body)
        .reply(&app.routes)
        .await
}

async fn status_of(app: &TestApp, id: &str) -> Value {
    body_json(&app.admin("GET", &format!("/admin/comments/{id}")).await)["status"].clone()
}

/// Three pending comments from three readers.
async fn three(app: &TestApp) -> Vec<String> {
    let mut ids = Vec::new();
    for (name, email) in [
        ("Ann", "ann@example.org"),
        ("Bo", "bo@example.org"),
        ("Cy", "cy@example.org"),
    ] {
        ids.push(app.post_comment("/p/", name, email).await);
    }
    ids
}

#[tokio::test]
async fn the_page_and_its_assets_load_without_a_token_under_a_strict_csp() {
    let app = app();
    for (path, content_type) in [
        ("/admin", "text/html; charset=utf-8"),
        ("/admin/admin.js", "text/javascript; charset=utf-8"),
        ("/admin/admin.css", "text/css; charset=utf-8"),
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        let headers = response.headers();
        assert_eq!(headers["content-type"], content_type, "{path}");
        assert_eq!(
            headers["content-security-policy"],
            moderato::http::admin::CONTENT_SECURITY_POLICY,
            "{path}"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff");
        let etag = headers["etag"].to_str().expect("ascii").to_owned();
        let again = warp::test::request()
            .path(path)
            .header("if-none-match", &etag)
            .reply(&app.routes)
            .await;
        assert_eq!(again.status(), 304, "{path}");
        assert!(again.body().is_empty());
    }
    let csp = moderato::http::admin::CONTENT_SECURITY_POLICY;
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{directive}");
    }
    // The page is strict-CSP clean: no inline script, style or handler.
    let html = String::from_utf8_lossy(app.get("/admin").await.body()).to_lowercase();
    assert!(html.contains(r#"<script src="/admin/admin.js""#));
    assert!(!html.contains("<script>") && !html.contains("<style") && !html.contains(" style="));
    assert!(
        !html.contains(" onclick=") && !html.contains(" onsubmit=") && !html.contains(" onload=")
    );
    let head = warp::test::request()
        .method("HEAD")
        .path("/admin")
        .reply(&app.routes)
        .await;
    assert_eq!(head.status(), 200);
    // The data behind it still needs the token.
    assert_eq!(app.get("/admin/stats").await.status(), 401);
    assert_eq!(app.get("/admin/comments").await.status(), 401);
}

#[tokio::test]
async fn stats_count_every_status() {
    let app = app();
    let ids = three(&app).await;
    app.admin("POST", &format!("/admin/comments/{}/spam", ids[0]))
        .await;
    let stats = body_json(&app.admin("GET", "/admin/stats").await);
    assert_eq!(stats["pending"], 2);
    assert_eq!(stats["approved"], 0);
    assert_eq!(stats["spam"], 1);
    assert_eq!(stats["rejected"], 0);
    assert!(stats["site"].is_null());
}

#[tokio::test]
async fn bulk_acts_per_id_and_reports_unknown_ids_without_failing() {
    let app = app();
    let ids = three(&app).await;
    let unknown = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    let response = admin_json(
        &app,
        "POST",
        "/admin/comments/bulk",
        &json!({"ids": [ids[0], unknown, "not-an-id", 7, ids[1]], "action": "spam"}),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        body_json(&response),
        json!({"results": [
            {"id": ids[0], "ok": true, "status": "spam"},
            {"id": unknown, "ok": false, "error": "not_found"},
            {"id": "not-an-id", "ok": false, "error": "invalid_id"},
            {"id": 7, "ok": false, "error": "invalid_id"},
            {"id": ids[1], "ok": true, "status": "spam"},
        ]})
    );
    assert_eq!(status_of(&app, &ids[0]).await, "spam");
    assert_eq!(status_of(&app, &ids[1]).await, "spam");
    // Nothing else changed.
    assert_eq!(status_of(&app, &ids[2]).await, "pending");
    let stats = body_json(&app.admin("GET", "/admin/stats").await);
    assert_eq!(
        (stats["pending"].clone(), stats["spam"].clone()),
        (json!(1), json!(2))
    );

    // The decision is in each comment's audit trail, through "bulk".
    let decided = body_json(
        &app.admin("GET", &format!("/admin/comments/{}", ids[0]))
            .await,
    );
    assert_eq!(decided["decisions"][0]["from"], "pending");
    assert_eq!(decided["decisions"][0]["to"], "spam");
    assert_eq!(decided["decisions"][0]["via"], "bulk");

    // Delete: the deleted are gone, a second delete reports not_found.
    let response = admin_json(
        &app,
        "POST",
        "/admin/comments/bulk",
        &json!({"ids": [ids[0], ids[0]], "action": "delete"}),
    )
    .await;
    assert_eq!(
        body_json(&response)["results"],
        json!([
            {"id": ids[0], "ok": true, "status": "deleted"},
            {"id": ids[0], "ok": false, "error": "not_found"},
        ])
    );
    assert_eq!(
        app.admin("GET", &format!("/admin/comments/{}", ids[0]))
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn bulk_refuses_bad_requests_as_a_whole() {
    let app = app();
    let ids = three(&app).await;
    let too_many: Vec<String> = (0..=moderato::http::admin::MAX_BULK_IDS)
        .map(|_| ids[0].clone())
        .collect();
    let cases = [
        (
            json!({"ids": too_many, "action": "approve"}),
            422,
            Some("ids"),
        ),
        (
            json!({"ids": [ids[0]], "action": "publish"}),
            422,
            Some("action"),
        ),
        (json!({"ids": [ids[0]]}), 422, Some("action")),
        (json!({"action": "approve"}), 422, Some("ids")),
        (json!({"ids": "all", "action": "approve"}), 400, None),
        (json!([ids[0]]), 400, None),
    ];
    for (body, status, field) in cases {
        let response = admin_json(&app, "POST", "/admin/comments/bulk", &body).await;
        assert_eq!(response.status(), status, "{body}");
        if let Some(field) = field {
            assert!(body_json(&response)["fields"][field].is_string(), "{body}");
        }
    }
    for id in &ids {
        assert_eq!(status_of(&app, id).await, "pending");
    }
    // Without the token: 401, like every admin route.
    let response = warp::test::request()
        .method("POST")
        .path("/admin/comments/bulk")
        .json(&json!({"ids": [ids[0]], "action": "approve"}))
        .reply(&app.routes)
        .await;
    assert_eq!(response.status(), 401);
    assert_eq!(status_of(&app, &ids[0]).await, "pending");
}

#[tokio::test]
async fn an_author_reply_is_public_marked_and_approves_a_pending_parent() {
    let app = TestApp::with(|c| {
        c.moderation = ModerationMode::All;
        c.author_name = "Dr. Rivera".into();
    });
    let parent = app.post_comment("/p/", "Ann", "ann@example.org").await;

    let response = admin_json(
        &app,
        "POST",
        &format!("/admin/comments/{parent}/reply"),
        &json!({"comment": "  Thank you, Ann. <script>x()</script>**Take care.**  "}),
    )
    .await;
    assert_eq!(response.status(), 201, "{:?}", response.body());
    let answer = body_json(&response);
    let reply_id = answer["reply"]["id"].as_str().expect("id").to_owned();
    assert_eq!(
        response.headers()["location"],
        format!("/admin/comments/{reply_id}").as_str()
    );
    assert_eq!(answer["reply"]["status"], "approved");
    assert_eq!(answer["reply"]["by_author"], true);
    assert_eq!(answer["reply"]["author"], "Dr. Rivera");
    assert!(answer["reply"]["email"].is_null());
    assert_eq!(answer["parent"]["status"], "approved");
    assert_eq!(
        answer["parent"]["decisions"],
        json!([{"from": "pending", "to": "approved", "at": answer["parent"]["updated_at"], "via": "reply"}])
    );

    let thread = body_json(&app.get("/api/comments?page=/p/").await);
    assert_eq!(thread["count"], 2);
    let comments = thread["comments"].as_array().expect("array");
    assert_eq!(comments[0]["id"], parent.as_str());
    assert_eq!(comments[0]["by_author"], false);
    assert_eq!(comments[1]["id"], reply_id.as_str());
    assert_eq!(comments[1]["parent"], parent.as_str());
    assert_eq!(comments[1]["by_author"], true);
    assert_eq!(comments[1]["author"], "Dr. Rivera");
    let html = comments[1]["html"].as_str().expect("html");
    assert!(
        html.contains("Thank you, Ann.") && !html.contains("<script"),
        "{html}"
    );

    // The same reply twice (a double click) is refused; another one is not.
    let again = admin_json(
        &app,
        "POST",
        &format!("/admin/comments/{parent}/reply"),
        &json!({"comment": "Thank you, Ann. <script>x()</script>**Take care.**"}),
    )
    .await;
    assert_eq!(again.status(), 409);
    let other = admin_json(
        &app,
        "POST",
        &format!("/admin/comments/{parent}/reply"),
        &json!({"comment": "One more thought."}),
    )
    .await;
    assert_eq!(other.status(), 201);
    // A reply to the author's reply threads under it.
    let nested = admin_json(
        &app,
        "POST",
        &format!("/admin/comments/{reply_id}/reply"),
        &json!({"comment": "And a footnote."}),
    )
    .await;
    assert_eq!(nested.status(), 201);
    assert_eq!(body_json(&nested)["reply"]["parent"], reply_id.as_str());
}

#[tokio::test]
async fn a_reply_needs_a_live_parent_and_a_text() {
    let app = app();
    let ids = three(&app).await;
    app.admin("POST", &format!("/admin/comments/{}/spam", ids[0]))
        .await;
    app.admin("POST", &format!("/admin/comments/{}/reject", ids[1]))
        .await;
    let cases = [
        (
            "01ARZ3NDEKTSV4RRFFQ69G5FAV".to_owned(),
            json!({"comment": "Hi"}),
            404,
            None,
        ),
        ("not-an-id".to_owned(), json!({"comment": "Hi"}), 404, None),
        (
            ids[0].clone(),
            json!({"comment": "Hi"}),
            422,
            Some("parent"),
        ),
        (
            ids[1].clone(),
            json!({"comment": "Hi"}),
            422,
            Some("parent"),
        ),
        (
            ids[2].clone(),
            json!({"comment": "   "}),
            422,
            Some("comment"),
        ),
        (ids[2].clone(), json!({}), 422, Some("comment")),
        (
            ids[2].clone(),
            json!({"comment": "x".repeat(10_001)}),
            422,
            Some("comment"),
        ),
        (ids[2].clone(), json!({"comment": 5}), 400, None),
    ];
    for (id, body, status, field) in cases {
        let response =
            admin_json(&app, "POST", &format!("/admin/comments/{id}/reply"), &body).await;
        assert_eq!(response.status(), status, "{id} {body}");
        if let Some(field) = field {
            assert!(
                body_json(&response)["fields"][field].is_string(),
                "{id} {body}"
            );
        }
    }
    // Nothing was stored or changed.
    assert_eq!(app.stored().await.len(), 3);
    assert_eq!(status_of(&app, &ids[2]).await, "pending");
    assert_eq!(
        body_json(&app.admin("GET", "/admin/stats").await)["approved"],
        0
    );
}

#[tokio::test]
async fn every_status_change_is_in_the_audit_trail_and_repeats_are_not() {
    let app = app();
    let id = app.post_comment("/p/", "Ann", "ann@example.org").await;
    let fresh = body_json(&app.admin("GET", &format!("/admin/comments/{id}")).await);
    assert_eq!(fresh["decisions"], json!([]));

    for action in ["approve", "approve", "spam", "reject"] {
        let response = app
            .admin("POST", &format!("/admin/comments/{id}/{action}"))
            .await;
        assert_eq!(response.status(), 200);
    }
    admin_json(
        &app,
        "POST",
        "/admin/comments/bulk",
        &json!({"ids": [id], "action": "approve"}),
    )
    .await;

    let comment = body_json(&app.admin("GET", &format!("/admin/comments/{id}")).await);
    let trail: Vec<(String, String, String)> = comment["decisions"]
        .as_array()
        .expect("array")
        .iter()
        .map(|d| {
            assert!(
                d["at"].as_str().is_some_and(|t| t.ends_with('Z')),
                "RFC 3339 UTC: {d}"
            );
            (
                d["from"].as_str().unwrap_or_default().to_owned(),
                d["to"].as_str().unwrap_or_default().to_owned(),
                d["via"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("pending", "approved", "admin"),
        ("approved", "spam", "admin"),
        ("spam", "rejected", "admin"),
        ("rejected", "approved", "bulk"),
    ]
    .map(|(a, b, c)| (a.to_owned(), b.to_owned(), c.to_owned()));
    assert_eq!(trail, expected);
    assert_eq!(
        comment["updated_at"], comment["decisions"][3]["at"],
        "the last decision is the last change"
    );
    // The listing carries it too; the public view never does.
    let listed = body_json(&app.admin("GET", "/admin/comments?status=approved").await);
    assert_eq!(
        listed["comments"][0]["decisions"].as_array().map(Vec::len),
        Some(4)
    );
    let public =
        String::from_utf8_lossy(app.get("/api/comments?page=/p/").await.body()).into_owned();
    assert!(
        !public.contains("decisions") && !public.contains("\"via\""),
        "{public}"
    );
}

//! The admin API through `warp::test`: authentication, the queue,
//! decisions and deletion.

use serde_json::json;

use crate::helpers::{ADMIN_TOKEN, TestApp, admin_json, body_json, held_app};

#[tokio::test]
async fn admin_routes_need_the_exact_bearer_token() {
    let app = TestApp::new();
    let cases = [
        None,
        Some("Bearer wrong-token".to_owned()),
        Some(format!("Bearer {ADMIN_TOKEN}x")),
        Some(format!("Basic {ADMIN_TOKEN}")),
        Some(ADMIN_TOKEN.to_owned()),
    ];
    for header in cases {
        for (method, path) in [
            ("GET", "/admin/comments"),
            ("DELETE", "/admin/comments/01ARZ3NDEKTSV4RRFFQ69G5FAV"),
        ] {
            let mut request = warp::test::request().method(method).path(path);
            if let Some(value) = &header {
                request = request.header("authorization", value);
            }
            let response = request.reply(&app.routes).await;
            assert_eq!(response.status(), 401, "{method} {path} with {header:?}");
            assert_eq!(response.headers()["www-authenticate"], "Bearer");
            assert_eq!(body_json(&response)["error"], "unauthorized");
        }
    }
}

#[tokio::test]
async fn the_whole_path_post_queue_approve_public() {
    // Arrange
    let app = TestApp::new();
    let id = app.post_comment("/p/", "Ann", "Ann@Example.org").await;

    // The author sees it in the queue, with its private fields.
    let queue = body_json(&app.admin("GET", "/admin/comments").await);
    let queued = &queue["comments"][0];
    assert_eq!(queued["id"], id.as_str());
    assert_eq!(queued["status"], "pending");
    assert_eq!(queued["email"], "Ann@Example.org");
    assert_eq!(queued["page"], "/p/");
    assert!(queued["hits"].is_array() && queued["score"].is_i64());
    assert!(
        body_json(&app.get("/api/comments?page=/p/").await)["comments"]
            .as_array()
            .expect("array")
            .is_empty()
    );

    // Act: approve.
    let approved = app
        .admin("POST", &format!("/admin/comments/{id}/approve"))
        .await;
    assert_eq!(approved.status(), 200);
    assert_eq!(body_json(&approved)["status"], "approved");

    // Assert: public, without the email.
    let thread = app.get("/api/comments?page=/p/").await;
    let text = String::from_utf8_lossy(thread.body()).to_lowercase();
    assert!(text.contains(&id.to_lowercase()));
    assert!(!text.contains("ann@example.org"), "{text}");
    assert!(
        body_json(&app.admin("GET", "/admin/comments").await)["comments"]
            .as_array()
            .expect("array")
            .is_empty()
    );
}

#[tokio::test]
async fn reject_and_spam_keep_a_comment_off_the_page_and_are_idempotent() {
    let app = TestApp::new();
    for action in ["reject", "spam"] {
        let id = app.post_comment("/p/", "Ann", "ann@example.org").await;
        for _ in 0..2 {
            let response = app
                .admin("POST", &format!("/admin/comments/{id}/{action}"))
                .await;
            assert_eq!(response.status(), 200, "{action}");
        }
        let expected = if action == "reject" {
            "rejected"
        } else {
            "spam"
        };
        let listed = body_json(
            &app.admin("GET", &format!("/admin/comments?status={expected}"))
                .await,
        );
        assert!(
            listed["comments"]
                .as_array()
                .expect("array")
                .iter()
                .any(|c| c["id"] == id.as_str())
        );
    }
    assert_eq!(
        body_json(&app.get("/api/comments?page=/p/").await)["count"],
        0
    );
}

#[tokio::test]
async fn a_rejected_comment_can_still_be_approved_later() {
    let app = TestApp::new();
    let id = app.post_comment("/p/", "Ann", "ann@example.org").await;
    app.admin("POST", &format!("/admin/comments/{id}/reject"))
        .await;
    app.admin("POST", &format!("/admin/comments/{id}/approve"))
        .await;
    assert_eq!(
        body_json(&app.get("/api/comments?page=/p/").await)["count"],
        1
    );
}

#[tokio::test]
async fn delete_removes_the_comment_everywhere() {
    let app = TestApp::new();
    let id = app.approved_comment("/p/").await;
    let response = app.admin("DELETE", &format!("/admin/comments/{id}")).await;
    assert_eq!(response.status(), 204);
    assert_eq!(
        app.admin("GET", &format!("/admin/comments/{id}"))
            .await
            .status(),
        404
    );
    assert_eq!(
        app.admin("DELETE", &format!("/admin/comments/{id}"))
            .await
            .status(),
        404
    );
    assert_eq!(
        body_json(&app.get("/api/comments?page=/p/").await)["count"],
        0
    );
    assert_eq!(body_json(&app.get("/api/counts?page=/p/").await)["/p/"], 0);
    assert!(app.stored().await.is_empty());
}

#[tokio::test]
async fn unknown_ids_and_actions_are_404() {
    let app = TestApp::new();
    for (method, path) in [
        ("GET", "/admin/comments/01ARZ3NDEKTSV4RRFFQ69G5FAV"),
        ("GET", "/admin/comments/not-an-id"),
        ("POST", "/admin/comments/01ARZ3NDEKTSV4RRFFQ69G5FAV/approve"),
        ("POST", "/admin/comments/01ARZ3NDEKTSV4RRFFQ69G5FAV/promote"),
    ] {
        let response = app.admin(method, path).await;
        assert_eq!(response.status(), 404, "{method} {path}");
    }
}

#[tokio::test]
async fn the_queue_pages_newest_first_with_a_cursor() {
    let app = TestApp::new();
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            app.post_comment(&format!("/p{}/", i % 2), "Ann", "ann@example.org")
                .await,
        );
    }
    let first = body_json(&app.admin("GET", "/admin/comments?limit=2").await);
    let got: Vec<&str> = first["comments"]
        .as_array()
        .expect("array")
        .iter()
        .map(|c| c["id"].as_str().expect("id"))
        .collect();
    assert_eq!(got, [ids[4].as_str(), ids[3].as_str()]);
    let cursor = first["next_cursor"].as_str().expect("more pages");

    let second = body_json(
        &app.admin("GET", &format!("/admin/comments?limit=2&cursor={cursor}"))
            .await,
    );
    let got: Vec<&str> = second["comments"]
        .as_array()
        .expect("array")
        .iter()
        .map(|c| c["id"].as_str().expect("id"))
        .collect();
    assert_eq!(got, [ids[2].as_str(), ids[1].as_str()]);

    let by_page = body_json(&app.admin("GET", "/admin/comments?page=/p0/").await);
    assert_eq!(by_page["comments"].as_array().expect("array").len(), 3);

    for bad in [
        "status=deleted",
        "limit=0",
        "limit=1000",
        "cursor=zzz",
        "page=nope",
    ] {
        let response = app.admin("GET", &format!("/admin/comments?{bad}")).await;
        assert_eq!(response.status(), 422, "{bad}");
    }
}

#[tokio::test]
async fn every_status_change_is_in_the_audit_trail_and_repeats_are_not() {
    let app = held_app();
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

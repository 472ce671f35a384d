//! The public API through `warp::test`: every status code of
//! `POST /api/comments`, and the reads.

use serde_json::json;

use crate::helpers::{TestApp, body_json, comment};

#[tokio::test]
async fn a_valid_json_comment_is_created_pending_with_location() {
    // Arrange
    let app = TestApp::new();
    // Act
    let response = app
        .post_json(&comment("/blog/grief/", "Ann", "ann@example.org"))
        .await;
    // Assert
    assert_eq!(response.status(), 201);
    let body = body_json(&response);
    assert_eq!(body["status"], "pending");
    let id = body["id"].as_str().expect("id");
    assert_eq!(
        response.headers()["location"],
        format!("/api/comments/{id}").as_str()
    );
    assert_eq!(app.stored().await.len(), 1);
}

#[tokio::test]
async fn a_form_post_from_a_browser_is_redirected_back_to_its_page() {
    let app = TestApp::with(|c| c.allowed_origins = vec!["https://blog.example.org".into()]);
    let body =
        "page=%2Fp%2F&author=Ann+Lee&email=ann%40example.org&comment=Hi+there&submit=Post+Comment";
    let response = warp::test::request()
        .method("POST")
        .path("/api/comments")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("referer", "https://blog.example.org/p/#respond")
        .header("content-length", body.len().to_string())
        .body(body)
        .reply(&app.routes)
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        response.headers()["location"],
        "https://blog.example.org/p/#comment-pending"
    );
    let stored = app.stored().await;
    assert_eq!(stored[0]["author"], "Ann Lee");
}

#[tokio::test]
async fn a_form_post_from_an_unlisted_origin_is_stored_but_not_redirected_there() {
    let app = TestApp::with(|c| c.allowed_origins = vec!["https://blog.example.org".into()]);
    let body = "page=%2Fp%2F&author=Ann&email=ann%40example.org&comment=Hi";
    let response = warp::test::request()
        .method("POST")
        .path("/api/comments")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("referer", "https://evil.example/")
        .header("content-length", body.len().to_string())
        .body(body)
        .reply(&app.routes)
        .await;
    assert_eq!(response.status(), 201);
    assert!(
        response.headers()["location"]
            .to_str()
            .expect("ascii")
            .starts_with("/api/comments/")
    );
}

#[tokio::test]
async fn invalid_fields_are_all_reported_and_nothing_is_stored() {
    let app = TestApp::new();
    let response = app
        .post_json(&json!({"page": "no-slash", "author": " ", "email": "ann@", "url": "javascript:alert(1)", "comment": ""}))
        .await;
    assert_eq!(response.status(), 422);
    let body = body_json(&response);
    assert_eq!(body["error"], "validation");
    for field in ["page", "author", "email", "url", "comment"] {
        assert!(
            body["fields"][field].is_string(),
            "{field} should be reported: {body}"
        );
    }
    assert!(app.stored().await.is_empty());
}

#[tokio::test]
async fn bad_bodies_get_their_4xx_and_store_nothing() {
    let app = TestApp::new();
    let cases: &[(&str, &[u8], u16, &str)] = &[
        ("application/json", b"{\"page\":", 400, "malformed json"),
        (
            "application/json",
            b"\"just a string\"",
            400,
            "json that is not an object",
        ),
        (
            "application/json",
            b"{\"page\":\"/p\",\"author\":\"\xff\xfe\"}",
            400,
            "invalid utf-8 in json",
        ),
        (
            "application/x-www-form-urlencoded",
            b"page=%2Fp&author=%FF",
            400,
            "invalid utf-8 in a form",
        ),
        ("text/plain", b"hello", 415, "plain text"),
        (
            "multipart/form-data; boundary=x",
            b"--x--",
            415,
            "multipart",
        ),
        (
            "application/json",
            br#"{"page":"/p/\u0007","author":"Ann","email":"ann@example.org","comment":"hi"}"#,
            422,
            "control character in page",
        ),
        (
            "application/json",
            br#"{"page":"/p/","author":["Ann"],"email":"ann@example.org","comment":"hi"}"#,
            422,
            "array as author",
        ),
    ];
    for (content_type, body, status, case) in cases {
        let response = app.post_raw(content_type, body).await;
        assert_eq!(response.status(), *status, "{case}");
        let error = body_json(&response);
        assert!(
            error["error"].is_string() && error["message"].is_string(),
            "{case}: {error}"
        );
    }
    assert!(app.stored().await.is_empty());
}

#[tokio::test]
async fn an_oversize_body_is_refused_with_413() {
    let app = TestApp::new();
    let mut big = comment("/p/", "Ann", "ann@example.org");
    big["comment"] = json!("x".repeat(70 * 1024));
    let response = app.post_json(&big).await;
    assert_eq!(response.status(), 413);
    assert_eq!(body_json(&response)["error"], "payload_too_large");
    assert!(app.stored().await.is_empty());
}

#[tokio::test]
async fn a_reply_must_name_an_approved_comment_of_the_same_page() {
    let app = TestApp::new();
    let pending = app.post_comment("/p/", "Ann", "ann@example.org").await;
    let approved = app.approved_comment("/p/").await;
    let cases = [
        (pending.as_str(), "/p/", 422, "pending parent"),
        (approved.as_str(), "/other/", 422, "parent on another page"),
        ("01ARZ3NDEKTSV4RRFFQ69G5FAV", "/p/", 422, "unknown parent"),
        ("not-an-id", "/p/", 422, "malformed parent"),
        (
            approved.as_str(),
            "/p/",
            201,
            "approved parent on the same page",
        ),
    ];
    for (parent, page, status, case) in cases {
        let mut body = comment(page, "Bob", "bob@example.org");
        body["parent"] = json!(parent);
        let response = app.post_json(&body).await;
        assert_eq!(response.status(), status, "{case}: {:?}", response.body());
        if status == 422 {
            assert!(
                body_json(&response)["fields"]["parent"].is_string(),
                "{case}"
            );
        }
    }
}

#[tokio::test]
async fn the_thread_lists_approved_comments_oldest_first_with_parents() {
    let app = TestApp::new();
    let first = app.approved_comment("/p/").await;
    let _pending = app.post_comment("/p/", "Carl", "carl@example.org").await;
    let mut reply = comment("/p/", "Bob", "bob@example.org");
    reply["parent"] = json!(first);
    let reply_id = body_json(&app.post_json(&reply).await)["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.admin("POST", &format!("/admin/comments/{reply_id}/approve"))
        .await;

    let response = app.get("/api/comments?page=/p/").await;
    assert_eq!(response.status(), 200);
    let thread = body_json(&response);
    assert_eq!(thread["page"], "/p/");
    assert_eq!(thread["count"], 2);
    assert_eq!(thread["comments"][0]["id"], first.as_str());
    assert_eq!(thread["comments"][1]["parent"], first.as_str());
    let keys: Vec<&String> = thread["comments"][0]
        .as_object()
        .expect("object")
        .keys()
        .collect();
    assert_eq!(
        keys,
        [
            "author",
            "avatar",
            "by_author",
            "created_at",
            "deleted",
            "html",
            "id",
            "parent",
            "url"
        ]
    );
}

#[tokio::test]
async fn the_thread_answers_304_to_its_own_etag_and_changes_after_approval() {
    let app = TestApp::new();
    app.approved_comment("/p/").await;
    let first = app.get("/api/comments?page=/p/").await;
    let etag = first.headers()["etag"].to_str().expect("ascii").to_owned();

    let again = warp::test::request()
        .path("/api/comments?page=/p/")
        .header("if-none-match", &etag)
        .reply(&app.routes)
        .await;
    assert_eq!(again.status(), 304);
    assert!(again.body().is_empty());

    app.approved_comment("/p/").await;
    let changed = warp::test::request()
        .path("/api/comments?page=/p/")
        .header("if-none-match", &etag)
        .reply(&app.routes)
        .await;
    assert_eq!(changed.status(), 200);
    assert_eq!(body_json(&changed)["count"], 2);
}

#[tokio::test]
async fn the_thread_needs_a_valid_page() {
    let app = TestApp::new();
    for path in [
        "/api/comments",
        "/api/comments?page=",
        "/api/comments?page=nope",
        "/api/comments?page=/a%0Ab",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 422, "{path}");
        assert!(body_json(&response)["fields"]["page"].is_string(), "{path}");
    }
}

#[tokio::test]
async fn counts_cover_every_requested_page() {
    let app = TestApp::new();
    app.approved_comment("/a/").await;
    app.approved_comment("/a/").await;
    app.post_comment("/b/", "Bea", "bea@example.org").await;
    let response = app.get("/api/counts?page=/a/&page=/b/&page=/c/").await;
    assert_eq!(response.status(), 200);
    assert_eq!(body_json(&response), json!({"/a/": 2, "/b/": 0, "/c/": 0}));

    let bad = app.get("/api/counts?page=nope").await;
    assert_eq!(bad.status(), 422);
    let many: String = (0..101).map(|i| format!("page=/p{i}&")).collect();
    assert_eq!(app.get(&format!("/api/counts?{many}")).await.status(), 422);
}

#[tokio::test]
async fn a_single_comment_is_public_only_once_approved() {
    let app = TestApp::new();
    let pending = app.post_comment("/p/", "Ann", "ann@example.org").await;
    assert_eq!(
        app.get(&format!("/api/comments/{pending}")).await.status(),
        404
    );
    app.admin("POST", &format!("/admin/comments/{pending}/approve"))
        .await;
    let response = app.get(&format!("/api/comments/{pending}")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(body_json(&response)["id"], pending.as_str());
}

#[tokio::test]
async fn unknown_routes_and_methods_get_json_errors() {
    let app = TestApp::new();
    let response = app.get("/nope").await;
    assert_eq!(response.status(), 404);
    assert_eq!(body_json(&response)["error"], "not_found");
    let response = warp::test::request()
        .method("PUT")
        .path("/api/comments")
        .reply(&app.routes)
        .await;
    assert_eq!(response.status(), 405);
}

#[tokio::test]
async fn health_is_ok() {
    let app = TestApp::new();
    assert_eq!(app.get("/healthz").await.status(), 200);
}

#[tokio::test]
async fn comment_html_is_sanitized_and_the_raw_text_kept_for_the_admin() {
    let app = TestApp::new();
    let mut body = comment("/p/", "<b>Ann</b>", "ann@example.org");
    body["comment"] = json!(
        "Hi <img src=x onerror=alert(1)> <a href=\"javascript:alert(1)\">x</a> <a href=\"https://ok.example\">ok</a>"
    );
    body["url"] = json!("example.org");
    let id = body_json(&app.post_json(&body).await)["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let admin = body_json(&app.admin("GET", &format!("/admin/comments/{id}")).await);
    let html = admin["html"].as_str().expect("html");
    assert!(
        !html.contains("onerror") && !html.contains("javascript:") && !html.contains("<img"),
        "{html}"
    );
    assert!(
        html.contains("rel=\"nofollow ugc noopener noreferrer\""),
        "{html}"
    );
    assert_eq!(admin["text"], body["comment"]);
    assert_eq!(
        admin["author"], "<b>Ann</b>",
        "the name is text, stored as typed"
    );
    assert_eq!(admin["url"], "https://example.org/");
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

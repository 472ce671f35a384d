//! A writer edits and deletes their own comment within the edit window,
//! with the edit token of the 201 answer.

use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};
use warp::http::Response;

use crate::helpers::{TestApp, body_json, comment};

/// Posts a comment and returns (id, edit token).
async fn post_with_token(app: &TestApp, page: &str, email: &str) -> (String, String) {
    let created = app.post_json(&comment(page, "Ann", email)).await;
    assert_eq!(created.status(), 201, "{:?}", created.body());
    let body = body_json(&created);
    (
        body["id"].as_str().expect("id").to_owned(),
        body["edit_token"].as_str().expect("edit token").to_owned(),
    )
}

async fn send(
    app: &TestApp,
    method: &str,
    id: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Response<Bytes> {
    let mut request = warp::test::request()
        .method(method)
        .path(&format!("/api/comments/{id}"));
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .json(body);
    }
    request.reply(&app.routes).await
}

async fn admin_view(app: &TestApp, id: &str) -> Response<Bytes> {
    app.admin("GET", &format!("/admin/comments/{id}")).await
}

async fn approve(app: &TestApp, id: &str) {
    let response = app
        .admin("POST", &format!("/admin/comments/{id}/approve"))
        .await;
    assert_eq!(response.status(), 200);
}

async fn public_thread(app: &TestApp, page: &str) -> Value {
    body_json(&app.get(&format!("/api/comments?page={page}")).await)
}

#[tokio::test]
async fn the_201_answer_carries_an_edit_token_valid_for_the_window() {
    let app = TestApp::new();
    let before = time::OffsetDateTime::now_utc();
    let created = app
        .post_json(&comment("/p/", "Ann", "ann@example.org"))
        .await;
    let body = body_json(&created);
    let token = body["edit_token"].as_str().expect("token");
    assert_eq!(token.len(), 64);
    let until = time::OffsetDateTime::parse(
        body["editable_until"].as_str().expect("until"),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("RFC 3339");
    let window = (until - before).whole_seconds();
    assert!(
        (899..=901).contains(&window),
        "15 minutes by default: {window}"
    );

    // Only a keyed hash is stored: neither the admin view nor the export
    // holds the token.
    let id = body["id"].as_str().expect("id");
    let admin = String::from_utf8_lossy(admin_view(&app, id).await.body()).into_owned();
    assert!(!admin.contains(token));
    let export = app.admin("GET", "/admin/export").await;
    assert!(!String::from_utf8_lossy(export.body()).contains(token));
}

#[tokio::test]
async fn an_edit_within_the_window_changes_the_text_and_is_recorded() {
    // Arrange
    let app = TestApp::new();
    let (id, token) = post_with_token(&app, "/p/", "ann@example.org").await;
    approve(&app, &id).await;

    // Act
    let edit =
        json!({"comment": "I meant *this*: <b>thank you</b> & goodbye.", "author": "Ann B."});
    let response = send(&app, "PUT", &id, Some(&token), Some(&edit)).await;

    // Assert
    assert_eq!(response.status(), 200, "{:?}", response.body());
    let answer = body_json(&response);
    assert_eq!(answer["status"], "approved");
    assert_eq!(
        answer["html"].as_str().map(str::trim),
        Some("<p>I meant *this*: <b>thank you</b> &amp; goodbye.</p>")
    );
    let thread = public_thread(&app, "/p/").await;
    assert_eq!(thread["comments"][0]["html"], answer["html"]);
    assert_eq!(thread["comments"][0]["author"], "Ann B.");
    let admin = body_json(&admin_view(&app, &id).await);
    assert_eq!(admin["text"], "I meant *this*: <b>thank you</b> & goodbye.");
    let trail: Vec<&str> = admin["decisions"]
        .as_array()
        .expect("decisions")
        .iter()
        .map(|d| d["via"].as_str().expect("via"))
        .collect();
    assert_eq!(trail, ["admin", "edit"], "the edit is in the audit trail");
    assert_eq!(admin["decisions"][1]["from"], "approved");
    assert_eq!(admin["decisions"][1]["to"], "approved");

    // A form body works too, and the website can be removed.
    let form = warp::test::request()
        .method("PUT")
        .path(&format!("/api/comments/{id}"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("comment=Second+thoughts&url=")
        .reply(&app.routes)
        .await;
    assert_eq!(form.status(), 200, "{:?}", form.body());
    assert_eq!(
        body_json(&admin_view(&app, &id).await)["text"],
        "Second thoughts"
    );
}

#[tokio::test]
async fn a_wrong_missing_or_foreign_token_is_403_and_changes_nothing() {
    let app = TestApp::new();
    let (id, token) = post_with_token(&app, "/p/", "ann@example.org").await;
    let (_, other_token) = post_with_token(&app, "/p/", "bo@example.org").await;
    let before = admin_view(&app, &id).await.body().clone();
    let edit = json!({"comment": "Hijacked."});
    let wrong = format!("{}0", &token[..63]);
    for (case, token) in [
        ("wrong", Some(wrong.as_str())),
        ("another comment's", Some(other_token.as_str())),
        ("missing", None),
        ("empty", Some("")),
    ] {
        let put = send(&app, "PUT", &id, token, Some(&edit)).await;
        assert_eq!(put.status(), 403, "PUT with a {case} token");
        assert_eq!(body_json(&put)["error"], "forbidden");
        let delete = send(&app, "DELETE", &id, token, None).await;
        assert_eq!(delete.status(), 403, "DELETE with a {case} token");
    }
    assert_eq!(
        admin_view(&app, &id).await.body(),
        &before,
        "nothing changed"
    );

    // The token is checked before the fields: an invalid body still gets 403.
    let invalid = send(
        &app,
        "PUT",
        &id,
        Some(&wrong),
        Some(&json!({"comment": ""})),
    )
    .await;
    assert_eq!(invalid.status(), 403);
    // With the right token, invalid fields are named.
    let invalid = send(
        &app,
        "PUT",
        &id,
        Some(&token),
        Some(&json!({"comment": "", "url": "ftp://x"})),
    )
    .await;
    assert_eq!(invalid.status(), 422);
    let fields = body_json(&invalid)["fields"].clone();
    assert!(
        fields["comment"].is_string() && fields["url"].is_string(),
        "{fields}"
    );
    assert_eq!(
        admin_view(&app, &id).await.body(),
        &before,
        "nothing changed"
    );

    let unknown = send(
        &app,
        "PUT",
        "01ARZ3NDEKTSV4RRFFQ69G5FAV",
        Some(&token),
        Some(&edit),
    )
    .await;
    assert_eq!(unknown.status(), 404);
    assert_eq!(
        send(&app, "PUT", "not-an-id", Some(&token), Some(&edit))
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn after_the_window_the_token_no_longer_works() {
    let app = TestApp::with(|c| c.edit_window = "1s".into());
    let (id, token) = post_with_token(&app, "/p/", "ann@example.org").await;
    let early = send(
        &app,
        "PUT",
        &id,
        Some(&token),
        Some(&json!({"comment": "In time."})),
    )
    .await;
    assert_eq!(early.status(), 200);

    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let late = send(
        &app,
        "PUT",
        &id,
        Some(&token),
        Some(&json!({"comment": "Too late."})),
    )
    .await;
    assert_eq!(late.status(), 403);
    assert_eq!(
        send(&app, "DELETE", &id, Some(&token), None).await.status(),
        403
    );
    assert_eq!(body_json(&admin_view(&app, &id).await)["text"], "In time.");
}

#[tokio::test]
async fn with_editing_off_no_token_is_handed_out() {
    let app = TestApp::with(|c| c.edit_window = "0".into());
    let created = body_json(
        &app.post_json(&comment("/p/", "Ann", "ann@example.org"))
            .await,
    );
    assert!(created.get("edit_token").is_none() && created.get("editable_until").is_none());
    let id = created["id"].as_str().expect("id");
    let put = send(
        &app,
        "PUT",
        id,
        Some("anything"),
        Some(&json!({"comment": "x"})),
    )
    .await;
    assert_eq!(put.status(), 403);
}

#[tokio::test]
async fn an_approved_comment_whose_edit_scores_worse_goes_back_to_the_queue() {
    // Arrange: approved under its first verdict (accept).
    let app = TestApp::new();
    let (id, token) = post_with_token(&app, "/p/", "ann@example.org").await;
    approve(&app, &id).await;
    let before = body_json(&admin_view(&app, &id).await);
    assert_eq!(before["action"], "accept");

    // Act: the new text adds a link (the request's facts still count).
    let edit = json!({"comment": "Here is what helped me most: https://help.example.org/grief"});
    let response = send(&app, "PUT", &id, Some(&token), Some(&edit)).await;

    // Assert
    assert_eq!(response.status(), 200);
    assert_eq!(body_json(&response)["status"], "pending");
    let after = body_json(&admin_view(&app, &id).await);
    assert_eq!(after["status"], "pending");
    assert_eq!(after["action"], "hold");
    let rules: Vec<&str> = after["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .map(|h| h["rule"].as_str().expect("rule"))
        .collect();
    assert!(
        rules.contains(&"link"),
        "the text rules ran again: {rules:?}"
    );
    // The hand-written rules' points (the learned rule weighs each text
    // on its own): the posting's request facts are kept, and the link adds
    // its 2.
    let written_rules = |comment: &Value| -> i64 {
        comment["hits"]
            .as_array()
            .expect("hits")
            .iter()
            .filter(|h| h["rule"] != "learned")
            .map(|h| h["score"].as_i64().expect("points"))
            .sum()
    };
    assert_eq!(
        written_rules(&before) + 2,
        written_rules(&after),
        "the posting's request facts are kept: {before} {after}"
    );
    assert_eq!(
        after["decisions"]
            .as_array()
            .expect("trail")
            .last()
            .expect("last")["to"],
        "pending"
    );
    assert_eq!(
        public_thread(&app, "/p/").await["count"],
        0,
        "no longer public"
    );
}

#[tokio::test]
async fn an_edit_to_the_text_of_another_of_ones_comments_is_a_duplicate() {
    let app = TestApp::new();
    let first = comment("/p/", "Ann", "ann@example.org");
    assert_eq!(app.post_json(&first).await.status(), 201);
    let (id, token) = post_with_token(&app, "/p/", "ann@example.org").await;
    let response = send(
        &app,
        "PUT",
        &id,
        Some(&token),
        Some(&json!({"comment": first["comment"]})),
    )
    .await;
    assert_eq!(response.status(), 409);
    // Editing to its own text again is no duplicate.
    let own = body_json(&admin_view(&app, &id).await)["text"].clone();
    let response = send(
        &app,
        "PUT",
        &id,
        Some(&token),
        Some(&json!({"comment": own})),
    )
    .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_deleted_comment_without_replies_is_gone() {
    let app = TestApp::new();
    let (id, token) = post_with_token(&app, "/p/", "ann@example.org").await;
    approve(&app, &id).await;
    let response = send(&app, "DELETE", &id, Some(&token), None).await;
    assert_eq!(response.status(), 204);
    assert_eq!(admin_view(&app, &id).await.status(), 404);
    assert_eq!(public_thread(&app, "/p/").await["count"], 0);
    assert_eq!(
        send(&app, "DELETE", &id, Some(&token), None).await.status(),
        404
    );
}

#[tokio::test]
async fn a_deleted_comment_with_replies_stays_as_an_empty_placeholder() {
    // Arrange: Ann's approved comment with the author's reply under it.
    let app = TestApp::new();
    let (id, token) = post_with_token(&app, "/p/", "Ann.Private@example.org").await;
    approve(&app, &id).await;
    let reply = crate::helpers::admin_json(
        &app,
        "POST",
        &format!("/admin/comments/{id}/reply"),
        &json!({"comment": "Thank you, Ann."}),
    )
    .await;
    assert_eq!(reply.status(), 201);

    // Act
    assert_eq!(
        send(&app, "DELETE", &id, Some(&token), None).await.status(),
        204
    );

    // Assert: the reply still hangs under a placeholder without any of Ann's data.
    let thread = public_thread(&app, "/p/").await;
    let comments = thread["comments"].as_array().expect("comments");
    assert_eq!(comments.len(), 2);
    let placeholder = &comments[0];
    assert_eq!(placeholder["id"], id.as_str());
    assert_eq!(placeholder["deleted"], true);
    assert_eq!(placeholder["author"], "");
    assert_eq!(placeholder["html"], "");
    assert_eq!(comments[1]["parent"], id.as_str());
    assert_eq!(comments[1]["deleted"], false);
    let admin = body_json(&admin_view(&app, &id).await);
    assert_eq!(admin["email"], Value::Null);
    assert_eq!(admin["text"], "");
    assert_eq!(
        admin["decisions"]
            .as_array()
            .expect("trail")
            .last()
            .expect("last")["via"],
        "writer-delete"
    );
    let raw =
        String::from_utf8_lossy(app.admin("GET", "/admin/export").await.body()).to_lowercase();
    assert!(
        !raw.contains("ann.private"),
        "the placeholder holds no address: {raw}"
    );
    // Ann's history no longer counts it, and it cannot be edited again.
    let put = send(
        &app,
        "PUT",
        &id,
        Some(&token),
        Some(&json!({"comment": "back"})),
    )
    .await;
    assert_eq!(put.status(), 403);

    // The export of a placeholder imports elsewhere.
    let export = app.admin("GET", "/admin/export").await;
    let other = TestApp::new();
    let imported = warp::test::request()
        .method("POST")
        .path("/admin/import")
        .header(
            "authorization",
            format!("Bearer {}", crate::helpers::ADMIN_TOKEN),
        )
        .header("content-type", "application/x-ndjson")
        .body(export.body().clone())
        .reply(&other.routes)
        .await;
    assert_eq!(body_json(&imported)["imported"], 2, "{:?}", imported.body());
    assert_eq!(
        public_thread(&other, "/p/").await["comments"][0]["deleted"],
        true
    );
}

//! `POST /admin/comments/{id}/reply`: the author's answers.

use moderato::config::ModerationMode;
use serde_json::json;

use crate::helpers::{TestApp, admin_json, body_json, held_app, status_of, three_pending};

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
    let app = held_app();
    let ids = three_pending(&app).await;
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

//! The author's data: export, import into an empty data directory, and
//! erasing one commenter.

use bytes::Bytes;
use serde_json::{Value, json};
use warp::http::Response;

use crate::helpers::{ADMIN_TOKEN, TestApp, body_json, comment};

async fn export(app: &TestApp) -> String {
    let response = app.admin("GET", "/admin/export").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    String::from_utf8(response.body().to_vec()).expect("utf-8")
}

async fn import(app: &TestApp, content_type: &str, body: &str) -> Response<Bytes> {
    warp::test::request()
        .method("POST")
        .path("/admin/import")
        .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
        .header("content-type", content_type)
        .header("content-length", body.len().to_string())
        .body(body)
        .reply(&app.routes)
        .await
}

async fn erase(app: &TestApp, email: &str) -> Response<Bytes> {
    warp::test::request()
        .method("POST")
        .path("/admin/erase")
        .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
        .header("content-type", "application/json")
        .json(&json!({ "email": email }))
        .reply(&app.routes)
        .await
}

/// Admin views without the avatar seed, which is keyed per instance.
async fn views(app: &TestApp) -> Vec<Value> {
    let mut comments = app.stored().await;
    for c in &mut comments {
        c.as_object_mut().expect("object").remove("avatar");
    }
    comments
}

/// A small site: three commenters, every status, a reply, an author's reply.
async fn populated() -> (TestApp, usize) {
    let app = TestApp::new();
    let parent = app.approved_comment("/a/").await;
    let mut reply = comment("/a/", "Bob", "bob@example.org");
    reply["parent"] = json!(parent);
    assert_eq!(app.post_json(&reply).await.status(), 201);
    let rejected = app.post_comment("/b/", "Cy", "Cy@Example.org").await;
    app.admin("POST", &format!("/admin/comments/{rejected}/reject"))
        .await;
    let spam = app.post_comment("/b/", "Cy", "cy@example.org").await;
    app.admin("POST", &format!("/admin/comments/{spam}/spam"))
        .await;
    app.post_comment("/c/", "Dee", "dee@example.org").await;
    // The author's own reply has no email: it must survive the trip too.
    let author_reply = warp::test::request()
        .method("POST")
        .path(&format!("/admin/comments/{parent}/reply"))
        .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
        .json(&json!({ "comment": "Thank you, Ann." }))
        .reply(&app.routes)
        .await;
    assert_eq!(author_reply.status(), 201);
    (app, 6)
}

#[tokio::test]
async fn export_then_import_into_an_empty_data_directory_gives_the_same_comments() {
    // Arrange
    let (source, n) = populated().await;
    let exported = export(&source).await;
    let lines: Vec<Value> = exported
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), n);
    let first = &lines[0];
    for field in [
        "id",
        "page",
        "parent",
        "author",
        "url",
        "text",
        "html",
        "email",
        "status",
        "score",
        "hits",
        "action",
        "ip",
        "user_agent",
        "created_at",
        "updated_at",
    ] {
        assert!(first.get(field).is_some(), "export lacks {field}: {first}");
    }
    assert_eq!(first["email"], "ann@example.org");
    assert!(first.get("email_sealed").is_none() && first.get("email_hash").is_none());

    // Act
    let target = TestApp::new();
    let response = import(&target, "application/x-ndjson", &exported).await;

    // Assert
    assert_eq!(response.status(), 200);
    let report = body_json(&response);
    assert_eq!(report["format"], "ndjson");
    assert_eq!(
        (
            &report["imported"],
            &report["already_present"],
            &report["errors"]
        ),
        (&json!(n), &json!(0), &json!([]))
    );
    assert_eq!(views(&target).await, views(&source).await);
    // Every index was rebuilt: by status, by page (public view), by email.
    for status in ["pending", "approved", "rejected", "spam"] {
        let path = format!("/admin/comments?status={status}");
        let ids = |v: Value| -> Vec<Value> {
            v["comments"]
                .as_array()
                .expect("array")
                .iter()
                .map(|c| c["id"].clone())
                .collect()
        };
        assert_eq!(
            ids(body_json(&target.admin("GET", &path).await)),
            ids(body_json(&source.admin("GET", &path).await)),
            "{status}"
        );
    }
    let public = |app: &TestApp| {
        let routes = app.routes.clone();
        async move {
            let r = warp::test::request()
                .path("/api/comments?page=/a/")
                .reply(&routes)
                .await;
            let mut v = body_json(&r);
            for c in v["comments"].as_array_mut().expect("array") {
                c.as_object_mut().expect("object").remove("avatar");
            }
            v
        }
    };
    assert_eq!(public(&target).await, public(&source).await);
    assert_eq!(
        public(&target).await["count"],
        2,
        "Ann and the author's reply; Bob's reply is pending"
    );
    // The imported emails are sealed with the new instance's key, and the
    // commenter history (by_email) works: Ann is known, so she goes live.
    let again = target
        .post_json(&comment("/a/", "Ann", "ANN@example.org"))
        .await;
    assert_eq!(body_json(&again)["status"], "approved");

    // Importing the same file again imports nothing.
    let twice = body_json(&import(&target, "application/x-ndjson", &exported).await);
    assert_eq!(
        (
            &twice["imported"],
            &twice["already_present"],
            &twice["errors"]
        ),
        (&json!(0), &json!(n), &json!([]))
    );
    assert_eq!(views(&target).await.len(), n + 1);
}

#[tokio::test]
async fn import_reports_bad_records_and_keeps_the_good_ones() {
    let (source, _) = populated().await;
    let exported = export(&source).await;
    let mut lines: Vec<String> = exported.lines().take(2).map(str::to_owned).collect();
    let mut bad_email: Value = serde_json::from_str(&lines[1]).expect("json");
    bad_email["email"] = json!("not-an-address");
    bad_email["id"] = json!("01ARZ3NDEKTSV4RRFFQ69G5FAV");
    lines[1] = bad_email.to_string();
    lines.insert(1, "[1, 2]".into());
    lines.push(String::new());
    lines.push(r#"{"id": "01ARZ3NDEKTSV4RRFFQ69G5FAW", "page": "no slash"}"#.into());
    let body = lines.join("\n");

    let target = TestApp::new();
    let report = body_json(&import(&target, "application/x-ndjson", &body).await);
    assert_eq!(report["imported"], 1);
    assert_eq!(report["already_present"], 0);
    let errors = report["errors"].as_array().expect("errors");
    let at: Vec<i64> = errors
        .iter()
        .map(|e| e["position"]["line"].as_i64().expect("line"))
        .collect();
    assert_eq!(at, [2, 3, 5], "{report}");
    let message = errors[1]["message"].as_str().expect("msg");
    assert!(message.starts_with("line 3, column 1: email"), "{message}");
    assert!(!report.to_string().contains("not-an-address"), "{report}");

    // A line that is not JSON makes the file malformed: nothing is stored.
    let broken = format!("{exported}{{not json\n");
    let fresh = TestApp::new();
    let refused = import(&fresh, "application/x-ndjson", &broken).await;
    assert_eq!(refused.status(), 422);
    let message = body_json(&refused)["message"]
        .as_str()
        .expect("message")
        .to_owned();
    assert!(
        message.starts_with(&format!(
            "Line {}, column 1: not valid JSON",
            exported.lines().count() + 1
        )),
        "{message}"
    );
    assert_eq!(fresh.stored().await, Vec::<Value>::new());

    // No token.
    let anonymous = warp::test::request()
        .method("POST")
        .path("/admin/import")
        .header("content-type", "application/x-ndjson")
        .body(exported)
        .reply(&target.routes)
        .await;
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn erase_deletes_all_and_only_that_commenters_comments() {
    // Arrange: Cy has two comments (rejected, spam), typed in two cases.
    let (app, n) = populated().await;
    let cy_key = app.state.privacy().email_key("cy@example.org");
    let history = app.state.store().history(cy_key).await.expect("history");
    assert_eq!((history.approved, history.spam), (0, 1));
    let before = app.stored().await;

    // Act
    let response = erase(&app, "  CY@example.ORG ").await;

    // Assert
    assert_eq!(response.status(), 200);
    assert_eq!(body_json(&response), json!({ "deleted": 2 }));
    let after = app.stored().await;
    assert_eq!(after.len(), n - 2);
    assert!(after.iter().all(|c| c["author"] != "Cy"));
    let kept: Vec<&Value> = before.iter().filter(|c| c["author"] != "Cy").collect();
    assert_eq!(after.iter().collect::<Vec<_>>(), kept);
    let history = app.state.store().history(cy_key).await.expect("history");
    assert_eq!((history.approved, history.spam), (0, 0));
    for status in ["rejected", "spam"] {
        let listed = body_json(
            &app.admin("GET", &format!("/admin/comments?status={status}"))
                .await,
        );
        assert_eq!(listed["comments"], json!([]), "{status} index");
    }
    assert_eq!(
        app.state
            .store()
            .status_count(moderato::domain::Status::Spam),
        0
    );
    assert!(!export(&app).await.contains("cy@example.org"));

    // Again: nothing left. Bad bodies and no token are refused.
    assert_eq!(
        body_json(&erase(&app, "cy@example.org").await),
        json!({ "deleted": 0 })
    );
    assert_eq!(erase(&app, "  ").await.status(), 422);
    let anonymous = warp::test::request()
        .method("POST")
        .path("/admin/erase")
        .json(&json!({ "email": "ann@example.org" }))
        .reply(&app.routes)
        .await;
    assert_eq!(anonymous.status(), 401);
    assert_eq!(app.stored().await.len(), n - 2);
}

//! The read cache through the routes: every write path reaches a cached
//! page at once.

use crate::helpers::{TestApp, body_json};

fn etag_of(response: &warp::http::Response<bytes::Bytes>) -> String {
    response.headers()["etag"]
        .to_str()
        .expect("ascii etag")
        .to_owned()
}

async fn get_with_etag(app: &TestApp, etag: &str) -> u16 {
    warp::test::request()
        .path("/api/comments?page=/p/")
        .header("if-none-match", etag)
        .reply(&app.routes)
        .await
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_cached_page_changes_with_every_decision_on_it() {
    let app = TestApp::new();
    let empty = app.get("/api/comments?page=/p/").await;
    assert_eq!(body_json(&empty)["count"], 0);
    let first_etag = etag_of(&empty);
    // A pending comment does not change the public page.
    let pending = app.post_comment("/p/", "Bo", "bo@example.org").await;
    assert_eq!(get_with_etag(&app, &first_etag).await, 304);

    let id = app.approved_comment("/p/").await;
    let one = app.get("/api/comments?page=/p/").await;
    assert_eq!(body_json(&one)["comments"][0]["id"], id.as_str());
    assert_ne!(etag_of(&one), first_etag);
    assert_eq!(get_with_etag(&app, &first_etag).await, 200);
    assert_eq!(get_with_etag(&app, &etag_of(&one)).await, 304);

    let approved = app
        .admin("POST", &format!("/admin/comments/{pending}/approve"))
        .await;
    assert_eq!(approved.status(), 200);
    assert_eq!(
        body_json(&app.get("/api/comments?page=/p/").await)["count"],
        2
    );

    let rejected = app
        .admin("POST", &format!("/admin/comments/{pending}/reject"))
        .await;
    assert_eq!(rejected.status(), 200);
    assert_eq!(
        body_json(&app.get("/api/comments?page=/p/").await)["count"],
        1
    );

    let deleted = app.admin("DELETE", &format!("/admin/comments/{id}")).await;
    assert_eq!(deleted.status(), 204);
    let gone = app.get("/api/comments?page=/p/").await;
    assert_eq!(body_json(&gone)["count"], 0);
    // Same content as at the start, so the same ETag.
    assert_eq!(etag_of(&gone), first_etag);
    // Other pages were never disturbed.
    assert_eq!(
        body_json(&app.get("/api/comments?page=/q/").await)["count"],
        0
    );
}

/// Every write path that changes a page's approved comments invalidates
/// its cached JSON: the author's reply, an import and an erasure too.
#[tokio::test]
async fn replies_imports_and_erasures_reach_a_cached_page_at_once() {
    use crate::helpers::ADMIN_TOKEN;
    use serde_json::json;

    let app = TestApp::new();
    let parent = app.approved_comment("/p/").await;
    let count = |app: &TestApp| {
        let routes = app.routes.clone();
        async move {
            let r = warp::test::request()
                .path("/api/comments?page=/p/")
                .reply(&routes)
                .await;
            body_json(&r)["count"].as_u64().expect("count")
        }
    };
    assert_eq!(count(&app).await, 1, "now cached");

    let reply = warp::test::request()
        .method("POST")
        .path(&format!("/admin/comments/{parent}/reply"))
        .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
        .json(&json!({ "comment": "Thank you for sharing this." }))
        .reply(&app.routes)
        .await;
    assert_eq!(reply.status(), 201);
    assert_eq!(count(&app).await, 2, "the author's reply shows at once");

    let export = app.admin("GET", "/admin/export").await;
    let other = TestApp::new();
    assert_eq!(count(&other).await, 0, "empty, and now cached");
    let body = String::from_utf8(export.body().to_vec()).expect("utf-8");
    let imported = warp::test::request()
        .method("POST")
        .path("/admin/import")
        .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
        .header("content-type", "application/x-ndjson")
        .header("content-length", body.len().to_string())
        .body(&body)
        .reply(&other.routes)
        .await;
    assert_eq!(imported.status(), 200);
    assert_eq!(count(&other).await, 2, "imported comments show at once");

    let erased = warp::test::request()
        .method("POST")
        .path("/admin/erase")
        .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
        .json(&json!({ "email": "ann@example.org" }))
        .reply(&app.routes)
        .await;
    assert_eq!(body_json(&erased)["deleted"], 1);
    assert_eq!(count(&app).await, 1, "the erased comment is gone at once");
}

//! `POST /admin/comments/bulk`: many decisions in one request, one
//! transaction per comment.

use serde_json::json;

use crate::helpers::{admin_json, body_json, held_app, status_of, three_pending};

#[tokio::test]
async fn bulk_acts_per_id_and_reports_unknown_ids_without_failing() {
    let app = held_app();
    let ids = three_pending(&app).await;
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
    let app = held_app();
    let ids = three_pending(&app).await;
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

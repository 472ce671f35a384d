//! The admin page and its assets, and the counts its tabs show.

use crate::helpers::{body_json, held_app, three_pending};

#[tokio::test]
async fn the_page_and_its_assets_load_without_a_token_under_a_strict_csp() {
    let app = held_app();
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
    let app = held_app();
    let ids = three_pending(&app).await;
    app.admin("POST", &format!("/admin/comments/{}/spam", ids[0]))
        .await;
    let stats = body_json(&app.admin("GET", "/admin/stats").await);
    assert_eq!(stats["pending"], 2);
    assert_eq!(stats["approved"], 0);
    assert_eq!(stats["spam"], 1);
    assert_eq!(stats["rejected"], 0);
    assert!(stats["site"].is_null());
}

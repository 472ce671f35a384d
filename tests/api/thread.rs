//! Long threads: `GET /api/comments?sort=&limit=&cursor=` pages through
//! top-level comments, each with all its replies, and never skips or
//! repeats a comment while new ones arrive.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::helpers::{TestApp, body_json, comment};

/// An app whose readers' comments go live at once.
fn live_app() -> TestApp {
    TestApp::with(|c| c.moderation = moderato::config::ModerationMode::Rules)
}

async fn post(app: &TestApp, parent: Option<&str>) -> String {
    let mut body = comment("/long/", "Reader", "reader@example.org");
    if let Some(parent) = parent {
        body["parent"] = json!(parent);
    }
    let response = app.post_json(&body).await;
    assert_eq!(response.status(), 201, "{:?}", response.body());
    let created = body_json(&response);
    assert_eq!(created["status"], "approved");
    created["id"].as_str().expect("id").to_owned()
}

async fn thread(app: &TestApp, query: &str) -> Value {
    let response = app.get(&format!("/api/comments?page=/long/{query}")).await;
    assert_eq!(response.status(), 200, "{query}: {:?}", response.body());
    body_json(&response)
}

fn ids(page: &Value) -> Vec<String> {
    page["comments"]
        .as_array()
        .expect("comments")
        .iter()
        .map(|c| c["id"].as_str().expect("id").to_owned())
        .collect()
}

/// Reads every page in `sort` order, posting a new top-level comment and a
/// new reply between pages; returns (every id read, ids that existed
/// before the first page, top-level ids posted meanwhile).
async fn read_while_others_write(
    app: &TestApp,
    sort: &str,
) -> (Vec<String>, Vec<String>, Vec<String>) {
    let mut before = Vec::new();
    let mut roots = Vec::new();
    for i in 0..12 {
        let root = post(app, None).await;
        before.push(root.clone());
        if i % 3 == 0 {
            let reply = post(app, Some(&root)).await;
            before.push(reply.clone());
            before.push(post(app, Some(&reply)).await);
        }
        roots.push(root);
    }
    let mut read = Vec::new();
    let mut arrived = Vec::new();
    let mut cursor = String::new();
    for round in 0.. {
        let page = thread(app, &format!("&sort={sort}&limit=5&cursor={cursor}")).await;
        assert_eq!(
            page["count"].as_u64().map(|n| n as usize),
            Some(before.len() + 2 * round)
        );
        read.extend(ids(&page));
        arrived.push(post(app, None).await);
        // A reply to a comment of a page not read yet, and to one read.
        post(
            app,
            Some(&roots[roots.len() - 1 - round.min(roots.len() - 1)]),
        )
        .await;
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
        assert!(round < 20, "paging must end");
    }
    (read, before, arrived)
}

fn assert_no_repeats(read: &[String]) {
    let unique: HashSet<&String> = read.iter().collect();
    assert_eq!(unique.len(), read.len(), "a comment was repeated: {read:?}");
}

#[tokio::test]
async fn oldest_first_pages_neither_skip_nor_repeat_and_reach_new_comments() {
    let app = live_app();
    let (read, before, arrived) = read_while_others_write(&app, "oldest").await;
    assert_no_repeats(&read);
    for id in &before {
        assert!(read.contains(id), "{id} was skipped");
    }
    // Reading oldest first, comments posted while paging come on later pages.
    assert!(
        read.contains(&arrived[0]),
        "a comment posted meanwhile shows"
    );
}

#[tokio::test]
async fn newest_first_pages_neither_skip_nor_repeat() {
    let app = live_app();
    let (read, before, arrived) = read_while_others_write(&app, "newest").await;
    assert_no_repeats(&read);
    for id in &before {
        assert!(read.contains(id), "{id} was skipped");
    }
    // Newer comments than the first page's belong before it: never on a later page.
    assert!(!arrived.iter().any(|id| read.contains(id)));
    let first = thread(&app, "&sort=newest&limit=1").await;
    assert_eq!(
        ids(&first)[0],
        *arrived.last().expect("one"),
        "the newest comes first"
    );
}

#[tokio::test]
async fn replies_travel_with_their_top_level_comment() {
    let app = live_app();
    let a = post(&app, None).await;
    let b = post(&app, None).await;
    let reply_to_a = post(&app, Some(&a)).await;
    let first = thread(&app, "&limit=1").await;
    assert_eq!(ids(&first), [a.clone(), reply_to_a.clone()]);
    assert_eq!(first["next_cursor"], a.as_str());
    let second = thread(&app, &format!("&limit=1&cursor={a}")).await;
    assert_eq!(ids(&second), std::slice::from_ref(&b));
    assert_eq!(second["next_cursor"], Value::Null, "the last page");
    // Without a limit, everything, as before.
    let all = thread(&app, "").await;
    assert_eq!(ids(&all), [a, reply_to_a, b]);
    assert_eq!(all["next_cursor"], Value::Null);
}

#[tokio::test]
async fn each_variant_has_its_own_etag_and_304() {
    let app = live_app();
    for _ in 0..3 {
        post(&app, None).await;
    }
    let get = |query: &'static str, etag: Option<String>| {
        let mut request = warp::test::request().path(&format!("/api/comments?page=/long/{query}"));
        if let Some(etag) = etag {
            request = request.header("if-none-match", etag);
        }
        request.reply(&app.routes)
    };
    let small = get("&limit=1", None).await;
    let etag = small.headers()["etag"].to_str().expect("etag").to_owned();
    let newest = get("&limit=1&sort=newest", None).await;
    assert_ne!(newest.headers()["etag"].to_str().expect("etag"), etag);
    assert_eq!(get("&limit=1", Some(etag.clone())).await.status(), 304);
    assert_eq!(
        get("&limit=1&sort=newest", Some(etag.clone()))
            .await
            .status(),
        200
    );
    // A new comment changes every variant of the page.
    post(&app, None).await;
    let after = get("&limit=1&sort=newest", None).await;
    assert_ne!(after.body(), newest.body(), "the cache follows the page");
    assert_eq!(
        get("&limit=1", Some(etag)).await.status(),
        200,
        "count changed"
    );
}

#[tokio::test]
async fn bad_paging_parameters_are_named() {
    let app = live_app();
    for (query, field) in [
        ("&sort=random", "sort"),
        ("&limit=0", "limit"),
        ("&limit=201", "limit"),
        ("&limit=ten", "limit"),
        ("&cursor=nope", "cursor"),
    ] {
        let response = app.get(&format!("/api/comments?page=/long/{query}")).await;
        assert_eq!(response.status(), 422, "{query}");
        assert!(body_json(&response)["fields"][field].is_string(), "{query}");
    }
}

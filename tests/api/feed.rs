//! Atom feeds, read by a real feed parser (feed-rs): one page's approved
//! comments, and the latest of the whole site.

use serde_json::json;

use crate::helpers::{TestApp, body_json, comment};

const EMAIL: &str = "Feed.Reader+private@Quiet-Harbor.net";

fn feed_app() -> TestApp {
    TestApp::with(|c| {
        c.public_url = "https://comments.example.org".into();
        c.allowed_origins = vec!["https://blog.example.org".into()];
    })
}

async fn approved(
    app: &TestApp,
    page: &str,
    author: &str,
    text: &str,
    parent: Option<&str>,
) -> String {
    let mut body = comment(page, author, EMAIL);
    body["comment"] = json!(text);
    body["url"] = json!("https://reader.example.org/");
    if let Some(parent) = parent {
        body["parent"] = json!(parent);
    }
    let response = app.post_json(&body).await;
    assert_eq!(response.status(), 201, "{:?}", response.body());
    let id = body_json(&response)["id"].as_str().expect("id").to_owned();
    let approve = app
        .admin("POST", &format!("/admin/comments/{id}/approve"))
        .await;
    assert_eq!(approve.status(), 200);
    id
}

fn parse(body: &[u8]) -> feed_rs::model::Feed {
    feed_rs::parser::parse(body)
        .unwrap_or_else(|e| panic!("not a feed ({e}):\n{}", String::from_utf8_lossy(body)))
}

#[tokio::test]
async fn a_pages_feed_is_atom_that_a_feed_parser_reads() {
    // Arrange: two approved comments (one a reply, with hostile markup and
    // a name full of XML's special characters), one pending, one elsewhere.
    let app = feed_app();
    let first = approved(
        &app,
        "/grief/",
        "Ann & \"Bo\" <x>",
        "First <b>bold</b> & <script>alert(1)</script> words",
        None,
    )
    .await;
    let reply = approved(&app, "/grief/", "Cy", "A reply", Some(&first)).await;
    app.post_comment("/grief/", "Pending", "pending@example.org")
        .await;
    approved(&app, "/elsewhere/", "Di", "Other page", None).await;

    // Act
    let response = app.get("/feed.atom?page=/grief/").await;

    // Assert
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/atom+xml; charset=utf-8"
    );
    let body = response.body();
    let text = String::from_utf8_lossy(body).into_owned();
    assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">"), "{text}");
    let feed = parse(body);
    assert_eq!(feed.feed_type, feed_rs::model::FeedType::Atom);
    assert!(feed.id.starts_with("urn:uuid:"), "{}", feed.id);
    assert_eq!(
        feed.title.as_ref().map(|t| t.content.as_str()),
        Some("Comments on /grief/")
    );
    assert!(feed.updated.is_some());
    let links: Vec<(&str, &str)> = feed
        .links
        .iter()
        .map(|l| (l.rel.as_deref().unwrap_or(""), l.href.as_str()))
        .collect();
    assert!(
        links.contains(&(
            "self",
            "https://comments.example.org/feed.atom?page=%2Fgrief%2F"
        )),
        "{links:?}"
    );
    assert!(
        links.contains(&("alternate", "https://blog.example.org/grief/")),
        "{links:?}"
    );

    assert_eq!(feed.entries.len(), 2, "approved comments of this page only");
    let newest = &feed.entries[0];
    let oldest = &feed.entries[1];
    assert!(newest.id.starts_with("urn:uuid:") && newest.id != oldest.id);
    assert_eq!(
        newest.title.as_ref().map(|t| t.content.as_str()),
        Some("Reply by Cy on /grief/")
    );
    assert_eq!(
        oldest.authors[0].name, "Ann & \"Bo\" <x>",
        "names survive escaping"
    );
    assert_eq!(
        oldest.authors[0].uri.as_deref(),
        Some("https://reader.example.org/")
    );
    for entry in &feed.entries {
        assert!(entry.updated.is_some() && entry.published.is_some() && !entry.authors.is_empty());
    }
    let content = oldest
        .content
        .as_ref()
        .and_then(|c| c.body.as_deref())
        .expect("content");
    assert!(
        content.contains("<b>bold</b> &amp; "),
        "the sanitized html: {content}"
    );
    assert!(!content.contains("<script"), "{content}");
    assert_eq!(
        newest.links[0].href,
        format!("https://blog.example.org/grief/#comment-{reply}")
    );
    assert!(
        !text.to_lowercase().contains("quiet-harbor"),
        "no email in the feed: {text}"
    );
    assert!(!text.contains("pending@"), "{text}");
}

#[tokio::test]
async fn the_site_feed_holds_the_latest_fifty_approved_comments_of_every_page() {
    let app = TestApp::new();
    let mut ids = Vec::new();
    for i in 0..52 {
        ids.push(
            approved(
                &app,
                &format!("/p{}/", i % 3),
                "Ann",
                &format!("Comment number {i}"),
                None,
            )
            .await,
        );
    }
    let response = app.get("/feed.atom").await;
    assert_eq!(response.status(), 200);
    let feed = parse(response.body());
    assert_eq!(
        feed.title.as_ref().map(|t| t.content.as_str()),
        Some("Latest comments")
    );
    assert_eq!(feed.entries.len(), 50);
    let content = |n: usize| {
        feed.entries[n]
            .content
            .as_ref()
            .and_then(|c| c.body.clone())
            .unwrap_or_default()
    };
    assert!(
        content(0).contains("Comment number 51"),
        "newest first: {}",
        content(0)
    );
    assert!(content(49).contains("Comment number 2"), "{}", content(49));
    assert!(
        feed.links.is_empty(),
        "no public_url, no blog origin: no links to make up"
    );
}

#[tokio::test]
async fn feeds_carry_an_etag_and_answer_304() {
    let app = feed_app();
    approved(&app, "/p/", "Ann", "Hello there", None).await;
    for path in ["/feed.atom?page=/p/", "/feed.atom"] {
        let first = app.get(path).await;
        let etag = first.headers()["etag"].to_str().expect("etag").to_owned();
        let again = warp::test::request()
            .path(path)
            .header("if-none-match", &etag)
            .reply(&app.routes)
            .await;
        assert_eq!(again.status(), 304, "{path}");
        assert!(again.body().is_empty());
    }
    let before = app.get("/feed.atom?page=/p/").await.headers()["etag"].clone();
    approved(&app, "/p/", "Bo", "Another one", None).await;
    let after = app.get("/feed.atom?page=/p/").await.headers()["etag"].clone();
    assert_ne!(before, after, "a new comment changes the feed");

    let empty = app.get("/feed.atom?page=/nothing-here/").await;
    assert_eq!(
        parse(empty.body()).entries.len(),
        0,
        "an empty feed is still a feed"
    );
    assert_eq!(app.get("/feed.atom?page=no-slash").await.status(), 422);
}

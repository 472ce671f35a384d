//! Bringing a blog's comments along: `POST /admin/import` with the exports
//! WordPress, Disqus and Isso write (the fixtures in
//! `tests/fixtures/import/`), what is stored from them, a second import,
//! damaged files, dry runs, and the way back (`GET /admin/export?format=wxr`)
//! into an empty data directory. The command line is in `import_cli.rs`.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use serde_json::{Value, json};
use warp::http::Response;

use crate::backend::{self, Backend};
use crate::helpers::{ADMIN_TOKEN, TestApp, body_json, spawn_app, test_config};

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import")
        .join(name)
}

pub fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).expect("fixture")
}

/// Builds an Isso database from a `.sql` fixture, with Isso's schema.
pub fn isso_database(dir: &Path, sql_fixture: &str) -> PathBuf {
    let path = dir.join(format!("{sql_fixture}.db"));
    let sql = std::fs::read_to_string(fixture(sql_fixture)).expect("fixture");
    // Python's sqlite3, which Isso uses, leaves foreign keys off.
    rusqlite::Connection::open(&path)
        .and_then(|c| c.execute_batch(&format!("PRAGMA foreign_keys = OFF;\n{sql}")))
        .expect("the fixture builds");
    path
}

/// Every address in a fixture, to look for where none may be.
pub fn emails_in(text: &str) -> Vec<String> {
    let pattern = regex::Regex::new(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]+").expect("valid");
    let emails: Vec<String> = pattern
        .find_iter(text)
        .map(|m| m.as_str().to_owned())
        .collect();
    assert!(!emails.is_empty(), "the fixture has addresses");
    emails
}

pub fn assert_no_email(what: &str, text: &str, emails: &[String]) {
    for email in emails {
        assert!(
            !text.contains(email.as_str()),
            "{what} holds {email}: {text}"
        );
    }
}

async fn upload(app: &TestApp, query: &str, body: Vec<u8>) -> Response<Bytes> {
    warp::test::request()
        .method("POST")
        .path(&format!("/admin/import{query}"))
        .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
        .header("content-length", body.len().to_string())
        .body(body)
        .reply(&app.routes)
        .await
}

/// Imports and returns the report, which must be a 200.
async fn import(app: &TestApp, query: &str, body: Vec<u8>) -> Value {
    let response = upload(app, query, body).await;
    assert_eq!(response.status(), 200, "{:?}", response.body());
    body_json(&response)
}

/// The stored comment that came from `source` with id `id` there.
fn by_origin<'a>(stored: &'a [Value], source: &str, id: &str) -> &'a Value {
    stored
        .iter()
        .find(|c| c["origin"]["source"] == source && c["origin"]["id"] == id)
        .unwrap_or_else(|| panic!("no comment from {source} #{id} in {stored:#?}"))
}

fn status_counts(pairs: &[(&str, u64)]) -> Value {
    let mut counts = json!({ "pending": 0, "approved": 0, "rejected": 0, "spam": 0 });
    for (status, n) in pairs {
        counts[*status] = json!(n);
    }
    counts
}

async fn public_page(app: &TestApp, page: &str) -> Value {
    let response = app
        .get(&format!("/api/comments?page={}", urlencode(page)))
        .await;
    assert_eq!(response.status(), 200);
    body_json(&response)
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Nothing the database holds has one of `emails` in plain text: sled's
/// files, or PostgreSQL's whole database as `pg_dump` writes it.
fn assert_no_email_on_disk(app: &TestApp, emails: &[String]) {
    fn walk(dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push((
                    path.display().to_string(),
                    std::fs::read(&path).expect("read"),
                ));
            }
        }
    }
    let mut stored = Vec::new();
    match backend::backend() {
        Backend::Sled => walk(app.dir.path(), &mut stored),
        Backend::Postgres => stored.push((
            "pg_dump".to_owned(),
            backend::dump(&app.state.config.database_url),
        )),
    }
    for (place, bytes) in stored {
        for email in emails {
            let hex = hex::encode(email.as_bytes());
            for needle in [email.as_str(), hex.as_str()] {
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                    "{place} holds {email} in plain text"
                );
            }
        }
    }
}

#[tokio::test]
async fn a_wordpress_export_imports_with_its_statuses_threads_pages_and_times() {
    // Arrange
    let app = TestApp::new();
    let file = fixture_bytes("wordpress-1.2.xml");
    let emails = emails_in(&String::from_utf8_lossy(&file));

    // Act
    let report = import(&app, "?format=wordpress", file.clone()).await;

    // Assert: the report
    assert_eq!(report["format"], "wordpress");
    assert_eq!(report["imported"], 15);
    assert_eq!(report["already_present"], 0);
    assert_eq!(
        report["by_status"],
        status_counts(&[
            ("approved", 10),
            ("pending", 3),
            ("spam", 1),
            ("rejected", 1)
        ])
    );
    assert_eq!(
        report["skipped"],
        json!({ "pingback": 1, "trackback": 1, "empty": 1 })
    );
    assert_eq!(report["pages"], 3);
    assert_eq!(report["errors"], json!([]));
    let notice = report["notices"]
        .as_array()
        .expect("notices")
        .iter()
        .find(|n| n["id"] == "110")
        .expect("comment 110's missing parent is reported");
    assert_eq!(notice["kind"], "parent_missing");
    assert_eq!(notice["position"]["line"], 205);
    assert_no_email("the report", &report.to_string(), &emails);

    // Assert: what is stored
    let stored = app.stored().await;
    assert_eq!(stored.len(), 15);
    let chloe = by_origin(&stored, "wordpress", "101");
    assert_eq!(chloe["author"], "Chloé Martin");
    assert_eq!(chloe["page"], "/2023/05/on-grief/");
    assert_eq!(chloe["created_at"], "2023-05-01T09:15:00Z");
    assert_eq!(chloe["status"], "approved");
    assert_eq!(
        chloe["email"], "chloe@example.org",
        "sealed, and the admin reads it"
    );
    assert_eq!(chloe["ip"], "203.0.113.0", "truncated as for a new comment");
    assert_eq!(chloe["url"], "https://chloe.example/?a=1&b=2");
    assert!(chloe["action"].is_null(), "the rules did not judge it");
    let html = chloe["html"].as_str().expect("html");
    assert!(
        html.starts_with("<p>Thank you for this. <a href=\"https://chloe.example/\" rel=\"nofollow ugc noopener noreferrer\">"),
        "the sanitizer and paragraphs of a new comment: {html}"
    );
    assert!(html.contains("</p>\n<p>It helps to read it.</p>"), "{html}");
    assert_eq!(chloe["origin"]["title"], "On grief");
    // Threads: the reply to 101 hangs under it, the author's reply is marked.
    let reply = by_origin(&stored, "wordpress", "102");
    assert_eq!(reply["parent"], chloe["id"]);
    assert_eq!(reply["by_author"], true);
    assert!(
        reply["email"].is_null(),
        "the author's replies carry no email"
    );
    assert_eq!(
        by_origin(&stored, "wordpress", "104")["parent"],
        by_origin(&stored, "wordpress", "105")["id"],
        "a reply that came before its parent in the file"
    );
    assert_eq!(by_origin(&stored, "wordpress", "105")["status"], "pending");
    assert_eq!(by_origin(&stored, "wordpress", "106")["status"], "spam");
    assert_eq!(by_origin(&stored, "wordpress", "107")["status"], "rejected");
    // Ids sort by the original times, so threads read as they did.
    let mut on_grief: Vec<&Value> = stored
        .iter()
        .filter(|c| c["page"] == "/2023/05/on-grief/")
        .collect();
    on_grief.sort_by_key(|c| c["id"].as_str().unwrap_or_default().to_owned());
    let times: Vec<&str> = on_grief
        .iter()
        .map(|c| c["created_at"].as_str().unwrap_or_default())
        .collect();
    let mut sorted = times.clone();
    sorted.sort_unstable();
    assert_eq!(times, sorted);
    // The public thread shows the approved ones, under the page key the
    // embed's default data-page finds.
    let public = public_page(&app, "/2023/05/on-grief/").await;
    assert!(public["count"].as_u64().expect("count") > 0);
    assert!(
        public["comments"]
            .as_array()
            .expect("comments")
            .iter()
            .all(|c| c.get("email").is_none())
    );
    assert!(
        public_page(&app, "/?p=4").await["count"]
            .as_u64()
            .expect("count")
            > 0
    );
    assert_no_email_on_disk(&app, &emails);

    // A second import of the same file adds nothing.
    let again = import(&app, "", file).await;
    assert_eq!(
        (again["imported"].clone(), again["already_present"].clone()),
        (json!(0), json!(15))
    );
    assert_eq!(again["by_status"], status_counts(&[]));
    assert_eq!(app.stored().await, stored);
}

#[tokio::test]
async fn a_disqus_export_imports_authors_without_email_and_reports_bad_records() {
    // Arrange
    let app = TestApp::new();
    let file = fixture_bytes("disqus.xml");
    let emails = emails_in(&String::from_utf8_lossy(&file));

    // Act
    let report = import(&app, "?format=auto", file.clone()).await;

    // Assert
    assert_eq!(report["format"], "disqus");
    assert_eq!(report["imported"], 9);
    assert_eq!(
        report["by_status"],
        status_counts(&[("approved", 7), ("pending", 1), ("spam", 1)])
    );
    assert_eq!(report["skipped"], json!({ "deleted": 2, "empty": 1 }));
    assert_eq!(report["pages"], 3);
    let errors: Vec<(Value, Value)> = report["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| (e["id"].clone(), e["position"].clone()))
        .collect();
    assert_eq!(
        errors,
        [
            (json!("10"), json!({ "line": 179, "column": 3 })),
            (json!("11"), json!({ "line": 193, "column": 3 })),
        ]
    );
    assert_no_email("the report", &report.to_string(), &emails);

    let stored = app.stored().await;
    let anna = by_origin(&stored, "disqus", "1");
    assert_eq!(anna["page"], "/2019/08/first/");
    assert_eq!(anna["created_at"], "2019-08-02T10:00:00Z");
    assert_eq!(anna["email"], "anna@example.org");
    assert_eq!(anna["origin"]["title"], "First & foremost");
    let guest = by_origin(&stored, "disqus", "2");
    assert_eq!(guest["parent"], anna["id"]);
    assert!(guest["email"].is_null(), "imported without an email");
    let avatar = guest["avatar"].as_str().expect("avatar");
    assert_eq!(avatar.len(), 16, "an avatar made from the name: {avatar}");
    assert_ne!(guest["avatar"], anna["avatar"]);
    assert_no_email_on_disk(&app, &emails);

    let again = import(&app, "", file).await;
    assert_eq!(
        (again["imported"].clone(), again["already_present"].clone()),
        (json!(0), json!(9))
    );
}

#[tokio::test]
async fn an_isso_database_imports_with_its_markdown_rendered_and_emails_sealed() {
    // Arrange
    let app = TestApp::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let database = isso_database(dir.path(), "isso.sql");
    let emails = emails_in(&std::fs::read_to_string(fixture("isso.sql")).expect("sql"));

    // Act
    let report = import(&app, "", std::fs::read(&database).expect("db")).await;

    // Assert
    assert_eq!(report["format"], "isso");
    assert_eq!(report["imported"], 8);
    assert_eq!(
        report["by_status"],
        status_counts(&[("approved", 5), ("pending", 3)])
    );
    assert_eq!(report["skipped"], json!({ "deleted": 1, "empty": 1 }));
    assert_eq!(report["pages"], 2);
    assert_eq!(
        report["errors"][0]["position"],
        json!({ "table": "comments", "row": 8 })
    );
    assert_eq!(report["adjusted"]["anonymous"], 1);
    assert_no_email("the report", &report.to_string(), &emails);

    let stored = app.stored().await;
    let lena = by_origin(&stored, "isso", "1");
    assert_eq!(lena["page"], "/2020/03/loss/");
    assert_eq!(lena["created_at"], "2020-03-01T00:00:00.5Z");
    assert_eq!(lena["email"], "lena@example.org");
    assert_eq!(lena["html"], "<p>Thank you. <em>This</em> helped.</p>\n");
    assert_eq!(by_origin(&stored, "isso", "2")["parent"], lena["id"]);
    assert_eq!(by_origin(&stored, "isso", "7")["author"], "Anonymous");
    assert_eq!(by_origin(&stored, "isso", "6")["ip"], "2001:db8::");
    assert_eq!(by_origin(&stored, "isso", "6")["page"], "/notes/caf%C3%A9/");
    assert_no_email_on_disk(&app, &emails);

    let again = import(&app, "?format=isso", std::fs::read(&database).expect("db")).await;
    assert_eq!(
        (again["imported"].clone(), again["already_present"].clone()),
        (json!(0), json!(8))
    );
}

#[tokio::test]
async fn a_json_lines_file_with_a_byte_order_mark_imports() {
    // Arrange: a file saved by a Windows editor starts with a BOM.
    let app = TestApp::new();
    let mut body = b"\xEF\xBB\xBF".to_vec();
    body.extend_from_slice(
        br#"{"id": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "page": "/a/", "author": "Ann", "email": "ann@example.org", "text": "Thank you.", "status": "approved", "created_at": 1700000000000, "updated_at": 1700000000000}"#,
    );
    body.push(b'\n');

    // Act
    let report = import(&app, "", body).await;

    // Assert
    assert_eq!(report["imported"], 1, "{report}");
    let stored = app.stored().await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0]["id"], "01ARZ3NDEKTSV4RRFFQ69G5FAV");
}

#[tokio::test]
async fn a_malformed_file_gets_its_position_and_stores_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases: [(&str, Vec<u8>, &str); 5] = [
        (
            "?format=wordpress",
            fixture_bytes("wordpress-truncated.xml"),
            "line 142, column 24",
        ),
        (
            "",
            fixture_bytes("disqus-truncated.xml"),
            "line 166, column 14",
        ),
        (
            "?format=isso",
            std::fs::read(isso_database(dir.path(), "isso-missing-table.sql")).expect("db"),
            "comments",
        ),
        (
            "?format=ndjson",
            b"{\"id\": \"01ARZ3NDEKTSV4RRFFQ69G5FAV\", \"page\": \"/a/\"}\n{broken\n".to_vec(),
            "line 2, column 1",
        ),
        ("", b"just some text".to_vec(), "unknown format"),
    ];
    for (query, body, position) in cases {
        // Arrange
        let app = TestApp::new();

        // Act
        let response = upload(&app, query, body).await;

        // Assert
        assert_eq!(response.status(), 422, "{position}: {:?}", response.body());
        let error = body_json(&response);
        assert_eq!(error["error"], "invalid_file");
        let message = error["message"].as_str().expect("message");
        assert!(
            message.to_lowercase().contains(position),
            "{position}: {message}"
        );
        assert_eq!(app.stored().await, Vec::<Value>::new(), "{position}");
        // The spooled upload is gone.
        let left: Vec<_> = std::fs::read_dir(app.dir.path().join("data"))
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with(".import-"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
}

#[tokio::test]
async fn a_dry_run_reports_the_same_and_stores_nothing() {
    let app = TestApp::new();
    let file = fixture_bytes("wordpress-1.2.xml");

    let dry = import(&app, "?dry_run=true", file.clone()).await;
    assert_eq!(dry["dry_run"], true);
    assert_eq!(app.stored().await.len(), 0);

    let real = import(&app, "", file).await;
    let mut expected = dry.clone();
    expected["dry_run"] = json!(false);
    assert_eq!(real, expected);
    // And a dry run over what is stored sees it there.
    let again = import(&app, "?dry_run=true", fixture_bytes("wordpress-1.2.xml")).await;
    assert_eq!(
        (again["imported"].clone(), again["already_present"].clone()),
        (json!(0), json!(15))
    );
}

#[tokio::test]
async fn an_import_with_learn_teaches_its_spam_and_approved_comments_once() {
    let app = TestApp::new();
    let learned = |app: &TestApp| {
        let routes = app.routes.clone();
        async move {
            let response = warp::test::request()
                .path("/admin/learning")
                .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
                .reply(&routes)
                .await;
            assert_eq!(response.status(), 200);
            body_json(&response)["learned"].clone()
        }
    };
    assert_eq!(learned(&app).await, json!({"spam": 0, "ham": 0}));

    let report = import(&app, "?learn=true", fixture_bytes("wordpress-1.2.xml")).await;

    // What the import taught is what the source's folders said, except
    // the author's own reply (approved), which teaches nothing.
    let spam = report["by_status"]["spam"].as_u64().expect("spam");
    let approved = report["by_status"]["approved"].as_u64().expect("approved");
    assert!(spam > 0 && approved > 1, "{report}");
    let readers_approved = approved - 1;
    assert_eq!(
        report["learned"],
        json!({"spam": spam, "ham": readers_approved})
    );
    assert_eq!(
        learned(&app).await,
        json!({"spam": spam, "ham": readers_approved})
    );
    // The same file again stores nothing new and learns nothing twice.
    let again = import(&app, "?learn=true", fixture_bytes("wordpress-1.2.xml")).await;
    assert_eq!(again["imported"], 0);
    assert_eq!(
        learned(&app).await,
        json!({"spam": spam, "ham": readers_approved})
    );
    // Without `learn`, nothing is taught and the report says nothing of it.
    let other = TestApp::new();
    let plain = import(&other, "", fixture_bytes("wordpress-1.2.xml")).await;
    assert!(plain.get("learned").is_none(), "{plain}");
    assert_eq!(learned(&other).await, json!({"spam": 0, "ham": 0}));
}

#[tokio::test]
async fn bad_queries_and_oversized_files_are_refused() {
    let app = TestApp::with(|c| c.max_import_mb = 1);
    let big = vec![b' '; 1024 * 1024 + 1];
    assert_eq!(upload(&app, "", big).await.status(), 413);
    assert_eq!(
        upload(&app, "?format=blogger", b"x".to_vec())
            .await
            .status(),
        400
    );
    assert_eq!(
        upload(&app, "?formatt=auto", b"x".to_vec()).await.status(),
        400
    );
    let anonymous = warp::test::request()
        .method("POST")
        .path("/admin/import")
        .body(fixture_bytes("wordpress-1.2.xml"))
        .reply(&app.routes)
        .await;
    assert_eq!(anonymous.status(), 401);
    assert_eq!(app.stored().await.len(), 0);
}

/// What must survive a trip out to WordPress and back.
fn essentials(stored: &[Value]) -> Vec<Value> {
    let mut out: Vec<Value> = stored
        .iter()
        .map(|c| {
            json!({
                "id": c["id"], "parent": c["parent"], "page": c["page"],
                "author": c["author"], "email": c["email"], "url": c["url"],
                "status": c["status"],
                // WXR keeps seconds.
                "created_at": c["created_at"].as_str().map(|t| t.split('.').next().unwrap_or_default().trim_end_matches('Z').to_owned()),
                "html": c["html"], "by_author": c["by_author"], "ip": c["ip"],
            })
        })
        .collect();
    out.sort_by_key(|c| c["id"].as_str().unwrap_or_default().to_owned());
    out
}

#[tokio::test]
async fn wordpress_out_and_back_into_an_empty_data_directory_gives_the_same_comments() {
    // Arrange: a blog imported from WordPress, with one comment written here.
    let source = TestApp::with(|c| c.allowed_origins = vec!["https://blog.example".into()]);
    import(&source, "", fixture_bytes("wordpress-1.2.xml")).await;
    let here = source.approved_comment("/2023/06/trust/").await;

    // Act
    let response = source.admin("GET", "/admin/export?format=wxr").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/rss+xml; charset=utf-8"
    );
    let wxr = response.body().to_vec();
    let target = TestApp::new();
    let report = import(&target, "", wxr.clone()).await;

    // Assert
    let text = String::from_utf8(wxr).expect("utf-8");
    assert!(
        text.contains("<link>https://blog.example/2023/05/on-grief/</link>"),
        "{text}"
    );
    assert!(text.contains("<link>https://blog.example/?p=4</link>"));
    // WordPress's importer finds the existing post by title and date.
    assert!(
        text.contains("<wp:post_date><![CDATA[2023-05-01 09:00:00]]></wp:post_date>"),
        "{text}"
    );
    let (before, after) = (source.stored().await, target.stored().await);
    assert_eq!(before.len(), 16);
    assert_eq!(report["imported"], 16);
    assert_eq!(report["errors"], json!([]));
    assert_eq!(essentials(&after), essentials(&before));
    assert!(after.iter().any(|c| c["id"] == here.as_str()));
    let chloe = |stored: &[Value]| {
        stored
            .iter()
            .find(|c| c["author"] == "Chloé Martin")
            .expect("Chloé's comment")["origin"]["title"]
            .clone()
    };
    assert_eq!(chloe(&after), chloe(&before));

    // Again: the ids came back, so nothing is added.
    let again = import(&target, "", text.into_bytes()).await;
    assert_eq!(again["already_present"], 16);
}

#[tokio::test]
async fn a_wxr_export_needs_the_blogs_address_and_ndjson_stays_the_default() {
    let app = TestApp::new();
    import(&app, "", fixture_bytes("disqus.xml")).await;

    let no_site = app.admin("GET", "/admin/export?format=wxr").await;
    assert_eq!(no_site.status(), 400);
    let with_site = app
        .admin("GET", "/admin/export?format=wxr&site=https://other.example")
        .await;
    assert_eq!(with_site.status(), 200);
    assert!(
        String::from_utf8_lossy(with_site.body())
            .contains("<link>https://other.example/2019/08/first/</link>")
    );
    assert_eq!(
        app.admin("GET", "/admin/export?format=csv").await.status(),
        400
    );

    // NDJSON carries the origin and the comments without email, and goes
    // back in through the same route.
    let ndjson = app.admin("GET", "/admin/export").await;
    assert_eq!(ndjson.headers()["content-type"], "application/x-ndjson");
    let body = ndjson.body().to_vec();
    let first: Value =
        serde_json::from_slice(body.split(|b| *b == b'\n').next().expect("a line")).expect("json");
    assert_eq!(first["origin"]["source"], "disqus");
    let target = TestApp::new();
    let report = import(&target, "", body).await;
    assert_eq!(report["format"], "ndjson");
    assert_eq!(report["imported"], 9);
    assert_eq!(report["pages"], 3);
    let views = |v: Vec<Value>| -> Vec<Value> {
        v.into_iter()
            .map(|mut c| {
                c.as_object_mut().expect("object").remove("avatar");
                c
            })
            .collect()
    };
    assert_eq!(views(target.stored().await), views(app.stored().await));
}

#[tokio::test]
async fn a_running_service_takes_a_streamed_upload_on_a_real_socket() {
    // Arrange
    let dir = tempfile::tempdir().expect("tempdir");
    let app = spawn_app(test_config(&dir)).await;
    let client = reqwest::Client::new();

    // Act
    let response = client
        .post(app.url("/admin/import?format=wordpress"))
        .bearer_auth(ADMIN_TOKEN)
        .body(fixture_bytes("wordpress-1.2.xml"))
        .send()
        .await
        .expect("request");

    // Assert
    assert_eq!(response.status(), 200);
    let report: Value = response.json().await.expect("json");
    assert_eq!(report["imported"], 15);
    let page = client
        .get(app.url("/api/comments?page=/2023/05/on-grief/"))
        .send()
        .await
        .expect("request");
    let page: Value = page.json().await.expect("json");
    assert!(page["count"].as_u64().expect("count") > 0);
    app.shutdown().await;
}

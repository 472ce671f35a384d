//! The WXR writer, checked by reading its output back with moderato's own
//! WXR reader and against what WordPress's importer requires.

use std::io::Cursor;

use super::wxr::{WxrAuthor, WxrComment, WxrPage, WxrSite, WxrWriter};
use crate::domain::{CommentId, Status};
use crate::import::{self, Format, Item, SourceRecord, Thread, WxrReader, comment_id};

fn site() -> WxrSite {
    WxrSite {
        origin: "https://griefandtrust.example".into(),
        title: "Grief & Trust".into(),
        utc_offset_minutes: 120,
        author: WxrAuthor {
            id: 1,
            login: "mara".into(),
            email: "mara@griefandtrust.example".into(),
            display_name: "Mara Lind".into(),
        },
    }
}

fn read_back(xml: &[u8]) -> (Vec<Thread>, Vec<SourceRecord>, import::Summary) {
    let mut reader = WxrReader::new(Cursor::new(xml.to_vec()));
    let (mut threads, mut comments) = (vec![], vec![]);
    for item in reader.by_ref() {
        match item.expect("our own output reads back") {
            Item::Thread(t) => threads.push(t),
            Item::Comment(c) => comments.push(c),
        }
    }
    (threads, comments, reader.summary().clone())
}

fn id(n: u64) -> CommentId {
    comment_id(
        import::Source::Wordpress,
        &n.to_string(),
        1_600_000_000_000 + n as i64 * 1000,
    )
}

fn comment(n: u64, parent: Option<u64>, status: Status, html: &str) -> WxrComment {
    WxrComment {
        id: id(n),
        parent: parent.map(id),
        author: format!("Reader {n} — ü"),
        email: Some(format!("reader{n}@example.org")),
        url: Some(format!("https://r{n}.example/?a=1&b=2")),
        ip: Some("203.0.113.0".into()),
        created_at: 1_600_000_000_000 + n as i64 * 1000,
        html: html.into(),
        status,
        by_author: false,
    }
}

#[test]
fn a_written_wxr_reads_back_with_every_field() {
    // Arrange
    let page = WxrPage {
        path: "/2020/09/on-trust/".into(),
        title: Some("On trust".into()),
        post: None,
    };
    let mut reply = comment(
        2,
        Some(1),
        Status::Pending,
        "Reply with ]]> inside \u{1} and 😀",
    );
    reply.email = None;
    reply.url = None;
    reply.ip = None;
    let mut author = comment(5, Some(1), Status::Approved, "From the author.");
    author.by_author = true;
    author.email = None;
    let comments = vec![
        comment(1, None, Status::Approved, "<p>First &amp; <b>bold</b></p>"),
        reply,
        comment(3, None, Status::Spam, "spam"),
        comment(4, None, Status::Rejected, "rejected"),
        author,
    ];
    let query_page = WxrPage {
        path: "/?p=4".into(),
        title: None,
        post: None,
    };

    // Act
    let mut writer = WxrWriter::new(Vec::new(), site()).expect("in memory");
    assert_eq!(writer.page(&page, comments.clone()).expect("in memory"), 5);
    writer
        .page(
            &query_page,
            vec![comment(6, Some(99), Status::Approved, "orphan")],
        )
        .expect("in memory");
    let xml = writer.finish().expect("in memory");
    let (threads, back, summary) = read_back(&xml);

    // Assert
    assert_eq!(summary.errors_total, 0);
    assert_eq!(summary.notices_total, 0);
    let pages: Vec<&str> = threads.iter().map(|t| t.page.as_str()).collect();
    assert_eq!(pages, ["/2020/09/on-trust/", "/?p=4"]);
    assert_eq!(threads[0].title.as_deref(), Some("On trust"));
    assert_eq!(
        threads[1].title.as_deref(),
        Some("/?p=4"),
        "the path stands in"
    );
    assert_eq!(back.len(), 6);
    for (written, read) in comments.iter().zip(&back) {
        assert_eq!(read.moderato_id, Some(written.id), "the id comes back");
        assert_eq!(read.comment_id(), written.id);
        assert_eq!(read.author, written.author);
        assert_eq!(read.created_at, written.created_at);
        assert_eq!(read.status, written.status);
        assert_eq!(read.by_author, written.by_author);
        assert_eq!(read.website, written.url);
        assert_eq!(read.ip, written.ip);
        let parent = read.parent.as_ref().map(|p| p.id.clone());
        let expected = written.parent.map(|p| {
            let n = comments
                .iter()
                .position(|c| c.id == p)
                .expect("in the page")
                + 1;
            n.to_string()
        });
        assert_eq!(parent, expected, "comment numbers follow the writing order");
    }
    assert_eq!(back[0].html, "<p>First &amp; <b>bold</b></p>");
    assert_eq!(back[0].email.as_deref(), Some("reader1@example.org"));
    assert_eq!(
        back[1].html, "Reply with ]]> inside  and 😀",
        "control characters dropped"
    );
    assert_eq!(back[1].email, None);
    assert_eq!(back[4].email.as_deref(), Some("mara@griefandtrust.example"));
    assert_eq!(
        back[5].parent, None,
        "a parent not on the page is not written"
    );
}

/// The file for one comment with `html` on page `/a/`.
fn one_comment_file(html: &str) -> String {
    let mut writer = WxrWriter::new(Vec::new(), site()).expect("in memory");
    let page = WxrPage {
        path: "/a/".into(),
        title: None,
        post: None,
    };
    writer
        .page(&page, vec![comment(1, None, Status::Approved, html)])
        .expect("in memory");
    String::from_utf8(writer.finish().expect("in memory")).expect("UTF-8")
}

#[test]
fn the_wxr_has_what_wordpress_importer_checks() {
    let xml = one_comment_file("x");

    // WXR_Parser_SimpleXML: a wxr_version of \d+.\d+ and a base_site_url.
    assert!(xml.contains("\n\t<wp:wxr_version>1.2</wp:wxr_version>\n"));
    assert!(xml.contains("<wp:base_site_url>https://griefandtrust.example</wp:base_site_url>"));
    // WXR_Parser_Regex: each <wp:author> on one line.
    let author_line = xml
        .lines()
        .find(|l| l.contains("<wp:author>"))
        .expect("an author");
    assert!(
        author_line.trim_end().ends_with("</wp:author>"),
        "{author_line}"
    );
    assert!(xml.contains("<link>https://griefandtrust.example/a/</link>"));
    assert!(xml.contains("<wp:status><![CDATA[draft]]></wp:status>"));
    assert!(xml.contains("<wp:post_type><![CDATA[post]]></wp:post_type>"));
    // Local time is GMT plus the site's offset (two hours here).
    assert!(xml.contains("<wp:comment_date><![CDATA[2020-09-13 14:26:41]]></wp:comment_date>"));
    assert!(
        xml.contains("<wp:comment_date_gmt><![CDATA[2020-09-13 12:26:41]]></wp:comment_date_gmt>")
    );
    assert!(!xml.contains("<!DOCTYPE"), "the importer refuses a doctype");
    assert_eq!(Format::detect(xml.as_bytes()), Some(Format::Wordpress));
}

#[test]
fn content_with_cdata_ends_is_split_the_way_wordpress_splits_it() {
    let xml = one_comment_file("a]]>b]]>");
    assert!(
        xml.contains(
            "<wp:comment_content><![CDATA[a]]]]><![CDATA[>b]]]]><![CDATA[>]]></wp:comment_content>"
        ),
        "{xml}"
    );
}

#[test]
fn an_imported_wxr_exported_and_imported_again_is_the_same() {
    // Arrange: the WordPress fixture as the import reads it.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import/wordpress-1.2.xml");
    let reader = import::open(&path, Some(Format::Wordpress)).expect("fixture");
    let mut pages: Vec<(Thread, Vec<SourceRecord>)> = Vec::new();
    for item in reader {
        match item.expect("fixture reads") {
            Item::Thread(t) => pages.push((t, vec![])),
            Item::Comment(c) => pages.last_mut().expect("a thread first").1.push(c),
        }
    }

    // Act: write it as WXR, then read that.
    let mut writer = WxrWriter::new(Vec::new(), site()).expect("in memory");
    for (thread, records) in &pages {
        let page = WxrPage {
            path: thread.page.clone(),
            title: thread.title.clone(),
            post: thread.post.clone(),
        };
        let comments = records.iter().map(|r| WxrComment {
            id: r.comment_id(),
            parent: r
                .parent
                .as_ref()
                .map(|p| comment_id(r.source, &p.id, p.created_at)),
            author: r.author.clone(),
            email: r.email.clone(),
            url: r.website.clone(),
            ip: r.ip.clone(),
            created_at: r.created_at,
            html: r.html.clone(),
            status: r.status,
            by_author: r.by_author,
        });
        writer.page(&page, comments).expect("in memory");
    }
    let xml = writer.finish().expect("in memory");
    let (threads, back, _) = read_back(&xml);

    // Assert
    let original: Vec<&SourceRecord> = pages.iter().flat_map(|(_, r)| r).collect();
    assert_eq!(back.len(), original.len());
    for (a, b) in original.iter().zip(&back) {
        assert_eq!(b.comment_id(), a.comment_id(), "{}", a.id);
        let parent_id = |r: &SourceRecord, all: &[&SourceRecord]| {
            r.parent.as_ref().map(|p| {
                all.iter()
                    .find(|x| x.id == p.id)
                    .map(|x| x.comment_id())
                    .expect("the parent was read")
            })
        };
        let back_refs: Vec<&SourceRecord> = back.iter().collect();
        assert_eq!(
            parent_id(b, &back_refs),
            parent_id(a, &original),
            "{}",
            a.id
        );
        assert_eq!(
            (&b.page, &b.author, &b.email, &b.website, &b.ip),
            (&a.page, &a.author, &a.email, &a.website, &a.ip),
            "{}",
            a.id
        );
        assert_eq!(
            (b.created_at, &b.html, b.status, b.by_author),
            (a.created_at, &a.html, a.status, a.by_author),
            "{}",
            a.id
        );
    }
    for ((thread, _), back) in pages.iter().zip(&threads) {
        assert_eq!(back.page, thread.page);
        assert_eq!(back.title, thread.title);
        assert_eq!(back.post, thread.post);
    }
}

#[test]
fn the_writer_debug_output_hides_addresses() {
    let shown = format!("{:?}", comment(1, None, Status::Approved, "x"));
    assert!(!shown.contains("reader1@example.org"), "{shown}");
    assert!(!shown.contains("203.0.113.0"), "{shown}");
}

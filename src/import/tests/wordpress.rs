use std::io::Cursor;

use super::{Outcome, assert_no_email, emails_in, fixture, read, read_reader, status_counts};
use crate::import::fields::wp_datetime;
use crate::import::{Error, Format, Item, NoticeKind, Position, Reader, SkipReason, WxrReader};

fn wxr(text: &str) -> Outcome {
    // Reader has no variant for in-memory input; WxrReader is generic.
    let mut reader = WxrReader::new(Cursor::new(text.as_bytes().to_vec()));
    let items: Vec<_> = reader.by_ref().collect();
    let mut outcome = Outcome {
        threads: vec![],
        comments: vec![],
        error: None,
        summary: reader.summary().clone(),
        printed: String::new(),
    };
    for item in items {
        match item {
            Ok(Item::Thread(t)) => outcome.threads.push(t),
            Ok(Item::Comment(c)) => outcome.comments.push(c),
            Err(e) => outcome.error = Some(e),
        }
    }
    outcome
}

/// The position of the `<wp:comment>` (or `<wordpress:comment>`) holding
/// `id`: the line before its `comment_id` line, column after the tabs.
fn comment_position(text: &str, id: &str) -> Position {
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains(&format!("comment_id>{id}</")))
        .expect("the id is in the fixture");
    let start = lines[at - 1];
    let column = start.len() - start.trim_start().len() + 1;
    Position::Text {
        line: at as u64,
        column: column as u64,
    }
}

fn ms(utc: &str) -> i64 {
    wp_datetime(utc).expect("a valid date")
}

#[test]
fn wxr_1_2_counts_statuses_skips_and_pages() {
    // Act
    let out = read("wordpress-1.2.xml", Format::Wordpress);

    // Assert
    assert_eq!(out.error, None);
    assert_eq!(
        out.by_status(),
        status_counts(&[
            ("approved", 10),
            ("pending", 3),
            ("spam", 1),
            ("rejected", 1)
        ])
    );
    assert_eq!(
        out.skipped(),
        [("pingback", 1), ("trackback", 1), ("empty", 1)]
            .into_iter()
            .collect()
    );
    assert_eq!(out.summary.comments, 15);
    assert_eq!(out.summary.pages, 3);
    assert_eq!(
        out.pages(),
        ["/2023/05/on-grief/", "/?p=4", "/2023/06/trust/"]
    );
    assert_eq!(out.summary.errors_total, 0);
}

#[test]
fn wxr_threads_carry_what_an_export_back_needs() {
    let out = read("wordpress-1.2.xml", Format::Wordpress);
    let first = &out.threads[0];
    assert_eq!(first.title.as_deref(), Some("On grief"));
    assert_eq!(
        first.link.as_deref(),
        Some("https://griefandtrust.example/2023/05/on-grief/")
    );
    let post = first.post.as_ref().expect("WordPress data");
    assert_eq!(post.id, Some(12));
    assert_eq!(post.date.as_deref(), Some("2023-05-01 09:00:00"));
    assert_eq!(post.date_gmt.as_deref(), Some("2023-05-01 07:00:00"));
    assert_eq!(post.post_type.as_deref(), Some("post"));
    assert_eq!(post.name.as_deref(), Some("on-grief"));
    // A numeric character reference in the title.
    assert_eq!(
        out.threads[1].title.as_deref(),
        Some("Trust \u{2013} the body keeps it")
    );
}

#[test]
fn wxr_replies_keep_their_thread_and_come_after_their_parent() {
    let out = read("wordpress-1.2.xml", Format::Wordpress);

    // 104 answers 105, which the file lists after it; 110's parent is not in
    // the file, so it is released when its item ends.
    assert_eq!(
        out.ids(),
        [
            "101", "102", "105", "104", "106", "107", "111", "112", "113", "114", "110", "201",
            "202", "203", "401"
        ]
    );
    assert_eq!(out.parent_of("102"), Some("101"));
    assert_eq!(out.parent_of("104"), Some("105"));
    assert_eq!(out.parent_of("202"), Some("201"));
    assert_eq!(out.parent_of("203"), Some("202"));
    assert_eq!(out.parent_of("110"), None);
    assert_eq!(out.comment("110").original_parent.as_deref(), Some("999"));
    // A reply to a pingback: the pingback is skipped, it has no parent.
    assert_eq!(out.parent_of("111"), None);
    let parent = out.comment("104").parent.clone().expect("a parent");
    assert_eq!(parent.created_at, out.comment("105").created_at);

    assert_eq!(
        out.notices(),
        [
            ("111", NoticeKind::ParentSkipped(SkipReason::Pingback)),
            ("110", NoticeKind::ParentMissing)
        ]
    );
}

#[test]
fn wxr_fields_times_and_author_replies() {
    let out = read("wordpress-1.2.xml", Format::Wordpress);

    let chloe = out.comment("101");
    assert_eq!(chloe.author, "Chloé Martin");
    assert_eq!(chloe.email.as_deref(), Some("chloe@example.org"));
    assert_eq!(
        chloe.website.as_deref(),
        Some("https://chloe.example/?a=1&b=2")
    );
    assert_eq!(chloe.ip.as_deref(), Some("203.0.113.5"));
    assert_eq!(chloe.created_at, ms("2023-05-01 09:15:00"));
    assert!(chloe.html.starts_with("Thank you for this. <a href="));
    assert!(
        chloe.html.contains("March &amp; I still"),
        "HTML entities stay HTML"
    );
    assert!(!chloe.by_author);
    assert_eq!(chloe.page, "/2023/05/on-grief/");

    assert!(out.comment("102").by_author, "user 1 is a <wp:author>");
    assert_eq!(out.comment("105").status.as_str(), "pending");
    assert_eq!(out.comment("106").status.as_str(), "spam");
    assert_eq!(out.comment("107").status.as_str(), "rejected");
    // The GMT date is zero: the local date less the post's offset (+2 h).
    assert_eq!(out.comment("112").created_at, ms("2023-05-03 08:30:00"));
    // `]]>` split over two CDATA sections, as wxr_cdata() writes it.
    assert_eq!(
        out.comment("113").html,
        "Code: a[b[0]]> c &lt;not a tag&gt;"
    );
    // WordPress stores names entity-encoded.
    assert_eq!(out.comment("114").author, "Tom & Jerry");
    assert_eq!(out.comment("114").html, "悲しみは愛の形です。 😢 Ünïcödé");
    assert!(out.comment("107").html.starts_with("שלום"));
    assert_eq!(out.comment("401").author, "李小龙");
    assert_eq!(out.comment("203").page, "/?p=4");
}

#[test]
fn wxr_records_know_their_line_and_column() {
    let text = std::fs::read_to_string(fixture("wordpress-1.2.xml")).expect("fixture");
    let out = read("wordpress-1.2.xml", Format::Wordpress);
    for id in ["101", "113", "401"] {
        assert_eq!(
            out.comment(id).position,
            comment_position(&text, id),
            "{id}"
        );
    }
}

#[test]
fn wxr_1_0_reads_and_without_an_author_list_nobody_is_the_author() {
    let out = read("wordpress-1.0.xml", Format::Wordpress);
    assert_eq!(out.error, None);
    assert_eq!(out.ids(), ["1", "2"]);
    assert_eq!(out.threads[0].page, "/2009/02/hello-world/");
    assert!(!out.comment("1").by_author, "WXR 1.0 lists no authors");
    assert_eq!(out.comment("1").email, None);
    assert_eq!(out.comment("1").ip, None);
    assert_eq!(out.parent_of("2"), Some("1"));
    assert_eq!(out.comment("2").status.as_str(), "pending");
    assert_eq!(out.comment("2").created_at, ms("2009-02-02 10:00:00"));
}

#[test]
fn wxr_1_1_edge_cases_bom_crlf_prefix_entities_and_bad_utf8() {
    let text = String::from_utf8_lossy(
        &std::fs::read(fixture("wordpress-1.1-edge.xml")).expect("fixture"),
    )
    .into_owned();
    let out = read("wordpress-1.1-edge.xml", Format::Wordpress);

    assert_eq!(out.error, None);
    assert_eq!(out.threads[0].page, "/caf%C3%A9/");
    assert_eq!(out.threads[0].title.as_deref(), Some("Café"));
    let renee = out.comment("90");
    assert_eq!(
        renee.author, "Ren\u{FFFD}e",
        "one Latin-1 byte costs one character"
    );
    assert_eq!(out.summary.replaced_invalid_utf8, 1);
    assert_eq!(
        renee.website.as_deref(),
        Some("https://renee.example/?x=1&y=2")
    );
    assert_eq!(renee.html, "Hi&nbsp;there & é\u{1F331} <b>bold</b>");
    let ed = out.comment("91");
    assert!(ed.by_author, "user 3 is listed under another prefix");
    assert_eq!(ed.status.as_str(), "approved");
    assert_eq!(ed.parent.as_ref().map(|p| p.id.as_str()), Some("90"));
    assert_eq!(ed.html, "Thanks, Renée.");
    assert_eq!(out.skipped(), [("other_type", 1)].into_iter().collect());
    assert_eq!(out.summary.errors_total, 1);
    let error = &out.summary.errors[0];
    assert_eq!(error.id.as_deref(), Some("93"));
    assert_eq!(error.position, comment_position(&text, "93"));
    assert!(error.message.contains("valid date"), "{}", error.message);
}

#[test]
fn wxr_unknown_status_imports_as_pending_with_a_notice() {
    let text = std::fs::read_to_string(fixture("wordpress-1.0.xml"))
        .expect("fixture")
        .replace("<wp:comment_approved>0<", "<wp:comment_approved>hold-ish<");
    let out = wxr(&text);
    assert_eq!(out.comment("2").status.as_str(), "pending");
    assert_eq!(out.summary.notices[0].kind, NoticeKind::UnknownStatus);
}

#[test]
fn a_truncated_wxr_stops_with_the_line_and_column() {
    // Act
    let out = read("wordpress-truncated.xml", Format::Wordpress);

    // Assert
    let text = std::fs::read_to_string(fixture("wordpress-truncated.xml")).expect("fixture");
    let last = text.lines().count() as u64;
    match out.error {
        Some(Error::Xml {
            position,
            ref message,
        }) => {
            let column = "\t\t\t<wp:comment_content>".len() as u64 + 1;
            assert_eq!(position, Position::Text { line: last, column });
            assert!(message.contains("CDATA"), "{message}");
            let shown = out
                .error
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default();
            assert!(
                shown.starts_with(&format!("line {last}, column {column}: malformed XML")),
                "{shown}"
            );
        }
        ref other => panic!("expected a malformed-XML error, got {other:?}"),
    }
    // What came before was yielded; the caller stores nothing of a failed file.
    assert_eq!(out.ids(), ["101", "102"]);
}

#[test]
fn a_wxr_cut_between_elements_names_the_open_element() {
    let text = std::fs::read_to_string(fixture("wordpress-1.2.xml")).expect("fixture");
    let cut = text.find("\t\t</item>").expect("an item end");
    let out = wxr(&text[..cut]);
    match out.error {
        Some(Error::Truncated {
            ref element,
            opened_line,
            ..
        }) => {
            assert_eq!(element, "item");
            let item_line = text
                .lines()
                .position(|l| l.trim() == "<item>")
                .expect("an item")
                + 1;
            assert_eq!(opened_line, item_line as u64);
        }
        ref other => panic!("expected a truncation, got {other:?}"),
    }
}

#[test]
fn a_mismatched_end_tag_is_reported_where_it_is() {
    let text = "<rss xmlns:wp=\"http://wordpress.org/export/1.2/\">\n<channel>\n\t<item></channel>\n</rss>";
    match wxr(text).error {
        Some(Error::Xml { position, message }) => {
            assert_eq!(position, Position::Text { line: 3, column: 8 });
            assert_eq!(message, "expected </item> but found </channel>");
        }
        other => panic!("expected a malformed-XML error, got {other:?}"),
    }
}

#[test]
fn files_that_are_not_wxr_are_refused() {
    let plain_rss = "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><item><title>x</title></item></channel></rss>";
    assert!(matches!(
        wxr(plain_rss).error,
        Some(Error::WrongFormat { .. })
    ));
    let disqus = read("disqus.xml", Format::Wordpress);
    assert!(matches!(disqus.error, Some(Error::WrongFormat { .. })));
    let latin1 = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss/>";
    assert_eq!(
        wxr(latin1).error,
        Some(Error::Encoding("ISO-8859-1".into()))
    );
}

#[test]
fn no_wxr_output_or_error_shows_an_email() {
    for name in [
        "wordpress-1.2.xml",
        "wordpress-1.0.xml",
        "wordpress-1.1-edge.xml",
        "wordpress-truncated.xml",
    ] {
        let text =
            String::from_utf8_lossy(&std::fs::read(fixture(name)).expect("fixture")).into_owned();
        let out = read(name, Format::Wordpress);
        assert_no_email(&out.printed, &emails_in(&text));
    }
}

#[test]
fn the_reader_enum_reports_its_format() {
    let reader = crate::import::open(&fixture("wordpress-1.0.xml"), None).expect("opens");
    assert_eq!(reader.format(), Format::Wordpress);
    let out = read_reader(reader);
    assert_eq!(out.comments.len(), 2);
    assert!(matches!(
        crate::import::open(&fixture("wordpress-1.0.xml"), Some(Format::Ndjson)),
        Err(Error::NotHere(Format::Ndjson))
    ));
    let _: fn(Reader) -> Outcome = read_reader;
}

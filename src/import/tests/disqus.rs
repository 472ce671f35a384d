use super::{assert_no_email, emails_in, fixture, read, status_counts};
use crate::import::fields::rfc3339;
use crate::import::{DisqusReader, Error, Format, NoticeKind, Position, SkipReason, open};

#[test]
fn disqus_counts_statuses_skips_errors_and_pages() {
    // Act
    let out = read("disqus.xml", Format::Disqus);

    // Assert
    assert_eq!(out.error, None);
    assert_eq!(
        out.by_status(),
        status_counts(&[("approved", 7), ("pending", 1), ("spam", 1)])
    );
    assert_eq!(
        out.skipped(),
        [("deleted", 2), ("empty", 1)].into_iter().collect()
    );
    assert_eq!(out.summary.pages, 3);
    assert_eq!(
        out.pages(),
        ["/2019/08/first/", "/?p=77", "/2019/09/third/"]
    );
    assert_eq!(out.threads[0].title.as_deref(), Some("First & foremost"));
    let errors: Vec<(Option<&str>, &str)> = out
        .summary
        .errors
        .iter()
        .map(|e| (e.id.as_deref(), e.message.as_str()))
        .collect();
    assert_eq!(
        errors,
        [
            (Some("10"), "its thread (dsq:id 1004) has no <link>"),
            (Some("11"), "its thread (dsq:id 5555) is not in the file"),
        ]
    );
}

#[test]
fn disqus_threads_after_their_posts_and_parents_later_in_the_file() {
    let out = read("disqus.xml", Format::Disqus);

    // Post 5 answers post 7, listed after it; post 8's thread comes at the
    // end of the file.
    assert_eq!(out.ids(), ["1", "2", "4", "6", "7", "5", "8", "9", "12"]);
    assert_eq!(out.parent_of("2"), Some("1"));
    assert_eq!(out.parent_of("5"), Some("7"));
    assert_eq!(out.comment("8").page, "/?p=77");
    assert_eq!(
        out.parent_of("8"),
        None,
        "its parent 9999 is not in the file"
    );
    // Post 4 answers the deleted post 3: it moves up to post 3's parent.
    assert_eq!(out.parent_of("4"), Some("1"));
    assert_eq!(out.comment("4").original_parent.as_deref(), Some("3"));
    assert_eq!(
        out.notices(),
        [
            ("4", NoticeKind::ParentSkipped(SkipReason::Deleted)),
            ("8", NoticeKind::ParentMissing)
        ]
    );
}

#[test]
fn disqus_fields_and_authors_without_email() {
    let out = read("disqus.xml", Format::Disqus);

    let anna = out.comment("1");
    assert_eq!(anna.author, "Anna");
    assert_eq!(anna.email.as_deref(), Some("anna@example.org"));
    assert_eq!(anna.ip.as_deref(), Some("203.0.113.9"));
    assert_eq!(anna.html, "<p>Thank you for writing this.</p>");
    assert_eq!(
        anna.created_at,
        rfc3339("2019-08-02T10:00:00Z").expect("valid")
    );
    assert_eq!(anna.status.as_str(), "approved");
    assert!(!anna.by_author);

    let guest = out.comment("2");
    assert_eq!(guest.email, None, "Disqus often omits the email");
    assert_eq!(guest.author, "Guest without email");

    assert_eq!(out.comment("6").status.as_str(), "spam");
    assert_eq!(out.comment("9").status.as_str(), "pending");
    assert_eq!(out.comment("7").author, "أحمد");
    assert_eq!(out.comment("8").html, "<p>我也失去了父亲。</p>");
    assert_eq!(out.comment("12").html, "<p>a]]>b &amp; &lt;c&gt;</p>");
    assert_eq!(out.comment("12").author, "Ivy & co");
}

#[test]
fn disqus_posts_know_their_line() {
    let text = std::fs::read_to_string(fixture("disqus.xml")).expect("fixture");
    let out = read("disqus.xml", Format::Disqus);
    for id in ["1", "12"] {
        let line = text
            .lines()
            .position(|l| l == format!("  <post dsq:id=\"{id}\">"))
            .expect("the post is there")
            + 1;
        assert_eq!(
            out.comment(id).position,
            Position::Text {
                line: line as u64,
                column: 3
            },
            "{id}"
        );
    }
}

#[test]
fn a_truncated_disqus_file_fails_before_anything_is_yielded() {
    // Disqus is read twice, and the first pass finds the broken end.
    let error = open(&fixture("disqus-truncated.xml"), Some(Format::Disqus))
        .expect_err("the first pass fails");
    let text = std::fs::read_to_string(fixture("disqus-truncated.xml")).expect("fixture");
    let last = text.lines().count() as u64;
    match &error {
        Error::Xml { position, message } => {
            assert_eq!(
                *position,
                Position::Text {
                    line: last,
                    column: "    <message>".len() as u64 + 1
                }
            );
            assert!(message.contains("CDATA"), "{message}");
        }
        other => panic!("expected a malformed-XML error, got {other:?}"),
    }
    assert_no_email(&format!("{error} {error:?}"), &emails_in(&text));
}

#[test]
fn a_file_that_is_not_disqus_is_refused() {
    let result = DisqusReader::new(std::io::Cursor::new(b"<rss><channel/></rss>".to_vec()));
    assert!(matches!(
        result,
        Err(Error::WrongFormat {
            format: Format::Disqus,
            ..
        })
    ));
}

#[test]
fn no_disqus_output_or_error_shows_an_email() {
    let text = std::fs::read_to_string(fixture("disqus.xml")).expect("fixture");
    let out = read("disqus.xml", Format::Disqus);
    assert_no_email(&out.printed, &emails_in(&text));
}

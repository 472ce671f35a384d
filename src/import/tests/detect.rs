use super::fixture;
use crate::domain::CommentId;
use crate::import::{Format, Source, comment_id};

fn head(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).expect("fixture")
}

#[test]
fn formats_are_detected_from_their_first_bytes() {
    let cases: [(&[u8], Option<Format>); 8] = [
        (&head("wordpress-1.2.xml"), Some(Format::Wordpress)),
        (&head("wordpress-1.0.xml"), Some(Format::Wordpress)),
        (&head("wordpress-1.1-edge.xml"), Some(Format::Wordpress)),
        (&head("disqus.xml"), Some(Format::Disqus)),
        (b"SQLite format 3\0\x10\x00", Some(Format::Isso)),
        (
            b"{\"id\":\"01HX\",\"page\":\"/a/\",\"author\":\"A\"}\n{\"id\":\"01HY\"}\n",
            Some(Format::Ndjson),
        ),
        (b"<rss version=\"2.0\"><channel/></rss>", None),
        (b"{\"not\": \"ours\"}", None),
    ];
    for (i, (bytes, format)) in cases.iter().enumerate() {
        assert_eq!(Format::detect(bytes), *format, "case {i}");
    }
}

#[test]
fn auto_opens_what_it_detects_and_names_what_it_cannot() {
    let reader = crate::import::open(&fixture("disqus.xml"), None).expect("detected");
    assert_eq!(reader.format(), Format::Disqus);
    let unknown = crate::import::open(&fixture("isso.sql"), None).expect_err("SQL text");
    assert_eq!(unknown, crate::import::Error::UnknownFormat);
}

#[test]
fn format_names_round_trip() {
    for format in Format::ALL {
        assert_eq!(format.as_str().parse::<Format>(), Ok(format));
    }
    assert!("auto".parse::<Format>().is_err());
}

#[test]
fn imported_ids_are_stable_time_ordered_and_distinct() {
    let a = comment_id(Source::Wordpress, "101", 1_000);
    assert_eq!(a, comment_id(Source::Wordpress, "101", 1_000), "stable");
    assert_ne!(a, comment_id(Source::Disqus, "101", 1_000), "per source");
    assert_ne!(a, comment_id(Source::Wordpress, "102", 1_000), "per id");
    assert!(
        a < comment_id(Source::Wordpress, "1", 2_000),
        "ordered by time"
    );
    assert_eq!(a.0.timestamp_ms(), 1_000);
    let _: CommentId = comment_id(Source::Isso, "x", -5);
}

//! Property tests of the core (proptest): what must hold for every input,
//! not only for the cases someone thought of.
//!
//! - Validation never panics, whatever the fields and their values, and
//!   what it accepts satisfies its own rules again.
//! - The sanitizer's output is stable (cleaning it again changes nothing)
//!   and holds only allowlisted tags, allowlisted attributes, and links
//!   with an allowed scheme.

use std::sync::LazyLock;

use proptest::prelude::*;
use regex::Regex;

use super::comment::PageId;
use super::input::{
    AuthorName, CommentText, EmailAddress, FieldValue, Fields, NewComment, Website,
};
use super::sanitize::Sanitizer;

static SANITIZER: LazyLock<Sanitizer> = LazyLock::new(Sanitizer::new);

/// Pieces of markup that hostile comments are made of.
const FRAGMENTS: &[&str] = &[
    "<",
    ">",
    "</",
    "/>",
    "a",
    "b",
    "p",
    "pre",
    "ul",
    "li",
    "ol",
    "blockquote",
    "q",
    "abbr",
    "script",
    "style",
    "img",
    "svg",
    "iframe",
    "math",
    "template",
    "noscript",
    "textarea",
    " href=",
    " src=",
    " title=",
    " cite=",
    " onclick=",
    " style=",
    " rel=",
    "\"",
    "'",
    "`",
    "=",
    " ",
    "javascript:",
    "java\tscript:",
    "data:text/html,",
    "http://x.example/",
    "https://",
    "mailto:a",
    "//evil.example",
    "\n",
    "\n\n",
    "\r\n",
    "\t",
    "&",
    "&amp;",
    "&lt;",
    "&#x3c;",
    "&#60",
    "<!--",
    "-->",
    "<![CDATA[",
    "]]>",
    "<p>",
    "<pre>",
    "</pre>",
    "<br>",
    "x",
    "é",
    "\u{200b}",
    "\u{0}",
    "\u{fffd}",
];

fn markup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(FRAGMENTS), 0..60).prop_map(|parts| parts.concat())
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), markup()]
}

fn field_value() -> impl Strategy<Value = FieldValue> {
    prop_oneof![
        6 => text().prop_map(FieldValue::Text),
        1 => Just(FieldValue::Null),
        1 => Just(FieldValue::NotText),
    ]
}

fn fields() -> impl Strategy<Value = Fields> {
    let name = prop_oneof![
        prop::sample::select(
            &[
                "page",
                "author",
                "email",
                "url",
                "comment",
                "parent",
                "form_token",
                "homepage",
            ][..]
        )
        .prop_map(str::to_owned),
        any::<String>(),
    ];
    prop::collection::btree_map(name, field_value(), 0..10)
}

/// Every tag with its attributes, in the serialized HTML ammonia writes.
static TAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)([^>]*)>").expect("regex"));
static ATTRIBUTE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"\s([a-zA-Z-]+)="([^"]*)""#).expect("regex"));

const TAGS: &[&str] = &[
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "cite",
    "code",
    "del",
    "em",
    "i",
    "li",
    "ol",
    "p",
    "pre",
    "q",
    "s",
    "strong",
    "ul",
];

fn allowed_attribute(tag: &str, attribute: &str) -> bool {
    matches!(
        (tag, attribute),
        ("a", "href" | "title" | "rel") | ("abbr", "title") | ("blockquote" | "q", "cite")
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn validation_never_panics_and_what_it_accepts_is_valid(fields in fields()) {
        if let Ok(comment) = NewComment::parse(&fields) {
            prop_assert!(PageId::parse(comment.page.as_str()).is_ok());
            prop_assert!(AuthorName::parse(comment.author.as_str()).is_ok());
            prop_assert!(EmailAddress::parse(comment.email.as_str()).is_ok());
            prop_assert!(CommentText::parse(comment.text.as_str()).is_ok());
            if let Some(url) = &comment.url {
                prop_assert!(Website::parse(url.as_str()).is_ok());
            }
        }
    }

    #[test]
    fn every_field_parser_takes_any_text_without_panicking(raw in text()) {
        let _ = PageId::parse(&raw);
        let _ = AuthorName::parse(&raw);
        let _ = EmailAddress::parse(&raw);
        let _ = CommentText::parse(&raw);
        if let Ok(Some(url)) = Website::parse(&raw) {
            // A website is stored as parsed: parsing it again keeps it.
            prop_assert_eq!(Website::parse(url.as_str()), Ok(Some(url.clone())));
        }
        if let Ok(author) = AuthorName::parse(&raw) {
            prop_assert_eq!(AuthorName::parse(author.as_str()), Ok(author.clone()));
        }
        if let Ok(text) = CommentText::parse(&raw) {
            prop_assert_eq!(CommentText::parse(text.as_str()), Ok(text.clone()));
        }
    }

    #[test]
    fn sanitized_html_is_stable_and_holds_only_the_allowlist(raw in text()) {
        let html = SANITIZER.clean(&raw);
        prop_assert_eq!(SANITIZER.clean_html(&html), html.clone(), "cleaning again changed it");
        for tag in TAG.captures_iter(&html) {
            let name = tag[2].to_ascii_lowercase();
            prop_assert!(TAGS.contains(&name.as_str()), "tag <{}> in {:?}", name, html);
            for attribute in ATTRIBUTE.captures_iter(&tag[3]) {
                let attribute_name = attribute[1].to_ascii_lowercase();
                prop_assert!(
                    allowed_attribute(&name, &attribute_name),
                    "attribute {} on <{}> in {:?}", attribute_name, name, html
                );
                if attribute_name == "href" || attribute_name == "cite" {
                    let value = attribute[2].to_ascii_lowercase();
                    prop_assert!(
                        ["http://", "https://", "mailto:"].iter().any(|s| value.starts_with(s)),
                        "link {:?} in {:?}", value, html
                    );
                }
            }
            // Whatever is between the tag name and `>` is attributes only.
            let rest = ATTRIBUTE.replace_all(&tag[3], "");
            prop_assert!(rest.trim().trim_end_matches('/').is_empty(), "junk {:?} in {:?}", rest, html);
        }
    }
}

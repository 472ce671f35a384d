//! Turns a reader's comment into safe HTML: plain text with a small
//! allowlist of inline markup (WordPress's set), paragraphs from blank
//! lines, and links that cannot run script or pass ranking.
//!
//! The ammonia builder is built once at start-up and shared; cleaning is
//! pure. Author names and websites never pass through here: they are text,
//! and the embed inserts them as text. [`escape`] is the one escaper of
//! text for HTML and XML (pages, feeds, mails).

use std::collections::{HashMap, HashSet};

use ammonia::{Builder, UrlRelative};

/// Tags a comment may use; everything else is removed, its text kept.
const ALLOWED_TAGS: &[&str] = &[
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

/// Block-level tags that must not be wrapped in a `<p>`.
const BLOCK_TAGS: &[&str] = &["blockquote", "ol", "p", "pre", "ul"];

/// `rel` for every link: no ranking credit, no `window.opener`, no referrer.
pub const LINK_REL: &str = "nofollow ugc noopener noreferrer";

/// The URL schemes a link (`href`, `cite`) may have; relative links are
/// dropped.
const URL_SCHEMES: &[&str] = &["http", "https", "mailto"];

/// Whether `value` is an absolute URL with one of [`URL_SCHEMES`].
fn is_absolute_link(value: &str) -> bool {
    url::Url::parse(value).is_ok_and(|url| URL_SCHEMES.contains(&url.scheme()))
}

/// The shared HTML cleaner.
#[derive(Debug)]
pub struct Sanitizer {
    builder: Builder<'static>,
}

impl Default for Sanitizer {
    fn default() -> Self {
        Sanitizer::new()
    }
}

impl Sanitizer {
    /// Builds the allowlist once.
    pub fn new() -> Sanitizer {
        let mut builder = Builder::empty();
        // `Builder::empty()` empties only the tags: ammonia's default
        // attributes stay (`title` and `lang` on every tag, `hreflang` on
        // links, `cite` and `datetime` on `del`, `start` on `ol`, ...), so
        // they are cleared here and the allowlist below is the whole of it
        // (found by a property test).
        builder
            .generic_attributes(HashSet::new())
            .tag_attributes(HashMap::new())
            .tags(ALLOWED_TAGS.iter().copied().collect::<HashSet<_>>())
            .add_tag_attributes("a", ["href", "title"])
            .add_tag_attributes("abbr", ["title"])
            .add_tag_attributes("blockquote", ["cite"])
            .add_tag_attributes("q", ["cite"])
            .url_schemes(URL_SCHEMES.iter().copied().collect())
            .url_relative(UrlRelative::Deny)
            .attribute_filter(|_tag, attribute, value| {
                // ammonia checks the scheme of `href` and `src` only, not of
                // `cite`: a `cite="javascript:…"` or `cite="<]]"` would pass
                // (found by a property test). The same rule for both.
                if attribute == "cite" && !is_absolute_link(value) {
                    return None;
                }
                Some(value.into())
            })
            .link_rel(Some(LINK_REL))
            .strip_comments(true);
        Sanitizer { builder }
    }

    /// Cleans a comment and lays it out in paragraphs.
    pub fn clean(&self, text: &str) -> String {
        self.clean_html(&paragraphs(text))
    }

    /// The allowlist alone, on HTML: what [`Sanitizer::clean`] does after
    /// laying out paragraphs. Its output is stable: cleaning it again
    /// changes nothing (a property test says so).
    pub fn clean_html(&self, html: &str) -> String {
        let cleaned = self.builder.clean(html).to_string();
        // An HTML parser drops a newline right after `<pre>`, and ammonia's
        // serializer does not write the extra one the HTML standard asks
        // for, so `<pre>\n\nx` came out as `<pre>\nx` and lost its newline
        // on the next parse (found by a property test). `<pre>` never has
        // attributes here, so the tag is always exactly this.
        if cleaned.contains("<pre>\n") {
            cleaned.replace("<pre>\n", "<pre>\n\n")
        } else {
            cleaned
        }
    }
}

/// Blank lines become paragraphs and single newlines `<br>`, as WordPress
/// does; a chunk that already starts with a block tag is left as written.
fn paragraphs(text: &str) -> String {
    let mut html = String::with_capacity(text.len() + 32);
    let normalized = text.replace("\r\n", "\n");
    for chunk in normalized
        .split("\n\n")
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        // Compared as bytes: the chunk may continue with any character, and
        // a tag's length need not fall on a character boundary of it (a `</é`
        // chunk panicked on a `str` slice; found by a property test).
        let starts_block = chunk.as_bytes().strip_prefix(b"<").is_some_and(|rest| {
            BLOCK_TAGS.iter().any(|tag| {
                rest.get(..tag.len())
                    .is_some_and(|name| name.eq_ignore_ascii_case(tag.as_bytes()))
                    && matches!(rest.get(tag.len()), Some(b'>' | b' '))
            })
        });
        if starts_block {
            html.push_str(chunk);
        } else {
            html.push_str("<p>");
            html.push_str(&chunk.replace('\n', "<br>\n"));
            html.push_str("</p>");
        }
        html.push('\n');
    }
    html
}

/// Escapes text for HTML or XML element content and quoted attributes.
/// Characters XML 1.0 does not allow (control characters but tab and line
/// ends, U+FFFE, U+FFFF) are dropped, so a feed stays well-formed.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() || c == '\u{fffe}' || c == '\u{ffff}' => {}
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(text: &str) -> String {
        Sanitizer::new().clean(text)
    }

    #[test]
    fn escape_covers_markup_quotes_and_what_xml_forbids() {
        assert_eq!(
            escape(r#"<a href="x" onclick='y'>&</a>"#),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
        assert_eq!(escape("a\u{1}b\u{ffff}\tc\n"), "ab\tc\n");
    }

    #[test]
    fn a_quotation_source_is_kept_only_as_an_absolute_web_link() {
        assert!(
            clean("<blockquote cite=\"https://example.org/a\">x</blockquote>")
                .starts_with("<blockquote cite=\"https://example.org/a\">x</blockquote>")
        );
        for cite in ["<]]", "javascript:alert(1)", "/relative", "//example.org/"] {
            let html = clean(&format!("<q cite=\"{cite}\">x</q>"));
            assert!(!html.contains("cite"), "{cite}: {html}");
        }
    }

    #[test]
    fn script_and_event_handlers_are_removed() {
        let cases = [
            ("<script>alert(1)</script>hi", "script tag"),
            ("<img src=x onerror=alert(1)>", "img onerror"),
            ("<a href=\"javascript:alert(1)\">x</a>", "javascript link"),
            ("<b onclick=\"alert(1)\">x</b>", "inline handler"),
            (
                "<a href=\"data:text/html,<script>alert(1)</script>\">x</a>",
                "data url",
            ),
            ("<svg><script>alert(1)</script></svg>", "svg script"),
            ("<style>body{}</style><p style=\"color:red\">x</p>", "style"),
        ];
        for (input, case) in cases {
            let html = clean(input);
            for bad in [
                "<script",
                "onerror",
                "onclick",
                "javascript:",
                "data:",
                "<img",
                "<svg",
                "style",
            ] {
                assert!(!html.contains(bad), "{case}: `{bad}` survived in {html}");
            }
        }
    }

    #[test]
    fn allowed_markup_is_kept_and_links_get_rel() {
        let html = clean(
            "<strong>Yes</strong> see <a href=\"https://example.org\" rel=\"follow\">this</a>",
        );
        assert!(html.contains("<strong>Yes</strong>"), "{html}");
        assert!(
            html.contains(
                "<a href=\"https://example.org\" rel=\"nofollow ugc noopener noreferrer\">this</a>"
            ),
            "{html}"
        );
    }

    #[test]
    fn relative_links_lose_their_href() {
        let html = clean("<a href=\"/admin\">x</a>");
        assert!(!html.contains("href"), "{html}");
    }

    #[test]
    fn blank_lines_become_paragraphs_and_newlines_breaks() {
        assert_eq!(
            clean("One\ntwo\n\nThree"),
            "<p>One<br>\ntwo</p>\n<p>Three</p>\n"
        );
    }

    #[test]
    fn plain_text_angle_brackets_are_escaped_not_lost() {
        let html = clean("I <3 this & 2 < 5");
        assert!(html.contains("I &lt;3 this &amp; 2 &lt; 5"), "{html}");
    }

    #[test]
    fn a_tag_followed_by_wide_characters_does_not_panic() {
        // "<p>" then CJK: the first bytes after "<" cut a character when
        // read as long as "blockquote".
        assert_eq!(
            clean("<p>我也失去了父亲。</p>"),
            "<p>我也失去了父亲。</p>\n"
        );
        assert_eq!(
            clean("<b>我也失去了父亲。</b>"),
            "<p><b>我也失去了父亲。</b></p>\n"
        );
    }

    #[test]
    fn block_markup_is_not_wrapped() {
        let html = clean("<blockquote>quoted</blockquote>\n\nreply");
        assert_eq!(html, "<blockquote>quoted</blockquote>\n<p>reply</p>\n");
    }
}

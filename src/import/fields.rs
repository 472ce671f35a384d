//! Field conversions the readers share: page keys from links, the times of
//! each format, WordPress's entity-encoded names, Isso's Markdown.

use std::borrow::Cow;

use time::format_description::well_known::Rfc3339;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

use crate::domain::PageId;

/// The page key of a permalink: its path, and `?query` when it has one
/// (`https://blog.example/?p=4` -> `/?p=4`), percent-encoded the way a
/// browser's `location` shows it. A link that already is a path is taken as
/// it is.
///
/// # Errors
/// A message naming the problem (the link is not private).
pub(crate) fn page_key(link: &str) -> Result<String, String> {
    let link = link.trim();
    if link.is_empty() {
        return Err("the page has no link".into());
    }
    let key = if link.starts_with('/') && !link.starts_with("//") {
        link.to_owned()
    } else {
        let url =
            url::Url::parse(link).map_err(|e| format!("the link {link:?} is not a URL ({e})"))?;
        let mut key = url.path().to_owned();
        if let Some(query) = url.query().filter(|q| !q.is_empty()) {
            key.push('?');
            key.push_str(query);
        }
        key
    };
    PageId::parse(&key)
        .map(|_| key.clone())
        .map_err(|e| format!("the page key {key:?} is not valid: {e}"))
}

/// Whether a text (the head of a file) declares a WXR namespace.
pub(crate) fn has_wxr_namespace(text: &str) -> bool {
    ["1.0", "1.1", "1.2"]
        .iter()
        .any(|v| text.contains(&format!("wordpress.org/export/{v}/")))
}

/// WordPress's `YYYY-MM-DD HH:MM:SS` as milliseconds, read as UTC;
/// `None` for WordPress's zero date or anything unreadable.
pub(crate) fn wp_datetime(s: &str) -> Option<i64> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() != 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b' '
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |range: std::ops::Range<usize>| s.get(range)?.parse::<u16>().ok();
    let date = Date::from_calendar_date(
        i32::from(num(0..4)?),
        Month::try_from(u8::try_from(num(5..7)?).ok()?).ok()?,
        u8::try_from(num(8..10)?).ok()?,
    )
    .ok()?;
    let time = Time::from_hms(
        u8::try_from(num(11..13)?).ok()?,
        u8::try_from(num(14..16)?).ok()?,
        u8::try_from(num(17..19)?).ok()?,
    )
    .ok()?;
    let ms = PrimitiveDateTime::new(date, time)
        .assume_utc()
        .unix_timestamp()
        * 1000;
    valid_time(ms)
}

/// An RFC 3339 time (Disqus's `2013-10-10T19:20:29Z`) as milliseconds.
pub(crate) fn rfc3339(s: &str) -> Option<i64> {
    let t = OffsetDateTime::parse(s.trim(), &Rfc3339).ok()?;
    valid_time(i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()?)
}

/// Seconds as a float (Isso's `created`) as milliseconds.
pub(crate) fn float_seconds(seconds: f64) -> Option<i64> {
    if !seconds.is_finite() {
        return None;
    }
    valid_time((seconds * 1000.0).round() as i64)
}

/// Times a moderato id can hold: from the epoch to year 10889.
fn valid_time(ms: i64) -> Option<i64> {
    (0..(1 << 48)).contains(&ms).then_some(ms)
}

/// A trimmed value, or `None` when nothing is left.
pub(crate) fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

/// Decodes the character references WordPress stores names with
/// (`Tom &amp; Jerry`, `O&#039;Brien`): `comment_author` goes through
/// `_wp_specialchars` before it is saved. Unknown entities stay as written.
pub(crate) fn decode_entities(s: &str) -> Cow<'_, str> {
    if !s.contains('&') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let decoded = rest[1..]
            .find(';')
            .filter(|&end| end <= 10)
            .and_then(|end| Some((entity(&rest[1..=end])?, end + 2)));
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

fn entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        "nbsp" => Some('\u{a0}'),
        _ => {
            let number = name.strip_prefix('#')?;
            let code = match number.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => number.parse().ok()?,
            };
            char::from_u32(code).filter(|&c| c != '\0')
        }
    }
}

/// Isso's Markdown as HTML. Isso renders with misaka (strikethrough,
/// superscript, autolink, fenced code) and keeps raw HTML for its sanitizer;
/// CommonMark with strikethrough is the nearest, and raw HTML is likewise
/// left to moderato's sanitizer.
pub(crate) fn markdown_to_html(markdown: &str) -> String {
    use pulldown_cmark::{Options, Parser, html};
    let parser = Parser::new_ext(markdown, Options::ENABLE_STRIKETHROUGH);
    let mut out = String::with_capacity(markdown.len() + markdown.len() / 4);
    html::push_html(&mut out, parser);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_keys_are_the_path_and_query_of_the_link() {
        let cases = [
            ("https://blog.example/2020/01/grief/", "/2020/01/grief/"),
            ("http://blog.example/?p=4", "/?p=4"),
            (
                "http://blog.example/?page_id=2&lang=fr#comments",
                "/?page_id=2&lang=fr",
            ),
            ("http://blog.example", "/"),
            ("https://blog.example/caf\u{e9}/", "/caf%C3%A9/"),
            ("/already/a/path/", "/already/a/path/"),
        ];
        for (link, key) in cases {
            assert_eq!(page_key(link).as_deref(), Ok(key), "{link}");
        }
        assert!(page_key("").is_err());
        assert!(page_key("not a url").is_err());
    }

    #[test]
    fn wordpress_dates_read_as_utc_and_the_zero_date_is_none() {
        assert_eq!(wp_datetime("2021-03-04 05:06:07"), Some(1_614_834_367_000));
        assert_eq!(wp_datetime("0000-00-00 00:00:00"), None);
        assert_eq!(wp_datetime("2021-02-30 00:00:00"), None);
        assert_eq!(wp_datetime("yesterday"), None);
    }

    #[test]
    fn disqus_and_isso_times() {
        assert_eq!(rfc3339("2013-10-10T19:20:29Z"), Some(1_381_432_829_000));
        assert_eq!(float_seconds(1_381_432_829.25), Some(1_381_432_829_250));
        assert_eq!(float_seconds(f64::NAN), None);
        assert_eq!(float_seconds(-1.0), None);
    }

    #[test]
    fn wordpress_names_lose_their_entities() {
        assert_eq!(decode_entities("Tom &amp; Jerry"), "Tom & Jerry");
        assert_eq!(
            decode_entities("O&#039;Brien &#x1F600;"),
            "O'Brien \u{1F600}"
        );
        assert_eq!(decode_entities("AT&T & co &bogus;"), "AT&T & co &bogus;");
    }

    #[test]
    fn markdown_becomes_html() {
        assert_eq!(
            markdown_to_html("Hello *you*\n\n~~no~~"),
            "<p>Hello <em>you</em></p>\n<p><del>no</del></p>\n"
        );
    }
}

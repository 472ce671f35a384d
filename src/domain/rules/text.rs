//! Text measurements that rules share: link extraction (with hosts), the
//! share of capital letters, and the share of letters per writing system.
//!
//! Everything here works on already normalized or decoded text and does no
//! I/O; the link pattern is compiled once per [`LinkFinder`], which lives in
//! the compiled rule set.

use regex::Regex;

/// Top-level domains that count as a link even without `http://` or `www.`
/// (`bit.ly/abc`, `mysite.com`). Kept short on purpose: a longer list turns
/// file names and abbreviations (`node.js`, `e.g`) into links.
const BARE_TLDS: &str = "com|net|org|info|biz|io|co|ly|me|ru|cn|in|us|uk|de|fr|nl|pl|br|es|it|\
                         be|eu|ca|au|tk|ml|ga|cf|gq|pw|cc|tv|ws|xyz|top|online|site|club|pro|\
                         shop|store|live|link|click|win|bid|loan|icu|vip|app";

/// Finds links in normalized (lowercase) text: `http(s)://` and `www.`
/// addresses, bare domains with a common TLD, and so the targets of
/// `<a href>` and BBCode `[url]` links, which always hold one of these.
#[derive(Debug, Clone)]
pub struct LinkFinder {
    pattern: Regex,
}

/// One link found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The link as written, trailing punctuation removed.
    pub text: String,
    /// Its host name, lowercase, without port.
    pub host: String,
    /// Byte ranges of its occurrences in the searched text.
    pub spans: Vec<(usize, usize)>,
}

impl LinkFinder {
    /// Compiles the link pattern.
    ///
    /// # Panics
    /// Never in practice: the pattern is a constant covered by tests.
    pub fn new() -> Self {
        let pattern = format!(
            r#"(?x)
            (?:https?|ftp)://[^\s<>"'\[\]]+
            | www\d{{0,3}}\.[^\s<>"'\[\]]+
            | \b[a-z0-9](?:[a-z0-9-]{{0,62}}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{{0,62}}[a-z0-9])?)*
              \.(?:{BARE_TLDS})\b(?:/[^\s<>"'\[\]]*)?"#
        );
        let pattern = Regex::new(&pattern).expect("the link pattern is a tested constant");
        LinkFinder { pattern }
    }

    /// Returns the distinct links of `text` in order of appearance. A link
    /// written twice (`<a href="x">x</a>`) counts once. A domain right after
    /// `@` is an email address, not a link.
    pub fn find(&self, text: &str) -> Vec<Link> {
        let mut links: Vec<Link> = Vec::new();
        for m in self.pattern.find_iter(text) {
            if text[..m.start()].ends_with('@') {
                continue;
            }
            let link = m
                .as_str()
                .trim_end_matches(['.', ',', ')', '!', '?', ';', ':']);
            let span = (m.start(), m.start() + link.len());
            if link.is_empty() {
                continue;
            }
            if let Some(seen) = links.iter_mut().find(|l| l.text == link) {
                seen.spans.push(span);
                continue;
            }
            links.push(Link {
                text: link.to_owned(),
                host: host_of(link),
                spans: vec![span],
            });
        }
        links
    }
}

impl Default for LinkFinder {
    fn default() -> Self {
        Self::new()
    }
}

/// The host of a URL or bare domain: scheme, user info, port and path removed.
pub fn host_of(link: &str) -> String {
    let rest = link.split_once("://").map_or(link, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    let host = host.split(':').next().unwrap_or_default();
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// Counts the words of `text` outside links, HTML tags and BBCode tags,
/// stopping once the count passes `limit` (a long comment is not "only a
/// link", and need not be scanned to the end to know it).
pub fn words_outside_links(text: &str, links: &[Link], limit: usize) -> usize {
    let mut words = 0;
    let mut in_word = false;
    let mut close = None;
    let mut i = 0;
    let bytes = text.len();
    while i < bytes {
        if let Some(&(_, end)) = links.iter().flat_map(|l| &l.spans).find(|sp| sp.0 == i) {
            i = end;
            in_word = false;
            continue;
        }
        let Some(c) = text[i..].chars().next() else {
            break;
        };
        i += c.len_utf8();
        match (close, c) {
            (None, '<') => close = Some('>'),
            (None, '[') => close = Some(']'),
            (Some(end), c) if c == end => close = None,
            (Some(_), _) => {}
            (None, c) if c.is_alphanumeric() => {
                if !in_word && c.is_alphabetic() {
                    words += 1;
                    if words > limit {
                        return words;
                    }
                }
                in_word = true;
            }
            (None, _) => in_word = false,
        }
    }
    words
}

/// Letter counts of a text: all letters, and the capitals among them.
pub fn caps_share(text: &str) -> (usize, usize) {
    if text.is_ascii() {
        let letters = text.bytes().filter(u8::is_ascii_alphabetic).count();
        let upper = text.bytes().filter(u8::is_ascii_uppercase).count();
        return (letters, upper);
    }
    let mut letters = 0;
    let mut upper = 0;
    for c in text.chars().filter(|c| c.is_alphabetic()) {
        letters += 1;
        if c.is_uppercase() {
            upper += 1;
        }
    }
    (letters, upper)
}

/// The writing systems the `script` rule knows. Letters of any other script
/// count as `Other`, which is never allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    /// Latin, including its accented and extended letters.
    Latin,
    /// Cyrillic (Russian, Ukrainian, Bulgarian, Serbian…).
    Cyrillic,
    /// Greek.
    Greek,
    /// Armenian.
    Armenian,
    /// Hebrew.
    Hebrew,
    /// Arabic (also Persian, Urdu).
    Arabic,
    /// Devanagari and the other Indic scripts.
    Indic,
    /// Thai and Lao.
    Thai,
    /// Georgian.
    Georgian,
    /// Chinese characters (Han).
    Han,
    /// Japanese kana.
    Kana,
    /// Korean Hangul.
    Hangul,
    /// Any other letter.
    Other,
}

impl Script {
    /// Parses a script name as written in a rule file.
    pub fn parse(name: &str) -> Option<Script> {
        Some(match name {
            "latin" => Script::Latin,
            "cyrillic" => Script::Cyrillic,
            "greek" => Script::Greek,
            "armenian" => Script::Armenian,
            "hebrew" => Script::Hebrew,
            "arabic" => Script::Arabic,
            "indic" => Script::Indic,
            "thai" => Script::Thai,
            "georgian" => Script::Georgian,
            "han" => Script::Han,
            "kana" => Script::Kana,
            "hangul" => Script::Hangul,
            _ => return None,
        })
    }

    /// The script of a letter (callers pass only `is_alphabetic` chars).
    pub fn of(c: char) -> Script {
        match c as u32 {
            0x0041..=0x024F | 0x1E00..=0x1EFF | 0x2C60..=0x2C7F | 0xA720..=0xA7FF => Script::Latin,
            0x0250..=0x02AF => Script::Latin,
            0x0370..=0x03FF | 0x1F00..=0x1FFF => Script::Greek,
            0x0400..=0x052F | 0x1C80..=0x1C8F | 0x2DE0..=0x2DFF | 0xA640..=0xA69F => {
                Script::Cyrillic
            }
            0x0530..=0x058F => Script::Armenian,
            0x0590..=0x05FF => Script::Hebrew,
            0x0600..=0x06FF | 0x0750..=0x077F | 0x08A0..=0x08FF | 0xFB50..=0xFDFF => Script::Arabic,
            0xFE70..=0xFEFF => Script::Arabic,
            0x0900..=0x0DFF => Script::Indic,
            0x0E00..=0x0EFF => Script::Thai,
            0x10A0..=0x10FF => Script::Georgian,
            0x3040..=0x30FF | 0x31F0..=0x31FF => Script::Kana,
            0x1100..=0x11FF | 0x3130..=0x318F | 0xAC00..=0xD7AF => Script::Hangul,
            0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FFFF => Script::Han,
            _ => Script::Other,
        }
    }
}

/// Counts the letters of `text`, and those not written in an `allowed` script.
pub fn foreign_letters(text: &str, allowed: &[Script]) -> (usize, usize) {
    if text.is_ascii() {
        let letters = text.bytes().filter(u8::is_ascii_alphabetic).count();
        let foreign = if allowed.contains(&Script::Latin) {
            0
        } else {
            letters
        };
        return (letters, foreign);
    }
    let mut letters = 0;
    let mut foreign = 0;
    for c in text.chars().filter(|c| c.is_alphabetic()) {
        letters += 1;
        if !allowed.contains(&Script::of(c)) {
            foreign += 1;
        }
    }
    (letters, foreign)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_found_counted_once_and_hosted() {
        let finder = LinkFinder::new();
        let cases: &[(&str, &str, &[&str])] = &[
            (
                "plain https",
                "see https://a.example.com/x?y=1.",
                &["a.example.com"],
            ),
            ("www", "visit www.shop.net today", &["www.shop.net"]),
            ("bare domain with path", "go bit.ly/abc now", &["bit.ly"]),
            (
                "anchor tag counts once",
                r#"<a href="http://x.org/p">http://x.org/p</a>"#,
                &["x.org"],
            ),
            (
                "bbcode",
                "[url=http://pills.biz]cheap[/url] [url]https://b.com[/url]",
                &["pills.biz", "b.com"],
            ),
            ("email is not a link", "write to dr.ogun@gmail.com", &[]),
            (
                "file names are not links",
                "i use node.js and e.g. word.docx",
                &[],
            ),
            (
                "port and user info",
                "http://u@h.example:8080/x",
                &["h.example"],
            ),
        ];
        for (case, text, hosts) in cases {
            let got: Vec<String> = finder.find(text).into_iter().map(|l| l.host).collect();
            assert_eq!(&got, hosts, "case: {case}");
        }
    }

    #[test]
    fn words_outside_links_stop_counting_past_the_limit() {
        let finder = LinkFinder::new();
        let cases = [
            ("bare link", "https://bit.ly/x", 0),
            ("anchor", r#"<a href="http://x.com">http://x.com</a>"#, 0),
            ("bbcode", "[url=http://x.com]cheap pills[/url]", 2),
            ("sentence", "the nhs page https://nhs.uk helped me a lot", 3),
        ];
        for (case, text, want) in cases {
            let links = finder.find(text);
            assert_eq!(words_outside_links(text, &links, 2), want, "case: {case}");
        }
    }

    #[test]
    fn scripts_are_told_apart() {
        let latin = [Script::Latin];
        assert_eq!(foreign_letters("Hello, café!", &latin), (9, 0));
        assert_eq!(foreign_letters("Привет hi", &latin), (8, 6));
        assert_eq!(foreign_letters("你好 ok", &latin), (4, 2));
        assert_eq!(foreign_letters("😀 !!", &latin), (0, 0));
    }

    #[test]
    fn caps_counts_letters_only() {
        assert_eq!(caps_share("BUY NOW 100%!"), (6, 6));
        assert_eq!(caps_share("Hi there"), (7, 1));
    }
}

//! Feature extraction: one comment in, the keyed hashes of what it holds
//! out.
//!
//! Built on the rules' normalizer, so every spelling the rules undo
//! (entities, look-alike letters, invisible characters, full-width and
//! styled letters) gives the learner the same feature as the plain word;
//! spaced-out letters and leetspeak are undone on top (`tokens.rs`).
//!
//! Privacy: a feature is a 64-bit SipHash-2-4 of its namespace and its text
//! under a secret [`HashKey`], a pseudo-random function, so nothing derived
//! from [`Features::keys`] (a model, a ledger entry) holds a word, a domain or
//! a name, and without the key no dictionary can be tried against it. The
//! plain text of each feature is kept next to its hash only inside the
//! [`Features`] of the comment being scored, to explain the verdict; the
//! email domain is never kept in plain text, not even there.

use std::fmt;

use siphasher::sip::SipHasher24;

use super::feature_set::Sink;
pub use super::feature_set::{Features, MAX_FEATURES_PER_COMMENT};
use super::tokens::{self, Piece};
use crate::domain::rules::{LinkFinder, Script, decode_visible, fold, host_of, normalize};

/// The secret under which features are hashed. The caller derives it from
/// the master key, so a copied model is useless without the data directory
/// and no two installations share feature keys.
#[derive(Clone)]
pub struct HashKey([u8; 16]);

impl HashKey {
    /// Wraps 16 secret bytes.
    pub fn new(bytes: [u8; 16]) -> Self {
        HashKey(bytes)
    }
}

impl fmt::Debug for HashKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HashKey(..)")
    }
}

/// What a feature is about. Part of the hashed input, so the word `casino`
/// in a name and in the text are different features.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Namespace {
    /// A word of the text.
    Word = 1,
    /// Two adjacent words of the text.
    Pair = 2,
    /// A character n-gram of a script written without spaces.
    Chars = 3,
    /// The host of a link in the text.
    LinkHost = 4,
    /// The registrable domain of a link in the text.
    LinkDomain = 5,
    /// The host of the website field.
    SiteHost = 6,
    /// The registrable domain of the website field.
    SiteDomain = 7,
    /// A word inside a link or the website field (host labels, path).
    UrlWord = 8,
    /// A word of the author name.
    Name = 9,
    /// The domain of the reader's email address (never shown in plain text).
    EmailDomain = 10,
    /// The domain of an email address written in the text.
    TextMail = 11,
    /// A writing system the text uses.
    Script = 12,
    /// A property of the comment's form: link count, length, evasions,
    /// contact routes.
    Shape = 13,
}

/// One comment as the learner sees it.
#[derive(Debug, Clone, Copy)]
pub struct Comment<'a> {
    /// The name the reader gave.
    pub author: &'a str,
    /// The domain of the reader's email (see [`email_domain`]), taken before
    /// the email is encrypted; `""` when none.
    pub email_domain: &'a str,
    /// The website field, `""` when none.
    pub url: &'a str,
    /// The comment text as typed.
    pub text: &'a str,
}

/// The domain part of an email address, lowercase; `None` without an `@`.
pub fn email_domain(email: &str) -> Option<String> {
    let (_, domain) = email.trim().rsplit_once('@')?;
    let domain = domain.trim().trim_end_matches('.');
    (!domain.is_empty()).then(|| domain.to_ascii_lowercase())
}

/// Turns comments into [`Features`]. Holds the hash key and the compiled
/// link pattern; build it once and share it.
#[derive(Debug, Clone)]
pub struct Extractor {
    hasher: SipHasher24,
    links: LinkFinder,
}

impl Extractor {
    /// An extractor hashing under `key`.
    pub fn new(key: &HashKey) -> Self {
        Extractor {
            hasher: SipHasher24::new_with_key(&key.0),
            links: LinkFinder::new(),
        }
    }

    /// Extracts the features of a comment. Pure; about 23 µs for 1 KB
    /// (BENCHMARKS.md).
    pub fn extract(&self, comment: &Comment<'_>) -> Features {
        let mut sink = Sink::new(self.hasher, comment.text.len());
        self.text_features(comment.text, &mut sink);
        self.site_features(comment.url, &mut sink);
        for piece in tokens::pieces(&normalize(comment.author), &[]) {
            let _ = match piece {
                Piece::Word(w) | Piece::Short(w) | Piece::Spaceless(w) => {
                    sink.add(Namespace::Name, w)
                }
                Piece::Undone(w) => sink.add(Namespace::Name, &w),
                Piece::LongWord | Piece::LongNumber => sink.add(Namespace::Shape, "odd name"),
            };
        }
        if !comment.email_domain.is_empty() {
            sink.add_secret(Namespace::EmailDomain, comment.email_domain);
        }
        sink.finish()
    }

    fn text_features(&self, raw: &str, sink: &mut Sink) {
        let visible = decode_visible(raw);
        let text = fold(&visible);
        for shape in evasions(raw, &visible) {
            sink.add(Namespace::Shape, shape);
        }
        let links = self.links.find(&text);
        let mut spans: Vec<(usize, usize)> =
            links.iter().flat_map(|l| l.spans.iter().copied()).collect();
        spans.sort_unstable();
        sink.add(
            Namespace::Shape,
            match links.len() {
                0 => "no link",
                1 => "1 link",
                2 => "2 links",
                3 | 4 => "3-4 links",
                _ => "5+ links",
            },
        );
        for link in &links {
            let host = link.host.strip_prefix("www.").unwrap_or(&link.host);
            sink.add(Namespace::LinkHost, host);
            sink.add(Namespace::LinkDomain, tokens::registrable_domain(host));
            url_words(&link.text, sink);
        }
        let mut previous: Option<(u32, u32)> = None;
        for piece in tokens::pieces(&text, &spans) {
            let word = match piece {
                Piece::Word(w) => sink.add(Namespace::Word, w),
                Piece::Short(w) => sink.remember_only(w),
                Piece::Undone(w) => {
                    sink.add(Namespace::Shape, "disguised word");
                    sink.add(Namespace::Word, &w)
                }
                Piece::Spaceless(run) => {
                    char_grams(run, sink);
                    previous = None;
                    continue;
                }
                Piece::LongWord => sink.add(Namespace::Shape, "long word"),
                Piece::LongNumber => sink.add(Namespace::Shape, "long number"),
            };
            if let (Some(first), Some(second)) = (previous, word) {
                sink.add_pair(first, second);
            }
            previous = word.filter(|_| !sink.full());
        }
        let contacts = tokens::contacts(&text);
        for domain in contacts.mail_domains {
            sink.add(Namespace::Shape, "email address in the text");
            sink.add(Namespace::TextMail, domain);
        }
        if contacts.phone {
            sink.add(Namespace::Shape, "phone number");
        }
        if contacts.handle {
            sink.add(Namespace::Shape, "@handle");
        }
        scripts(&text, sink);
        sink.add(
            Namespace::Shape,
            match text.chars().count() {
                0..20 => "very short text",
                20..80 => "short text",
                80..400 => "medium text",
                _ => "long text",
            },
        );
        let (letters, upper) = visible
            .chars()
            .filter(|c| c.is_alphabetic())
            .fold((0usize, 0usize), |(l, u), c| {
                (l + 1, u + usize::from(c.is_uppercase()))
            });
        if letters >= 20 && upper * 2 > letters {
            sink.add(Namespace::Shape, "mostly capitals");
        }
    }

    fn site_features(&self, url: &str, sink: &mut Sink) {
        let url = normalize(url);
        if url.is_empty() {
            return;
        }
        let host = host_of(&url);
        let host = host.strip_prefix("www.").unwrap_or(&host);
        sink.add(Namespace::Shape, "website given");
        sink.add(Namespace::SiteHost, host);
        sink.add(Namespace::SiteDomain, tokens::registrable_domain(host));
        url_words(&url, sink);
    }
}

/// Words of a link: host labels but the last (the top-level domain says
/// little), and path and query words (`casino`, `bonus`, `ref`).
fn url_words(link: &str, sink: &mut Sink) {
    let rest = link.split_once("://").map_or(link, |(_, rest)| rest);
    let (host, path) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
    let host = host.rsplit_once('.').map_or(host, |(labels, _)| labels);
    for part in [host, path] {
        for piece in tokens::pieces(part, &[]) {
            if let Piece::Word(w) | Piece::Short(w) = piece
                && !matches!(w, "www" | "http" | "https" | "html" | "php")
            {
                sink.add(Namespace::UrlWord, w);
            }
        }
    }
}

/// Character bigrams and trigrams of a run of Han, kana or Thai, where
/// there are no spaces to find words by; a lone character is its own gram.
fn char_grams(run: &str, sink: &mut Sink) {
    let ends: Vec<usize> = run
        .char_indices()
        .map(|(i, _)| i)
        .chain([run.len()])
        .collect();
    let chars = ends.len() - 1;
    if chars == 1 {
        sink.add(Namespace::Chars, run);
        return;
    }
    for n in [2, 3] {
        for i in 0..chars.saturating_sub(n - 1) {
            sink.add(Namespace::Chars, &run[ends[i]..ends[i + n]]);
        }
    }
}

/// The writing systems holding at least a fifth of the letters, and whether
/// there are several.
fn scripts(text: &str, sink: &mut Sink) {
    if text.is_ascii() {
        if text.bytes().any(|b| b.is_ascii_alphabetic()) {
            sink.add(Namespace::Script, "latin");
        }
        return;
    }
    let mut counts: Vec<(Script, usize)> = Vec::new();
    let mut letters = 0;
    for c in text.chars().filter(|c| c.is_alphabetic()) {
        letters += 1;
        let script = Script::of(c);
        match counts.iter_mut().find(|(s, _)| *s == script) {
            Some((_, n)) => *n += 1,
            None => counts.push((script, 1)),
        }
    }
    let mut major = Vec::new();
    for (script, n) in counts {
        if n * 5 >= letters {
            major.push(script);
            sink.add(Namespace::Script, script_name(script));
        }
    }
    // Japanese is written in Han and kana at once: that is one language.
    major.retain(|s| *s != Script::Kana);
    if major.len() > 1 {
        sink.add(Namespace::Shape, "several scripts");
    }
}

fn script_name(script: Script) -> &'static str {
    match script {
        Script::Latin => "latin",
        Script::Cyrillic => "cyrillic",
        Script::Greek => "greek",
        Script::Armenian => "armenian",
        Script::Hebrew => "hebrew",
        Script::Arabic => "arabic",
        Script::Indic => "indic",
        Script::Thai => "thai",
        Script::Georgian => "georgian",
        Script::Han => "han",
        Script::Kana => "kana",
        Script::Hangul => "hangul",
        Script::Other => "other",
    }
}

/// Evasions the normalizer undid, seen by comparing what was typed with
/// what it decodes to: each is a strong sign of a bot, and a reader never
/// types them.
fn evasions(raw: &str, visible: &str) -> Vec<&'static str> {
    let mut found = Vec::new();
    if raw.contains("&#") {
        found.push("character references");
    }
    if raw.is_ascii() {
        return found;
    }
    let has = |f: fn(char) -> bool| raw.chars().any(f);
    if invisible_inside_a_word(raw) {
        found.push("invisible characters");
    }
    // Full-width letters and digits, mathematical and Roman-numeral letters;
    // not full-width punctuation, which Chinese and Japanese use normally.
    if has(|c| {
        matches!(c, '\u{FF10}'..='\u{FF19}' | '\u{FF21}'..='\u{FF3A}' | '\u{FF41}'..='\u{FF5A}'
            | '\u{1D400}'..='\u{1D7FF}' | '\u{2160}'..='\u{217F}')
    }) {
        found.push("styled letters");
    }
    if has(|c| {
        matches!(
            c,
            '\u{0336}' | '\u{0335}' | '\u{0334}' | '\u{20D0}'..='\u{20FF}'
        )
    }) {
        found.push("struck-through letters");
    }
    let mixed = visible.split(|c: char| !c.is_alphanumeric()).any(|word| {
        let latin = word.chars().any(|c| c.is_ascii_alphabetic());
        latin
            && word.chars().any(|c| {
                matches!(Script::of(c), Script::Cyrillic | Script::Greek) && c.is_alphabetic()
            })
    });
    if mixed {
        found.push("look-alike letters");
    }
    found
}

/// Whether an invisible character splits a word (`via\u{200B}gra`): that
/// hides the word from a keyword list. One before or after the text (the
/// byte-order mark some sites append to every comment) hides nothing.
fn invisible_inside_a_word(raw: &str) -> bool {
    let invisible = |c: char| matches!(c, '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{AD}');
    let (mut after_letter, mut pending) = (false, false);
    for c in raw.chars() {
        if invisible(c) {
            pending = true;
            continue;
        }
        let letter = c.is_alphanumeric();
        if pending && after_letter && letter {
            return true;
        }
        pending = false;
        after_letter = letter;
    }
    false
}

//! Splitting normalized text into the pieces features are made of: words
//! (with spaced-out and leetspeak spellings undone), runs of scripts written
//! without spaces, contact routes (email addresses, phone numbers, handles),
//! and the registrable domain of a host.
//!
//! Everything here works on the output of the rules' normalizer (lowercase,
//! entities decoded, look-alikes folded, whitespace collapsed) and borrows
//! from it; only undone spellings allocate.

use crate::domain::rules::Script;

/// Words longer than this are not words (hashes, run-together spam, base64);
/// they become the shape feature "long word" instead.
pub(super) const MAX_WORD_CHARS: usize = 24;

/// Digit runs longer than this are not kept as words (phone numbers, order
/// numbers, amounts): their exact value teaches nothing that generalizes.
const MAX_NUMBER_DIGITS: usize = 4;

/// At least this many single characters in a row, separated by one and the
/// same character, are a spaced-out word (`v.i.a.g.r.a`, `L O N E L Y`).
const MIN_SQUEEZE: usize = 3;

/// One piece of text the feature extractor turns into features.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Piece<'a> {
    /// A word as written (lowercase, at least two characters).
    Word(&'a str),
    /// A word recovered from an evasive spelling: spaced-out letters joined
    /// (`v.i.a.g.r.a` -> `viagra`) or leetspeak undone (`pr3scription`).
    Undone(String),
    /// A two-letter word (`my`, `in`, `ex`): too common to weigh alone,
    /// but it carries meaning in a pair (`my channel`, `my ex`).
    Short(&'a str),
    /// A run of a script written without spaces (Han, kana, Thai): the
    /// caller cuts it into character n-grams, since words fail there.
    Spaceless(&'a str),
    /// A word longer than [`MAX_WORD_CHARS`].
    LongWord,
    /// A number longer than [`MAX_NUMBER_DIGITS`] digits.
    LongNumber,
}

/// A maximal run of word characters in the text.
#[derive(Debug, Clone, Copy)]
struct Run {
    start: usize,
    end: usize,
    chars: usize,
    spaceless: bool,
}

/// True for letters of scripts that do not separate words by spaces.
fn is_spaceless(c: char) -> bool {
    c.is_alphabetic()
        && !c.is_ascii()
        && matches!(Script::of(c), Script::Han | Script::Kana | Script::Thai)
}

/// Cuts `text` into runs of alphanumeric characters, never across the byte
/// ranges of `skip` (links, which get their own features) and never across a
/// change between spaceless and spaced scripts (`100万円` -> `100`, `万円`).
fn runs(text: &str, skip: &[(usize, usize)]) -> Vec<Run> {
    let mut out = Vec::new();
    let mut current: Option<Run> = None;
    let mut skip = skip.iter().peekable();
    let mut iter = text.char_indices();
    while let Some((i, c)) = iter.next() {
        while skip.peek().is_some_and(|&&(_, end)| end <= i) {
            skip.next();
        }
        if let Some(&&(start, end)) = skip.peek()
            && start <= i
        {
            out.extend(current.take());
            // Jump past the link; `end` is a char boundary of `text`.
            while iter.offset() < end {
                iter.next();
            }
            continue;
        }
        let word_char = c.is_alphanumeric() || matches!(c, '\'' | '’') && current.is_some();
        if !word_char {
            out.extend(current.take());
            continue;
        }
        let spaceless = is_spaceless(c);
        match &mut current {
            Some(run) if run.spaceless == spaceless => {
                run.end = i + c.len_utf8();
                run.chars += 1;
            }
            _ => {
                out.extend(current.take());
                current = Some(Run {
                    start: i,
                    end: i + c.len_utf8(),
                    chars: 1,
                    spaceless,
                });
            }
        }
    }
    out.extend(current);
    // An apostrophe only joins letters: `don't` stays, `dogs'` loses it.
    for run in &mut out {
        while run.chars > 1 && text[..run.end].ends_with(['\'', '’']) {
            let last = text[..run.end]
                .chars()
                .next_back()
                .map_or(1, char::len_utf8);
            run.end -= last;
            run.chars -= 1;
        }
    }
    out
}

/// Splits normalized text into pieces, in order.
pub(super) fn pieces<'a>(text: &'a str, skip: &[(usize, usize)]) -> Vec<Piece<'a>> {
    let runs = runs(text, skip);
    let mut out = Vec::with_capacity(runs.len() + 4);
    let mut i = 0;
    while i < runs.len() {
        let run = runs[i];
        if run.chars == 1 && !run.spaceless {
            let len = squeeze_len(text, &runs[i..]);
            if len >= MIN_SQUEEZE {
                let word: String = runs[i..i + len]
                    .iter()
                    .map(|r| &text[r.start..r.end])
                    .collect();
                out.push(Piece::Undone(word));
                i += len;
                continue;
            }
        }
        let word = &text[run.start..run.end];
        i += 1;
        if run.spaceless {
            out.push(Piece::Spaceless(word));
        } else if word.bytes().all(|b| b.is_ascii_digit()) {
            if run.chars > MAX_NUMBER_DIGITS {
                out.push(Piece::LongNumber);
            } else {
                out.push(Piece::Word(word));
            }
        } else if run.chars > MAX_WORD_CHARS {
            out.push(Piece::LongWord);
        } else if run.chars == 2 {
            out.push(Piece::Short(word));
        } else if run.chars >= 3 {
            out.push(Piece::Word(word));
            if let Some(plain) = deleet(word) {
                out.push(Piece::Undone(plain));
            }
        }
    }
    out
}

/// How many single-character runs from the start of `runs` are separated by
/// exactly one and the same character (`v.i.a`, `l o n`); 0 or 1 when none.
fn squeeze_len(text: &str, runs: &[Run]) -> usize {
    let mut gap: Option<&str> = None;
    let mut len = 1;
    for pair in runs.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if b.chars != 1 || b.spaceless {
            break;
        }
        let between = &text[a.end..b.start];
        if between.chars().count() != 1 || gap.is_some_and(|g| g != between) {
            break;
        }
        gap = Some(between);
        len += 1;
    }
    len
}

/// Undoes leetspeak: digits standing for letters inside a word
/// (`s1ngles`, `pr3scription`, `m33t`). Only digits between letters count,
/// so `100mg`, `24h`, `mp3` and `covid19` stay as written.
pub(super) fn deleet(word: &str) -> Option<String> {
    let bytes = word.as_bytes();
    if !bytes.iter().any(u8::is_ascii_digit) || !bytes.iter().any(u8::is_ascii_alphabetic) {
        return None;
    }
    let leet = |b: u8| match b {
        b'0' => Some('o'),
        b'1' => Some('i'),
        b'3' => Some('e'),
        b'4' => Some('a'),
        b'5' => Some('s'),
        b'7' => Some('t'),
        _ => None,
    };
    let mut out = String::with_capacity(word.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !b.is_ascii_digit() {
            out.push(char::from(b));
            i += 1;
            continue;
        }
        let end = i + bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        let letter_before = i > 0 && bytes[i - 1].is_ascii_alphabetic();
        let letter_after = bytes.get(end).is_some_and(u8::is_ascii_alphabetic);
        if !(letter_before && letter_after) {
            return None;
        }
        for &d in &bytes[i..end] {
            out.push(leet(d)?);
        }
        i = end;
    }
    // Non-ASCII words never get here with digits between ASCII letters only
    // partly rewritten: any non-ASCII byte was pushed as a lone char above,
    // so give up on them rather than produce garbage.
    word.is_ascii().then_some(out)
}

/// Ways to reach the commenter that the text itself holds.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Contacts<'a> {
    /// Domains of email addresses written in the text.
    pub mail_domains: Vec<&'a str>,
    /// At least one phone number (eight digits or more).
    pub phone: bool,
    /// At least one `@handle` (Telegram, Instagram) that is not an address.
    pub handle: bool,
}

/// Finds email addresses, phone numbers and handles in normalized text.
pub(super) fn contacts(text: &str) -> Contacts<'_> {
    let mut found = Contacts::default();
    let bytes = text.as_bytes();
    for (at, _) in text.match_indices('@') {
        let before = bytes[..at].last().copied();
        let after: &str = &text[at + 1..];
        let name_len = after
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
            .count();
        let name = after[..name_len].trim_end_matches(['.', '-', '_']);
        if before.is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')) {
            if name.contains('.') && !found.mail_domains.contains(&name) {
                found.mail_domains.push(name);
            }
        } else if name.len() >= 3 {
            found.handle = true;
        }
    }
    let mut digits = 0;
    for b in bytes {
        match b {
            b'0'..=b'9' => {
                digits += 1;
                if digits >= 8 {
                    found.phone = true;
                    break;
                }
            }
            b' ' | b'-' | b'(' | b')' | b'+' | b'.' => {}
            _ => digits = 0,
        }
    }
    found
}

/// Second-level labels under which two-letter country domains register
/// (`example.co.uk`, `site.com.au`).
const SECOND_LEVELS: &[&str] = &[
    "co", "com", "net", "org", "ac", "gov", "edu", "ltd", "plc", "ne", "or", "go",
];

/// The registrable part of a host: the last two labels, or three under a
/// country code's second level (`a.b.example.co.uk` -> `example.co.uk`).
///
/// A heuristic, not the Public Suffix List: it groups the hosts of one site
/// for the "domain" feature, and the exact host is a feature of its own, so
/// a wrong grouping (private suffixes such as hosting platforms) costs a
/// little generalization, never a missed host. That is not worth compiling
/// the whole list into every build.
pub(super) fn registrable_domain(host: &str) -> &str {
    let host = host.trim_end_matches('.');
    let mut dots = host.rmatch_indices('.').map(|(i, _)| i);
    let Some(last) = dots.next() else {
        return host;
    };
    let second = dots.next();
    let two = second.map_or(0, |i| i + 1);
    let country = host.len() - last - 1 == 2;
    if country && second.is_some() && SECOND_LEVELS.contains(&&host[two..last]) {
        return &host[dots.next().map_or(0, |i| i + 1)..];
    }
    &host[two..]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        pieces(text, &[])
            .into_iter()
            .map(|p| match p {
                Piece::Word(w) => w.to_owned(),
                Piece::Short(w) => format!("-{w}"),
                Piece::Undone(w) => format!("+{w}"),
                Piece::Spaceless(w) => format!("~{w}"),
                Piece::LongWord => "<long>".to_owned(),
                Piece::LongNumber => "<number>".to_owned(),
            })
            .collect()
    }

    #[test]
    fn pieces_undo_spaced_and_leet_spellings() {
        let cases: &[(&str, &str, &[&str])] = &[
            ("plain", "buy viagra now", &["buy", "viagra", "now"]),
            ("dots", "buy v.i.a.g.r.a now", &["buy", "+viagra", "now"]),
            ("spaces", "l o n e l y ?", &["+lonely"]),
            (
                "mixed gaps stop",
                "h-i-r-e a h-a-c-k-e-r",
                &["+hire", "+hacker"],
            ),
            (
                "leet",
                "h0t s1ngles",
                &["h0t", "+hot", "s1ngles", "+singles"],
            ),
            ("units stay", "100mg 24h mp3", &["100mg", "24h", "mp3"]),
            (
                "apostrophes",
                "don't the dogs' bowl",
                &["don't", "the", "dogs", "bowl"],
            ),
            (
                "numbers",
                "call 988 or 5550123456",
                &["call", "988", "-or", "<number>"],
            ),
            (
                "spaceless",
                "代写论文 100万円",
                &["~代写论文", "100", "~万円"],
            ),
            ("single letters dropped", "a b or i", &["-or"]),
            ("short words", "my ex is", &["-my", "-ex", "-is"]),
        ];
        for (case, text, want) in cases {
            assert_eq!(words(text), *want, "case: {case}");
        }
    }

    #[test]
    fn links_are_skipped() {
        let text = "see http://x.test/a now";
        let got: Vec<_> = pieces(text, &[(4, 19)]);
        assert_eq!(got, vec![Piece::Word("see"), Piece::Word("now")]);
    }

    #[test]
    fn contacts_are_found() {
        let c = contacts("mail drokoro@quickmail.test or telegram @fx_king, +234 805 555 0119");
        assert_eq!(c.mail_domains, vec!["quickmail.test"]);
        assert!(c.handle && c.phone);
        let none = contacts("i was 35 in 2019, @ home");
        assert_eq!(none, Contacts::default());
    }

    #[test]
    fn registrable_domains() {
        let cases = [
            ("meet.discreet-encounters.test", "discreet-encounters.test"),
            ("a.b.example.co.uk", "example.co.uk"),
            ("example.co.uk", "example.co.uk"),
            ("co.uk", "co.uk"),
            ("localhost", "localhost"),
            ("www.x.example", "x.example"),
        ];
        for (host, want) in cases {
            assert_eq!(registrable_domain(host), want, "host: {host}");
        }
    }
}

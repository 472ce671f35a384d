//! Evasion normalization: turns what a reader (or a spammer) typed into the
//! text that rules match against.
//!
//! Spammers dodge keyword lists with HTML entities (`v&#105;agra`),
//! compatibility characters (`ⅴiagra`, full-width `ｖｉａｇｒａ`), invisible
//! characters (`via\u{200B}gra`) and look-alike letters from other scripts
//! (`viаgrа` with Cyrillic `а`). [`normalize`] undoes all of these so one
//! list entry catches every spelling. It must stay pure and allocation-light:
//! it runs on every comment, on every field, and for duplicate detection.
//!
//! Look-alike letters come from Unicode's confusables table (see
//! [`fold_lookalike`]). Entities are decoded by a small decoder here rather
//! than a crate: only numeric references and a handful of named ones are used
//! to hide words, and the full HTML5 table (2,000+ names) would add a
//! dependency for nothing.

use unicode_normalization::{IsNormalized, UnicodeNormalization};
use unicode_security::confusable_detection::skeleton;

/// Returns the text rules match against: HTML entities decoded, Unicode NFKC,
/// invisible characters and stray combining marks removed, look-alike letters
/// folded to Latin inside words that mix scripts, lowercased, and runs of
/// whitespace collapsed to one space (trimmed).
///
/// Look-alikes are folded only inside words that also contain a Latin letter,
/// so a comment written wholly in Cyrillic or Greek keeps its script (the
/// `script` rule needs to see it) while `viаgrа` becomes `viagra`.
pub fn normalize(text: &str) -> String {
    fold(&decode_visible(text))
}

/// The second half of [`normalize`], for callers that already hold the
/// [`decode_visible`] form (the rule engine needs both and decodes once).
pub fn fold(visible: &str) -> String {
    let mut out = String::with_capacity(visible.len());
    if visible.is_ascii() {
        // Fast path for the common case: no look-alikes, ASCII lowercase.
        for b in visible.bytes() {
            if b.is_ascii_whitespace() {
                if !out.is_empty() && !out.ends_with(' ') {
                    out.push(' ');
                }
            } else {
                out.push(char::from(b.to_ascii_lowercase()));
            }
        }
    } else {
        let mut word = String::new();
        // Lowercasing can make a combining mark (`İ` -> `i` + U+0307): drop
        // it as decode_visible drops the others, or normalizing the result
        // again would give another text (found by a property test).
        for c in visible
            .chars()
            .flat_map(char::to_lowercase)
            .filter(|c| !is_stray_mark(*c))
        {
            if c.is_alphanumeric() {
                word.push(c);
                continue;
            }
            flush_word(&mut word, &mut out);
            if c.is_whitespace() {
                if !out.is_empty() && !out.ends_with(' ') {
                    out.push(' ');
                }
            } else {
                out.push(c);
            }
        }
        flush_word(&mut word, &mut out);
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// Returns the text as a reader sees it rendered: entities decoded, NFKC,
/// invisible characters removed, case and scripts kept. The `caps` and
/// `script` rules measure this form, since lowercasing or folding would erase
/// exactly what they look for.
pub fn decode_visible(text: &str) -> String {
    let decoded = decode_entities(text);
    if decoded.is_ascii() {
        // ASCII is already NFKC and holds no invisible characters except
        // controls, which matchers treat like any other character.
        return decoded;
    }
    let keep = |c: &char| !is_invisible(*c) && !is_stray_mark(*c);
    // Most text is already NFKC; the quick check skips the costly rewrite.
    if unicode_normalization::is_nfkc_quick(decoded.chars()) == IsNormalized::Yes {
        return decoded.chars().filter(keep).collect();
    }
    decoded.nfkc().filter(keep).collect()
}

/// Appends `word` to `out`, folding look-alikes when the word mixes a Latin
/// letter with letters of another script.
fn flush_word(word: &mut String, out: &mut String) {
    if word.is_empty() {
        return;
    }
    let has_latin = word.chars().any(|c| c.is_ascii_alphabetic());
    if has_latin && word.chars().any(|c| fold_lookalike(c).is_some()) {
        out.extend(word.chars().map(|c| fold_lookalike(c).unwrap_or(c)));
    } else {
        out.push_str(word);
    }
    word.clear();
}

/// The Latin letter a character of another script renders like, from
/// Unicode's confusables table (UTS #39, via `unicode-security`, the table
/// rustc's mixed-script lint uses) rather than a list of our own. A
/// lowercase letter whose prototype is a small capital (Cyrillic `в` -> `ʙ`)
/// is looked up by its capital (`В` -> `B`); accents the prototype keeps are
/// dropped (`ё` -> `e`).
fn fold_lookalike(c: char) -> Option<char> {
    if c.is_ascii() {
        return None;
    }
    let latin = |text: &str| {
        let mut letters = skeleton(text).filter(|c| !is_stray_mark(*c));
        match (letters.next(), letters.next()) {
            (Some(l), None) if l.is_ascii_alphabetic() => Some(l.to_ascii_lowercase()),
            _ => None,
        }
    };
    let mut buf = [0u8; 4];
    latin(c.encode_utf8(&mut buf)).or_else(|| latin(&c.to_uppercase().collect::<String>()))
}

/// Zero-width, soft hyphen, bidi controls and the BOM: they change nothing a
/// reader sees but split words apart for a matcher.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}' | '\u{3164}' | '\u{FEFF}'
        | '\u{FFA0}' | '\u{FE00}'..='\u{FE0F}')
}

/// Combining diacritics left over after NFKC (no precomposed form exists),
/// as used for strike-through or "zalgo" spellings like `v̶i̶a̶g̶r̶a̶`.
fn is_stray_mark(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}' | '\u{20D0}'..='\u{20FF}')
}

/// Decodes numeric character references (`&#105;`, `&#x69;`, semicolon
/// optional as browsers allow) and the named entities seen in real comments.
/// Unknown or malformed references are kept as typed.
pub fn decode_entities(text: &str) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find('&') {
        out.push_str(&rest[..pos]);
        rest = &rest[pos..];
        match decode_one(rest) {
            Some((c, used)) => {
                out.push(c);
                rest = &rest[used..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Decodes the reference at the start of `s` (which starts with `&`),
/// returning the character and the number of bytes consumed.
fn decode_one(s: &str) -> Option<(char, usize)> {
    let body = &s[1..];
    if let Some(num) = body.strip_prefix('#') {
        let (digits, radix, skip) = match num.strip_prefix(['x', 'X']) {
            Some(hex) => (hex, 16, 3),
            None => (num, 10, 2),
        };
        let len = digits
            .bytes()
            .take(8)
            .take_while(|b| (*b as char).is_digit(radix))
            .count();
        if len == 0 {
            return None;
        }
        let value = u32::from_str_radix(&digits[..len], radix).ok()?;
        let c = char::from_u32(value).filter(|&c| c != '\0')?;
        let semi = usize::from(digits[len..].starts_with(';'));
        return Some((c, skip + len + semi));
    }
    let end = body.bytes().take(10).position(|b| b == b';')?;
    let c = match &body[..end] {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{A0}',
        "shy" => '\u{AD}',
        "zwj" => '\u{200D}',
        "zwnj" => '\u{200C}',
        "lrm" => '\u{200E}',
        "rlm" => '\u{200F}',
        "ndash" => '–',
        "mdash" => '—',
        "hellip" => '…',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "laquo" => '«',
        "raquo" => '»',
        "middot" => '·',
        "bull" => '•',
        "euro" => '€',
        "pound" => '£',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        _ => return None,
    };
    Some((c, end + 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evasions_normalize_to_the_plain_word() {
        let cases = [
            ("roman numeral and cyrillic", "ⅴiаgrа", "viagra"),
            ("decimal entity", "v&#105;agra", "viagra"),
            ("hex entity", "v&#x69;agra", "viagra"),
            ("decimal entity without semicolon", "v&#105agra", "viagra"),
            ("full-width", "ＶＩＡＧＲＡ", "viagra"),
            ("zero-width space", "via\u{200B}gra", "viagra"),
            ("soft hyphen entity", "via&shy;gra", "viagra"),
            ("mathematical bold", "𝐯𝐢𝐚𝐠𝐫𝐚", "viagra"),
            ("strike-through marks", "v\u{336}i\u{336}agra", "viagra"),
            ("greek omicron", "cαsinο", "casino"),
            ("byte order mark", "great song\u{FEFF}", "great song"),
            ("whitespace runs", "  Buy \n\t NOW  ", "buy now"),
            ("named entities", "Tom &amp; Jerry&#39;s", "tom & jerry's"),
        ];
        for (case, input, want) in cases {
            assert_eq!(normalize(input), want, "case: {case}");
        }
    }

    #[test]
    fn whole_words_in_another_script_keep_their_script() {
        let cases = [
            ("russian word", "Привет как дела", "привет как дела"),
            ("greek word", "Καλημέρα", "καλημέρα"),
            ("mixed sentence", "Hello Мир", "hello мир"),
        ];
        for (case, input, want) in cases {
            assert_eq!(normalize(input), want, "case: {case}");
        }
    }

    #[test]
    fn malformed_entities_are_kept_as_typed() {
        let cases = [
            ("bare ampersand", "fish & chips", "fish & chips"),
            ("unknown name", "&bogus; x", "&bogus; x"),
            ("no digits", "&#;", "&#;"),
            ("nul", "&#0;", "&#0;"),
            ("out of range", "&#x110000;", "&#x110000;"),
            ("trailing ampersand", "a&", "a&"),
        ];
        for (case, input, want) in cases {
            assert_eq!(decode_entities(input), want, "case: {case}");
        }
    }

    #[test]
    fn visible_form_keeps_case_and_script() {
        assert_eq!(decode_visible("HEY&#33; Мир\u{200B}"), "HEY! Мир");
    }
}

//! Property test of the rules' normalizer: normalizing twice gives what
//! normalizing once gave, whatever the text (the rules, the duplicate
//! fingerprints and `text_seen` all rely on one normal form).
//!
//! One exception, by design: HTML entities are decoded once, as the
//! reader's browser decodes them, so a double-encoded `&amp;lt;` normalizes
//! to `&lt;` (what the reader sees), which would decode again. The property
//! holds for every text whose normal form has no entity left in it.

use proptest::prelude::*;

use super::normalize::normalize;

/// Characters the normalizer treats specially: entities, look-alikes,
/// invisible and combining characters, compatibility forms, whitespace.
const PIECES: &[&str] = &[
    "&amp;", "&lt;", "&#x61;", "&#97;", "&nbsp;", "&", ";", "#", "а", "е", "о", "р", "с", "ѕ", "ν",
    "ο", "\u{200b}", "\u{200d}", "\u{feff}", "\u{301}", "\u{308}", "ﬁ", "Ⅷ", "①", "ＡＢ", "ß", "İ",
    "Σ", " ", "\t", "\n", "\u{a0}", "\u{3000}", "v", "i", "A", "g", "r", "Viagra", "x", "amp;",
    "lt;",
];

fn tricky() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        prop::collection::vec(prop::sample::select(PIECES), 0..40).prop_map(|p| p.concat()),
    ]
}

#[test]
fn entities_are_decoded_exactly_once_as_a_browser_does() {
    assert_eq!(normalize("&amp;lt;b&amp;gt;"), "&lt;b&gt;");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn normalize_is_idempotent(text in tricky()) {
        let once = normalize(&text);
        if !once.contains('&') {
            prop_assert_eq!(normalize(&once), once.clone(), "normalizing {:?} twice", text);
        }
    }
}

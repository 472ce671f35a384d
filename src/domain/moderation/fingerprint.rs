//! The one place fingerprints are computed: keyed hashes of normalized
//! text that let the store refuse a duplicate in the transaction that
//! would store it, without keeping any readable text in its indexes.
//!
//! Intake, the author's replies, imports, erasure and `moderato check
//! --repair` all call these, so an index entry written by one path is found
//! by every other.

use crate::domain::comment::{Comment, CommentId};
use crate::domain::ports::Fingerprints;
use crate::domain::privacy::{EmailKey, Privacy};
use crate::domain::rules;

/// The fingerprints of a reader's comment: by this commenter on this page,
/// and by anyone.
pub fn of_reader_text(privacy: &Privacy, email: EmailKey, page: &str, text: &str) -> Fingerprints {
    let normalized = rules::normalize(text);
    Fingerprints {
        commenter_text: commenter_text(privacy, email, page, &normalized),
        text: privacy.text_fingerprint(&[b"text", normalized.as_bytes()]),
    }
}

/// The duplicate fingerprint of a stored comment, as it was computed when
/// the comment arrived: [`of_author_reply`] for the author's replies,
/// [`of_reader_text`]'s commenter + page + text otherwise.
pub fn of_stored(privacy: &Privacy, comment: &Comment) -> [u8; 32] {
    if comment.by_author
        && let Some(parent) = comment.parent
    {
        return of_author_reply(privacy, parent, &comment.text);
    }
    commenter_text(
        privacy,
        comment.email_key(),
        &comment.page,
        &rules::normalize(&comment.text),
    )
}

/// The fingerprint that refuses the same reply of the author twice under
/// one parent (a double click).
pub fn of_author_reply(privacy: &Privacy, parent: CommentId, text: &str) -> [u8; 32] {
    privacy.text_fingerprint(&[
        b"author-reply",
        &parent.to_bytes(),
        rules::normalize(text).as_bytes(),
    ])
}

fn commenter_text(
    privacy: &Privacy,
    email: EmailKey,
    page: &str,
    normalized_text: &str,
) -> [u8; 32] {
    privacy.text_fingerprint(&[
        b"commenter-page-text",
        &email.0,
        page.as_bytes(),
        normalized_text.as_bytes(),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_that_normalize_alike_share_a_fingerprint() {
        let privacy = Privacy::new(&[1u8; 32]);
        let key = privacy.email_key("ann@example.org");
        let plain = of_reader_text(&privacy, key, "/p/", "Thank you");
        let shouted = of_reader_text(&privacy, key, "/p/", "  THANK   you ");
        assert_eq!(plain, shouted);
        let elsewhere = of_reader_text(&privacy, key, "/q/", "Thank you");
        assert_ne!(plain.commenter_text, elsewhere.commenter_text);
        assert_eq!(plain.text, elsewhere.text, "the text alone is page-free");
    }
}

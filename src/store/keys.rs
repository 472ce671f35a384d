//! Tree names and key layouts. Every key that sorts by time ends in the
//! comment id's 16 big-endian bytes (a ULID), so a prefix scan returns a
//! page, a status or a commenter's comments oldest first.

use crate::domain::privacy::EmailKey;
use crate::domain::{CommentId, Status};

/// id -> JSON [`super::Comment`].
pub const COMMENTS: &str = "comments";
/// status tag ++ id -> empty.
pub const BY_STATUS: &str = "by_status";
/// page ++ 0x00 ++ status tag ++ id -> empty.
pub const BY_PAGE: &str = "by_page";
/// email key (32 bytes) ++ id -> status tag.
pub const BY_EMAIL: &str = "by_email";

/// keyed hash of (commenter, page, normalized text) -> id of the comment
/// that carried it: the same reader posting the same words twice on a page.
pub const FINGERPRINTS: &str = "fingerprints";
/// keyed hash of normalized text -> when it was last stored (ms, big-endian),
/// for the `duplicate` spam rule (the same text from anyone).
pub const TEXT_SEEN: &str = "text_seen";
/// MAC of a used decision link -> when it was used (ms, big-endian): a
/// link works once.
pub const USED_LINKS: &str = "used_links";
/// job id (16 bytes, a ULID) -> JSON job record (due time, attempts,
/// lease): the notification outbox, see [`super::outbox`].
pub const OUTBOX: &str = "outbox";
/// keyed email hash (32 bytes) -> JSON [`crate::domain::subscription::Subscriber`]:
/// a reader's confirmation state and queued replies (the address only
/// sealed).
pub const SUBSCRIBERS: &str = "subscribers";

/// Key in sled's default tree: when a reopened handle last proved it can
/// write (ms, big-endian). Holds no data.
pub const WRITE_PROBE: &[u8] = b"moderato:write-probe";

/// email key (32 bytes) ++ comment id -> a learned decision, binary (the
/// learning filter's ledger, see [`super::learning`]).
pub const LEDGER: &str = "ledger";

/// One byte per status, used inside index keys.
pub fn status_tag(status: Status) -> u8 {
    match status {
        Status::Pending => b'p',
        Status::Approved => b'a',
        Status::Rejected => b'r',
        Status::Spam => b's',
    }
}

/// The inverse of [`status_tag`].
pub fn status_from_tag(tag: u8) -> Option<Status> {
    Status::ALL.into_iter().find(|s| status_tag(*s) == tag)
}

/// `by_status` key.
pub fn status_key(status: Status, id: CommentId) -> Vec<u8> {
    let mut key = Vec::with_capacity(17);
    key.push(status_tag(status));
    key.extend_from_slice(&id.to_bytes());
    key
}

/// `by_page` prefix of one page, optionally narrowed to one status. The
/// 0x00 separator cannot occur in a page (control characters are refused),
/// so `/a` never matches keys of `/ab`.
pub fn page_prefix(page: &str, status: Option<Status>) -> Vec<u8> {
    let mut key = Vec::with_capacity(page.len() + 18);
    key.extend_from_slice(page.as_bytes());
    key.push(0);
    if let Some(status) = status {
        key.push(status_tag(status));
    }
    key
}

/// `by_page` key.
pub fn page_key(page: &str, status: Status, id: CommentId) -> Vec<u8> {
    let mut key = page_prefix(page, Some(status));
    key.extend_from_slice(&id.to_bytes());
    key
}

/// `by_email` key.
pub fn email_key(email: EmailKey, id: CommentId) -> Vec<u8> {
    let mut key = Vec::with_capacity(48);
    key.extend_from_slice(&email.0);
    key.extend_from_slice(&id.to_bytes());
    key
}

/// `ledger` key.
pub fn ledger_key(email: EmailKey, id: CommentId) -> [u8; 48] {
    let mut key = [0u8; 48];
    key[..32].copy_from_slice(&email.0);
    key[32..].copy_from_slice(&id.to_bytes());
    key
}

/// The id at the end of any index key.
pub fn id_suffix(key: &[u8]) -> Option<CommentId> {
    key.len()
        .checked_sub(16)
        .and_then(|start| CommentId::from_bytes(&key[start..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_like_their_keys() {
        let a = CommentId(ulid::Ulid::from_parts(1_000, 5));
        let b = CommentId(ulid::Ulid::from_parts(2_000, 1));
        assert!(status_key(Status::Pending, a) < status_key(Status::Pending, b));
        assert!(page_key("/x", Status::Approved, a) < page_key("/x", Status::Approved, b));
        assert_eq!(id_suffix(&page_key("/x", Status::Spam, b)), Some(b));
    }

    #[test]
    fn a_page_prefix_does_not_match_a_longer_page() {
        let id = CommentId(ulid::Ulid::from_parts(1, 1));
        assert!(!page_key("/ab", Status::Approved, id).starts_with(&page_prefix("/a", None)));
        assert!(
            page_key("/a", Status::Approved, id)
                .starts_with(&page_prefix("/a", Some(Status::Approved)))
        );
    }

    #[test]
    fn status_tags_round_trip() {
        for status in Status::ALL {
            assert_eq!(status_from_tag(status_tag(status)), Some(status));
        }
    }
}

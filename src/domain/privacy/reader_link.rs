//! Signed links of the mails sent to readers: the confirmation of an
//! address (double opt-in) and the unsubscribe link of every notification.
//!
//! - confirm: `c.{email key}.{requested at, ms}.{mac}`: works for one
//!   request (the store keeps when it was made) and expires with it;
//! - unsubscribe: `u.{email key}.{comment id}.{mac}`: never expires, so an
//!   old mail's link still works (RFC 8058 asks for links that keep working).
//!
//! The email key is the keyed hash already used as the reader's identity
//! in the store: the link carries no address. MACs are compared in
//! constant time. Tokens are credentials; nothing here logs them.

use subtle::ConstantTimeEq;

use super::{EmailKey, hmac_sha256};
use crate::domain::CommentId;

/// What a verified reader link names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReaderLink {
    /// Confirms the address of the request made at `requested_at`.
    Confirm {
        /// The reader.
        email: EmailKey,
        /// When the request the mail answered was made (ms).
        requested_at: i64,
    },
    /// Stops the notifications of one comment's thread (or, when the
    /// reader asks on the page, all mail of this site).
    Unsubscribe {
        /// The reader.
        email: EmailKey,
        /// The subscribed comment.
        comment: CommentId,
    },
}

/// Signs and checks reader links.
#[derive(Clone)]
pub struct ReaderLinks {
    key: [u8; 32],
}

impl std::fmt::Debug for ReaderLinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReaderLinks { key: [redacted] }")
    }
}

impl ReaderLinks {
    /// A signer with the derived key.
    pub fn new(key: [u8; 32]) -> ReaderLinks {
        ReaderLinks { key }
    }

    /// The token of `link`.
    pub fn sign(&self, link: ReaderLink) -> String {
        let (kind, email, middle) = parts(link);
        let mac = self.mac(kind, email, &middle);
        format!("{kind}.{}.{middle}.{}", email.to_hex(), hex::encode(mac))
    }

    /// The link a token names, if this instance signed it.
    pub fn verify(&self, token: &str) -> Option<ReaderLink> {
        let mut fields = token.trim().split('.');
        let (Some(kind), Some(email), Some(middle), Some(mac), None) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        ) else {
            return None;
        };
        let mut key = [0u8; 32];
        hex::decode_to_slice(email, &mut key).ok()?;
        let email = EmailKey(key);
        let link = match kind {
            "c" => ReaderLink::Confirm {
                email,
                requested_at: middle.parse().ok()?,
            },
            "u" => ReaderLink::Unsubscribe {
                email,
                comment: middle.parse().ok()?,
            },
            _ => return None,
        };
        // The canonical form of what was parsed is what must have been signed.
        let (kind, _, canonical) = parts(link);
        let mut presented = [0u8; 32];
        hex::decode_to_slice(mac, &mut presented).ok()?;
        let expected = self.mac(kind, email, &canonical);
        bool::from(expected.ct_eq(&presented)).then_some(link)
    }

    fn mac(&self, kind: &str, email: EmailKey, middle: &str) -> [u8; 32] {
        hmac_sha256(
            &self.key,
            &[
                b"moderato reader link\0",
                kind.as_bytes(),
                b"\0",
                &email.0,
                middle.as_bytes(),
            ],
        )
    }
}

fn parts(link: ReaderLink) -> (&'static str, EmailKey, String) {
    match link {
        ReaderLink::Confirm {
            email,
            requested_at,
        } => ("c", email, requested_at.to_string()),
        ReaderLink::Unsubscribe { email, comment } => ("u", email, comment.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_verify_only_as_signed() {
        let links = ReaderLinks::new([9u8; 32]);
        let email = EmailKey([1u8; 32]);
        let confirm = ReaderLink::Confirm {
            email,
            requested_at: 1_700_000_000_000,
        };
        let comment: CommentId = "01ARZ3NDEKTSV4RRFFQ69G5FAV".parse().expect("id");
        let unsubscribe = ReaderLink::Unsubscribe { email, comment };
        for link in [confirm, unsubscribe] {
            let token = links.sign(link);
            assert_eq!(links.verify(&token), Some(link));
            assert!(token.chars().all(|c| c.is_ascii_alphanumeric() || c == '.'));
            assert_eq!(ReaderLinks::new([8u8; 32]).verify(&token), None, "keyed");
            let other_kind = if token.starts_with("c.") { "u" } else { "c" };
            let swapped = format!("{other_kind}{}", &token[1..]);
            assert_eq!(links.verify(&swapped), None, "the kind is signed");
        }
        let token = links.sign(confirm);
        let later = token.replacen("1700000000000", "1700000000001", 1);
        assert_eq!(links.verify(&later), None, "the request time is signed");
        for bad in ["", "c", "c.x.y.z", "x.00.1.00", &token[..token.len() - 1]] {
            assert_eq!(links.verify(bad), None, "{bad}");
        }
    }
}

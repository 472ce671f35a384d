//! Signed one-click decision links: `/admin/decide/{token}`.
//!
//! A token is `{id}.{action}.{expires}.{mac}`: the comment id, one letter
//! for the decision (`a`pprove, `r`eject, `s`pam), the expiry in Unix
//! seconds, and the hex HMAC-SHA256 of those three under a key derived for
//! this purpose only ([`crate::domain::privacy::Privacy::decision_link_key`]). The
//! link is the credential, so it carries no bearer token; it works once
//! (the store records the MAC of each used link) and only through a POST.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::domain::{CommentId, Status};

type HmacSha256 = Hmac<Sha256>;

/// A decision a link can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Publish.
    Approve,
    /// Decline.
    Reject,
    /// Mark as spam.
    Spam,
}

impl Decision {
    /// Every decision, in the order the email lists them.
    pub const ALL: [Decision; 3] = [Decision::Approve, Decision::Reject, Decision::Spam];

    /// The status the comment moves to.
    pub fn status(self) -> Status {
        match self {
            Decision::Approve => Status::Approved,
            Decision::Reject => Status::Rejected,
            Decision::Spam => Status::Spam,
        }
    }

    /// The verb, for pages and emails.
    pub fn verb(self) -> &'static str {
        match self {
            Decision::Approve => "Approve",
            Decision::Reject => "Reject",
            Decision::Spam => "Mark as spam",
        }
    }

    fn letter(self) -> char {
        match self {
            Decision::Approve => 'a',
            Decision::Reject => 'r',
            Decision::Spam => 's',
        }
    }

    fn from_letter(letter: &str) -> Option<Decision> {
        Decision::ALL
            .into_iter()
            .find(|d| letter.len() == 1 && letter.starts_with(d.letter()))
    }
}

/// A token whose signature and expiry were checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// The comment.
    pub id: CommentId,
    /// What to do with it.
    pub decision: Decision,
    /// When the link stops working (Unix seconds).
    pub expires: u64,
    /// The token's MAC: what the store records once the link is used.
    pub mac: [u8; 32],
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// Not a token, or not signed by this instance.
    #[error("this link is not valid")]
    Invalid,
    /// Signed, but too old.
    #[error("this link has expired")]
    Expired,
}

/// Signs and checks decision links.
#[derive(Clone)]
pub struct LinkSigner {
    key: [u8; 32],
    ttl: Duration,
}

impl std::fmt::Debug for LinkSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkSigner")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl LinkSigner {
    /// A signer with the derived key and the links' lifetime.
    pub fn new(key: [u8; 32], ttl: Duration) -> LinkSigner {
        LinkSigner { key, ttl }
    }

    /// A token for `decision` on comment `id`, valid for the configured
    /// lifetime from `now`.
    pub fn sign(&self, id: CommentId, decision: Decision, now: SystemTime) -> String {
        let expires = unix_secs(now).saturating_add(self.ttl.as_secs());
        self.sign_until(id, decision, expires)
    }

    /// A token that expires at `expires` (Unix seconds).
    pub fn sign_until(&self, id: CommentId, decision: Decision, expires: u64) -> String {
        let mac = self.mac(id, decision, expires);
        format!("{id}.{}.{expires}.{}", decision.letter(), hex::encode(mac))
    }

    /// Checks a token's form, signature (in constant time) and expiry.
    ///
    /// # Errors
    /// [`Refused::Invalid`] for anything not signed here, [`Refused::Expired`]
    /// for a genuine token past its expiry.
    pub fn verify(&self, token: &str, now: SystemTime) -> Result<Verified, Refused> {
        let mut parts = token.split('.');
        let (Some(id), Some(letter), Some(expires), Some(mac), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(Refused::Invalid);
        };
        let id: CommentId = id.parse().map_err(|()| Refused::Invalid)?;
        let decision = Decision::from_letter(letter).ok_or(Refused::Invalid)?;
        let expires: u64 = expires.parse().map_err(|_| Refused::Invalid)?;
        let mut presented = [0u8; 32];
        hex::decode_to_slice(mac, &mut presented).map_err(|_| Refused::Invalid)?;
        let expected = self.mac(id, decision, expires);
        // Both sides are exactly 32 bytes, so ct_eq compares every byte.
        if !bool::from(expected.ct_eq(&presented)) {
            return Err(Refused::Invalid);
        }
        if unix_secs(now) >= expires {
            return Err(Refused::Expired);
        }
        Ok(Verified {
            id,
            decision,
            expires,
            mac: expected,
        })
    }

    fn mac(&self, id: CommentId, decision: Decision, expires: u64) -> [u8; 32] {
        // HMAC takes keys of any length; this cannot fail.
        let mut mac =
            <HmacSha256 as KeyInit>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(b"moderato decision link\0");
        mac.update(&id.to_bytes());
        mac.update(&[decision.letter() as u8]);
        mac.update(&expires.to_be_bytes());
        mac.finalize().into_bytes().into()
    }
}

fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> LinkSigner {
        LinkSigner::new([3u8; 32], Duration::from_secs(3600))
    }

    fn id() -> CommentId {
        CommentId(ulid::Ulid::from_parts(1_700_000_000_000, 42))
    }

    #[test]
    fn a_signed_token_verifies_until_it_expires() {
        let now = SystemTime::now();
        let token = signer().sign(id(), Decision::Approve, now);
        let ok = signer().verify(&token, now).expect("valid");
        assert_eq!((ok.id, ok.decision), (id(), Decision::Approve));
        let later = now + Duration::from_secs(3601);
        assert_eq!(signer().verify(&token, later), Err(Refused::Expired));
    }

    #[test]
    fn altered_or_foreign_tokens_are_invalid() {
        let now = SystemTime::now();
        let token = signer().sign(id(), Decision::Approve, now);
        let as_spam = token.replacen(".a.", ".s.", 1);
        let other_key = LinkSigner::new([4u8; 32], Duration::from_secs(3600));
        let mut parts: Vec<&str> = token.split('.').collect();
        let far = (unix_secs(now) + 10_000_000).to_string();
        parts[2] = &far;
        let extended = parts.join(".");
        for bad in [
            as_spam.as_str(),
            extended.as_str(),
            "",
            "nonsense",
            "a.b.c.d.e",
            &token[..token.len() - 2],
        ] {
            assert_eq!(signer().verify(bad, now), Err(Refused::Invalid), "{bad}");
        }
        assert_eq!(other_key.verify(&token, now), Err(Refused::Invalid));
    }

    #[test]
    fn tokens_are_url_safe() {
        let token = signer().sign(id(), Decision::Spam, SystemTime::now());
        assert!(token.chars().all(|c| c.is_ascii_alphanumeric() || c == '.'));
    }
}

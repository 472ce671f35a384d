//! Signed one-click decision links: `/admin/decide/{token}`.
//!
//! A token is `{id}.{action}.{expires}.{mac}`: the comment id, one letter
//! for the decision (`a`pprove, `r`eject, `s`pam), the expiry in Unix
//! seconds, and the hex HMAC-SHA256 of those three under a key derived for
//! this purpose only ([`super::Privacy::link_signer`]). The link is the
//! credential, so it carries no bearer token; it works once (the store
//! records the MAC of each used link) and only through a POST.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use subtle::ConstantTimeEq;

use super::hmac_sha256;
use crate::domain::{CommentId, Decision};

/// The one letter a token carries for a decision.
fn letter(decision: Decision) -> char {
    match decision {
        Decision::Approve => 'a',
        Decision::Reject => 'r',
        Decision::Spam => 's',
    }
}

fn from_letter(raw: &str) -> Option<Decision> {
    Decision::ALL
        .into_iter()
        .find(|d| raw.len() == 1 && raw.starts_with(letter(*d)))
}

/// A signed token and when it stops working.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedLink {
    /// The token, the last segment of `/admin/decide/{token}`.
    pub token: String,
    /// Unix seconds.
    pub expires: u64,
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
    pub fn sign(&self, id: CommentId, decision: Decision, now: SystemTime) -> SignedLink {
        let expires = unix_secs(now).saturating_add(self.ttl.as_secs());
        SignedLink {
            token: self.sign_until(id, decision, expires),
            expires,
        }
    }

    /// A token that expires at `expires` (Unix seconds).
    pub fn sign_until(&self, id: CommentId, decision: Decision, expires: u64) -> String {
        let mac = self.mac(id, decision, expires);
        format!("{id}.{}.{expires}.{}", letter(decision), hex::encode(mac))
    }

    /// Checks a token's form, signature (in constant time) and expiry.
    ///
    /// # Errors
    /// [`Refused::Invalid`] for anything not signed here, [`Refused::Expired`]
    /// for a genuine token past its expiry.
    pub fn verify(&self, token: &str, now: SystemTime) -> Result<Verified, Refused> {
        let mut parts = token.split('.');
        let (Some(id), Some(code), Some(expires), Some(mac), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(Refused::Invalid);
        };
        let id: CommentId = id.parse().map_err(|()| Refused::Invalid)?;
        let decision = from_letter(code).ok_or(Refused::Invalid)?;
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
        hmac_sha256(
            &self.key,
            &[
                b"moderato decision link\0",
                &id.to_bytes(),
                &[letter(decision) as u8],
                &expires.to_be_bytes(),
            ],
        )
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
        let token = signer().sign(id(), Decision::Approve, now).token;
        let ok = signer().verify(&token, now).expect("valid");
        assert_eq!((ok.id, ok.decision), (id(), Decision::Approve));
        let later = now + Duration::from_secs(3601);
        assert_eq!(signer().verify(&token, later), Err(Refused::Expired));
    }

    #[test]
    fn altered_or_foreign_tokens_are_invalid() {
        let now = SystemTime::now();
        let token = signer().sign(id(), Decision::Approve, now).token;
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
        let token = signer().sign(id(), Decision::Spam, SystemTime::now()).token;
        assert!(token.chars().all(|c| c.is_ascii_alphanumeric() || c == '.'));
    }
}

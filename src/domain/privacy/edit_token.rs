//! The writer's edit token: a random secret handed out once, in the answer
//! to the post that stored the comment, and presented back as
//! `Authorization: Bearer <token>` to edit or delete it.
//!
//! Only a keyed hash of it is stored ([`EditTokens::hash`]), so the database
//! (or a backup, or an export) cannot be used to edit anyone's comment, and
//! a presented token is checked by comparing two hashes of equal length in
//! constant time. The token is a credential: nothing here logs it.

use subtle::ConstantTimeEq;

use super::{hmac_sha256, random_bytes};

/// Random bytes in a token: 256 bits, never guessed.
const TOKEN_BYTES: usize = 32;

/// Longest token looked at; anything longer is not one of ours.
const MAX_TOKEN_LEN: usize = 128;

/// A new token and the hash to store for it.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// Goes to the writer, once.
    pub token: String,
    /// Goes to the store.
    pub hash: [u8; 32],
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IssuedToken([redacted])")
    }
}

/// Issues and checks edit tokens under one derived key.
#[derive(Clone)]
pub struct EditTokens {
    key: [u8; 32],
}

impl std::fmt::Debug for EditTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EditTokens { key: [redacted] }")
    }
}

impl EditTokens {
    /// A signer with the derived key.
    pub fn new(key: [u8; 32]) -> EditTokens {
        EditTokens { key }
    }

    /// A fresh token (64 hex characters: URL- and header-safe).
    ///
    /// # Errors
    /// When the operating system gives no random bytes.
    pub fn issue(&self) -> Result<IssuedToken, getrandom::Error> {
        let token = hex::encode(random_bytes::<TOKEN_BYTES>()?);
        Ok(IssuedToken {
            hash: self.hash(&token),
            token,
        })
    }

    /// The keyed hash stored for `token`.
    pub fn hash(&self, token: &str) -> [u8; 32] {
        hmac_sha256(&self.key, &[b"moderato edit token\0", token.as_bytes()])
    }

    /// Whether `presented` is the token whose hash is `stored`, in constant
    /// time (both sides are 32-byte hashes).
    pub fn matches(&self, presented: &str, stored: &[u8; 32]) -> bool {
        let presented = presented.trim();
        !presented.is_empty()
            && presented.len() <= MAX_TOKEN_LEN
            && bool::from(self.hash(presented).ct_eq(stored))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_issued_token_matches_its_hash_only() {
        let tokens = EditTokens::new([5u8; 32]);
        let issued = tokens.issue().expect("random");
        assert_eq!(issued.token.len(), 64);
        assert!(tokens.matches(&issued.token, &issued.hash));
        let other = tokens.issue().expect("random");
        assert_ne!(issued.token, other.token);
        for wrong in [other.token.as_str(), "", " ", &issued.token[..63]] {
            assert!(!tokens.matches(wrong, &issued.hash), "{wrong:?}");
        }
        assert!(
            !EditTokens::new([6u8; 32]).matches(&issued.token, &issued.hash),
            "the hash is keyed"
        );
        assert!(!format!("{issued:?}").contains(&issued.token));
    }
}

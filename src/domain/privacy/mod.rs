//! What keeps a reader's identity private: email encryption at rest, the
//! keyed email hash used as a lookup key, the opaque avatar seed, and IP
//! truncation.
//!
//! Every key here is derived from the one master key in the data directory
//! with HMAC-SHA256 and a purpose label, so the avatar seed (public) can never
//! be turned into the lookup hash (private) or the other way round. Nothing in
//! this module logs: its inputs are exactly what must not reach a log.
//!
//! The signed tokens live here too, since they are keyed the same way:
//! [`form_token`] (proof that a form was loaded before it was posted) and
//! [`decision_link`] (the one-click decisions of notification emails). Every
//! MAC in the crate goes through [`hmac_sha256`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use chacha20poly1305::aead::Aead;
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

pub mod decision_link;
pub mod edit_token;
pub mod form_token;
pub mod reader_link;

pub use decision_link::{LinkSigner, Refused, SignedLink, Verified};
pub use edit_token::{EditTokens, IssuedToken};
pub use form_token::{FormTokens, TokenCheck};
pub use reader_link::{ReaderLink, ReaderLinks};

use super::learn::HashKey;

type HmacSha256 = Hmac<Sha256>;

/// Length of the random nonce stored before each ciphertext.
const NONCE_LEN: usize = 24;

/// Why an encrypted email could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The stored bytes were not made with this key, or were altered.
    #[error("encrypted email cannot be decrypted (wrong key or damaged data)")]
    Decrypt,
    /// Encryption failed (no randomness for the nonce).
    #[error("email cannot be encrypted: {0}")]
    Encrypt(String),
    /// The operating system gave no random bytes for a secret token.
    #[error("no random bytes for a token: {0}")]
    Random(String),
}

/// The keyed hash of a normalized email address: the commenter's identity
/// inside the database (history, duplicates, erasure), useless without the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EmailKey(pub [u8; 32]);

impl EmailKey {
    /// Hex form, for storage and for the admin view.
    pub fn to_hex(self) -> String {
        hex::encode(self.0)
    }
}

/// Derived keys; cheap to clone and safe to share between tasks.
#[derive(Clone)]
pub struct Privacy {
    cipher: XChaCha20Poly1305,
    hash_key: [u8; 32],
    avatar_key: [u8; 32],
    text_key: [u8; 32],
    form_token_key: [u8; 32],
    decision_link_key: [u8; 32],
    edit_token_key: [u8; 32],
    reader_link_key: [u8; 32],
    feature_key: [u8; 32],
    key_check: [u8; 32],
}

impl std::fmt::Debug for Privacy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Privacy { keys: [redacted] }")
    }
}

impl Privacy {
    /// Derives every purpose key from the master key.
    pub fn new(master: &[u8; 32]) -> Privacy {
        let encryption_key = derive(master, b"moderato/email-encryption/v1");
        Privacy {
            cipher: XChaCha20Poly1305::new(&encryption_key.into()),
            hash_key: derive(master, b"moderato/email-hash/v1"),
            avatar_key: derive(master, b"moderato/avatar/v1"),
            text_key: derive(master, b"moderato/text-fingerprint/v1"),
            form_token_key: derive(master, b"moderato/form-token/v1"),
            decision_link_key: derive(master, b"moderato/decision-link/v1"),
            edit_token_key: derive(master, b"moderato/edit-token/v1"),
            reader_link_key: derive(master, b"moderato/reader-link/v1"),
            feature_key: derive(master, b"moderato/learn-features/v1"),
            key_check: derive(master, b"moderato/key-check/v1"),
        }
    }

    /// The key check value: a public fingerprint of the master key (a
    /// derived value of its own purpose, from which the key cannot be
    /// found). A shared PostgreSQL database stores it, so a replica started
    /// with another key refuses to run instead of writing emails nobody can
    /// read and hashes that match nothing.
    pub fn key_check(&self) -> [u8; 32] {
        self.key_check
    }

    /// [`Privacy::key_check`] as kept next to a sled database (`key.check`)
    /// and in every backup, so a wrong or a new key is detected before it
    /// writes anything: 32 hexadecimal characters (its first 16 bytes).
    pub fn key_check_hex(&self) -> String {
        hex::encode(&self.key_check[..16])
    }

    /// Encrypts an email address; the result is `nonce || ciphertext`.
    ///
    /// # Errors
    /// [`Error::Encrypt`] when no random nonce can be drawn.
    pub fn encrypt_email(&self, email: &str) -> Result<Vec<u8>, Error> {
        let nonce_bytes = random_bytes::<NONCE_LEN>().map_err(|e| Error::Encrypt(e.to_string()))?;
        let nonce = XNonce::from(nonce_bytes);
        let ciphertext = self
            .cipher
            .encrypt(&nonce, email.as_bytes())
            .map_err(|_| Error::Encrypt("aead failure".into()))?;
        let mut sealed = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        sealed.extend_from_slice(&nonce_bytes);
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    /// Opens what [`Privacy::encrypt_email`] sealed.
    ///
    /// # Errors
    /// [`Error::Decrypt`] for another key or altered bytes.
    pub fn decrypt_email(&self, sealed: &[u8]) -> Result<String, Error> {
        if sealed.len() < NONCE_LEN {
            return Err(Error::Decrypt);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce = XNonce::try_from(nonce).map_err(|_| Error::Decrypt)?;
        let plain = self
            .cipher
            .decrypt(&nonce, ciphertext)
            .map_err(|_| Error::Decrypt)?;
        String::from_utf8(plain).map_err(|_| Error::Decrypt)
    }

    /// HMAC-SHA256 of the trimmed, lowercased address.
    pub fn email_key(&self, email: &str) -> EmailKey {
        EmailKey(mac(&self.hash_key, &[normalize_email(email).as_bytes()]))
    }

    /// The public avatar seed: a keyed hash of the email key, cut to 16 hex
    /// characters. It identifies a commenter across comments (so the embed can
    /// draw the same identicon) but reveals nothing about the address.
    pub fn avatar(&self, email: EmailKey) -> String {
        hex::encode(&mac(&self.avatar_key, &[&email.0])[..8])
    }

    /// A keyed fingerprint of already-normalized text, for duplicate checks,
    /// so the index holds no readable text.
    pub fn text_fingerprint(&self, parts: &[&[u8]]) -> [u8; 32] {
        mac(&self.text_key, parts)
    }

    /// The key the learning filter hashes features under, so the model and
    /// the ledger of this instance hold no word, domain or name, and match
    /// no other instance's.
    pub fn feature_key(&self) -> HashKey {
        let mut key = [0u8; 16];
        key.copy_from_slice(&self.feature_key[..16]);
        HashKey::new(key)
    }

    /// The signer of form tokens (see the spam rules' `min_time`).
    pub fn form_tokens(&self) -> FormTokens {
        FormTokens::new(self.form_token_key)
    }

    /// The issuer of the writers' edit tokens.
    pub fn edit_tokens(&self) -> EditTokens {
        EditTokens::new(self.edit_token_key)
    }

    /// The signer of the confirmation and unsubscribe links of readers'
    /// mails.
    pub fn reader_links(&self) -> ReaderLinks {
        ReaderLinks::new(self.reader_link_key)
    }

    /// The signer of the one-click decision links of notification emails,
    /// whose links live for `ttl`.
    pub fn link_signer(&self, ttl: std::time::Duration) -> LinkSigner {
        LinkSigner::new(self.decision_link_key, ttl)
    }
}

/// Trims and lowercases an address: `Ann@Example.org ` and `ann@example.org`
/// are one commenter.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Keeps the network part of an address only: /24 for IPv4, /48 for IPv6.
pub fn truncate_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            IpAddr::V4(Ipv4Addr::new(a, b, c, 0))
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => truncate_ip(IpAddr::V4(v4)),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0))
            }
        },
    }
}

/// Fills an array from the operating system's random source.
///
/// # Errors
/// When the operating system gives no random bytes.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], getrandom::Error> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes)?;
    Ok(bytes)
}

fn derive(master: &[u8; 32], label: &[u8]) -> [u8; 32] {
    mac(master, &[label])
}

/// HMAC-SHA256 under `key` of `chunks` as one message (their concatenation).
/// The one place the crate computes a MAC: keyed hashes, form tokens,
/// decision links and webhook signatures all call it.
pub fn hmac_sha256(key: &[u8], chunks: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    for chunk in chunks {
        mac.update(chunk);
    }
    mac.finalize().into_bytes().into()
}

/// A keyed hash of several parts, each length-prefixed so that ("ab", "c")
/// and ("a", "bc") differ.
fn mac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let lengths: Vec<[u8; 8]> = parts
        .iter()
        .map(|part| (part.len() as u64).to_be_bytes())
        .collect();
    let chunks: Vec<&[u8]> = parts
        .iter()
        .zip(&lengths)
        .flat_map(|(part, length)| [length.as_slice(), part])
        .collect();
    hmac_sha256(key, &chunks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn privacy() -> Privacy {
        Privacy::new(&[7u8; 32])
    }

    #[test]
    fn email_round_trips_and_ciphertext_hides_it() {
        let p = privacy();
        let sealed = p.encrypt_email("ann@example.org").expect("encrypt");
        assert!(!sealed.windows(7).any(|w| w == b"example"));
        assert_eq!(
            p.decrypt_email(&sealed).expect("decrypt"),
            "ann@example.org"
        );
        // A fresh nonce each time: equal addresses do not give equal bytes.
        assert_ne!(sealed, p.encrypt_email("ann@example.org").expect("encrypt"));
    }

    #[test]
    fn another_key_or_altered_bytes_cannot_decrypt() {
        let sealed = privacy().encrypt_email("ann@example.org").expect("encrypt");
        assert!(Privacy::new(&[8u8; 32]).decrypt_email(&sealed).is_err());
        let mut altered = sealed.clone();
        let last = altered.len() - 1;
        altered[last] ^= 1;
        assert!(privacy().decrypt_email(&altered).is_err());
        assert!(privacy().decrypt_email(&sealed[..10]).is_err());
    }

    #[test]
    fn email_key_ignores_case_and_surrounding_space() {
        let p = privacy();
        assert_eq!(
            p.email_key(" Ann@Example.ORG "),
            p.email_key("ann@example.org")
        );
        assert_ne!(
            p.email_key("ann@example.org"),
            p.email_key("bob@example.org")
        );
        assert_ne!(
            p.email_key("ann@example.org"),
            Privacy::new(&[8u8; 32]).email_key("ann@example.org"),
            "the hash is keyed"
        );
    }

    #[test]
    fn avatar_is_not_the_lookup_hash() {
        let p = privacy();
        let key = p.email_key("ann@example.org");
        let avatar = p.avatar(key);
        assert_eq!(avatar.len(), 16);
        assert!(!key.to_hex().contains(&avatar));
    }

    #[test]
    fn ips_are_truncated_to_their_network() {
        let cases = [
            ("203.0.113.77", "203.0.113.0"),
            ("2001:db8:abcd:12:1:2:3:4", "2001:db8:abcd::"),
            ("::ffff:198.51.100.9", "198.51.100.0"),
        ];
        for (ip, expected) in cases {
            let ip: IpAddr = ip.parse().expect("ip");
            assert_eq!(truncate_ip(ip).to_string(), expected, "truncating {ip}");
        }
    }
}

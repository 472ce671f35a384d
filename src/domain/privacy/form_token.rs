//! Signed form tokens for the `min_time` rule: proof that a comment was typed
//! into a page that was loaded some time ago, not posted blind by a bot.
//!
//! A token is `<issue time, unix seconds>.<hex HMAC-SHA256(key, page, time)>`,
//! URL-safe, stateless (nothing is stored per token) and bound to the page,
//! so a token fetched for one post cannot be replayed on another. Whether a
//! token is too young or too old is the rule's decision (its `seconds` and
//! `max_age_hours`); this module only says whether it is genuine and how old.
//! It never logs a token.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use subtle::ConstantTimeEq;

use super::hmac_sha256;

/// How far in the future an issue time may be before the token is invalid:
/// the same clock issues and checks, but it may be stepped by NTP between.
const CLOCK_SKEW: Duration = Duration::from_secs(5);

/// Longest token accepted for parsing (20 digits, a dot, 64 hex digits).
const MAX_TOKEN_LEN: usize = 96;

/// The result of checking a form token.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TokenCheck {
    /// No token (or an empty one) was sent.
    Missing,
    /// Malformed, forged, for another page, or from the future.
    Invalid,
    /// Genuine; issued `age` ago.
    Valid {
        /// Time since the token was issued.
        age: Duration,
    },
}

/// Issues and verifies form tokens with one secret key.
#[derive(Clone)]
pub struct FormTokens {
    key: [u8; 32],
}

impl std::fmt::Debug for FormTokens {
    /// Redacted: the key must never reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FormTokens")
            .field("key", &"<redacted>")
            .finish()
    }
}

impl FormTokens {
    /// Creates the issuer/verifier. The key should be random and kept in the
    /// data directory so tokens survive a restart.
    pub fn new(key: [u8; 32]) -> Self {
        FormTokens { key }
    }

    /// Issues a token for `page` at `now`.
    pub fn issue(&self, page: &str, now: SystemTime) -> String {
        let secs = unix_secs(now);
        format!("{secs}.{}", hex::encode(self.mac(page, secs)))
    }

    /// Checks a token for `page` at `now`. The MAC comparison is constant
    /// time, so a forger learns nothing from timing.
    pub fn verify(&self, token: Option<&str>, page: &str, now: SystemTime) -> TokenCheck {
        let Some(token) = token.map(str::trim).filter(|t| !t.is_empty()) else {
            return TokenCheck::Missing;
        };
        if token.len() > MAX_TOKEN_LEN {
            return TokenCheck::Invalid;
        }
        let Some((secs, mac)) = token.split_once('.') else {
            return TokenCheck::Invalid;
        };
        let mut presented = [0u8; 32];
        let (Ok(secs), Ok(())) = (
            secs.parse::<u64>(),
            hex::decode_to_slice(mac, &mut presented),
        ) else {
            return TokenCheck::Invalid;
        };
        // Both sides are exactly 32 bytes, so ct_eq compares every byte.
        if !bool::from(self.mac(page, secs).ct_eq(&presented)) {
            return TokenCheck::Invalid;
        }
        let now = unix_secs(now);
        if secs > now.saturating_add(CLOCK_SKEW.as_secs()) {
            return TokenCheck::Invalid;
        }
        TokenCheck::Valid {
            age: Duration::from_secs(now.saturating_sub(secs)),
        }
    }

    fn mac(&self, page: &str, secs: u64) -> [u8; 32] {
        // Length-prefix the page so (page, time) pairs can never collide.
        hmac_sha256(
            &self.key,
            &[
                &(page.len() as u64).to_be_bytes(),
                page.as_bytes(),
                &secs.to_be_bytes(),
            ],
        )
    }
}

fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (case, token, page, now, verifier, expected)
    type Case<'a> = (
        &'a str,
        Option<&'a str>,
        &'a str,
        u64,
        &'a FormTokens,
        TokenCheck,
    );

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn tokens_verify_only_for_their_page_key_and_time() {
        // Arrange
        let tokens = FormTokens::new([7; 32]);
        let other_key = FormTokens::new([8; 32]);
        let good = tokens.issue("/blog/grief/", at(1_000_000));
        let (time, mac) = good.split_once('.').expect("token has a dot");
        let tampered_time = format!("{}.{mac}", 1_000_000 - 60);
        let mut flipped = mac.to_owned().into_bytes();
        flipped[0] = if flipped[0] == b'0' { b'1' } else { b'0' };
        let flipped = format!(
            "{time}.{}",
            String::from_utf8(flipped).expect("hex is ascii")
        );
        let long = "1".repeat(200);
        let cases: Vec<Case<'_>> = vec![
            (
                "valid after 30 s",
                Some(&good),
                "/blog/grief/",
                1_000_030,
                &tokens,
                TokenCheck::Valid {
                    age: Duration::from_secs(30),
                },
            ),
            (
                "valid at once",
                Some(&good),
                "/blog/grief/",
                1_000_000,
                &tokens,
                TokenCheck::Valid {
                    age: Duration::ZERO,
                },
            ),
            (
                "missing",
                None,
                "/blog/grief/",
                1_000_030,
                &tokens,
                TokenCheck::Missing,
            ),
            (
                "empty",
                Some(""),
                "/blog/grief/",
                1_000_030,
                &tokens,
                TokenCheck::Missing,
            ),
            (
                "other page",
                Some(&good),
                "/blog/anxiety/",
                1_000_030,
                &tokens,
                TokenCheck::Invalid,
            ),
            (
                "other key",
                Some(&good),
                "/blog/grief/",
                1_000_030,
                &other_key,
                TokenCheck::Invalid,
            ),
            (
                "time moved back",
                Some(&tampered_time),
                "/blog/grief/",
                1_000_030,
                &tokens,
                TokenCheck::Invalid,
            ),
            (
                "mac flipped",
                Some(&flipped),
                "/blog/grief/",
                1_000_030,
                &tokens,
                TokenCheck::Invalid,
            ),
            (
                "from the future",
                Some(&good),
                "/blog/grief/",
                999_000,
                &tokens,
                TokenCheck::Invalid,
            ),
            (
                "garbage",
                Some("hello"),
                "/blog/grief/",
                1_000_030,
                &tokens,
                TokenCheck::Invalid,
            ),
            (
                "not hex",
                Some("1000000.zz"),
                "/blog/grief/",
                1_000_030,
                &tokens,
                TokenCheck::Invalid,
            ),
            (
                "too long",
                Some(&long),
                "/blog/grief/",
                1_000_030,
                &tokens,
                TokenCheck::Invalid,
            ),
        ];
        for (case, token, page, now, issuer, want) in cases {
            // Act
            let got = issuer.verify(token, page, at(now));
            // Assert
            assert_eq!(got, want, "case: {case}");
        }
    }

    #[test]
    fn tokens_are_url_safe_and_debug_hides_the_key() {
        let tokens = FormTokens::new([1; 32]);
        let t = tokens.issue("/a b?c", at(42));
        assert!(
            t.chars().all(|c| c.is_ascii_alphanumeric() || c == '.'),
            "token: {t}"
        );
        assert!(!format!("{tokens:?}").contains('1'));
    }
}

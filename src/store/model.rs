//! The stored form of a comment: public fields, private fields, and the
//! spam verdict. Encoded as JSON in the `comments` tree; new fields must
//! carry `#[serde(default)]` so older records keep decoding.

use serde::{Deserialize, Serialize};

use crate::domain::{CommentId, Status};
use crate::privacy::EmailKey;

pub use crate::rules::{Action, Hit};

/// A comment as stored. The email exists only sealed (`email_sealed`) and
/// as a keyed hash (`email_hash`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comment {
    /// Time-ordered id.
    pub id: CommentId,
    /// The thread.
    pub page: String,
    /// The comment replied to.
    pub parent: Option<CommentId>,
    /// Display name (text, never HTML).
    pub author: String,
    /// Website (text, never HTML).
    pub url: Option<String>,
    /// The comment as typed, for the author.
    pub text: String,
    /// The sanitized HTML shown on the page.
    pub html: String,
    /// `nonce || ciphertext` of the email address.
    #[serde(with = "hex::serde")]
    pub email_sealed: Vec<u8>,
    /// HMAC of the normalized address: the commenter's identity here.
    #[serde(with = "hex::serde")]
    pub email_hash: [u8; 32],
    /// Opaque avatar seed, public.
    pub avatar: String,
    /// Truncated client address (/24, /48).
    pub ip: Option<String>,
    /// The client's user agent, at most 512 bytes.
    pub user_agent: Option<String>,
    /// Where it is in the queue.
    pub status: Status,
    /// Summed spam score.
    #[serde(default)]
    pub score: i32,
    /// The rules that matched.
    #[serde(default)]
    pub hits: Vec<Hit>,
    /// What the rules said; `None` for comments stored without a verdict
    /// (imports, the author's own replies).
    #[serde(default)]
    pub action: Option<Action>,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    /// Milliseconds since the Unix epoch, of the last status change.
    pub updated_at: i64,
}

impl Comment {
    /// The keyed email hash as a typed key.
    pub fn email_key(&self) -> EmailKey {
        EmailKey(self.email_hash)
    }
}

/// The current time in milliseconds since the Unix epoch.
pub fn now_millis() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    (now.unix_timestamp_nanos() / 1_000_000) as i64
}

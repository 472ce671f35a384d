//! The stored form of a comment: public fields, private fields, and the
//! spam verdict. Encoded as JSON in the `comments` tree; new fields must
//! carry `#[serde(default)]` so older records keep decoding.

use serde::{Deserialize, Serialize};

use crate::domain::{CommentId, Status};
use crate::privacy::EmailKey;

pub use crate::rules::{Action, Hit};

/// A comment as stored. The email exists only sealed (`email_sealed`) and
/// as a keyed hash (`email_hash`). The author's own replies have no email:
/// `email_sealed` is empty and `email_hash` is the author's reserved key
/// (see [`Comment::has_email`]).
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
    /// `nonce || ciphertext` of the email address; empty when the comment
    /// has no email (the author's replies).
    #[serde(default, with = "hex::serde")]
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
    /// Written by the blog's author from the admin page.
    #[serde(default)]
    pub by_author: bool,
    /// Every status change, oldest first: the audit trail.
    #[serde(default)]
    pub decisions: Vec<Decision>,
}

/// One status change of a comment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// The status before.
    pub from: Status,
    /// The status after.
    pub to: Status,
    /// Milliseconds since the Unix epoch.
    pub at: i64,
    /// Through which route.
    pub via: Via,
}

/// The route through which a decision was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Via {
    /// `POST /admin/comments/{id}/approve|reject|spam`.
    Admin,
    /// `POST /admin/comments/bulk`.
    Bulk,
    /// Replying to a pending comment approves it.
    Reply,
    /// A signed link in a notification email.
    EmailLink,
    /// A route name this version does not know (written by a newer one):
    /// kept readable rather than making the whole comment undecodable.
    #[serde(other)]
    Unknown,
}

impl Via {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Admin => "admin",
            Via::Bulk => "bulk",
            Via::Reply => "reply",
            Via::EmailLink => "email-link",
            Via::Unknown => "unknown",
        }
    }
}

impl Comment {
    /// The keyed email hash as a typed key.
    pub fn email_key(&self) -> EmailKey {
        EmailKey(self.email_hash)
    }

    /// Whether an email is stored (every reader's comment; not the
    /// author's replies).
    pub fn has_email(&self) -> bool {
        !self.email_sealed.is_empty()
    }

    /// Moves to `to` at `at` and appends the change to the audit trail; a
    /// no-op when the comment is there already.
    pub fn record(&mut self, to: Status, at: i64, via: Via) {
        if self.status == to {
            return;
        }
        self.decisions.push(Decision {
            from: self.status,
            to,
            at,
            via,
        });
        self.status = to;
        self.updated_at = at;
    }
}

/// The current time in milliseconds since the Unix epoch.
pub fn now_millis() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    (now.unix_timestamp_nanos() / 1_000_000) as i64
}

//! The stored form of a comment: public fields, private fields, the spam
//! verdict (its [`Action`] and [`Hit`]s, owned here since they are written
//! to disk with the comment) and the audit trail. Encoded as JSON by the
//! store; new fields must carry `#[serde(default)]` so older records keep
//! decoding.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::learn::Learned;
use super::origin::Origin;
use super::privacy::EmailKey;

/// Longest page key.
pub const MAX_PAGE_CHARS: usize = 512;

/// A comment's status in the moderation queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Waiting for the author.
    Pending,
    /// Public.
    Approved,
    /// Declined by the author.
    Rejected,
    /// Spam, by the author or the rules.
    Spam,
}

impl Status {
    /// Every status, in the order the admin shows them.
    pub const ALL: [Status; 4] = [
        Status::Pending,
        Status::Approved,
        Status::Rejected,
        Status::Spam,
    ];

    /// Position in [`Status::ALL`]: an index into per-status counters.
    pub fn index(self) -> usize {
        match self {
            Status::Pending => 0,
            Status::Approved => 1,
            Status::Rejected => 2,
            Status::Spam => 3,
        }
    }

    /// The lowercase name used in URLs and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Approved => "approved",
            Status::Rejected => "rejected",
            Status::Spam => "spam",
        }
    }
}

impl FromStr for Status {
    type Err = ();
    fn from_str(s: &str) -> Result<Status, ()> {
        Status::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or(())
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the author decides about a comment: the three ways out of the
/// queue. Parsed from its URL and JSON name (`approve`, `reject`, `spam`)
/// here only, whichever route it comes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Publish.
    Approve,
    /// Decline (off-topic, unkind: not spam).
    Reject,
    /// Mark as spam.
    Spam,
}

impl Decision {
    /// Every decision, in the order emails and pages list them.
    pub const ALL: [Decision; 3] = [Decision::Approve, Decision::Reject, Decision::Spam];

    /// The status the comment moves to.
    pub fn status(self) -> Status {
        match self {
            Decision::Approve => Status::Approved,
            Decision::Reject => Status::Rejected,
            Decision::Spam => Status::Spam,
        }
    }

    /// The name in URLs and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Reject => "reject",
            Decision::Spam => "spam",
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
}

impl FromStr for Decision {
    type Err = ();
    fn from_str(s: &str) -> Result<Decision, ()> {
        Decision::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or(())
    }
}

/// A comment id: a ULID, so ids sort by creation time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CommentId(pub ulid::Ulid);

impl CommentId {
    /// The 16 big-endian bytes used as a sled key (sorts like the id).
    pub fn to_bytes(self) -> [u8; 16] {
        self.0.to_bytes()
    }

    /// The inverse of [`CommentId::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Option<CommentId> {
        let array: [u8; 16] = bytes.try_into().ok()?;
        Some(CommentId(ulid::Ulid::from_bytes(array)))
    }
}

impl FromStr for CommentId {
    type Err = ();
    fn from_str(s: &str) -> Result<CommentId, ()> {
        ulid::Ulid::from_string(s).map(CommentId).map_err(|_| ())
    }
}

impl fmt::Display for CommentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for CommentId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for CommentId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<CommentId, D::Error> {
        let s = String::deserialize(d)?;
        s.parse()
            .map_err(|()| serde::de::Error::custom("invalid comment id"))
    }
}

/// A thread key: the path of a blog post.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PageId(String);

impl PageId {
    /// Checks a page key: 1..=512 characters, starts with `/`, no
    /// whitespace or control characters.
    ///
    /// # Errors
    /// A message for the reader.
    pub fn parse(raw: &str) -> Result<PageId, String> {
        if raw.is_empty() {
            return Err("The page is missing.".into());
        }
        if !raw.starts_with('/') {
            return Err("The page must be a path that starts with /.".into());
        }
        if raw.chars().count() > MAX_PAGE_CHARS {
            return Err(format!(
                "The page must be at most {MAX_PAGE_CHARS} characters."
            ));
        }
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("The page must not contain spaces or control characters.".into());
        }
        Ok(PageId(raw.to_owned()))
    }

    /// The path.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

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
    pub decisions: Vec<StatusChange>,
    /// What lets the writer edit or delete the comment for a while; `None`
    /// for the author's replies, imports, and once the comment is deleted.
    #[serde(default)]
    pub edit: Option<EditGrant>,
    /// The writer deleted it while it had replies: it stays, emptied, as
    /// the "deleted" placeholder they hang under.
    #[serde(default)]
    pub deleted: bool,
    /// What the writer asked to be told by email.
    #[serde(default)]
    pub notify: Notify,
    /// Where an imported comment comes from (its source and its id there);
    /// `None` for comments written here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
}

/// The writer's right to change their comment: the keyed hash of the edit
/// token handed out once in the 201 answer (the token itself is never
/// stored), and until when it works.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditGrant {
    /// HMAC of the token under the edit-token key.
    #[serde(with = "hex::serde")]
    pub token_hash: [u8; 32],
    /// Milliseconds since the Unix epoch.
    pub until: i64,
}

/// The boxes the writer ticked: mail them when a reply to this comment
/// goes public, or when this comment is approved. Both need a confirmed
/// address before anything is sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notify {
    /// "Notify me of follow-up replies by email".
    #[serde(default)]
    pub replies: bool,
    /// "Tell me when my comment is approved".
    #[serde(default)]
    pub approved: bool,
}

/// The outcome of scoring.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Below the hold threshold.
    Accept,
    /// At or above `hold`: the author decides.
    Hold,
    /// At or above `spam`: filed as spam.
    Spam,
}

/// One rule that hit.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Hit {
    /// The rule's name.
    pub rule: String,
    /// Its score.
    pub score: i32,
    /// The learned rule's verdict: the spam probability and the features
    /// that weighed most (never the email domain's name). `None` for every
    /// other rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learned: Option<Learned>,
}

impl Hit {
    /// A rule's hit with its score.
    pub fn new(rule: impl Into<String>, score: i32) -> Hit {
        Hit {
            rule: rule.into(),
            score,
            learned: None,
        }
    }

    /// The hit in words, for mails and the command line: `link +2`, or
    /// `learned 0.97: "sugar", link to x.test +5`.
    pub fn describe(&self) -> String {
        match &self.learned {
            Some(learned) => format!("{} {:+}", learned.hit_text(), self.score),
            None => format!("{} {:+}", self.rule, self.score),
        }
    }
}

/// Earlier moderation decisions about comments with the same email.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct History {
    /// Comments the author approved.
    pub approved: u32,
    /// Comments the author marked as spam.
    pub spam: u32,
}

/// One status change of a comment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusChange {
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
    /// The writer edited it within the edit window (`PUT
    /// /api/comments/{id}`); recorded even when the status stays.
    Edit,
    /// The writer deleted it while it had replies (`DELETE
    /// /api/comments/{id}`): it became the "deleted" placeholder.
    WriterDelete,
    /// A route name this version does not know (written by a newer one):
    /// kept readable rather than making the whole comment undecodable.
    #[serde(other)]
    Unknown,
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

    /// Records a change the writer made (an edit, a deletion) that moves
    /// the comment to `to`: appended to the audit trail even when the status
    /// stays, since the text changed.
    pub fn record_writer_change(&mut self, to: Status, at: i64, via: Via) {
        self.decisions.push(StatusChange {
            from: self.status,
            to,
            at,
            via,
        });
        self.status = to;
        self.updated_at = at;
    }

    /// Moves to `to` at `at` and appends the change to the audit trail; a
    /// no-op when the comment is there already.
    pub fn record(&mut self, to: Status, at: i64, via: Via) {
        if self.status == to {
            return;
        }
        self.decisions.push(StatusChange {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_names_round_trip() {
        for (i, status) in Status::ALL.into_iter().enumerate() {
            assert_eq!(status.index(), i, "{status} is at its place in ALL");
            assert_eq!(status.as_str().parse::<Status>(), Ok(status));
        }
        assert!("deleted".parse::<Status>().is_err());
    }
}

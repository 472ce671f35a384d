//! What a comment looks like on the wire: the public view (no private
//! field, nothing from which the email could be recovered) and the admin
//! view (everything, with the email decrypted).

use serde::Serialize;

use crate::domain::{CommentId, Status};
use crate::domain::privacy::Privacy;
use crate::domain::rules::{Action, Hit};
use crate::domain::{Comment, StatusChange, Via};

/// A comment as readers see it.
#[derive(Debug, Clone, Serialize)]
pub struct PublicComment {
    /// Id.
    pub id: CommentId,
    /// The comment replied to, so the client can thread.
    pub parent: Option<CommentId>,
    /// Name, as text.
    pub author: String,
    /// Website, as text.
    pub url: Option<String>,
    /// Sanitized HTML.
    pub html: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// Opaque avatar seed.
    pub avatar: String,
    /// Written by the blog's author (the embed shows a badge).
    pub by_author: bool,
}

impl From<&Comment> for PublicComment {
    fn from(c: &Comment) -> PublicComment {
        PublicComment {
            id: c.id,
            parent: c.parent,
            author: c.author.clone(),
            url: c.url.clone(),
            html: c.html.clone(),
            created_at: format_time(c.created_at),
            avatar: c.avatar.clone(),
            by_author: c.by_author,
        }
    }
}

/// A comment as the author sees it.
#[derive(Debug, Clone, Serialize)]
pub struct AdminComment {
    /// The public fields.
    #[serde(flatten)]
    pub public: PublicComment,
    /// The thread.
    pub page: String,
    /// Queue status.
    pub status: Status,
    /// The decrypted address; `null` if it cannot be decrypted.
    pub email: Option<String>,
    /// The raw text as typed.
    pub text: String,
    /// Truncated address.
    pub ip: Option<String>,
    /// User agent.
    pub user_agent: Option<String>,
    /// Spam score.
    pub score: i32,
    /// Matching rules.
    pub hits: Vec<Hit>,
    /// What the rules said (`accept`, `hold`, `spam`), if they judged it.
    pub action: Option<Action>,
    /// RFC 3339, UTC.
    pub updated_at: String,
    /// The audit trail: every status change, oldest first.
    pub decisions: Vec<DecisionView>,
}

/// One status change, as the author sees it.
#[derive(Debug, Clone, Serialize)]
pub struct DecisionView {
    /// The status before.
    pub from: Status,
    /// The status after.
    pub to: Status,
    /// RFC 3339, UTC.
    pub at: String,
    /// `admin`, `bulk`, `reply`, `email-link`.
    pub via: Via,
}

impl From<&StatusChange> for DecisionView {
    fn from(d: &StatusChange) -> DecisionView {
        DecisionView {
            from: d.from,
            to: d.to,
            at: format_time(d.at),
            via: d.via,
        }
    }
}

impl AdminComment {
    /// Builds the admin view, decrypting the email (`null` for the
    /// author's replies, which have none).
    pub fn new(c: &Comment, privacy: &Privacy) -> AdminComment {
        let email = if !c.has_email() {
            None
        } else {
            match privacy.decrypt_email(&c.email_sealed) {
                Ok(email) => Some(email),
                Err(e) => {
                    tracing::error!(comment_id = %c.id, error = %e, "email cannot be decrypted");
                    None
                }
            }
        };
        AdminComment {
            public: PublicComment::from(c),
            page: c.page.clone(),
            status: c.status,
            email,
            text: c.text.clone(),
            ip: c.ip.clone(),
            user_agent: c.user_agent.clone(),
            score: c.score,
            hits: c.hits.clone(),
            action: c.action,
            updated_at: format_time(c.updated_at),
            decisions: c.decisions.iter().map(DecisionView::from).collect(),
        }
    }
}

/// Milliseconds since the epoch as RFC 3339 UTC with millisecond precision.
pub fn format_time(millis: i64) -> String {
    let nanos = i128::from(millis) * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(format_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_time(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }
}

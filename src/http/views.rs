//! What a comment looks like to the author on the wire: everything, with
//! the email decrypted. The public view is the core's
//! [`PublicComment`](crate::domain::PublicComment).

use serde::Serialize;

use crate::domain::comment::{Action, Hit};
use crate::domain::privacy::Privacy;
use crate::domain::{Comment, Origin, Status, StatusChange, Via};

pub use crate::domain::{PublicComment, format_time};

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
    /// Where an imported comment comes from (`source`, its `id` there, the
    /// post's `title`); `null` for comments written here.
    pub origin: Option<Origin>,
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
            origin: c.origin.clone(),
        }
    }
}

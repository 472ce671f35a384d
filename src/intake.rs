//! The path of a new comment, without HTTP: validate, score with the spam
//! rules, sanitize, protect the email, store durably. The HTTP handler and
//! the benchmarks both call [`submit`], so what is measured is what runs.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use crate::config::ModerationMode;
use crate::domain::{CommentId, FieldErrors, FieldValue, Fields, NewComment, Status};
use crate::error::ApiError;
use crate::domain::privacy::{EmailKey, Privacy, truncate_ip};
use crate::domain::rules::{self, Action, History, RequestFacts, Subject};
use crate::state::AppState;
use crate::domain::{Comment, now_millis};
use crate::store::{self, Fingerprints};

/// Longest user agent kept, in bytes.
pub const MAX_USER_AGENT_BYTES: usize = 512;

/// Name of the form field that carries the signed form token.
pub const FORM_TOKEN_FIELD: &str = "form_token";

/// How long a commenter is asked to wait when the queue is full.
pub const QUEUE_FULL_RETRY: Duration = Duration::from_secs(600);

/// What the server knows of the client besides the body.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    /// The client's address (already resolved through trusted proxies).
    pub ip: Option<IpAddr>,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
}

/// A stored comment, as the client may learn of it.
#[derive(Debug, Clone)]
pub struct Received {
    /// The new id.
    pub id: CommentId,
    /// `pending` or `approved`: never `spam`, so spammers learn nothing.
    pub public_status: Status,
}

/// Validates, scores, sanitizes and stores one comment; returns once it is
/// on disk.
///
/// # Errors
/// [`ApiError::Validation`] naming every invalid field (including a parent
/// that is not an approved comment of the page), [`ApiError::Duplicate`],
/// [`ApiError::QueueFull`], or an internal error.
pub async fn submit(
    state: &AppState,
    fields: &Fields,
    client: &ClientInfo,
) -> Result<Received, ApiError> {
    let new = NewComment::parse(fields).map_err(|fields| ApiError::Validation { fields })?;
    let privacy = &state.privacy;
    let email_key = privacy.email_key(&new.email);
    let history = state.store.history(email_key)?;

    // The queue cap protects the author's inbox and the disk; readers the
    // author already trusts still get through.
    if history.approved == 0
        && state.store.status_count(Status::Pending) >= state.config.max_pending
    {
        return Err(ApiError::QueueFull {
            retry_after: QUEUE_FULL_RETRY,
        });
    }

    let prints = fingerprints(privacy, email_key, new.page.as_str(), &new.text);
    let now = now_millis();
    let last_seen_same_text = state
        .store
        .text_last_seen(&prints.text)?
        .map(|then| Duration::from_millis(u64::try_from(now - then).unwrap_or(0)));
    let text_fields: BTreeMap<String, String> = fields
        .iter()
        .filter_map(|(name, value)| match value {
            FieldValue::Text(text) => Some((name.clone(), text.clone())),
            _ => None,
        })
        .collect();
    let form_token = state.form_tokens.verify(
        text_fields.get(FORM_TOKEN_FIELD).map(String::as_str),
        new.page.as_str(),
        SystemTime::now(),
    );
    let verdict = state.rules().evaluate(&Subject {
        author: &new.author,
        email: &new.email,
        url: new.url.as_deref().unwrap_or(""),
        comment: &new.text,
        page: new.page.as_str(),
        request: Some(RequestFacts {
            ip: client.ip,
            fields: &text_fields,
            form_token,
            history,
            last_seen_same_text,
        }),
    });
    let status = status_for(state.config.moderation, verdict.action, history);

    let comment = Comment {
        id: state.store.new_id(),
        page: new.page.as_str().to_owned(),
        parent: new.parent,
        html: state.sanitizer.clean(&new.text),
        text: new.text,
        author: new.author,
        url: new.url,
        email_sealed: privacy
            .encrypt_email(&new.email)
            .map_err(|e| ApiError::Internal(e.to_string()))?,
        email_hash: email_key.0,
        avatar: privacy.avatar(email_key),
        ip: client.ip.map(|ip| truncate_ip(ip).to_string()),
        user_agent: client.user_agent.as_deref().map(truncate_user_agent),
        status,
        score: verdict.score,
        hits: verdict.hits,
        action: Some(verdict.action),
        created_at: now,
        updated_at: now,
        by_author: false,
        decisions: Vec::new(),
    };
    match state.store.insert(&comment, &prints).await {
        Ok(()) => {}
        Err(store::Error::InvalidParent) => {
            let mut fields = FieldErrors::new();
            fields.insert(
                "parent",
                "The comment you reply to is not available.".into(),
            );
            return Err(ApiError::Validation { fields });
        }
        Err(store::Error::Duplicate) => return Err(ApiError::Duplicate),
        Err(e) => return Err(e.into()),
    }
    // Queued, never awaited: the reader's answer does not wait for mail.
    state.notifier.comment_stored(&comment);
    state
        .metrics
        .comment_received(comment.action, comment.status);
    tracing::info!(
        comment_id = %comment.id,
        status = %comment.status,
        score = comment.score,
        "comment received"
    );
    Ok(Received {
        id: comment.id,
        public_status: match comment.status {
            Status::Approved => Status::Approved,
            _ => Status::Pending,
        },
    })
}

/// The keyed duplicate fingerprints of a comment's text: by this
/// commenter on this page, and by anyone. Imports and erasure compute the
/// same ones, so the duplicate index stays consistent.
pub fn fingerprints(
    privacy: &Privacy,
    email_key: EmailKey,
    page: &str,
    text: &str,
) -> Fingerprints {
    let normalized = rules::normalize(text);
    Fingerprints {
        commenter_text: commenter_text_fingerprint(privacy, email_key, page, &normalized),
        text: privacy.text_fingerprint(&[b"text", normalized.as_bytes()]),
    }
}

/// The keyed hash of (commenter, page, normalized text) that refuses the
/// same reader's same words twice on a page; `moderato check --repair`
/// recomputes it from a stored comment.
pub fn commenter_text_fingerprint(
    privacy: &Privacy,
    email_key: EmailKey,
    page: &str,
    normalized_text: &str,
) -> [u8; 32] {
    privacy.text_fingerprint(&[
        b"commenter-page-text",
        &email_key.0,
        page.as_bytes(),
        normalized_text.as_bytes(),
    ])
}

/// Where a comment goes, from the moderation mode, the rules' action and
/// the commenter's history. Spam is spam in every mode; only `accept` can
/// go live, and in `first-time` mode only for a reader approved before.
pub fn status_for(mode: ModerationMode, action: Action, history: History) -> Status {
    match (action, mode) {
        (Action::Spam, _) => Status::Spam,
        (Action::Hold, _) | (Action::Accept, ModerationMode::All) => Status::Pending,
        (Action::Accept, ModerationMode::Rules) => Status::Approved,
        (Action::Accept, ModerationMode::FirstTime) if history.approved > 0 => Status::Approved,
        (Action::Accept, ModerationMode::FirstTime) => Status::Pending,
    }
}

/// Cuts to at most [`MAX_USER_AGENT_BYTES`] on a character boundary.
fn truncate_user_agent(agent: &str) -> String {
    let mut end = agent.len().min(MAX_USER_AGENT_BYTES);
    while !agent.is_char_boundary(end) {
        end -= 1;
    }
    agent[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moderation_modes_decide_what_goes_live() {
        use ModerationMode::*;
        let new = History::default();
        let known = History {
            approved: 1,
            spam: 0,
        };
        let cases = [
            (All, Action::Accept, known, Status::Pending),
            (All, Action::Spam, new, Status::Spam),
            (FirstTime, Action::Accept, new, Status::Pending),
            (FirstTime, Action::Accept, known, Status::Approved),
            (FirstTime, Action::Hold, known, Status::Pending),
            (FirstTime, Action::Spam, known, Status::Spam),
            (Rules, Action::Accept, new, Status::Approved),
            (Rules, Action::Hold, new, Status::Pending),
            (Rules, Action::Spam, new, Status::Spam),
        ];
        for (mode, action, history, expected) in cases {
            assert_eq!(
                status_for(mode, action, history),
                expected,
                "{mode:?} {action:?} {history:?}"
            );
        }
    }

    #[test]
    fn user_agents_are_cut_on_a_character_boundary() {
        let long = "é".repeat(400);
        let cut = truncate_user_agent(&long);
        assert!(cut.len() <= MAX_USER_AGENT_BYTES);
        assert_eq!(cut.len(), 512);
        assert_eq!(truncate_user_agent("curl/8"), "curl/8");
    }
}

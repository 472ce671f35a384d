//! The path of a new comment, without HTTP: validate, sanitize, protect the
//! email, store durably. The HTTP handler and the benchmarks both call
//! [`submit`], so what is measured is what runs.

use std::net::IpAddr;

use crate::domain::{CommentId, FieldErrors, Fields, NewComment, Status};
use crate::error::ApiError;
use crate::privacy::truncate_ip;
use crate::state::AppState;
use crate::store::{self, Comment, now_millis};

/// Longest user agent kept, in bytes.
pub const MAX_USER_AGENT_BYTES: usize = 512;

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

/// Validates, sanitizes and stores one comment; returns once it is on disk.
///
/// # Errors
/// [`ApiError::Validation`] naming every invalid field (including a parent
/// that is not an approved comment of the page), or an internal error.
pub async fn submit(
    state: &AppState,
    fields: &Fields,
    client: &ClientInfo,
) -> Result<Received, ApiError> {
    let new = NewComment::parse(fields).map_err(|fields| ApiError::Validation { fields })?;
    let comment = build(state, new, client)?;
    match state.store.insert(&comment).await {
        Ok(()) => {}
        Err(store::Error::InvalidParent) => {
            let mut fields = FieldErrors::new();
            fields.insert(
                "parent",
                "The comment you reply to is not available.".into(),
            );
            return Err(ApiError::Validation { fields });
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(comment_id = %comment.id, status = %comment.status, "comment received");
    Ok(Received {
        id: comment.id,
        public_status: match comment.status {
            Status::Approved => Status::Approved,
            _ => Status::Pending,
        },
    })
}

/// Turns a valid comment into its stored form.
fn build(state: &AppState, new: NewComment, client: &ClientInfo) -> Result<Comment, ApiError> {
    let privacy = &state.privacy;
    let email_key = privacy.email_key(&new.email);
    let email_sealed = privacy
        .encrypt_email(&new.email)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let now = now_millis();
    Ok(Comment {
        id: state.store.new_id(),
        page: new.page.as_str().to_owned(),
        parent: new.parent,
        html: state.sanitizer.clean(&new.text),
        text: new.text,
        author: new.author,
        url: new.url,
        email_sealed,
        email_hash: email_key.0,
        avatar: privacy.avatar(email_key),
        ip: client.ip.map(|ip| truncate_ip(ip).to_string()),
        user_agent: client.user_agent.as_deref().map(truncate_user_agent),
        status: Status::Pending,
        score: 0,
        hits: Vec::new(),
        created_at: now,
        updated_at: now,
    })
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
    fn user_agents_are_cut_on_a_character_boundary() {
        let long = "é".repeat(400);
        let cut = truncate_user_agent(&long);
        assert!(cut.len() <= MAX_USER_AGENT_BYTES);
        assert_eq!(cut.len(), 512);
        assert_eq!(truncate_user_agent("curl/8"), "curl/8");
    }
}

//! `POST /admin/comments/{id}/reply`: the author answers a comment from
//! the admin page; the answer is public at once and marked as the author's.

use serde::{Deserialize, Serialize};
use warp::http::{StatusCode, header};
use warp::reply::Response;
use warp::{Filter, Reply};

use super::comments::parse_id;
use crate::api::{AdminComment, MAX_BODY_BYTES, with_state};
use crate::domain::{FieldErrors, MAX_COMMENT_CHARS, Status};
use crate::error::ApiError;
use crate::domain::rules;
use crate::state::AppState;
use crate::domain::{Comment, now_millis};
use crate::store;

/// What the author's replies are keyed by instead of an email address. It
/// has no `@`, so no reader's (validated) address can hash to the same key:
/// the author's replies never count in a reader's history or erasure.
pub const AUTHOR_IDENTITY: &str = "moderato:blog-author";

/// The reply route under `/admin`.
pub fn routes(
    state: AppState,
) -> impl Filter<Extract = (impl warp::Reply,), Error = warp::Rejection> + Clone {
    warp::path!("comments" / String / "reply")
        .and(warp::post())
        .and(warp::body::content_length_limit(MAX_BODY_BYTES))
        .and(warp::body::bytes())
        .and(with_state(state))
        .then(comment_reply)
}

#[derive(Debug, Deserialize)]
struct ReplyRequest {
    comment: Option<String>,
}

#[derive(Serialize)]
struct ReplyResponse {
    reply: AdminComment,
    parent: AdminComment,
}

/// POST /admin/comments/{id}/reply `{"comment": "..."}`
///
/// 201 with `Location: /admin/comments/{reply id}` and `{"reply", "parent"}`
/// (both admin views): the reply is stored approved on the parent's page,
/// `by_author: true`, under the configured `author_name`, without email.
/// A pending parent is approved by the same transaction (recorded with
/// `via: "reply"`). 404 for an unknown parent; 422 for a rejected or spam
/// parent or an empty or too long comment; 409 for the same reply twice;
/// 400 for a body that is not `{"comment": "..."}`.
async fn comment_reply(
    id: String,
    body: bytes::Bytes,
    state: AppState,
) -> Result<Response, ApiError> {
    let parent_id = parse_id(&id)?;
    let request: ReplyRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("expected {{\"comment\": \"...\"}}: {e}")))?;
    let text = parse_reply(request.comment.as_deref()).map_err(|message| {
        let mut fields = FieldErrors::new();
        fields.insert("comment", message);
        ApiError::Validation { fields }
    })?;
    let parent = state.store.get(parent_id)?.ok_or(ApiError::NotFound)?;

    let privacy = &state.privacy;
    let author_key = privacy.email_key(AUTHOR_IDENTITY);
    let now = now_millis();
    let reply = Comment {
        id: state.store.new_id(),
        page: parent.page.clone(),
        parent: Some(parent_id),
        author: state.config.author_name.trim().to_owned(),
        url: None,
        html: state.sanitizer.clean(&text),
        text,
        email_sealed: Vec::new(),
        email_hash: author_key.0,
        avatar: privacy.avatar(author_key),
        ip: None,
        user_agent: None,
        status: Status::Approved,
        score: 0,
        hits: Vec::new(),
        action: None,
        created_at: now,
        updated_at: now,
        by_author: true,
        decisions: Vec::new(),
    };
    let fingerprint = privacy.text_fingerprint(&[
        b"author-reply",
        &parent_id.to_bytes(),
        rules::normalize(&reply.text).as_bytes(),
    ]);
    let parent = match state.store.insert_reply(&reply, fingerprint).await {
        Ok(parent) => parent,
        Err(store::Error::ParentNotFound) => return Err(ApiError::NotFound),
        Err(store::Error::ParentClosed(status)) => {
            let mut fields = FieldErrors::new();
            fields.insert(
                "parent",
                format!("This comment is marked {status}: approve it before replying."),
            );
            return Err(ApiError::Validation { fields });
        }
        Err(store::Error::InvalidParent) => {
            let mut fields = FieldErrors::new();
            fields.insert("parent", "This comment moved to another page.".into());
            return Err(ApiError::Validation { fields });
        }
        Err(store::Error::Duplicate) => return Err(ApiError::Duplicate),
        Err(e) => return Err(e.into()),
    };
    tracing::info!(comment_id = %reply.id, parent_id = %parent_id, "author replied");
    let body = ReplyResponse {
        reply: AdminComment::new(&reply, privacy),
        parent: AdminComment::new(&parent, privacy),
    };
    let mut response =
        warp::reply::with_status(warp::reply::json(&body), StatusCode::CREATED).into_response();
    if let Ok(location) = format!("/admin/comments/{}", reply.id).parse() {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// The reply's text: trimmed, 1 to [`MAX_COMMENT_CHARS`] characters.
fn parse_reply(raw: Option<&str>) -> Result<String, String> {
    let text = raw.map(str::trim).unwrap_or("");
    if text.is_empty() {
        return Err("Type a reply.".into());
    }
    if text.chars().count() > MAX_COMMENT_CHARS {
        return Err(format!(
            "A reply must be at most {MAX_COMMENT_CHARS} characters."
        ));
    }
    Ok(text.to_owned())
}

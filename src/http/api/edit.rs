//! `PUT /api/comments/{id}` and `DELETE /api/comments/{id}`: the writer
//! edits or deletes their comment within the edit window, with the edit
//! token of the 201 answer as `Authorization: Bearer <token>`.
//!
//! The token is a credential: it is read from the header only, passed to
//! the core and never logged (the request log holds no header).

use bytes::Bytes;
use serde::Serialize;
use warp::filters::BoxedFilter;
use warp::http::{Method, StatusCode};
use warp::reply::Response;
use warp::{Filter, Reply};

use super::body;
use crate::domain::{CommentId, Status, format_time};
use crate::http::{ApiError, AppState, MAX_BODY_BYTES, endpoint, post_limited, with_state};

/// The edit routes under `/api`, without CORS.
pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    let edit = warp::path!("comments" / String)
        .and(warp::put())
        .and(post_limited(state.clone()))
        .and(warp::header::optional::<String>("authorization"))
        .and(warp::header::optional::<String>("content-type"))
        .and(warp::body::content_length_limit(MAX_BODY_BYTES))
        .and(warp::body::bytes())
        .and(with_state(state.clone()))
        .then(comment_edit);
    let delete = warp::path!("comments" / String)
        .and(warp::delete())
        .and(post_limited(state.clone()))
        .and(warp::header::optional::<String>("authorization"))
        .and(with_state(state))
        .then(comment_delete);
    endpoint(Method::PUT, "/api/comments/{id}", edit)
        .or(endpoint(Method::DELETE, "/api/comments/{id}", delete))
        .unify()
        .boxed()
}

/// The bearer token of an `Authorization` header, or "" (which no grant
/// matches).
fn bearer(authorization: Option<&str>) -> &str {
    authorization
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map_or("", str::trim)
}

/// An id that is not one is a comment that does not exist.
fn comment_id(raw: &str) -> Result<CommentId, ApiError> {
    raw.parse().map_err(|()| ApiError::NotFound)
}

/// PUT /api/comments/{id} (JSON or form: `comment`, optional `author`, `url`)
///
/// 200 with `{"id", "status", "html", "editable_until"}`; 400 malformed
/// body; 403 wrong or expired token, editing off; 404 unknown id; 409 the
/// same text as another comment of this commenter on the page; 413; 415;
/// 422 invalid fields; 429.
async fn comment_edit(
    raw_id: String,
    _client_ip: Option<std::net::IpAddr>,
    authorization: Option<String>,
    content_type: Option<String>,
    raw: Bytes,
    state: AppState,
) -> Result<Response, ApiError> {
    let id = comment_id(&raw_id)?;
    let fields = body::decode(body::kind(content_type.as_deref())?, &raw)?;
    let edited = state
        .moderator
        .edit(id, bearer(authorization.as_deref()), &fields)
        .await?;
    let comment = &edited.comment;
    Ok(warp::reply::json(&EditedView {
        id: comment.id,
        status: edited.public_status,
        html: comment.html.clone(),
        editable_until: comment.edit.as_ref().map(|grant| format_time(grant.until)),
    })
    .into_response())
}

/// DELETE /api/comments/{id}
///
/// 204 once gone (or emptied into the "deleted" placeholder its replies
/// hang under); 403 wrong or expired token; 404 unknown id; 429.
async fn comment_delete(
    raw_id: String,
    _client_ip: Option<std::net::IpAddr>,
    authorization: Option<String>,
    state: AppState,
) -> Result<Response, ApiError> {
    let id = comment_id(&raw_id)?;
    state
        .moderator
        .withdraw(id, bearer(authorization.as_deref()))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The answer to an edit.
#[derive(Serialize)]
struct EditedView {
    id: CommentId,
    status: Status,
    html: String,
    editable_until: Option<String>,
}

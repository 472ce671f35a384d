//! `/admin/comments`: the moderation queue and the author's decisions.

use std::collections::BTreeMap;

use serde::Serialize;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Reply};

use crate::api::{AdminComment, with_state};
use crate::domain::{CommentId, FieldErrors, PageId, Status};
use crate::error::ApiError;
use crate::state::AppState;
use crate::domain::Via;

/// Default and largest page size of a listing.
const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 200;

/// The comment routes under `/admin`.
pub fn routes(
    state: AppState,
) -> impl Filter<Extract = (impl warp::Reply,), Error = warp::Rejection> + Clone {
    let list = warp::path!("comments")
        .and(warp::get())
        .and(warp::query::<BTreeMap<String, String>>())
        .and(with_state(state.clone()))
        .then(comments_list);
    let one = warp::path!("comments" / String)
        .and(warp::get())
        .and(with_state(state.clone()))
        .then(comment_get);
    let decide = warp::path!("comments" / String / String)
        .and(warp::post())
        .and(with_state(state.clone()))
        .then(comment_decide);
    let delete = warp::path!("comments" / String)
        .and(warp::delete())
        .and(with_state(state))
        .then(comment_delete);
    list.or(one).or(decide).or(delete)
}

/// GET /admin/comments?status=pending&page=&limit=50&cursor=
///
/// 200 with `{"comments", "next_cursor"}`, newest first; 422 for an unknown
/// status, a bad limit, page or cursor.
async fn comments_list(
    query: BTreeMap<String, String>,
    state: AppState,
) -> Result<Response, ApiError> {
    let mut errors = FieldErrors::new();
    let status = match query.get("status").map(String::as_str).unwrap_or("pending") {
        "all" => None,
        s => match s.parse::<Status>() {
            Ok(status) => Some(status),
            Err(()) => {
                errors.insert(
                    "status",
                    "Use pending, approved, rejected, spam or all.".into(),
                );
                None
            }
        },
    };
    let page = match query.get("page").filter(|p| !p.is_empty()) {
        Some(raw) => match PageId::parse(raw) {
            Ok(page) => Some(page),
            Err(e) => {
                errors.insert("page", e);
                None
            }
        },
        None => None,
    };
    let limit = match query.get("limit").map(|l| l.parse::<usize>()) {
        None => DEFAULT_LIMIT,
        Some(Ok(n)) if (1..=MAX_LIMIT).contains(&n) => n,
        Some(_) => {
            errors.insert("limit", format!("Use a number from 1 to {MAX_LIMIT}."));
            DEFAULT_LIMIT
        }
    };
    let cursor = match query.get("cursor").filter(|c| !c.is_empty()) {
        Some(raw) => match raw.parse::<CommentId>() {
            Ok(id) => Some(id),
            Err(()) => {
                errors.insert("cursor", "This cursor is not valid.".into());
                None
            }
        },
        None => None,
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation { fields: errors });
    }

    let listing = state
        .store
        .list(status, page.as_ref().map(PageId::as_str), limit, cursor)?;

    #[derive(Serialize)]
    struct Listing {
        comments: Vec<AdminComment>,
        next_cursor: Option<CommentId>,
    }
    let comments = listing
        .comments
        .iter()
        .map(|c| AdminComment::new(c, &state.privacy))
        .collect();
    Ok(warp::reply::json(&Listing {
        comments,
        next_cursor: listing.next_cursor,
    })
    .into_response())
}

/// GET /admin/comments/{id}
///
/// 200 with the comment and its private fields; 404 if unknown.
async fn comment_get(id: String, state: AppState) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let comment = state.store.get(id)?.ok_or(ApiError::NotFound)?;
    Ok(warp::reply::json(&AdminComment::new(&comment, &state.privacy)).into_response())
}

/// POST /admin/comments/{id}/approve | reject | spam
///
/// 200 with the updated comment (idempotent); 404 for an unknown id or action.
async fn comment_decide(id: String, action: String, state: AppState) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let status = match action.as_str() {
        "approve" => Status::Approved,
        "reject" => Status::Rejected,
        "spam" => Status::Spam,
        _ => return Err(ApiError::NotFound),
    };
    let comment = state
        .store
        .set_status(id, status, Via::Admin)
        .await?
        .ok_or(ApiError::NotFound)?;
    tracing::info!(comment_id = %id, status = %status, "decision");
    Ok(warp::reply::json(&AdminComment::new(&comment, &state.privacy)).into_response())
}

/// DELETE /admin/comments/{id}
///
/// 204 once the comment and its index entries are gone; 404 if unknown.
async fn comment_delete(id: String, state: AppState) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    if state.store.delete(id).await? {
        tracing::info!(comment_id = %id, "deleted");
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::NotFound)
    }
}

pub(super) fn parse_id(raw: &str) -> Result<CommentId, ApiError> {
    raw.parse().map_err(|()| ApiError::NotFound)
}

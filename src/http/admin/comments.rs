//! `/admin/comments`: the moderation queue and the author's decisions.

use std::collections::BTreeMap;

use serde::Serialize;
use warp::filters::BoxedFilter;
use warp::http::{Method, StatusCode};
use warp::reply::Response;
use warp::{Filter, Reply};

use crate::domain::ports::ListQuery;
use crate::domain::{CommentId, Decision, FieldErrors, PageId, Status, Via};
use crate::http::auth::{Scope, guard};
use crate::http::views::AdminComment;
use crate::http::{ApiError, AppState, endpoint, with_state};

/// Default and largest page size of a listing.
const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 200;

/// The comment routes under `/admin`.
pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    let admin = || guard(state.clone(), Scope::Admin);
    let list = warp::path!("admin" / "comments")
        .and(warp::get())
        .and(admin())
        .and(warp::query::<BTreeMap<String, String>>())
        .and(with_state(state.clone()))
        .then(comments_list);
    let one = warp::path!("admin" / "comments" / String)
        .and(warp::get())
        .and(admin())
        .and(with_state(state.clone()))
        .then(comment_get);
    let decide = warp::path!("admin" / "comments" / String / String)
        .and(warp::post())
        .and(admin())
        .and(with_state(state.clone()))
        .then(comment_decide);
    let delete = warp::path!("admin" / "comments" / String)
        .and(warp::delete())
        .and(admin())
        .and(with_state(state.clone()))
        .then(comment_delete);
    endpoint(Method::GET, "/admin/comments", list)
        .or(endpoint(Method::GET, "/admin/comments/{id}", one))
        .unify()
        .or(endpoint(
            Method::POST,
            "/admin/comments/{id}/{action}",
            decide,
        ))
        .unify()
        .or(endpoint(Method::DELETE, "/admin/comments/{id}", delete))
        .unify()
        .boxed()
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
        .store()
        .list(ListQuery {
            status,
            page: page.as_ref().map(PageId::as_str),
            limit,
            before: cursor,
        })
        .await?;

    #[derive(Serialize)]
    struct Listing {
        comments: Vec<AdminComment>,
        next_cursor: Option<CommentId>,
    }
    let comments = listing
        .comments
        .iter()
        .map(|c| AdminComment::new(c, state.privacy()))
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
    let comment = state.store().get(id).await?.ok_or(ApiError::NotFound)?;
    Ok(warp::reply::json(&AdminComment::new(&comment, state.privacy())).into_response())
}

/// POST /admin/comments/{id}/approve | reject | spam
///
/// 200 with the updated comment (idempotent); 404 for an unknown id or action.
async fn comment_decide(
    id: String,
    decision: String,
    state: AppState,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let decision: Decision = decision.parse().map_err(|()| ApiError::NotFound)?;
    let transition = state
        .moderator
        .decide(id, decision, Via::Admin)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(warp::reply::json(&AdminComment::new(&transition.comment, state.privacy())).into_response())
}

/// DELETE /admin/comments/{id}
///
/// 204 once the comment and its index entries are gone; 404 if unknown.
async fn comment_delete(id: String, state: AppState) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    if state.moderator.delete(id).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::NotFound)
    }
}

pub(super) fn parse_id(raw: &str) -> Result<CommentId, ApiError> {
    raw.parse().map_err(|()| ApiError::NotFound)
}

//! `POST /admin/comments/{id}/reply`: the author answers a comment from
//! the admin page; the answer is public at once and marked as the author's.

use serde::{Deserialize, Serialize};
use warp::filters::BoxedFilter;
use warp::http::{Method, StatusCode, header};
use warp::reply::Response;
use warp::{Filter, Reply};

use super::comments::parse_id;
use crate::http::auth::{Scope, guard};
use crate::http::views::AdminComment;
use crate::http::{ApiError, AppState, endpoint, json_body, with_state};

/// The reply route.
pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    endpoint(
        Method::POST,
        "/admin/comments/{id}/reply",
        warp::path!("admin" / "comments" / String / "reply")
            .and(warp::post())
            .and(guard(state.clone(), Scope::Admin))
            .and(json_body::<ReplyRequest>(r#"{"comment": "..."}"#))
            .and(with_state(state))
            .then(comment_reply),
    )
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
/// parent or a comment that is empty, too long or holds control
/// characters; 409 for the same reply twice; 400 for a body that is not
/// `{"comment": "..."}`.
async fn comment_reply(
    id: String,
    request: ReplyRequest,
    state: AppState,
) -> Result<Response, ApiError> {
    let parent_id = parse_id(&id)?;
    let text = request.comment.unwrap_or_default();
    let (reply, parent) = state.moderator.reply(parent_id, &text).await?;
    let privacy = state.privacy();
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

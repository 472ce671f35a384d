//! `POST /admin/comments/bulk`: acting on many comments at once.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use warp::filters::BoxedFilter;
use warp::http::Method;
use warp::reply::Response;
use warp::{Filter, Reply};

use crate::domain::{CommentId, Decision, FieldErrors, Via};
use crate::http::auth::{Scope, guard};
use crate::http::{ApiError, AppState, endpoint, json_body, with_state};

/// Most ids one bulk request may name.
pub const MAX_BULK_IDS: usize = 500;

/// The bulk route.
pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    endpoint(
        Method::POST,
        "/admin/comments/bulk",
        warp::path!("admin" / "comments" / "bulk")
            .and(warp::post())
            .and(guard(state.clone(), Scope::Admin))
            .and(json_body::<BulkRequest>(
                r#"{"ids": [...], "action": "approve"}"#,
            ))
            .and(with_state(state))
            .then(comments_bulk),
    )
}

#[derive(Debug, Deserialize)]
struct BulkRequest {
    ids: Option<Vec<Value>>,
    action: Option<String>,
}

#[derive(Debug, Clone, Copy)]
enum BulkAction {
    Decide(Decision),
    Delete,
}

/// One id's outcome. `id` is echoed as sent.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum BulkResult {
    Done {
        id: Value,
        ok: bool,
        /// The new status, or `deleted`.
        status: &'static str,
    },
    Failed {
        id: Value,
        ok: bool,
        /// `not_found`, `invalid_id`, `unavailable` (the store cannot
        /// write now: try again), or `internal` (logged).
        error: &'static str,
    },
}

/// POST /admin/comments/bulk `{"ids": [...], "action": "approve" | "reject" | "spam" | "delete"}`
///
/// 200 with `{"results": [{"id", "ok": true, "status"} | {"id", "ok": false,
/// "error": "not_found" | "invalid_id" | "unavailable" | "internal"}]}`, in the order of
/// `ids`; one transaction per comment, so an unknown id (or a damaged
/// record, logged) fails alone. `status` is `deleted` for deletions. 422 for a missing
/// or unknown action, missing ids or more than [`MAX_BULK_IDS`]; 400 for a
/// body that is not such an object.
async fn comments_bulk(request: BulkRequest, state: AppState) -> Result<Response, ApiError> {
    let mut errors = FieldErrors::new();
    let action = match request.action.as_deref() {
        Some("delete") => Some(BulkAction::Delete),
        Some(name) => name.parse().ok().map(BulkAction::Decide),
        None => None,
    };
    if action.is_none() {
        errors.insert("action", "Use approve, reject, spam or delete.".into());
    }
    match &request.ids {
        None => {
            errors.insert("ids", "List the ids of the comments to act on.".into());
        }
        Some(ids) if ids.len() > MAX_BULK_IDS => {
            errors.insert(
                "ids",
                format!("Send at most {MAX_BULK_IDS} ids in one request."),
            );
        }
        Some(_) => {}
    }
    let (Some(action), Some(ids), true) = (action, request.ids, errors.is_empty()) else {
        return Err(ApiError::Validation { fields: errors });
    };

    let mut results = Vec::with_capacity(ids.len());
    for raw in ids {
        let id = raw.as_str().and_then(|s| s.parse::<CommentId>().ok());
        let Some(id) = id else {
            results.push(BulkResult::Failed {
                id: raw,
                ok: false,
                error: "invalid_id",
            });
            continue;
        };
        let outcome = match action {
            BulkAction::Decide(decision) => state
                .moderator
                .decide(id, decision, Via::Bulk)
                .await
                .map(|t| t.map(|t| t.comment.status.as_str())),
            BulkAction::Delete => state
                .moderator
                .delete(id)
                .await
                .map(|found| found.then_some("deleted")),
        };
        results.push(match outcome {
            Ok(Some(status)) => BulkResult::Done {
                id: raw,
                ok: true,
                status,
            },
            Ok(None) => BulkResult::Failed {
                id: raw,
                ok: false,
                error: "not_found",
            },
            Err(crate::domain::moderation::Error::Store(
                crate::domain::ports::StoreError::Unavailable { .. },
            )) => BulkResult::Failed {
                id: raw,
                ok: false,
                error: "unavailable",
            },
            Err(e) => {
                // One damaged record must not stop the others; the cause is
                // logged here and the client only learns that this one failed.
                tracing::error!(comment_id = %id, error = %e, "bulk decision failed");
                BulkResult::Failed {
                    id: raw,
                    ok: false,
                    error: "internal",
                }
            }
        });
    }
    let done = results
        .iter()
        .filter(|r| matches!(r, BulkResult::Done { .. }))
        .count();
    tracing::info!(
        action = ?action,
        requested = results.len(),
        done,
        "bulk decision"
    );
    Ok(warp::reply::json(&serde_json::json!({ "results": results })).into_response())
}

//! `POST /admin/comments/bulk` and `GET /admin/stats`: acting on many
//! comments at once, and the counts the admin page's tabs show.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use warp::reply::Response;
use warp::{Filter, Reply};

use crate::api::{MAX_BODY_BYTES, with_state};
use crate::domain::{CommentId, FieldErrors, Status};
use crate::error::ApiError;
use crate::state::AppState;
use crate::domain::Via;

/// Most ids one bulk request may name.
pub const MAX_BULK_IDS: usize = 500;

/// The bulk and stats routes under `/admin`.
pub fn routes(
    state: AppState,
) -> impl Filter<Extract = (impl warp::Reply,), Error = warp::Rejection> + Clone {
    let bulk = warp::path!("comments" / "bulk")
        .and(warp::post())
        .and(warp::body::content_length_limit(MAX_BODY_BYTES))
        .and(warp::body::bytes())
        .and(with_state(state.clone()))
        .then(comments_bulk);
    let stats = warp::path!("stats")
        .and(warp::get())
        .and(with_state(state))
        .then(stats_get);
    bulk.or(stats)
}

#[derive(Debug, Deserialize)]
struct BulkRequest {
    ids: Option<Vec<Value>>,
    action: Option<String>,
}

#[derive(Debug, Clone, Copy)]
enum BulkAction {
    Set(Status),
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
        /// `not_found`, `invalid_id`, or `internal` (logged).
        error: &'static str,
    },
}

/// POST /admin/comments/bulk `{"ids": [...], "action": "approve" | "reject" | "spam" | "delete"}`
///
/// 200 with `{"results": [{"id", "ok": true, "status"} | {"id", "ok": false,
/// "error": "not_found" | "invalid_id" | "internal"}]}`, in the order of
/// `ids`; one transaction per comment, so an unknown id (or a damaged
/// record, logged) fails alone. `status` is `deleted` for deletions. 422 for a missing
/// or unknown action, missing ids or more than [`MAX_BULK_IDS`]; 400 for a
/// body that is not such an object.
async fn comments_bulk(body: bytes::Bytes, state: AppState) -> Result<Response, ApiError> {
    let request: BulkRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::BadRequest(format!(
            "expected {{\"ids\": [...], \"action\": \"approve\"}}: {e}"
        ))
    })?;
    let mut errors = FieldErrors::new();
    let action = match request.action.as_deref() {
        Some("approve") => Some(BulkAction::Set(Status::Approved)),
        Some("reject") => Some(BulkAction::Set(Status::Rejected)),
        Some("spam") => Some(BulkAction::Set(Status::Spam)),
        Some("delete") => Some(BulkAction::Delete),
        _ => {
            errors.insert("action", "Use approve, reject, spam or delete.".into());
            None
        }
    };
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
            BulkAction::Set(status) => state
                .store
                .set_status(id, status, Via::Bulk)
                .await
                .map(|c| c.map(|c| c.status.as_str())),
            BulkAction::Delete => state
                .store
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

/// GET /admin/stats
///
/// 200 with `{"pending": n, "approved": n, "rejected": n, "spam": n,
/// "site": "https://blog.example" | null}`: the counts come from the
/// store's counters; `site` is the first allowed origin, which the admin
/// page puts before a comment's page path to link to it.
async fn stats_get(state: AppState) -> Result<Response, ApiError> {
    let mut stats = serde_json::Map::new();
    for status in Status::ALL {
        stats.insert(
            status.as_str().to_owned(),
            state.store.status_count(status).into(),
        );
    }
    stats.insert(
        "site".to_owned(),
        state.config.allowed_origins.first().cloned().into(),
    );
    Ok(warp::reply::json(&stats).into_response())
}

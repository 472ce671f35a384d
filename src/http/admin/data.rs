//! The author's data: `GET /admin/export` (every comment as JSON Lines,
//! emails decrypted), `POST /admin/import` (the same format back, ids,
//! statuses and times kept, idempotent) and `POST /admin/erase` (every
//! comment of one commenter: the right to be forgotten).
//!
//! The line format is [`crate::domain::moderation::portable`]'s.

use serde::{Deserialize, Serialize};
use warp::filters::BoxedFilter;
use warp::http::{HeaderValue, header};
use warp::reply::Response;
use warp::{Filter, Reply};

use crate::http::auth::{Scope, guard};
use crate::http::{ApiError, AppState, endpoint, json_body, with_state};

/// Comments read from the store at a time while exporting.
const EXPORT_BATCH: usize = 512;

/// The data routes.
pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    let admin = || guard(state.clone(), Scope::Admin);
    let export = warp::path!("admin" / "export")
        .and(warp::get())
        .and(admin())
        .and(with_state(state.clone()))
        .then(data_export);
    let import = warp::path!("admin" / "import")
        .and(warp::post())
        .and(admin())
        .and(warp::header::optional::<String>("content-type"))
        .and(warp::body::content_length_limit(
            state.config.max_import_mb.saturating_mul(1024 * 1024),
        ))
        .and(warp::body::bytes())
        .and(with_state(state.clone()))
        .then(data_import);
    let erase = warp::path!("admin" / "erase")
        .and(warp::post())
        .and(admin())
        .and(json_body::<EraseRequest>(r#"{"email": "..."}"#))
        .and(with_state(state))
        .then(data_erase);
    endpoint("/admin/export", export)
        .or(endpoint("/admin/import", import))
        .unify()
        .or(endpoint("/admin/erase", erase))
        .unify()
        .boxed()
}

/// GET /admin/export
///
/// 200 `application/x-ndjson`: one comment per line, oldest first, with the
/// decrypted email. (warp 0.4 has no public streaming body, so the file is
/// assembled in memory first: about 1 KB per comment.)
async fn data_export(state: AppState) -> Result<Response, ApiError> {
    let mut body = Vec::new();
    let mut count = 0usize;
    let mut after = None;
    loop {
        let batch = state.store().comments_after(after, EXPORT_BATCH).await?;
        let Some(last) = batch.last() else { break };
        after = Some(last.id);
        for comment in &batch {
            body.extend(
                state
                    .moderator
                    .export_line(comment)
                    .map_err(ApiError::internal)?,
            );
            count += 1;
        }
    }
    let mut readers = 0usize;
    let mut after = None;
    loop {
        let batch = state.store().subscribers_after(after, EXPORT_BATCH).await?;
        let Some(last) = batch.last() else { break };
        after = Some(last.email_key());
        for record in &batch {
            if let Some(line) = state
                .moderator
                .export_subscriber_line(record)
                .map_err(ApiError::internal)?
            {
                body.extend(line);
                readers += 1;
            }
        }
    }
    tracing::info!(comments = count, readers, "export");
    let date = time::OffsetDateTime::now_utc().date();
    let mut response = Response::new(body.into());
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(value) = HeaderValue::from_str(&format!(
        "attachment; filename=\"moderato-export-{}.jsonl\"",
        date
    )) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// What an import did.
#[derive(Debug, Default, Serialize)]
struct ImportReport {
    imported: usize,
    skipped: usize,
    errors: Vec<LineError>,
}

#[derive(Debug, Serialize)]
struct LineError {
    line: usize,
    message: String,
}

/// Most line errors listed; the count of the others is in the last one.
const MAX_LISTED_ERRORS: usize = 100;

/// POST /admin/import (`application/x-ndjson`)
///
/// 200 with `{"imported", "skipped", "errors": [{"line", "message"}]}`:
/// a comment whose id exists is skipped, a bad line is reported and the
/// others still import. 413 beyond `max_import_mb`; 415 other types.
async fn data_import(
    content_type: Option<String>,
    body: bytes::Bytes,
    state: AppState,
) -> Result<Response, ApiError> {
    let essence = content_type
        .as_deref()
        .and_then(|ct| ct.split(';').next())
        .map(|s| s.trim().to_ascii_lowercase());
    if !matches!(
        essence.as_deref(),
        Some("application/x-ndjson" | "application/jsonl" | "application/json-lines")
    ) {
        return Err(ApiError::UnsupportedMediaType);
    }
    let report = import_lines(&body, &state).await;
    state.store().flush().await?;
    tracing::info!(
        imported = report.imported,
        skipped = report.skipped,
        errors = report.errors.len(),
        "import"
    );
    Ok(warp::reply::json(&report).into_response())
}

async fn import_lines(body: &[u8], state: &AppState) -> ImportReport {
    let mut report = ImportReport::default();
    let mut unlisted = 0usize;
    for (index, raw) in body.split(|b| *b == b'\n').enumerate() {
        let raw = raw.trim_ascii();
        if raw.is_empty() {
            continue;
        }
        match state.moderator.import_line(raw).await {
            Ok(true) => report.imported += 1,
            Ok(false) => report.skipped += 1,
            Err(message) if report.errors.len() < MAX_LISTED_ERRORS => {
                report.errors.push(LineError {
                    line: index + 1,
                    message,
                });
            }
            Err(_) => unlisted += 1,
        }
    }
    if unlisted > 0 {
        report.errors.push(LineError {
            line: 0,
            message: format!("{unlisted} more lines have errors"),
        });
    }
    report
}

#[derive(Debug, Deserialize)]
struct EraseRequest {
    email: String,
}

/// POST /admin/erase `{"email": "..."}`
///
/// 200 `{"deleted": N}` once every comment of that address (trimmed, any
/// case) and its index entries are gone; 400 for another body; 422 for an
/// empty address.
async fn data_erase(request: EraseRequest, state: AppState) -> Result<Response, ApiError> {
    if request.email.trim().is_empty() {
        return Err(crate::domain::moderation::Error::field(
            "email",
            "Enter the commenter's email address.",
        )
        .into());
    }
    let deleted = state.moderator.erase(&request.email).await?;
    Ok(warp::reply::json(&serde_json::json!({ "deleted": deleted })).into_response())
}

//! The author's data: `GET /admin/export` (every comment as JSON Lines,
//! emails decrypted), `POST /admin/import` (the same format back, ids,
//! statuses and times kept, idempotent) and `POST /admin/erase` (every
//! comment of one commenter: the right to be forgotten).
//!
//! An export line is the stored comment with the email decrypted into
//! `email` and the instance-bound fields (`email_sealed`, `email_hash`,
//! `avatar`) left out: an import recomputes them with its own key. Fields
//! the model gains later travel through untouched.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use warp::http::{HeaderValue, header};
use warp::reply::Response;
use warp::{Filter, Reply};

use crate::api::with_state;
use crate::domain::{FieldErrors, PageId, parse_email};
use crate::error::ApiError;
use crate::intake::fingerprints;
use crate::state::AppState;
use crate::domain::Comment;

/// Fields of a stored comment that only make sense with this instance's key.
const INSTANCE_FIELDS: [&str; 3] = ["email_sealed", "email_hash", "avatar"];

/// The data routes under `/admin`.
pub fn routes(
    state: AppState,
) -> impl Filter<Extract = (impl warp::Reply,), Error = warp::Rejection> + Clone {
    let export = warp::path!("export")
        .and(warp::get())
        .and(with_state(state.clone()))
        .then(data_export);
    let import = warp::path!("import")
        .and(warp::post())
        .and(warp::header::optional::<String>("content-type"))
        .and(warp::body::content_length_limit(
            state.config.max_import_mb.saturating_mul(1024 * 1024),
        ))
        .and(warp::body::bytes())
        .and(with_state(state.clone()))
        .then(data_import);
    let erase = warp::path!("erase")
        .and(warp::post())
        .and(warp::body::content_length_limit(crate::api::MAX_BODY_BYTES))
        .and(warp::body::bytes())
        .and(with_state(state))
        .then(data_erase);
    export.or(import).or(erase)
}

/// One export line for `comment`.
fn export_line(comment: &Comment, state: &AppState) -> Result<Vec<u8>, ApiError> {
    let internal = |e: serde_json::Error| ApiError::Internal(e.to_string());
    let Value::Object(mut fields) = serde_json::to_value(comment).map_err(internal)? else {
        return Err(ApiError::Internal("a comment is not a JSON object".into()));
    };
    for name in INSTANCE_FIELDS {
        fields.remove(name);
    }
    let email = match state.privacy.decrypt_email(&comment.email_sealed) {
        // The author's replies have no email.
        _ if !comment.has_email() => Value::Null,
        Ok(email) => Value::String(email),
        Err(e) => {
            tracing::error!(comment_id = %comment.id, error = %e, "export: email cannot be decrypted");
            Value::Null
        }
    };
    fields.insert("email".into(), email);
    let mut line = serde_json::to_vec(&fields).map_err(internal)?;
    line.push(b'\n');
    Ok(line)
}

/// GET /admin/export
///
/// 200 `application/x-ndjson`: one comment per line, oldest first, with the
/// decrypted email. (warp 0.4 has no public streaming body, so the file is
/// assembled in memory first: about 1 KB per comment.)
async fn data_export(state: AppState) -> Result<Response, ApiError> {
    let worker = state.clone();
    let (body, count) = tokio::task::spawn_blocking(move || {
        let mut body = Vec::new();
        let mut count = 0usize;
        for comment in worker.store.all_comments() {
            body.extend(export_line(&comment?, &worker)?);
            count += 1;
        }
        Ok::<_, ApiError>((body, count))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))??;
    tracing::info!(comments = count, "export");
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
    let worker = state.clone();
    let report = tokio::task::spawn_blocking(move || import_lines(&body, &worker))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
    state.store.flush().await?;
    tracing::info!(
        imported = report.imported,
        skipped = report.skipped,
        errors = report.errors.len(),
        "import"
    );
    Ok(warp::reply::json(&report).into_response())
}

fn import_lines(body: &[u8], state: &AppState) -> Result<ImportReport, ApiError> {
    let mut report = ImportReport::default();
    let mut unlisted = 0usize;
    for (index, raw) in body.split(|b| *b == b'\n').enumerate() {
        let raw = raw.trim_ascii();
        if raw.is_empty() {
            continue;
        }
        let outcome = parse_record(raw, state).and_then(|(comment, email_key)| {
            let prints = fingerprints(&state.privacy, email_key, &comment.page, &comment.text);
            state
                .store
                .import(&comment, &prints)
                .map_err(|e| format!("cannot store: {e}"))
        });
        match outcome {
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
    Ok(report)
}

/// One export line back into a stored comment, sealed with this instance's
/// key; the HTML is made again from the text, never trusted from the file.
fn parse_record(
    raw: &[u8],
    state: &AppState,
) -> Result<(Comment, crate::domain::privacy::EmailKey), String> {
    let value: Value = serde_json::from_slice(raw).map_err(|e| format!("not valid JSON: {e}"))?;
    let Value::Object(mut fields) = value else {
        return Err("expected a JSON object".into());
    };
    let by_author = matches!(fields.get("by_author"), Some(Value::Bool(true)));
    let email = match fields.remove("email") {
        Some(Value::String(email)) => Some(parse_email(&email).map_err(|e| format!("email: {e}"))?),
        // The author's replies carry no email.
        _ if by_author => None,
        _ => return Err("email: missing".into()),
    };
    for name in INSTANCE_FIELDS {
        fields.remove(name);
    }
    let page = match fields.get("page") {
        Some(Value::String(page)) => PageId::parse(page).map_err(|e| format!("page: {e}"))?,
        _ => return Err("page: missing".into()),
    };
    let text = match fields.get("text") {
        Some(Value::String(text)) if !text.trim().is_empty() => text.clone(),
        _ => return Err("text: missing".into()),
    };
    let privacy = &state.privacy;
    let (email_key, sealed) = match &email {
        Some(email) => (
            privacy.email_key(email),
            privacy
                .encrypt_email(email)
                .map_err(|e| format!("email: {e}"))?,
        ),
        None => (privacy.email_key(crate::admin::AUTHOR_IDENTITY), Vec::new()),
    };
    let instance: Map<String, Value> = [
        ("email_sealed", Value::String(hex::encode(sealed))),
        ("email_hash", Value::String(email_key.to_hex())),
        ("avatar", Value::String(privacy.avatar(email_key))),
        ("html", Value::String(state.sanitizer.clean(&text))),
        ("page", Value::String(page.as_str().to_owned())),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    fields.extend(instance);
    let comment: Comment =
        serde_json::from_value(Value::Object(fields)).map_err(|e| e.to_string())?;
    Ok((comment, email_key))
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
async fn data_erase(body: bytes::Bytes, state: AppState) -> Result<Response, ApiError> {
    let request: EraseRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("expected {{\"email\": \"...\"}}: {e}")))?;
    if request.email.trim().is_empty() {
        let mut fields = FieldErrors::new();
        fields.insert("email", "Enter the commenter's email address.".into());
        return Err(ApiError::Validation { fields });
    }
    let privacy = state.privacy.clone();
    let key = privacy.email_key(&request.email);
    let deleted = state
        .store
        .erase_commenter(key, |c| {
            fingerprints(&privacy, c.email_key(), &c.page, &c.text).commenter_text
        })
        .await?;
    tracing::info!(deleted, "erased a commenter's comments");
    Ok(warp::reply::json(&serde_json::json!({ "deleted": deleted })).into_response())
}

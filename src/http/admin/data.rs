//! The author's data: `GET /admin/export` (every comment as JSON Lines,
//! emails decrypted, or as a WordPress WXR), `POST /admin/import` (a
//! WordPress, Disqus or Isso export, or moderato's own JSON Lines: ids,
//! statuses and times kept, idempotent) and `POST /admin/erase` (every
//! comment of one commenter: the right to be forgotten).
//!
//! The formats and the import itself are [`crate::transfer`]'s; these
//! routes only move the file in and the answer out.

use std::path::Path;

use bytes::Buf;
use futures_util::{Stream, StreamExt};
use serde::Deserialize;
use tempfile::NamedTempFile;
use tokio::io::AsyncWriteExt;
use warp::filters::BoxedFilter;
use warp::http::{HeaderValue, Method, header};
use warp::reply::Response;
use warp::{Filter, Reply};

use crate::http::auth::{Scope, guard};
use crate::http::{ApiError, AppState, endpoint, json_body, with_state};
use crate::import::Format;
use crate::transfer::{self, Blog, ExportError, Options};

/// The data routes.
pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    let admin = || guard(state.clone(), Scope::Admin);
    let export = warp::path!("admin" / "export")
        .and(warp::get())
        .and(admin())
        .and(warp::query::<ExportQuery>())
        .and(with_state(state.clone()))
        .then(data_export);
    let import = warp::path!("admin" / "import")
        .and(warp::post())
        .and(admin())
        .and(warp::query::<ImportQuery>())
        .and(warp::header::optional::<String>("content-type"))
        .and(warp::header::optional::<u64>("content-length"))
        .and(warp::body::stream())
        .and(with_state(state.clone()))
        .then(data_import);
    let erase = warp::path!("admin" / "erase")
        .and(warp::post())
        .and(admin())
        .and(json_body::<EraseRequest>(r#"{"email": "..."}"#))
        .and(with_state(state))
        .then(data_erase);
    endpoint(Method::GET, "/admin/export", export)
        .or(endpoint(Method::POST, "/admin/import", import))
        .unify()
        .or(endpoint(Method::POST, "/admin/erase", erase))
        .unify()
        .boxed()
}

/// `?format=…&site=…` of `GET /admin/export`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportQuery {
    /// `ndjson` (the default) or `wxr`.
    format: Option<String>,
    /// The blog's origin for WXR links; default: the first of
    /// `allowed_origins`.
    site: Option<String>,
}

/// GET /admin/export[?format=ndjson|wxr][&site=https://blog.example]
///
/// 200 `application/x-ndjson` (the default): one comment per line, oldest
/// first, with the decrypted email: the lossless backup. With
/// `format=wxr`, 200 `application/rss+xml`: a WordPress WXR 1.2 file whose
/// items link to `site` (or the first of `allowed_origins`) plus the page,
/// for WordPress's importer. 400 for another format, or a WXR without a
/// site. (warp 0.4 has no public streaming body, so the file is assembled
/// in memory first: about 1 KB per comment.)
async fn data_export(query: ExportQuery, state: AppState) -> Result<Response, ApiError> {
    let date = time::OffsetDateTime::now_utc().date();
    let (body, content_type, file_name) = match query.format.as_deref() {
        None | Some("ndjson") => {
            let (body, _) = transfer::ndjson::export(&state.moderator, Vec::new())
                .await
                .map_err(export_error)?;
            (
                body,
                "application/x-ndjson",
                format!("moderato-export-{date}.jsonl"),
            )
        }
        Some("wxr") => {
            let origin = query
                .site
                .or_else(|| state.config.allowed_origins.first().cloned())
                .filter(|o| o.starts_with("http://") || o.starts_with("https://"))
                .ok_or_else(|| {
                    ApiError::BadRequest(
                        "a WXR export needs the blog's address: add ?site=https://your.blog or set allowed_origins".into(),
                    )
                })?;
            let blog = Blog {
                origin,
                author_name: state.config.author_name.clone(),
            };
            let (body, _) = transfer::wxr::export(&state.moderator, &blog, Vec::new())
                .await
                .map_err(export_error)?;
            (
                body,
                "application/rss+xml; charset=utf-8",
                format!("moderato-wordpress-{date}.xml"),
            )
        }
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "unknown export format {other:?}: use ndjson or wxr"
            )));
        }
    };
    let mut response = Response::new(body.into());
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

fn export_error(e: ExportError) -> ApiError {
    match e {
        ExportError::Store(e) => e.into(),
        ExportError::Io(e) => ApiError::internal(e),
    }
}

/// `?format=…&dry_run=…&learn=…` of `POST /admin/import`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportQuery {
    /// `auto` (the default), `wordpress`, `disqus`, `isso` or `ndjson`.
    format: Option<String>,
    #[serde(default)]
    dry_run: bool,
    #[serde(default)]
    learn: bool,
}

/// POST /admin/import?format=auto|wordpress|disqus|isso|ndjson[&dry_run=true][&learn=true]
///
/// The file is the body (any content type; `application/x-ndjson` without
/// a `format` means `ndjson`). It is streamed to a temporary file in the
/// data directory (never held in memory), imported, and deleted.
///
/// 200 with the import report (`imported`, `already_present`, `by_status`,
/// `skipped`, `pages`, `errors` each with its position, `notices`, ...);
/// 422 `invalid_file` when the file is of no known format, malformed or
/// truncated: its message names the position, and nothing is stored;
/// 400 for an unknown format or query key; 413 beyond `max_import_mb`.
/// The import runs to its end even if the client goes away.
async fn data_import(
    query: ImportQuery,
    content_type: Option<String>,
    length: Option<u64>,
    body: impl Stream<Item = Result<impl Buf, warp::Error>> + Send + 'static,
    state: AppState,
) -> Result<Response, ApiError> {
    let format = match query.format.as_deref() {
        None if is_ndjson(content_type.as_deref()) => Some(Format::Ndjson),
        None | Some("auto") => None,
        Some(name) => Some(name.parse::<Format>().map_err(|()| {
            ApiError::BadRequest(format!(
                "unknown format {name:?}: use auto, wordpress, disqus, isso or ndjson"
            ))
        })?),
    };
    let limit = state.config.max_import_mb.saturating_mul(1024 * 1024);
    if length.is_some_and(|length| length > limit) {
        return Err(ApiError::PayloadTooLarge);
    }
    // The data directory is private (0700); on PostgreSQL there may be
    // none, and the system's temporary directory serves.
    let dir = if state.config.data_dir.is_dir() {
        state.config.data_dir.clone()
    } else {
        std::env::temp_dir()
    };
    let spooled = spool(body, &dir, limit).await?;
    let options = Options {
        format,
        dry_run: query.dry_run,
        learn: query.learn,
    };
    let moderator = state.moderator.clone();
    // Spawned, so that a client that hangs up (or times out) does not stop
    // an import half-way; the file is deleted when it ends.
    let task = tokio::spawn(async move {
        let report = transfer::import_file(moderator, spooled.path(), options, &|_| {}).await;
        drop(spooled);
        report
    });
    match task.await.map_err(ApiError::internal)? {
        Ok(report) => Ok(warp::reply::json(&report).into_response()),
        Err(e) if e.is_file_error() => Err(ApiError::InvalidFile(e.to_string())),
        // The store refused the writes (a full disk): 503 like every write;
        // what was stored stays, and a second import adds the rest.
        Err(transfer::Error::Store(e)) => Err(e.into()),
        Err(e) => Err(ApiError::internal(e)),
    }
}

/// A full disk while spooling is the store's full disk (503, try later);
/// another write error is a fault.
fn spool_error(e: std::io::Error) -> ApiError {
    match e.kind() {
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => {
            tracing::warn!(error = %e, "import refused: no space for the upload");
            ApiError::StoreUnavailable {
                retry_after: crate::http::error::STORE_RETRY_AFTER,
            }
        }
        _ => ApiError::internal(e),
    }
}

fn is_ndjson(content_type: Option<&str>) -> bool {
    let essence = content_type
        .and_then(|ct| ct.split(';').next())
        .map(|s| s.trim().to_ascii_lowercase());
    matches!(
        essence.as_deref(),
        Some("application/x-ndjson" | "application/jsonl" | "application/json-lines")
    )
}

/// Writes the body to a temporary file in `dir` (mode 0600, deleted on
/// drop), at most `limit` bytes.
async fn spool(
    body: impl Stream<Item = Result<impl Buf, warp::Error>>,
    dir: &Path,
    limit: u64,
) -> Result<NamedTempFile, ApiError> {
    let temp = tempfile::Builder::new()
        .prefix(".import-")
        .tempfile_in(dir)
        .map_err(ApiError::internal)?;
    let mut file =
        tokio::fs::File::from_std(temp.as_file().try_clone().map_err(ApiError::internal)?);
    let mut written = 0u64;
    let mut body = std::pin::pin!(body);
    while let Some(chunk) = body.next().await {
        let mut chunk =
            chunk.map_err(|e| ApiError::BadRequest(format!("the upload broke off: {e}")))?;
        written += chunk.remaining() as u64;
        if written > limit {
            return Err(ApiError::PayloadTooLarge);
        }
        while chunk.has_remaining() {
            let part = chunk.chunk();
            file.write_all(part).await.map_err(spool_error)?;
            let n = part.len();
            chunk.advance(n);
        }
    }
    file.flush().await.map_err(spool_error)?;
    Ok(temp)
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

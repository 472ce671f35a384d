//! `ApiError`: the only place where an HTTP status is chosen, the one
//! mapping of the core's errors to HTTP, and the rejection handler that
//! turns warp's own rejections into the same JSON.
//!
//! Every error body is `{"error": "<code>", "message": "<words>"}` (plus
//! `fields` for 422). A 5xx body is opaque; its cause, with its whole chain
//! of sources, is logged once, here.

use std::convert::Infallible;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use warp::http::{HeaderValue, StatusCode, header};
use warp::reply::Response;
use warp::{Rejection, Reply};

use crate::domain::FieldErrors;
use crate::domain::moderation;
use crate::domain::ports::StoreError;

/// An error answer of the HTTP API.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// One or more fields are invalid (422).
    #[error("some fields are not valid")]
    Validation {
        /// Message per invalid field.
        fields: FieldErrors,
    },
    /// The body is not what its content type says (400).
    #[error("{0}")]
    BadRequest(String),
    /// No or a wrong admin token (401).
    #[error("a valid admin token is required")]
    Unauthorized,
    /// Nothing here (404).
    #[error("not found")]
    NotFound,
    /// The route exists, the method does not (405).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The same commenter posted the same text on this page already (409).
    #[error("this comment was already received")]
    Duplicate,
    /// A body without a Content-Length (411).
    #[error("a Content-Length header is required")]
    LengthRequired,
    /// The body is larger than allowed (413).
    #[error("the request body is too large")]
    PayloadTooLarge,
    /// A body type the route does not take (415).
    #[error("send application/json or application/x-www-form-urlencoded")]
    UnsupportedMediaType,
    /// The edit token is wrong or expired (403).
    #[error("this edit token is not valid or has expired")]
    Forbidden,
    /// The origin may not use this API (403).
    #[error("this origin may not use the API")]
    ForbiddenOrigin,
    /// The client sent too slowly (408).
    #[error("the request took too long to arrive")]
    RequestTimeout,
    /// Too many requests from this address (429).
    #[error("too many requests; try again in {} seconds", retry_after_secs(*.retry_after))]
    RateLimited {
        /// When the client may try again.
        retry_after: Duration,
    },
    /// The moderation queue is full (503).
    #[error("the moderation queue is full; try again in {} seconds", retry_after_secs(*.retry_after))]
    QueueFull {
        /// When the client may try again.
        retry_after: Duration,
    },
    /// The store cannot write now (disk full, read-only); nothing was
    /// stored (503).
    #[error("comments cannot be stored right now; try again in {} seconds", retry_after_secs(*.retry_after))]
    StoreUnavailable {
        /// When the client may try again.
        retry_after: Duration,
    },
    /// A rule file is invalid; the old rules stay in force (422).
    #[error("{0}")]
    InvalidRules(String),
    /// An uploaded file cannot be imported: unknown format, malformed,
    /// truncated; the message names the position (422).
    #[error("{0}")]
    InvalidFile(String),
    /// Something failed on our side (500); the cause is logged, not sent.
    #[error("internal error")]
    Internal(#[source] Arc<dyn std::error::Error + Send + Sync>),
}

impl warp::reject::Reject for ApiError {}

impl ApiError {
    /// A 500 for `cause`, which is logged with its sources when answered.
    pub fn internal(cause: impl std::error::Error + Send + Sync + 'static) -> ApiError {
        ApiError::Internal(Arc::new(cause))
    }

    /// A 500 for a cause that is only a message.
    pub fn internal_message(message: impl Into<String>) -> ApiError {
        ApiError::internal(std::io::Error::other(message.into()))
    }
}

/// The one mapping of the core's errors to HTTP answers.
impl From<moderation::Error> for ApiError {
    fn from(e: moderation::Error) -> ApiError {
        match e {
            moderation::Error::Invalid { fields } => ApiError::Validation { fields },
            moderation::Error::Duplicate => ApiError::Duplicate,
            moderation::Error::QueueFull { retry_after } => ApiError::QueueFull { retry_after },
            moderation::Error::NotFound => ApiError::NotFound,
            moderation::Error::Store(StoreError::Unavailable { reason }) => {
                tracing::warn!(reason = %reason, "write refused: the store cannot write now");
                ApiError::StoreUnavailable {
                    retry_after: STORE_RETRY_AFTER,
                }
            }
            moderation::Error::Forbidden => ApiError::Forbidden,
            fault @ (moderation::Error::Store(_) | moderation::Error::Privacy(_)) => {
                ApiError::internal(fault)
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        ApiError::from(moderation::Error::from(e))
    }
}

/// What `Retry-After` says while the store cannot write: the store checks
/// every few seconds whether the disk takes writes again.
pub const STORE_RETRY_AFTER: Duration = Duration::from_secs(30);

/// Whole seconds, rounded up, never 0: what `Retry-After` carries.
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    fields: Option<&'a FieldErrors>,
}

impl ApiError {
    /// The status and the machine-readable code.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Validation { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "validation"),
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::Duplicate => (StatusCode::CONFLICT, "duplicate"),
            ApiError::LengthRequired => (StatusCode::LENGTH_REQUIRED, "length_required"),
            ApiError::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::ForbiddenOrigin => (StatusCode::FORBIDDEN, "forbidden_origin"),
            ApiError::RequestTimeout => (StatusCode::REQUEST_TIMEOUT, "request_timeout"),
            ApiError::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ApiError::QueueFull { .. } => (StatusCode::SERVICE_UNAVAILABLE, "queue_full"),
            ApiError::StoreUnavailable { .. } => {
                (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable")
            }
            ApiError::InvalidRules(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_rules"),
            ApiError::InvalidFile(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_file"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl Reply for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        match &self {
            ApiError::Internal(cause) => {
                tracing::error!(error = %chain(cause.as_ref()), "internal error");
            }
            other => tracing::debug!(status = status.as_u16(), error = %other, "request refused"),
        }
        let message = match &self {
            ApiError::Validation { fields } if fields.len() == 1 => {
                fields.values().next().cloned().unwrap_or_default()
            }
            ApiError::Validation { .. } => "Some fields need your attention.".to_owned(),
            other => capitalize(&other.to_string()),
        };
        let fields = match &self {
            ApiError::Validation { fields } => Some(fields),
            _ => None,
        };
        let body = ErrorBody {
            error: code,
            message,
            fields,
        };
        let mut response =
            warp::reply::with_status(warp::reply::json(&body), status).into_response();
        let headers = response.headers_mut();
        match self {
            ApiError::Unauthorized => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            ApiError::RateLimited { retry_after }
            | ApiError::QueueFull { retry_after }
            | ApiError::StoreUnavailable { retry_after } => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(retry_after_secs(retry_after)),
                );
            }
            _ => {}
        }
        response
    }
}

/// An error with its sources: `a: b: c`.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let _ = write!(text, ": {cause}");
        source = cause.source();
    }
    text
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect::<String>() + ".",
        None => String::new(),
    }
}

/// Turns every rejection into a JSON error answer; the root `recover`.
pub async fn handle_rejection(rejection: Rejection) -> Result<Response, Infallible> {
    Ok(answer(&rejection))
}

/// The JSON error answer of a rejection: the one place a rejection becomes
/// a response (at the root, and inside each endpoint).
pub fn answer(rejection: &Rejection) -> Response {
    let error = if let Some(e) = rejection.find::<ApiError>() {
        e.clone()
    } else if rejection.is_not_found() {
        ApiError::NotFound
    } else if rejection.find::<warp::reject::PayloadTooLarge>().is_some() {
        ApiError::PayloadTooLarge
    } else if rejection.find::<warp::reject::LengthRequired>().is_some() {
        ApiError::LengthRequired
    } else if rejection
        .find::<warp::reject::UnsupportedMediaType>()
        .is_some()
    {
        ApiError::UnsupportedMediaType
    } else if rejection.find::<warp::reject::InvalidQuery>().is_some() {
        ApiError::BadRequest("the query string is not valid".into())
    } else if rejection.find::<warp::reject::InvalidHeader>().is_some()
        || rejection.find::<warp::reject::MissingHeader>().is_some()
    {
        ApiError::BadRequest("a request header is missing or not valid".into())
    } else if rejection
        .find::<warp::filters::cors::CorsForbidden>()
        .is_some()
    {
        ApiError::ForbiddenOrigin
    } else if rejection.find::<warp::reject::MethodNotAllowed>().is_some() {
        ApiError::MethodNotAllowed
    } else {
        ApiError::internal_message(format!("unhandled rejection: {rejection:?}"))
    };
    error.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(Duration::from_millis(14_001)), 15);
        assert_eq!(retry_after_secs(Duration::from_secs(15)), 15);
    }

    #[tokio::test]
    async fn internal_errors_do_not_leak_their_cause() {
        let cause = std::io::Error::other("/var/lib/secret/path failed");
        let response = ApiError::internal(cause).into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let bytes = http_body_util::BodyExt::collect(response.into_body())
            .await
            .expect("body")
            .to_bytes();
        let body = String::from_utf8_lossy(&bytes);
        assert!(
            body.contains("\"internal\""),
            "the body is the error: {body}"
        );
        assert!(!body.contains("/var/lib"), "{body}");
    }

    #[test]
    fn the_log_line_of_a_fault_carries_its_whole_chain() {
        let fault = moderation::Error::Store(StoreError::Backend(Box::new(std::io::Error::other(
            "disk on fire",
        ))));
        let text = chain(&fault);
        assert!(
            text.contains("store failed") && text.contains("disk on fire"),
            "{text}"
        );
    }
}

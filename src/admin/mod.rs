//! The admin API: every `/admin` route requires the bearer token.

mod bulk;
mod comments;
mod data;
mod decide;
mod page;
mod replies;
mod rules;

pub use bulk::MAX_BULK_IDS;
pub use page::CONTENT_SECURITY_POLICY;
pub use replies::AUTHOR_IDENTITY;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use warp::Filter;

use crate::error::ApiError;
use crate::state::AppState;

/// The admin token, kept only as a SHA-256 digest.
///
/// Comparing digests of equal length makes the comparison constant-time
/// whatever the length of the presented token (`ct_eq` on slices of
/// different lengths returns early, which would leak the token's length).
pub struct AdminToken {
    digest: [u8; 32],
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken([redacted])")
    }
}

impl AdminToken {
    /// Keeps the digest of `token`.
    pub fn new(token: &str) -> AdminToken {
        AdminToken {
            digest: Sha256::digest(token.as_bytes()).into(),
        }
    }

    /// Whether an `Authorization` header value carries this token.
    pub fn verify(&self, authorization: Option<&str>) -> bool {
        let presented = authorization
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim)
            .unwrap_or("");
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        !presented.is_empty() && bool::from(digest.ct_eq(&self.digest))
    }
}

/// Every admin route. The page and its assets come first: loading them
/// needs no token (they hold no data). The bulk, stats and reply routes come
/// before the comment routes, whose `comments/{id}/{action}` would answer
/// 404 to `comments/{id}/reply` instead of letting it through.
pub fn routes(
    state: AppState,
) -> impl Filter<Extract = (impl warp::Reply,), Error = warp::Rejection> + Clone {
    // The page and the decision links need no bearer token (the page holds
    // no data; a link is its own credential): they come before the auth filter.
    page::routes().or(warp::path("admin").and(
        decide::routes(state.clone()).or(admin_auth(state.clone()).and(
            bulk::routes(state.clone())
                .or(replies::routes(state.clone()))
                .or(comments::routes(state.clone()))
                .or(rules::routes(state.clone()))
                .or(data::routes(state)),
        )),
    ))
}

/// Passes requests that carry the admin token; 401 otherwise. Placed after
/// the `/admin` path filter so that other routes are never asked for it.
///
/// Failed attempts are counted per client address: past the configured
/// number a minute, the address gets 429 (even with the right token) until
/// its lockout ends, so the token cannot be guessed faster than that.
fn admin_auth(state: AppState) -> impl Filter<Extract = (), Error = warp::Rejection> + Clone {
    crate::api::client_ip(state.clone())
        .and(warp::header::optional::<String>("authorization"))
        .and_then(
            move |ip: Option<std::net::IpAddr>, authorization: Option<String>| {
                let outcome = check_admin(&state, ip, authorization.as_deref());
                async move { outcome.map_err(warp::reject::custom) }
            },
        )
        .untuple_one()
}

fn check_admin(
    state: &AppState,
    ip: Option<std::net::IpAddr>,
    authorization: Option<&str>,
) -> Result<(), ApiError> {
    let guard = state.limits.as_ref().zip(ip);
    if let Some((limits, ip)) = guard {
        limits.auth.check_locked(ip).map_err(|retry_after| {
            state.metrics.rate_limited("admin_auth");
            ApiError::RateLimited { retry_after }
        })?;
    }
    if state.admin_token.verify(authorization) {
        return Ok(());
    }
    if let Some((limits, ip)) = guard {
        limits.auth.record_failure(ip).map_err(|retry_after| {
            state.metrics.rate_limited("admin_auth");
            tracing::warn!(client = %crate::domain::privacy::truncate_ip(ip), "admin token guessed too often; address locked out");
            ApiError::RateLimited { retry_after }
        })?;
    }
    Err(ApiError::Unauthorized)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_bearer_token_passes() {
        let token = AdminToken::new("correct-horse-battery");
        let cases = [
            (Some("Bearer correct-horse-battery"), true),
            (Some("bearer correct-horse-battery"), true),
            (Some("Bearer correct-horse-batter"), false),
            (Some("Bearer correct-horse-battery-staple"), false),
            (Some("correct-horse-battery"), false),
            (Some("Basic correct-horse-battery"), false),
            (Some("Bearer "), false),
            (None, false),
        ];
        for (header, expected) in cases {
            assert_eq!(token.verify(header), expected, "Authorization: {header:?}");
        }
    }
}

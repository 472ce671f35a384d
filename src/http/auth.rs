//! Who may use an admin surface: the bearer tokens, compared in constant
//! time, and the lockout of addresses that guess them. Every admin route and
//! `/metrics` pass through [`guard`], so none can serve as an unthrottled
//! oracle for the token.

use std::net::IpAddr;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use warp::Filter;

use super::error::ApiError;
use super::{AppState, client_ip};
use crate::domain::privacy::truncate_ip;

/// A bearer token, kept only as a SHA-256 digest.
///
/// Comparing digests of equal length makes the comparison constant-time
/// whatever the length of the presented token (`ct_eq` on slices of
/// different lengths returns early, which would leak the token's length).
pub struct TokenDigest {
    digest: [u8; 32],
}

impl std::fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenDigest([redacted])")
    }
}

impl TokenDigest {
    /// Keeps the digest of `token`.
    pub fn new(token: &str) -> TokenDigest {
        TokenDigest {
            digest: Sha256::digest(token.trim().as_bytes()).into(),
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

/// The tokens the service accepts.
#[derive(Debug)]
pub struct Tokens {
    /// Opens every admin surface.
    pub admin: TokenDigest,
    /// Opens `/metrics` and nothing else (a Prometheus scraper should not
    /// hold the key that approves comments).
    pub metrics: Option<TokenDigest>,
}

/// What a route is for, and so which tokens open it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every `/admin` API route: the admin token only.
    Admin,
    /// `GET /metrics`: the admin token or the metrics token.
    Metrics,
}

impl Tokens {
    fn opens(&self, scope: Scope, authorization: Option<&str>) -> bool {
        // Both digests are compared, whatever the first gives, so the time
        // taken does not tell which token was close.
        let admin = self.admin.verify(authorization);
        let metrics = scope == Scope::Metrics
            && self
                .metrics
                .as_ref()
                .is_some_and(|t| t.verify(authorization));
        admin | metrics
    }
}

/// Passes requests that carry a token of `scope`; 401 otherwise. Placed
/// after each route's path and method, so other routes are never asked for
/// a token.
///
/// Failed attempts are counted per client address across every scope: past
/// the configured number a minute the address gets 429 (even with the right
/// token) until its lockout ends, so a token cannot be guessed faster than
/// that through any route.
pub fn guard(
    state: AppState,
    scope: Scope,
) -> impl Filter<Extract = (), Error = warp::Rejection> + Clone {
    client_ip(state.clone())
        .and(warp::header::optional::<String>("authorization"))
        .and_then(move |ip: Option<IpAddr>, authorization: Option<String>| {
            let outcome = check(&state, scope, ip, authorization.as_deref());
            async move { outcome.map_err(warp::reject::custom) }
        })
        .untuple_one()
}

fn check(
    state: &AppState,
    scope: Scope,
    ip: Option<IpAddr>,
    authorization: Option<&str>,
) -> Result<(), ApiError> {
    let lockout = state.limits.as_ref().zip(ip);
    if let Some((limits, ip)) = lockout {
        limits.auth.check_locked(ip).map_err(|retry_after| {
            state.metrics.rate_limited("admin_auth");
            ApiError::RateLimited { retry_after }
        })?;
    }
    if state.tokens.opens(scope, authorization) {
        return Ok(());
    }
    if let Some((limits, ip)) = lockout {
        limits.auth.record_failure(ip).map_err(|retry_after| {
            state.metrics.rate_limited("admin_auth");
            tracing::warn!(client = %truncate_ip(ip), "admin token guessed too often; address locked out");
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
        let token = TokenDigest::new("correct-horse-battery");
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

    #[test]
    fn the_metrics_token_opens_metrics_only() {
        let tokens = Tokens {
            admin: TokenDigest::new("admin-token-0123456789"),
            metrics: Some(TokenDigest::new("metrics-token-0123456789")),
        };
        let admin = Some("Bearer admin-token-0123456789");
        let metrics = Some("Bearer metrics-token-0123456789");
        assert!(tokens.opens(Scope::Admin, admin));
        assert!(tokens.opens(Scope::Metrics, admin));
        assert!(tokens.opens(Scope::Metrics, metrics));
        assert!(!tokens.opens(Scope::Admin, metrics));
        assert!(!tokens.opens(Scope::Metrics, Some("Bearer nope")));
    }
}

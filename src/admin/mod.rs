//! The admin API: every `/admin` route requires the bearer token.

mod comments;
mod data;
mod decide;
mod rules;

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

/// Every admin route.
pub fn routes(
    state: AppState,
) -> impl Filter<Extract = (impl warp::Reply,), Error = warp::Rejection> + Clone {
    // The decision links carry their own credential: before the auth filter.
    warp::path("admin").and(
        decide::routes(state.clone()).or(admin_auth(state.clone()).and(
            comments::routes(state.clone())
                .or(rules::routes(state.clone()))
                .or(data::routes(state)),
        )),
    )
}

/// Passes requests that carry the admin token; 401 otherwise. Placed after
/// the `/admin` path filter so that other routes are never asked for it.
fn admin_auth(state: AppState) -> impl Filter<Extract = (), Error = warp::Rejection> + Clone {
    warp::header::optional::<String>("authorization")
        .and_then(move |authorization: Option<String>| {
            let ok = state.admin_token.verify(authorization.as_deref());
            async move {
                if ok {
                    Ok(())
                } else {
                    Err(warp::reject::custom(ApiError::Unauthorized))
                }
            }
        })
        .untuple_one()
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

//! `GET /openapi.json`: the OpenAPI 3.1 document of the whole HTTP API,
//! public and admin. It lives in the repository as `openapi.json` and is
//! compiled in, so what is served is the committed file byte for byte.
//!
//! The document is kept by hand next to the code: every route that
//! [`super::endpoint`] mounts must have its operation there and every
//! operation must be a mounted route (`tests/api/openapi.rs` compares the
//! route table with the document both ways), and Schemathesis fuzzes a
//! running server against it in CI (`tests/fuzz/run.sh`).

use std::sync::LazyLock;

use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::{HeaderMap, Method};
use warp::reply::Response;

use super::asset::StaticAsset;
use super::endpoint;

/// The document, as committed.
pub const DOCUMENT: &str = include_str!("../../openapi.json");

static ASSET: LazyLock<StaticAsset> = LazyLock::new(|| {
    StaticAsset::new(
        DOCUMENT,
        "application/json",
        "public, max-age=300",
        &[("access-control-allow-origin", "*")],
    )
});

/// GET /openapi.json
///
/// 200 with the document, an `ETag`; 304 for a matching `If-None-Match`.
pub fn routes() -> BoxedFilter<(Response,)> {
    endpoint(
        Method::GET,
        "/openapi.json",
        warp::path!("openapi.json")
            .and(warp::get())
            .and(warp::header::headers_cloned())
            .map(|headers: HeaderMap| ASSET.reply(&headers)),
    )
}

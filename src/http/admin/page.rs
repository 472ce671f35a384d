//! `GET /admin` and its script and style sheet: the moderation page.
//!
//! The page itself is public (it holds no data); every call it makes to the
//! admin API carries the token the author types once, which the page keeps
//! in `sessionStorage`. The three files live in `assets/` and are compiled
//! in, each with a strong `ETag` from its content.

use std::sync::LazyLock;

use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::{HeaderMap, Method};
use warp::reply::Response;

use crate::http::asset::StaticAsset;
use crate::http::endpoint;

/// The policy the page is served with: only its own script, style sheet and
/// API; no inline code, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; \
form-action 'self'; frame-ancestors 'none'";

/// Revalidate every time: a new version of the service must not run next
/// to the old version's script.
const CACHE_CONTROL: &str = "no-cache";

/// Sent with every file of the page. Links to the blog's pages must not
/// tell it where the admin lives (`no-referrer`).
const HEADERS: &[(&str, &str)] = &[
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("referrer-policy", "no-referrer"),
];

static HTML: LazyLock<StaticAsset> = LazyLock::new(|| {
    StaticAsset::new(
        include_str!("../../../assets/admin.html"),
        "text/html; charset=utf-8",
        CACHE_CONTROL,
        HEADERS,
    )
});
static JS: LazyLock<StaticAsset> = LazyLock::new(|| {
    StaticAsset::new(
        include_str!("../../../assets/admin.js"),
        "text/javascript; charset=utf-8",
        CACHE_CONTROL,
        HEADERS,
    )
});
static CSS: LazyLock<StaticAsset> = LazyLock::new(|| {
    StaticAsset::new(
        include_str!("../../../assets/admin.css"),
        "text/css; charset=utf-8",
        CACHE_CONTROL,
        HEADERS,
    )
});

/// GET (or HEAD) /admin, /admin/admin.js, /admin/admin.css: no token
/// needed; 304 for a matching `If-None-Match`.
pub fn routes() -> BoxedFilter<(Response,)> {
    let read = || {
        warp::get()
            .or(warp::head())
            .unify()
            .and(warp::header::headers_cloned())
    };
    let html = warp::path!("admin")
        .and(read())
        .map(|headers: HeaderMap| HTML.reply(&headers));
    let js = warp::path!("admin" / "admin.js")
        .and(read())
        .map(|headers: HeaderMap| JS.reply(&headers));
    let css = warp::path!("admin" / "admin.css")
        .and(read())
        .map(|headers: HeaderMap| CSS.reply(&headers));
    endpoint(Method::GET, "/admin", html)
        .or(endpoint(Method::GET, "/admin/admin.js", js))
        .unify()
        .or(endpoint(Method::GET, "/admin/admin.css", css))
        .unify()
        .boxed()
}

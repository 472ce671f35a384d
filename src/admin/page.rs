//! `GET /admin` and its script and style sheet: the moderation page.
//!
//! The page itself is public (it holds no data); every call it makes to the
//! admin API carries the token the author types once, which the page keeps
//! in `sessionStorage`. The three files live in `assets/` and are compiled
//! in, each with a strong `ETag` from its content.

use crate::etag::ETag;
use warp::http::{HeaderValue, StatusCode, header};
use warp::{Filter, Reply};

/// The policy the page is served with: only its own script, style sheet and
/// API; no inline code, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; \
form-action 'self'; frame-ancestors 'none'";

const HTML: &str = include_str!("../../assets/admin.html");
const JS: &str = include_str!("../../assets/admin.js");
const CSS: &str = include_str!("../../assets/admin.css");

/// One compiled-in file with its headers.
#[derive(Debug, Clone)]
struct Asset {
    body: &'static str,
    content_type: &'static str,
    etag: ETag,
}

impl Asset {
    fn new(body: &'static str, content_type: &'static str) -> Asset {
        Asset {
            body,
            content_type,
            etag: ETag::of(body.as_bytes()),
        }
    }

    /// 200 with the file, or 304 when `If-None-Match` names its ETag.
    fn reply(&self, if_none_match: Option<String>) -> warp::reply::Response {
        let mut response = if self.etag.matches(if_none_match.as_deref()) {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            self.body.into_response()
        };
        let headers = response.headers_mut();
        headers.insert(header::ETAG, self.etag.header());
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.content_type),
        );
        // Revalidate every time: a new version of the service must not run
        // next to the old version's script.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        // Links to the blog's pages must not tell it where the admin lives.
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        response
    }
}

/// GET (or HEAD) /admin, /admin/admin.js, /admin/admin.css: no token
/// needed; 304 for a matching `If-None-Match`.
pub fn routes() -> impl Filter<Extract = (warp::reply::Response,), Error = warp::Rejection> + Clone
{
    let html = Asset::new(HTML, "text/html; charset=utf-8");
    let js = Asset::new(JS, "text/javascript; charset=utf-8");
    let css = Asset::new(CSS, "text/css; charset=utf-8");
    let serve = |path: warp::filters::BoxedFilter<()>, asset: Asset| {
        path.and(warp::get().or(warp::head()).unify())
            .and(warp::header::optional::<String>("if-none-match"))
            .map(move |tag: Option<String>| asset.reply(tag))
    };
    serve(warp::path!("admin").boxed(), html)
        .or(serve(warp::path!("admin" / "admin.js").boxed(), js))
        .unify()
        .or(serve(warp::path!("admin" / "admin.css").boxed(), css))
        .unify()
}

//! `GET /embed.js` and `GET /embed.css`: the reader-facing script and its
//! styles, compiled into the binary from `assets/` with `include_str!`.
//!
//! Owns only these two static responses and their HTTP caching (`ETag`,
//! `304 Not Modified`, `Cache-Control`). It must not read application state:
//! the script finds the service's address from its own `src`.

use std::sync::LazyLock;

use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::{HeaderMap, Method};
use warp::reply::Response;

use crate::http::asset::StaticAsset;
use crate::http::endpoint;

/// How long browsers and proxies may reuse an asset before revalidating.
/// Short, so that a new release reaches readers within minutes; the `ETag`
/// makes each revalidation a body-less 304.
const CACHE_CONTROL: &str = "public, max-age=300";

/// Blog pages on other origins load these with `<script>` and `<link>`.
const HEADERS: &[(&str, &str)] = &[("cross-origin-resource-policy", "cross-origin")];

static EMBED_JS: LazyLock<StaticAsset> = LazyLock::new(|| {
    StaticAsset::new(
        include_str!("../../../assets/embed.js"),
        "text/javascript; charset=utf-8",
        CACHE_CONTROL,
        HEADERS,
    )
});

static EMBED_CSS: LazyLock<StaticAsset> = LazyLock::new(|| {
    StaticAsset::new(
        include_str!("../../../assets/embed.css"),
        "text/css; charset=utf-8",
        CACHE_CONTROL,
        HEADERS,
    )
});

/// `GET /embed.js` and `GET /embed.css` (and `HEAD` of both).
///
/// - 200 with the file, `ETag` and `Cache-Control: public, max-age=300`.
/// - 304 without a body when `If-None-Match` names the current `ETag`.
pub fn routes() -> BoxedFilter<(Response,)> {
    let read = || warp::get().or(warp::head()).unify();
    let js = warp::path!("embed.js")
        .and(read())
        .and(warp::header::headers_cloned())
        .map(|headers: HeaderMap| EMBED_JS.reply(&headers));
    let css = warp::path!("embed.css")
        .and(read())
        .and(warp::header::headers_cloned())
        .map(|headers: HeaderMap| EMBED_CSS.reply(&headers));
    endpoint(Method::GET, "/embed.js", js)
        .or(endpoint(Method::GET, "/embed.css", css))
        .unify()
        .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use warp::http::HeaderValue;

    fn header<'a>(res: &'a warp::http::Response<bytes::Bytes>, name: &str) -> &'a str {
        res.headers()
            .get(name)
            .unwrap_or_else(|| panic!("missing header {name}"))
            .to_str()
            .expect("ascii header")
    }

    #[tokio::test]
    async fn embed_js_is_served_with_type_etag_and_cache_control() {
        // Arrange
        let routes = routes();

        // Act
        let res = warp::test::request().path("/embed.js").reply(&routes).await;

        // Assert
        assert_eq!(res.status(), 200);
        assert_eq!(
            header(&res, "content-type"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(header(&res, "cache-control"), "public, max-age=300");
        assert_eq!(header(&res, "x-content-type-options"), "nosniff");
        let etag = header(&res, "etag");
        assert!(
            etag.len() == 34 && etag.starts_with('"') && etag.ends_with('"'),
            "etag {etag}"
        );
        assert_eq!(
            res.body(),
            include_str!("../../../assets/embed.js").as_bytes()
        );
    }

    #[tokio::test]
    async fn embed_css_is_served_as_css() {
        let res = warp::test::request()
            .path("/embed.css")
            .reply(&routes())
            .await;

        assert_eq!(res.status(), 200);
        assert_eq!(header(&res, "content-type"), "text/css; charset=utf-8");
        assert_eq!(
            res.body(),
            include_str!("../../../assets/embed.css").as_bytes()
        );
        assert_ne!(
            header(&res, "etag"),
            EMBED_JS.etag().header().to_str().expect("ascii"),
            "css and js have different validators"
        );
    }

    #[tokio::test]
    async fn if_none_match_answers_304_without_body_in_each_form() {
        // Arrange
        let etag = EMBED_JS.etag().header().to_str().expect("ascii").to_owned();
        let cases = [
            ("exact", etag.clone()),
            ("weak", format!("W/{etag}")),
            ("in a list", format!("\"other\", {etag}")),
            ("star", "*".to_owned()),
        ];

        for (case, value) in cases {
            // Act
            let res = warp::test::request()
                .path("/embed.js")
                .header("if-none-match", value)
                .reply(&routes())
                .await;

            // Assert
            assert_eq!(res.status(), 304, "case: {case}");
            assert!(res.body().is_empty(), "case: {case}");
            assert_eq!(header(&res, "etag"), etag, "case: {case}");
            assert_eq!(
                header(&res, "cache-control"),
                "public, max-age=300",
                "case: {case}"
            );
        }
    }

    #[tokio::test]
    async fn a_stale_or_garbled_if_none_match_gets_the_full_file() {
        let cases: [(&str, &[u8]); 3] = [
            ("stale", b"\"0123456789abcdef0123456789abcdef\""),
            ("empty", b""),
            ("not utf-8", b"\xff\xfe"),
        ];
        for (case, value) in cases {
            let res = warp::test::request()
                .path("/embed.js")
                .header(
                    "if-none-match",
                    HeaderValue::from_bytes(value).expect("opaque bytes are allowed"),
                )
                .reply(&routes())
                .await;

            assert_eq!(res.status(), 200, "case: {case}");
            assert!(!res.body().is_empty(), "case: {case}");
        }
    }

    #[tokio::test]
    async fn other_methods_and_paths_are_not_matched() {
        let cases = [
            ("POST /embed.js", "POST", "/embed.js"),
            ("GET /embed.js/x", "GET", "/embed.js/x"),
            ("GET /embed.map", "GET", "/embed.map"),
        ];
        for (case, method, path) in cases {
            let matched = warp::test::request()
                .method(method)
                .path(path)
                .matches(&routes())
                .await;
            assert!(!matched, "case: {case}");
        }
    }

    #[tokio::test]
    async fn head_is_answered_like_get() {
        let res = warp::test::request()
            .method("HEAD")
            .path("/embed.css")
            .reply(&routes())
            .await;

        assert_eq!(res.status(), 200);
        assert_eq!(header(&res, "content-type"), "text/css; charset=utf-8");
    }
}

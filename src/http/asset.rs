//! Strong entity tags, `If-None-Match` matching, and the one reply for a
//! compiled-in file: shared by the embed's script and styles, the admin
//! page, and the cached page JSON, so all of them answer 304 by the same
//! rules.

use sha2::{Digest, Sha256};
use warp::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use warp::reply::{Reply, Response};

/// A strong validator: the first 128 bits of SHA-256 of the bytes, quoted.
#[derive(Debug, Clone)]
pub struct ETag(HeaderValue);

impl ETag {
    /// The tag of `body`.
    pub fn of(body: &[u8]) -> ETag {
        let digest = Sha256::digest(body);
        let tag = format!("\"{}\"", hex::encode(&digest[..16]));
        // Quotes and hex digits are always a valid header value.
        ETag(HeaderValue::from_str(&tag).unwrap_or(HeaderValue::from_static("\"\"")))
    }

    /// The `ETag` header value.
    pub fn header(&self) -> HeaderValue {
        self.0.clone()
    }

    /// Whether one of the `If-None-Match` values names this tag (the weak
    /// comparison RFC 9110 asks for: `W/` is ignored; `*` matches).
    pub fn matches<'a>(&self, if_none_match: impl IntoIterator<Item = &'a str>) -> bool {
        let ours = self.0.as_bytes();
        if_none_match
            .into_iter()
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag).as_bytes() == ours)
    }

    /// Whether the request's `If-None-Match` headers (every line of them)
    /// name this tag; values that are not text never match.
    pub fn matched_by(&self, headers: &HeaderMap) -> bool {
        self.matches(
            headers
                .get_all(header::IF_NONE_MATCH)
                .iter()
                .filter_map(|v| v.to_str().ok()),
        )
    }
}

/// One file compiled into the binary, with its validator and the headers
/// it is always sent with.
#[derive(Debug, Clone)]
pub struct StaticAsset {
    body: &'static str,
    content_type: &'static str,
    cache_control: &'static str,
    extra: &'static [(&'static str, &'static str)],
    etag: ETag,
}

impl StaticAsset {
    /// `body` served as `content_type` with `Cache-Control: cache_control`
    /// and the `extra` headers (lowercase names) on every answer, 200 or 304.
    pub fn new(
        body: &'static str,
        content_type: &'static str,
        cache_control: &'static str,
        extra: &'static [(&'static str, &'static str)],
    ) -> StaticAsset {
        StaticAsset {
            body,
            content_type,
            cache_control,
            extra,
            etag: ETag::of(body.as_bytes()),
        }
    }

    /// The validator.
    pub fn etag(&self) -> &ETag {
        &self.etag
    }

    /// 200 with the file, or a bare 304 when `If-None-Match` names it.
    pub fn reply(&self, request: &HeaderMap) -> Response {
        let mut response = if self.etag.matched_by(request) {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            let mut response = self.body.into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(self.content_type),
            );
            response
        };
        let headers = response.headers_mut();
        headers.insert(header::ETAG, self.etag.header());
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(self.cache_control),
        );
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        for (name, value) in self.extra {
            headers.insert(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_match_weak_listed_and_wildcard_forms() {
        let etag = ETag::of(b"{}");
        let tag = etag.header().to_str().expect("ascii").to_owned();
        for value in [
            tag.clone(),
            format!("W/{tag}"),
            format!("\"x\", {tag}"),
            "*".into(),
        ] {
            assert!(etag.matches([value.as_str()]), "If-None-Match: {value}");
        }
        assert!(
            etag.matches(["\"x\"", tag.as_str()]),
            "several header lines"
        );
        assert!(!etag.matches(["\"other\""]));
        assert!(!etag.matches(None::<&str>));
        assert_ne!(tag, ETag::of(b"[]").header().to_str().expect("ascii"));
    }
}

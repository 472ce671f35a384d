//! Strong entity tags from content, and `If-None-Match` matching: shared by
//! the compiled-in assets (embed, admin page) and the cached page JSON, so
//! the three answer 304 by the same rules.

use sha2::{Digest, Sha256};
use warp::http::HeaderValue;

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

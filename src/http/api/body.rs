//! Decoding a comment body by its content type into [`Fields`], strictly:
//! malformed JSON and invalid UTF-8 are a 400, other types a 415, so that
//! validation only ever sees well-formed input.
//!
//! The form decoder is ours on top of `percent-encoding` because the crates
//! that decode whole forms (`form_urlencoded`, `serde_urlencoded`) replace
//! invalid UTF-8 with U+FFFD instead of refusing it.

use percent_encoding::percent_decode;

use crate::domain::{FieldValue, Fields};
use crate::http::ApiError;

/// What kind of body arrived; a form post gets a redirect, JSON does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// `application/json`.
    Json,
    /// `application/x-www-form-urlencoded`: a browser form.
    Form,
}

/// Reads the media type of a `Content-Type` header.
///
/// # Errors
/// [`ApiError::UnsupportedMediaType`] for anything but JSON or a form.
pub fn kind(content_type: Option<&str>) -> Result<BodyKind, ApiError> {
    let essence = content_type
        .and_then(|ct| ct.split(';').next())
        .map(|s| s.trim().to_ascii_lowercase());
    match essence.as_deref() {
        Some("application/json") => Ok(BodyKind::Json),
        Some("application/x-www-form-urlencoded") => Ok(BodyKind::Form),
        _ => Err(ApiError::UnsupportedMediaType),
    }
}

/// Decodes the body.
///
/// # Errors
/// [`ApiError::BadRequest`] for malformed JSON, a JSON value that is not an
/// object, or bytes that are not UTF-8.
pub fn decode(kind: BodyKind, body: &[u8]) -> Result<Fields, ApiError> {
    match kind {
        BodyKind::Json => decode_json(body),
        BodyKind::Form => decode_form(body),
    }
}

fn decode_json(body: &[u8]) -> Result<Fields, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::BadRequest(format!(
            "the body is not valid JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    let serde_json::Value::Object(map) = value else {
        return Err(ApiError::BadRequest(
            "the body must be a JSON object".into(),
        ));
    };
    Ok(map
        .into_iter()
        .map(|(name, value)| {
            let value = match value {
                serde_json::Value::String(s) => FieldValue::Text(s),
                serde_json::Value::Null => FieldValue::Null,
                serde_json::Value::Bool(on) => FieldValue::Flag(on),
                _ => FieldValue::NotText,
            };
            (name, value)
        })
        .collect())
}

/// `a=1&b=x+y`; the first occurrence of a name wins.
fn decode_form(body: &[u8]) -> Result<Fields, ApiError> {
    let mut fields = Fields::new();
    for pair in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let (name, value) = match pair.iter().position(|b| *b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        };
        let name = form_component(name)?;
        let value = form_component(value)?;
        fields.entry(name).or_insert(FieldValue::Text(value));
    }
    Ok(fields)
}

fn form_component(raw: &[u8]) -> Result<String, ApiError> {
    let plus_as_space: Vec<u8> = raw
        .iter()
        .map(|b| if *b == b'+' { b' ' } else { *b })
        .collect();
    percent_decode(&plus_as_space)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| ApiError::BadRequest("the form data is not valid UTF-8".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_are_matched_on_their_essence() {
        assert_eq!(
            kind(Some("application/json; charset=utf-8")).ok(),
            Some(BodyKind::Json)
        );
        assert_eq!(
            kind(Some("Application/X-WWW-Form-Urlencoded")).ok(),
            Some(BodyKind::Form)
        );
        assert!(kind(Some("text/plain")).is_err());
        assert!(kind(Some("multipart/form-data; boundary=x")).is_err());
        assert!(kind(None).is_err());
    }

    #[test]
    fn json_values_keep_their_type() {
        let fields = decode(
            BodyKind::Json,
            br#"{"author":"Ann","parent":null,"page":5}"#,
        )
        .expect("valid");
        assert_eq!(fields["author"], FieldValue::Text("Ann".into()));
        assert_eq!(fields["parent"], FieldValue::Null);
        assert_eq!(fields["page"], FieldValue::NotText);
        let fields = decode(BodyKind::Json, br#"{"notify_replies":true}"#).expect("valid");
        assert_eq!(fields["notify_replies"], FieldValue::Flag(true));
    }

    #[test]
    fn malformed_bodies_are_bad_requests() {
        let cases: &[(BodyKind, &[u8], &str)] = &[
            (BodyKind::Json, b"{\"author\":", "truncated json"),
            (BodyKind::Json, b"[1,2]", "json array"),
            (
                BodyKind::Json,
                b"{\"author\":\"\xff\"}",
                "json with invalid utf-8",
            ),
            (BodyKind::Form, b"author=%FF", "form with invalid utf-8"),
            (
                BodyKind::Form,
                b"author=\xc3",
                "form with raw invalid utf-8",
            ),
        ];
        for (kind, body, case) in cases {
            assert!(
                matches!(decode(*kind, body), Err(ApiError::BadRequest(_))),
                "{case} should be a 400"
            );
        }
    }

    #[test]
    fn forms_decode_plus_and_percent() {
        let fields = decode(
            BodyKind::Form,
            b"author=Ann+Lee&comment=caf%C3%A9&author=second",
        )
        .expect("valid");
        assert_eq!(fields["author"], FieldValue::Text("Ann Lee".into()));
        assert_eq!(fields["comment"], FieldValue::Text("café".into()));
    }
}

//! What readers may see of a comment: the public view sent to the embed,
//! feeds and webhooks. It holds no private field and nothing from which the
//! email could be recovered (the avatar is a keyed hash of a keyed hash).

use serde::Serialize;

use super::comment::{Comment, CommentId};

/// A comment as readers see it.
#[derive(Debug, Clone, Serialize)]
pub struct PublicComment {
    /// Id.
    pub id: CommentId,
    /// The comment replied to, so the client can thread.
    pub parent: Option<CommentId>,
    /// Name, as text.
    pub author: String,
    /// Website, as text.
    pub url: Option<String>,
    /// Sanitized HTML.
    pub html: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// Opaque avatar seed.
    pub avatar: String,
    /// Written by the blog's author (the embed shows a badge).
    pub by_author: bool,
    /// Deleted by its writer; kept, empty, because replies hang under it.
    pub deleted: bool,
}

impl From<&Comment> for PublicComment {
    fn from(c: &Comment) -> PublicComment {
        PublicComment {
            id: c.id,
            parent: c.parent,
            author: c.author.clone(),
            url: c.url.clone(),
            html: c.html.clone(),
            created_at: format_time(c.created_at),
            avatar: c.avatar.clone(),
            by_author: c.by_author,
            deleted: c.deleted,
        }
    }
}

/// Milliseconds since the epoch as RFC 3339 UTC with millisecond precision.
pub fn format_time(millis: i64) -> String {
    let nanos = i128::from(millis) * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(format_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_time(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }
}

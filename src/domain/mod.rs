//! The core of moderato: what a comment is and how it is judged. It knows
//! nothing of HTTP, of the database or of mail; the shells around it
//! ([`crate::http`], [`crate::store`], [`crate::notify`], [`crate::cli`])
//! depend on it, never the other way round (ARCHITECTURE.md).
//!
//! - [`comment`]: the comment as stored, its id, page, status and audit trail.
//! - [`input`]: a reader's submitted fields, validated into a [`NewComment`].
//! - [`rules`]: the spam rules engine.
//! - [`privacy`]: email encryption, keyed hashes and signed tokens.
//! - [`sanitize`]: a comment's text turned into safe HTML.

pub mod comment;
pub mod input;
pub mod privacy;
pub mod rules;
pub mod sanitize;

pub use comment::{Comment, CommentId, MAX_PAGE_CHARS, PageId, Status, StatusChange, Via, now_millis};
pub use input::{
    FieldErrors, FieldValue, Fields, MAX_AUTHOR_CHARS, MAX_COMMENT_CHARS, MAX_EMAIL_LEN,
    MAX_URL_LEN, NewComment, parse_email,
};

//! The core of moderato: what a comment is and how it is judged. It knows
//! nothing of HTTP, of the database or of mail; the shells around it
//! ([`crate::http`], [`crate::store`], [`crate::notify`], [`crate::cli`])
//! depend on it, never the other way round (ARCHITECTURE.md).
//!
//! - [`comment`]: the comment as stored, its id, page, status, the author's
//!   decisions and the audit trail; [`public`]: what readers may see of it.
//! - [`origin`]: where an imported comment comes from.
//! - [`input`]: a reader's submitted fields, validated into a [`NewComment`].
//! - [`moderation`]: the steps (intake, decisions, replies, imports,
//!   erasure) over the [`ports`] the shells implement; [`outbox`]: the
//!   notifications those steps cause, stored with them.
//! - [`rules`]: the spam rules engine; [`learn`]: the learning filter
//!   (hashed features, a count-based Robinson-Fisher model, prequential
//!   replay), pure, not yet wired into the steps.
//! - [`privacy`]: email encryption, keyed hashes and signed tokens.
//! - [`sanitize`]: a comment's text turned into safe HTML.

pub mod comment;
pub mod input;
pub mod learn;
pub mod moderation;
pub mod origin;
pub mod outbox;
pub mod ports;
pub mod privacy;
pub mod public;
pub mod rules;
pub mod sanitize;
pub mod subscription;
pub mod thread;

#[cfg(test)]
mod properties;

pub use comment::{
    Comment, CommentId, Decision, EditGrant, MAX_PAGE_CHARS, Notify, PageId, Status, StatusChange,
    Via, now_millis,
};
pub use input::{
    AuthorName, CommentEdit, CommentText, EmailAddress, FieldErrors, FieldValue, Fields,
    MAX_AUTHOR_CHARS, MAX_COMMENT_CHARS, MAX_EMAIL_LEN, MAX_IMPORTED_COMMENT_CHARS, MAX_URL_LEN,
    NewComment, Website,
};
pub use origin::{Origin, Source, WpPost};
pub use public::{PublicComment, format_time};

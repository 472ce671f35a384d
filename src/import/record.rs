//! What the readers yield: a comment as its source holds it, the page it
//! belongs to, where in the file it is, and the deterministic moderato id
//! an import gives it.

use std::fmt;

use sha2::{Digest, Sha256};

pub use crate::domain::Source;
use crate::domain::{CommentId, Status, WpPost};

/// Where in the file something is: a line and a column (in bytes, from 1)
/// of an XML file, or a table and row id of a database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Position {
    /// In a text file.
    Text {
        /// From 1.
        line: u64,
        /// From 1, in bytes.
        column: u64,
    },
    /// In a database.
    Row {
        /// The table.
        table: &'static str,
        /// The row id.
        id: i64,
    },
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Position::Text { line, column } => write!(f, "line {line}, column {column}"),
            Position::Row { table, id } => write!(f, "table {table}, row {id}"),
        }
    }
}

/// The comment a record replies to, as the reader resolved it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParentRef {
    /// The parent's id in the source.
    pub id: String,
    /// The parent's time (ms since the epoch), so its moderato id can be
    /// computed with [`comment_id`] without looking it up.
    pub created_at: i64,
}

/// One comment as the source holds it.
#[derive(Clone, PartialEq)]
pub struct SourceRecord {
    /// Where it comes from.
    pub source: Source,
    /// Its id in the source (unique per source file).
    pub id: String,
    /// The thread: a path, with the query when the permalink has one
    /// (`/?p=4`), as the embed's default `data-page` (`location.pathname`)
    /// sees it; checked with `PageId::parse`.
    pub page: String,
    /// The parent as resolved: `None` for a top-level comment, otherwise a
    /// comment yielded earlier on the same page. Differs from
    /// `original_parent` when the parent was missing or skipped (then a
    /// [`Notice`] says so).
    pub parent: Option<ParentRef>,
    /// The parent id the file gives, if any.
    pub original_parent: Option<String>,
    /// Display name as typed (entities of WordPress's storage decoded);
    /// may be empty (Isso allows anonymous comments).
    pub author: String,
    /// Plain email address, when the source has one. Private.
    pub email: Option<String>,
    /// The commenter's website.
    pub website: Option<String>,
    /// The client address the source kept (Isso keeps it truncated). Private.
    pub ip: Option<String>,
    /// Milliseconds since the Unix epoch, UTC.
    pub created_at: i64,
    /// The content as HTML-ish text, as the source holds it (Isso's
    /// Markdown rendered to HTML); not sanitized.
    pub html: String,
    /// The moderation status.
    pub status: Status,
    /// Written by the blog's own author (WordPress: a `wp:comment_user_id`
    /// listed among the file's `<wp:author>`s).
    pub by_author: bool,
    /// The client's user agent, when the source kept it (none of the three
    /// exports does today).
    pub user_agent: Option<String>,
    /// The moderato id a WXR written by moderato carries (comment meta
    /// `moderato_id`): a comment that went out and comes back keeps its id.
    pub moderato_id: Option<CommentId>,
    /// Where the record starts in the file.
    pub position: Position,
}

impl SourceRecord {
    /// The moderato id for this record: the id it carried out of moderato,
    /// or else [`comment_id`] of its source, id and time.
    pub fn comment_id(&self) -> CommentId {
        self.moderato_id
            .unwrap_or_else(|| comment_id(self.source, &self.id, self.created_at))
    }
}

/// Emails and addresses stay out of logs, even debug ones.
impl fmt::Debug for SourceRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("SourceRecord")
            .field("source", &self.source)
            .field("id", &self.id)
            .field("page", &self.page)
            .field("parent", &self.parent)
            .field("original_parent", &self.original_parent)
            .field("author", &self.author)
            .field("email", &redacted(&self.email))
            .field("website", &self.website)
            .field("ip", &redacted(&self.ip))
            .field("created_at", &self.created_at)
            .field("html", &self.html)
            .field("status", &self.status)
            .field("by_author", &self.by_author)
            .field("user_agent", &self.user_agent)
            .field("moderato_id", &self.moderato_id)
            .field("position", &self.position)
            .finish()
    }
}

/// A page (thread) with comments, as the source describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thread {
    /// Where it comes from.
    pub source: Source,
    /// The page key its comments carry.
    pub page: String,
    /// The post's title, when the source has one.
    pub title: Option<String>,
    /// The full URL, when the source has one.
    pub link: Option<String>,
    /// WordPress's own data on the post: what an export back to WordPress
    /// needs for WordPress's importer to find the existing post.
    pub post: Option<WpPost>,
}

/// What a reader yields.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// A page, before its first comment.
    Thread(Thread),
    /// A comment.
    Comment(SourceRecord),
}

/// The moderato id of an imported comment: a ULID whose time is the
/// comment's original time (so imported threads sort as they did) and whose
/// 80 random bits are a hash of the source and the original id. The same
/// file imported twice gives the same ids, so a second import adds nothing.
pub fn comment_id(source: Source, original_id: &str, created_at: i64) -> CommentId {
    /// ULIDs hold 48 bits of milliseconds.
    const MAX_MS: i64 = (1 << 48) - 1;
    let digest = Sha256::new()
        .chain_update(b"moderato-import\0")
        .chain_update(source.as_str())
        .chain_update(b"\0")
        .chain_update(original_id)
        .finalize();
    let mut random = [0u8; 16];
    random[6..].copy_from_slice(&digest[..10]);
    let ms = created_at.clamp(0, MAX_MS) as u64;
    CommentId(ulid::Ulid::from_parts(ms, u128::from_be_bytes(random)))
}

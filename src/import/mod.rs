//! Reading other comment systems' exports: WordPress (WXR), Disqus (XML)
//! and Isso (SQLite). Each reader streams its file and yields [`Item`]s one
//! by one in bounded memory; what it set aside (pingbacks, deleted posts,
//! invalid records, re-attached replies) is counted in its [`Summary`].
//!
//! This module knows the file formats and nothing of moderato's storage:
//! it never stores, sanitizes or encrypts. Emails are plain text in memory
//! only, and never appear in an [`Error`], a [`Summary`] or a `Debug` output.
//!
//! Guarantees every reader gives its caller:
//! - a comment's [`SourceRecord::parent`] is `None` or a comment yielded
//!   *earlier* by the same reader, on the same page (replies whose parent
//!   comes later in the file are held back until it came);
//! - an [`Item::Thread`] comes before the first comment of its page;
//! - a fatal [`Error`] ends the iteration and may come after records were
//!   yielded (a truncated file is only known at its end): a caller that must
//!   store nothing from a bad file reads it once without storing first.

pub mod disqus;
pub(crate) mod fields;
pub mod isso;
mod outbox;
mod thread;
pub mod wordpress;
mod xml;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::str::FromStr;

use sha2::{Digest, Sha256};

use crate::domain::{CommentId, Status};

pub use disqus::DisqusReader;
pub use isso::IssoReader;
pub use wordpress::{WpPost, WxrReader};

/// How many record errors and notices a [`Summary`] lists one by one; past
/// that it only counts them, so a broken 200 MB file cannot fill memory.
pub const MAX_LISTED: usize = 1000;

/// The system a comment comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// A WordPress WXR export.
    Wordpress,
    /// A Disqus XML export.
    Disqus,
    /// An Isso SQLite database.
    Isso,
}

impl Source {
    /// The name stored with an imported comment.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Wordpress => "wordpress",
            Source::Disqus => "disqus",
            Source::Isso => "isso",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A file format an import can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// WordPress WXR 1.0 .. 1.2.
    Wordpress,
    /// Disqus XML export.
    Disqus,
    /// Isso SQLite database.
    Isso,
    /// moderato's own JSON Lines export (read by `admin::data`, not here).
    Ndjson,
}

impl Format {
    /// Every format, for help texts.
    pub const ALL: [Format; 4] = [
        Format::Wordpress,
        Format::Disqus,
        Format::Isso,
        Format::Ndjson,
    ];

    /// The name on the command line and in `?format=`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Wordpress => "wordpress",
            Format::Disqus => "disqus",
            Format::Isso => "isso",
            Format::Ndjson => "ndjson",
        }
    }

    /// The format of a file from its first bytes (a few KiB are enough;
    /// [`DETECT_BYTES`] is what [`open`] reads): the SQLite magic, an `<rss>`
    /// root carrying a WXR namespace, a `<disqus>` root, or a first line that
    /// is a JSON object with `id` and `page` (moderato's export). `None`
    /// when it is none of them.
    pub fn detect(head: &[u8]) -> Option<Format> {
        if head.starts_with(b"SQLite format 3\0") {
            return Some(Format::Isso);
        }
        let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
        let text = String::from_utf8_lossy(head);
        let trimmed = text.trim_start();
        if trimmed.starts_with('{') {
            let line = trimmed.lines().next().unwrap_or_default();
            let parsed = serde_json::from_str::<serde_json::Value>(line);
            return match parsed {
                Ok(serde_json::Value::Object(map))
                    if map.contains_key("id") && map.contains_key("page") =>
                {
                    Some(Format::Ndjson)
                }
                _ => None,
            };
        }
        match xml::root_element(trimmed)? {
            "rss" if fields::has_wxr_namespace(trimmed) => Some(Format::Wordpress),
            "disqus" => Some(Format::Disqus),
            _ => None,
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = ();
    fn from_str(s: &str) -> Result<Format, ()> {
        Format::ALL.into_iter().find(|f| f.as_str() == s).ok_or(())
    }
}

/// How many leading bytes [`open`] reads to detect a format: WordPress puts
/// about 1.5 KiB of comments before its `<rss>` element.
pub const DETECT_BYTES: usize = 64 * 1024;

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

/// Why a record of the source was not imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    /// A WordPress pingback: not a reader's words.
    Pingback,
    /// A WordPress trackback: not a reader's words.
    Trackback,
    /// Another WordPress comment type (plugins' notes, ...).
    OtherType,
    /// Deleted in the source (Disqus `isDeleted`, Isso mode 4).
    Deleted,
    /// No text.
    Empty,
}

impl SkipReason {
    /// The name in an import report.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Pingback => "pingback",
            SkipReason::Trackback => "trackback",
            SkipReason::OtherType => "other_type",
            SkipReason::Deleted => "deleted",
            SkipReason::Empty => "empty",
        }
    }
}

/// A record that could not be read (a missing id, an invalid date, a thread
/// that is not in the file, ...): not imported, the rest goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    /// Where the record starts.
    pub position: Position,
    /// Its id, when it has one.
    pub id: Option<String>,
    /// What is wrong; names fields, never their private values.
    pub message: String,
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.id {
            Some(id) => write!(f, "{}: comment {id}: {}", self.position, self.message),
            None => write!(f, "{}: {}", self.position, self.message),
        }
    }
}

/// Something a reader changed to import a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoticeKind {
    /// The parent is not in the file (or not on this page): imported as a
    /// top-level comment.
    ParentMissing,
    /// The parent was not imported (why): attached to the nearest imported
    /// ancestor, or top level when there is none.
    ParentSkipped(SkipReason),
    /// The parent could not be read: as `ParentSkipped`.
    ParentInvalid,
    /// The parents form a cycle: imported as a top-level comment.
    ParentCycle,
    /// The source's status value is unknown: imported as pending.
    UnknownStatus,
}

impl NoticeKind {
    /// The name in an import report.
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::ParentMissing => "parent_missing",
            NoticeKind::ParentSkipped(_) => "parent_skipped",
            NoticeKind::ParentInvalid => "parent_invalid",
            NoticeKind::ParentCycle => "parent_cycle",
            NoticeKind::UnknownStatus => "unknown_status",
        }
    }
}

/// One [`NoticeKind`] for one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Where the record starts.
    pub position: Position,
    /// Its id in the source.
    pub id: String,
    /// What was changed.
    pub kind: NoticeKind,
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            NoticeKind::ParentMissing => {
                "its parent is not on this page of the file: imported as a top-level comment"
                    .to_owned()
            }
            NoticeKind::ParentSkipped(reason) => format!(
                "its parent was skipped ({}): attached to the nearest imported ancestor",
                reason.as_str()
            ),
            NoticeKind::ParentInvalid => {
                "its parent could not be read: attached to the nearest imported ancestor".to_owned()
            }
            NoticeKind::ParentCycle => {
                "its parents form a cycle: imported as a top-level comment".to_owned()
            }
            NoticeKind::UnknownStatus => "unknown status: imported as pending".to_owned(),
        };
        write!(f, "{}: comment {}: {what}", self.position, self.id)
    }
}

/// What a reader set aside or changed, complete once the iteration ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Comments yielded.
    pub comments: u64,
    /// Distinct page keys with at least one comment yielded.
    pub pages: u64,
    /// Records not imported, by reason.
    pub skipped: BTreeMap<SkipReason, u64>,
    /// The first [`MAX_LISTED`] record errors.
    pub errors: Vec<RecordError>,
    /// Every record error, listed or not.
    pub errors_total: u64,
    /// The first [`MAX_LISTED`] notices.
    pub notices: Vec<Notice>,
    /// Every notice, listed or not.
    pub notices_total: u64,
    /// Invalid UTF-8 sequences replaced by U+FFFD (XML formats).
    pub replaced_invalid_utf8: u64,
}

impl Summary {
    pub(crate) fn skip(&mut self, reason: SkipReason) {
        *self.skipped.entry(reason).or_default() += 1;
    }

    pub(crate) fn error(&mut self, error: RecordError) {
        self.errors_total += 1;
        if self.errors.len() < MAX_LISTED {
            self.errors.push(error);
        }
    }

    /// A status value the reader does not know: imported as pending.
    pub(crate) fn unknown_status(&mut self, position: Position, id: &str) {
        self.notice(Notice {
            position,
            id: id.to_owned(),
            kind: NoticeKind::UnknownStatus,
        });
    }

    pub(crate) fn notice(&mut self, notice: Notice) {
        self.notices_total += 1;
        if self.notices.len() < MAX_LISTED {
            self.notices.push(notice);
        }
    }
}

/// A file that cannot be imported. Messages name the position and never
/// quote a private field.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// The file could not be read.
    #[error("cannot read the file: {0}")]
    Io(String),
    /// Not well-formed XML.
    #[error("{position}: malformed XML: {message}")]
    Xml {
        /// Where the parser stopped.
        position: Position,
        /// What it found.
        message: String,
    },
    /// The file ends with elements still open.
    #[error(
        "{position}: the file ends inside <{element}> opened at line {opened_line}: is it truncated?"
    )]
    Truncated {
        /// The end of the file.
        position: Position,
        /// The innermost open element.
        element: String,
        /// Its line.
        opened_line: u64,
    },
    /// An XML encoding other than UTF-8.
    #[error("the file is in {0}; only UTF-8 is read: convert it first (iconv -f {0} -t UTF-8)")]
    Encoding(String),
    /// The content is not of the format asked for.
    #[error("not a {format} export: {reason}")]
    WrongFormat {
        /// The format asked for.
        format: Format,
        /// What the file is instead.
        reason: String,
    },
    /// `auto` found no known format.
    #[error(
        "unknown format: expected a WordPress WXR, a Disqus export, an Isso database or moderato's NDJSON"
    )]
    UnknownFormat,
    /// The NDJSON format is read elsewhere.
    #[error("{0} is imported by moderato's own data import, not by this reader")]
    NotHere(Format),
    /// The database could not be read.
    #[error("cannot read the database: {0}")]
    Database(String),
}

impl Error {
    /// Where in the file the error is, when it is at one place.
    pub fn position(&self) -> Option<Position> {
        match self {
            Error::Xml { position, .. } | Error::Truncated { position, .. } => Some(*position),
            _ => None,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::Io(e.to_string())
    }
}

/// Any of the three readers, chosen by format.
#[derive(Debug)]
pub enum Reader {
    /// WXR.
    Wordpress(WxrReader<BufReader<File>>),
    /// Disqus.
    Disqus(DisqusReader<BufReader<File>>),
    /// Isso.
    Isso(IssoReader),
}

impl Reader {
    /// The format being read.
    pub fn format(&self) -> Format {
        match self {
            Reader::Wordpress(_) => Format::Wordpress,
            Reader::Disqus(_) => Format::Disqus,
            Reader::Isso(_) => Format::Isso,
        }
    }

    /// What was set aside so far; complete once the iteration ended.
    pub fn summary(&self) -> &Summary {
        match self {
            Reader::Wordpress(r) => r.summary(),
            Reader::Disqus(r) => r.summary(),
            Reader::Isso(r) => r.summary(),
        }
    }
}

impl Iterator for Reader {
    type Item = Result<Item, Error>;
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Reader::Wordpress(r) => r.next(),
            Reader::Disqus(r) => r.next(),
            Reader::Isso(r) => r.next(),
        }
    }
}

/// Opens the file at `path` as `format`, or as the format [`Format::detect`]
/// finds when `format` is `None`.
///
/// # Errors
/// The file cannot be read, its format is unknown or NDJSON (read by the
/// data import), or (Disqus, Isso) its structure is broken: Disqus is read
/// in two passes, the first of which runs here.
pub fn open(path: &Path, format: Option<Format>) -> Result<Reader, Error> {
    let format = match format {
        Some(format) => format,
        None => {
            let mut head = Vec::with_capacity(DETECT_BYTES);
            File::open(path)?
                .take(DETECT_BYTES as u64)
                .read_to_end(&mut head)?;
            Format::detect(&head).ok_or(Error::UnknownFormat)?
        }
    };
    let buffered = || -> Result<BufReader<File>, Error> { Ok(BufReader::new(File::open(path)?)) };
    match format {
        Format::Wordpress => Ok(Reader::Wordpress(WxrReader::new(buffered()?))),
        Format::Disqus => Ok(Reader::Disqus(DisqusReader::new(buffered()?)?)),
        Format::Isso => Ok(Reader::Isso(IssoReader::open(path)?)),
        Format::Ndjson => Err(Error::NotHere(Format::Ndjson)),
    }
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

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
//!
//! # Layout
//! - [`wordpress`], [`disqus`], [`isso`]: one reader per format.
//! - `record` (what is yielded), `report` (the [`Summary`]), `thread`
//!   (parents before replies), `outbox` (the shared iteration).
//! - `xml` (quick-xml with positions) over `text` (UTF-8 repair, lines);
//!   `fields` (page keys, times, entities, Markdown).

pub mod disqus;
pub(crate) mod fields;
pub mod isso;
mod outbox;
mod record;
mod report;
mod text;
mod thread;
pub mod wordpress;
mod xml;

#[cfg(test)]
mod tests;

use std::fmt;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::str::FromStr;

pub use disqus::DisqusReader;
pub use isso::IssoReader;
pub use record::{Item, ParentRef, Position, Source, SourceRecord, Thread, comment_id};
pub use report::{MAX_LISTED, Notice, NoticeKind, RecordError, SkipReason, Summary};
pub use wordpress::{WpPost, WxrReader};

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

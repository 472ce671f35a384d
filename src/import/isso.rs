//! Isso's SQLite database (`isso/db/threads.py`, `isso/db/comments.py`),
//! opened read-only and read in batches of rows.
//!
//! `threads.uri` is the page key (Isso's embed uses `location.pathname`
//! too). `comments.mode` 1 -> approved, 2 -> pending, 4 (deleted, kept by
//! Isso only because replies hang under it; its text, author and website
//! are already erased) -> skipped as `deleted`, its replies re-attached to
//! its own parent, i.e. made top-level, since Isso nests one level only. A
//! placeholder would show readers an empty "deleted" box moderato has no
//! status for, and count as a comment; the replies still read as answers
//! in their thread's order. Other modes import as pending, with a notice.
//! `text` is Markdown, rendered to HTML; `created` is seconds since the
//! epoch as a float.

use std::collections::{HashMap, VecDeque};
use std::path::Path;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags, Row};

use crate::domain::Status;

use super::fields::{self, non_empty};
use super::outbox::{Advance, Outbox, next_item};
use super::thread::{Gone, Threader};
use super::{
    Error, Format, Item, Position, RecordError, SkipReason, Source, SourceRecord, Summary, Thread,
};

/// Rows read per query: bounded memory, few round trips.
const BATCH: i64 = 500;

/// The columns of Isso's schema this reader needs.
const COMMENT_COLUMNS: [&str; 10] = [
    "id",
    "tid",
    "parent",
    "created",
    "mode",
    "remote_addr",
    "text",
    "author",
    "email",
    "website",
];

/// One row of `comments`, as stored.
#[derive(Debug)]
struct CommentRow {
    id: i64,
    tid: Option<i64>,
    parent: Option<i64>,
    created: Option<f64>,
    mode: Option<i64>,
    remote_addr: Option<String>,
    text: Option<String>,
    author: Option<String>,
    email: Option<String>,
    website: Option<String>,
}

#[derive(Debug)]
struct ThreadEntry {
    page: Result<String, String>,
    title: Option<String>,
}

/// Streams the comments of an Isso database. See the module doc.
pub struct IssoReader {
    conn: Connection,
    threads: HashMap<i64, ThreadEntry>,
    threader: Threader,
    summary: Summary,
    batch: VecDeque<CommentRow>,
    last_id: i64,
    outbox: Outbox,
}

impl std::fmt::Debug for IssoReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssoReader")
            .field("threads", &self.threads.len())
            .field("last_id", &self.last_id)
            .field("summary", &self.summary)
            .finish_non_exhaustive()
    }
}

impl IssoReader {
    /// Opens the database at `path` read-only and reads its threads and the
    /// ids, parents and times of its comments (a few dozen bytes each).
    ///
    /// # Errors
    /// Not an SQLite file, or no Isso schema (`threads` and `comments` with
    /// the columns above).
    pub fn open(path: &Path) -> Result<IssoReader, Error> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(db_error)?;
        check_schema(&conn)?;
        let threads = read_threads(&conn)?;
        let mut threader = Threader::new(true);
        {
            let mut statement = conn
                .prepare("SELECT id, tid, created FROM comments")
                .map_err(db_error)?;
            let mut rows = statement.query([]).map_err(db_error)?;
            while let Some(row) = rows.next().map_err(db_error)? {
                let id: i64 = row.get(0).map_err(db_error)?;
                let tid = integer(row, 1)?.unwrap_or(-1);
                let created = real(row, 2)?.and_then(fields::float_seconds).unwrap_or(0);
                threader.expect(&id.to_string(), thread_number(tid), created, None);
            }
        }
        Ok(IssoReader {
            conn,
            threads,
            threader,
            summary: Summary::default(),
            batch: VecDeque::new(),
            last_id: i64::MIN,
            outbox: Outbox::default(),
        })
    }

    /// What was set aside so far; complete once the iteration ended.
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    fn read_step(&mut self) -> Result<(), Error> {
        if self.batch.is_empty() {
            self.fetch()?;
        }
        match self.batch.pop_front() {
            Some(row) => {
                self.accept(row);
                self.drain();
            }
            None => {
                self.threader.close(&mut self.summary);
                self.drain();
                self.outbox.done = true;
            }
        }
        Ok(())
    }

    /// The next rows by id: keyset paging, so no cursor outlives a call.
    fn fetch(&mut self) -> Result<(), Error> {
        let sql = format!(
            "SELECT {} FROM comments WHERE id > ?1 ORDER BY id LIMIT ?2",
            COMMENT_COLUMNS.join(", ")
        );
        let mut statement = self.conn.prepare_cached(&sql).map_err(db_error)?;
        let mut rows = statement
            .query(rusqlite::params![self.last_id, BATCH])
            .map_err(db_error)?;
        while let Some(row) = rows.next().map_err(db_error)? {
            let row = CommentRow {
                id: row.get(0).map_err(db_error)?,
                tid: integer(row, 1)?,
                parent: integer(row, 2)?,
                created: real(row, 3)?,
                mode: integer(row, 4)?,
                remote_addr: text(row, 5)?,
                text: text(row, 6)?,
                author: text(row, 7)?,
                email: text(row, 8)?,
                website: text(row, 9)?,
            };
            self.last_id = row.id;
            self.batch.push_back(row);
        }
        Ok(())
    }

    fn accept(&mut self, row: CommentRow) {
        let position = Position::Row {
            table: "comments",
            id: row.id,
        };
        let id = row.id.to_string();
        let tid = row.tid.unwrap_or(-1);
        let thread = thread_number(tid);
        let parent = row.parent.map(|p| p.to_string());
        let created_at = row.created.and_then(fields::float_seconds);
        let gone = |reader: &mut Self, why: Gone| {
            let time = created_at.unwrap_or(0);
            let parent = parent.as_deref();
            reader
                .threader
                .gone(&id, thread, time, parent, why, &mut reader.summary);
        };
        let markdown = row.text.as_deref().unwrap_or_default();
        let skip = if row.mode == Some(4) {
            Some(SkipReason::Deleted)
        } else if markdown.trim().is_empty() {
            Some(SkipReason::Empty)
        } else {
            None
        };
        if let Some(reason) = skip {
            gone(self, Gone::Skipped(reason));
            return;
        }
        let page = match self.threads.get(&tid) {
            Some(entry) => entry.page.clone(),
            None => Err(format!(
                "its thread (threads.id {tid}) is not in the database"
            )),
        };
        let (created_at, page) = match (created_at, page) {
            (Some(created_at), Ok(page)) => (created_at, page),
            (_, page) => {
                let message = match page {
                    Err(message) => message,
                    Ok(_) => "`created` is not a time in seconds".to_owned(),
                };
                self.summary.error(RecordError {
                    position,
                    id: Some(id.clone()),
                    message,
                });
                gone(self, Gone::Invalid);
                return;
            }
        };
        let status = match row.mode {
            Some(1) => Status::Approved,
            Some(2) => Status::Pending,
            _ => {
                self.summary.unknown_status(position, &id);
                Status::Pending
            }
        };
        let record = SourceRecord {
            source: Source::Isso,
            id: id.clone(),
            page,
            parent: None,
            original_parent: parent.clone(),
            author: row
                .author
                .as_deref()
                .map(str::trim)
                .unwrap_or_default()
                .to_owned(),
            email: row.email.as_deref().and_then(non_empty),
            website: row.website.as_deref().and_then(non_empty),
            ip: row.remote_addr.as_deref().and_then(non_empty),
            created_at,
            html: fields::markdown_to_html(markdown.trim()),
            status,
            by_author: false,
            user_agent: None,
            moderato_id: None,
            position,
        };
        self.threader.push(record, thread, &mut self.summary);
    }

    /// Queues what the threader released, each thread's `Thread` first.
    fn drain(&mut self) {
        let threads = &self.threads;
        self.outbox
            .take(&mut self.threader, &mut self.summary, |n, page| Thread {
                source: Source::Isso,
                page: page.to_owned(),
                title: threads.get(&i64::from(n)).and_then(|t| t.title.clone()),
                link: None,
                post: None,
            });
    }
}

impl Advance for IssoReader {
    fn outbox(&mut self) -> &mut Outbox {
        &mut self.outbox
    }

    fn step(&mut self) -> Result<(), Error> {
        self.read_step()
    }
}

impl Iterator for IssoReader {
    type Item = Result<Item, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        next_item(self)
    }
}

/// The threader's thread number of an Isso `tid` (ids beyond `u32` share
/// the last number; they do not occur in practice).
fn thread_number(tid: i64) -> u32 {
    u32::try_from(tid).unwrap_or(u32::MAX)
}

fn check_schema(conn: &Connection) -> Result<(), Error> {
    let not_isso = |reason: String| Error::WrongFormat {
        format: Format::Isso,
        reason,
    };
    let columns = |table: &str| -> Result<Vec<String>, Error> {
        let mut statement = conn
            .prepare("SELECT name FROM pragma_table_info(?1)")
            .map_err(db_error)?;
        let names = statement
            .query_map([table], |row| row.get::<_, String>(0))
            .map_err(db_error)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db_error)?;
        Ok(names)
    };
    for (table, needed) in [
        ("threads", &["id", "uri", "title"][..]),
        ("comments", &COMMENT_COLUMNS[..]),
    ] {
        let present = columns(table)?;
        if present.is_empty() {
            return Err(not_isso(format!("the table `{table}` is missing")));
        }
        if let Some(missing) = needed.iter().find(|c| !present.iter().any(|p| p == *c)) {
            return Err(not_isso(format!(
                "the table `{table}` has no column `{missing}`"
            )));
        }
    }
    Ok(())
}

fn read_threads(conn: &Connection) -> Result<HashMap<i64, ThreadEntry>, Error> {
    let mut statement = conn
        .prepare("SELECT id, uri, title FROM threads")
        .map_err(db_error)?;
    let mut rows = statement.query([]).map_err(db_error)?;
    let mut threads = HashMap::new();
    while let Some(row) = rows.next().map_err(db_error)? {
        let id: i64 = row.get(0).map_err(db_error)?;
        let page = match text(row, 1)? {
            Some(uri) if uri.trim().starts_with('/') => fields::page_key(uri.trim()),
            Some(uri) if uri.contains("://") => fields::page_key(uri.trim()),
            Some(uri) => Err(format!("the thread uri {uri:?} is not a path")),
            None => Err("its thread has no uri".to_owned()),
        };
        let title = text(row, 2)?.as_deref().and_then(non_empty);
        threads.insert(id, ThreadEntry { page, title });
    }
    Ok(threads)
}

/// SQLite types columns loosely: read what is there.
fn integer(row: &Row<'_>, i: usize) -> Result<Option<i64>, Error> {
    Ok(match row.get_ref(i).map_err(db_error)? {
        ValueRef::Integer(n) => Some(n),
        ValueRef::Real(f) if f.fract() == 0.0 => Some(f as i64),
        ValueRef::Text(t) => std::str::from_utf8(t)
            .ok()
            .and_then(|t| t.trim().parse().ok()),
        _ => None,
    })
}

fn real(row: &Row<'_>, i: usize) -> Result<Option<f64>, Error> {
    Ok(match row.get_ref(i).map_err(db_error)? {
        ValueRef::Integer(n) => Some(n as f64),
        ValueRef::Real(f) => Some(f),
        ValueRef::Text(t) => std::str::from_utf8(t)
            .ok()
            .and_then(|t| t.trim().parse().ok()),
        _ => None,
    })
}

/// Text as UTF-8, invalid sequences replaced.
fn text(row: &Row<'_>, i: usize) -> Result<Option<String>, Error> {
    Ok(match row.get_ref(i).map_err(db_error)? {
        ValueRef::Text(t) | ValueRef::Blob(t) => Some(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Integer(n) => Some(n.to_string()),
        ValueRef::Real(f) => Some(f.to_string()),
        ValueRef::Null => None,
    })
}

/// SQLite's messages name the failing statement's problem (ours are fixed
/// queries), never row values.
fn db_error(e: rusqlite::Error) -> Error {
    Error::Database(e.to_string())
}

//! One import of one file: detect its format, make sure it is readable to
//! its end before anything is stored, then read, prepare and store its
//! comments in bounded memory, and report.
//!
//! Reading and preparing (parsing, sanitizing, sealing) run on a blocking
//! thread and hand comments over in small batches through a bounded
//! channel; [`STORERS`] tasks store batches. They overlap, and at most
//! ([`CHANNEL_BATCHES`] + [`STORERS`]) × [`BATCH`] comments are in flight.
//!
//! "Stores nothing from a bad file": a fatal error of a WXR (a truncated
//! file, malformed XML) is only found at the point where it is, after
//! records were read, and a malformed NDJSON line likewise; so both are
//! read once without storing first. Disqus is read in two passes by its
//! reader and Isso's database is checked when opened: they fail before
//! yielding anything.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::Report;
use super::convert::Converter;
use super::ndjson::{Lines, Malformed};
use crate::domain::learn::Label;
use crate::domain::moderation::{
    self, Adjustments, Moderator, Prepared, PreparedLine, Stored, Taught,
};
use crate::domain::subscription::Subscriber;
use crate::domain::{Comment, Status};
use crate::import::{self, DETECT_BYTES, Format, Item, Position};

/// Comments handed from the reading thread to the storing task at once.
pub const BATCH: usize = 256;

/// Batches waiting between the reading thread and the storing tasks.
pub const CHANNEL_BATCHES: usize = 4;

/// Batches being stored at once.
pub const STORERS: usize = 2;

/// What to do.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// The format, or `None` to detect it from the content.
    pub format: Option<Format>,
    /// Report what would be imported; store nothing.
    pub dry_run: bool,
    /// Teach the learning spam filter with the imported decisions.
    pub learn: bool,
}

/// Why a file was not imported; nothing of it was stored, except after
/// [`Error::Store`] (what was stored before stays: a second run adds the
/// rest, since imports are idempotent).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file is not one we read (unknown format, malformed, truncated,
    /// unreadable), with its position when it has one.
    #[error(transparent)]
    File(#[from] import::Error),
    /// A line of an NDJSON file is not JSON.
    #[error(transparent)]
    Ndjson(#[from] Malformed),
    /// Storing failed.
    #[error("storing failed: {0}")]
    Store(#[source] moderation::Error),
    /// The reading thread ended abnormally (a bug).
    #[error("the import stopped unexpectedly: {0}")]
    Aborted(String),
}

impl Error {
    /// Where in the file the problem is, when it is at one place.
    pub fn position(&self) -> Option<Position> {
        match self {
            Error::File(e) => e.position(),
            Error::Ndjson(e) => Some(e.position),
            _ => None,
        }
    }

    /// Whether the file is at fault (not the store or a bug).
    pub fn is_file_error(&self) -> bool {
        matches!(self, Error::File(_) | Error::Ndjson(_))
    }
}

/// What the reading thread sends.
enum Msg {
    /// A comment ready to store, and where it is in the file.
    Comment(Box<Prepared>, Position),
    /// A reader's mail address record (moderato's own files).
    Reader(Box<Subscriber>),
    /// A record the core refused: not imported.
    Refused(Position, Option<String>, String),
}

/// Imports the file at `path` into `moderator`'s store and reports. A dry
/// run stores nothing and reports the same. `progress` is called with the
/// number of comments handled so far, after each batch.
///
/// # Errors
/// [`Error`]: the file is unknown or malformed (nothing stored), or the
/// store failed.
pub async fn import_file(
    moderator: Arc<Moderator>,
    path: &Path,
    options: Options,
    progress: &(dyn Fn(u64) + Send + Sync),
) -> Result<Report, Error> {
    let path = path.to_path_buf();
    let format = match options.format {
        Some(format) => format,
        None => blocking(detect, path.clone()).await??,
    };
    if !options.dry_run && matches!(format, Format::Wordpress | Format::Ndjson) {
        blocking(read_through, (path.clone(), format)).await??;
    }
    let mut report = Report::new(format.as_str(), options.dry_run);
    let (tx, mut rx) = mpsc::channel::<Vec<Msg>>(CHANNEL_BATCHES);
    let reader = {
        let moderator = moderator.clone();
        tokio::task::spawn_blocking(move || produce(&moderator, &path, format, &tx))
    };
    let mut handled = 0u64;
    let mut failed = None;
    let mut in_flight: JoinSet<BatchResult> = JoinSet::new();
    loop {
        // At most STORERS batches are stored at once: sled runs a
        // transaction's reads outside its commit lock, so two overlap.
        while in_flight.len() >= STORERS || (rx.is_closed() && !in_flight.is_empty()) {
            let Some(done) = in_flight.join_next().await else {
                break;
            };
            match done.map_err(|e| Error::Aborted(e.to_string()))? {
                Ok(stored) => {
                    handled += account(&mut report, &stored);
                    if let Some(taught) = &stored.taught {
                        report.learned(taught);
                    }
                    progress(handled);
                }
                Err((at, e)) => {
                    tracing::error!(batch_starts_at = ?at, error = %e, "import: storing failed");
                    failed.get_or_insert(e);
                }
            }
        }
        if failed.is_some() {
            // Dropping the receiver ends the reading thread at its next send.
            break;
        }
        let Some(batch) = rx.recv().await else {
            if in_flight.is_empty() {
                break;
            }
            continue;
        };
        for msg in &batch {
            if let Msg::Refused(position, id, message) = msg {
                report.error(*position, id.clone(), message);
            }
        }
        in_flight.spawn(store_batch(moderator.clone(), batch, options));
    }
    // After a failure: let the batches in flight end, counting what they
    // stored.
    while let Some(done) = in_flight.join_next().await {
        match done.map_err(|e| Error::Aborted(e.to_string()))? {
            Ok(stored) => {
                handled += account(&mut report, &stored);
                if let Some(taught) = &stored.taught {
                    report.learned(taught);
                }
            }
            Err((_, e)) => {
                failed.get_or_insert(e);
            }
        }
    }
    progress(handled);
    drop(rx);
    let produced = reader.await.map_err(|e| Error::Aborted(e.to_string()))?;
    if !options.dry_run {
        moderator.finish_import().await.map_err(Error::Store)?;
    }
    if let Some(e) = failed {
        return Err(Error::Store(e));
    }
    let read = produced?;
    match read {
        Outcome::Reader(summary) => report.add_summary(&summary),
        Outcome::Lines { pages } => report.pages = pages,
    }
    report.errors.sort_by_key(|e| e.position);
    report.errors.truncate(import::MAX_LISTED);
    tracing::info!(
        format = %format,
        dry_run = options.dry_run,
        imported = report.imported,
        already_present = report.already_present,
        errors = report.errors_total,
        pages = report.pages,
        "import"
    );
    Ok(report)
}

/// What storing one batch gave: per comment its status, what was
/// adjusted, and whether it was new, and what the learning filter was
/// taught; or where the batch starts and why it failed.
type BatchResult = Result<StoredBatch, (Option<Position>, moderation::Error)>;

/// A stored batch.
struct StoredBatch {
    comments: Vec<(Status, Adjustments, Stored)>,
    /// Readers' records stored (not present before).
    readers: u64,
    /// With `learn` (not in a dry run).
    taught: Option<Taught>,
}

/// Stores one batch of the reading thread's messages; with `learn`, its
/// spam and approved comments then teach the learning filter as the
/// author's decisions (again on a second import: each replaces its own
/// ledger entry, so the model learns each comment once).
async fn store_batch(moderator: Arc<Moderator>, batch: Vec<Msg>, options: Options) -> BatchResult {
    let prepared: Vec<&Prepared> = batch
        .iter()
        .filter_map(|m| match m {
            Msg::Comment(comment, _) => Some(comment.as_ref()),
            Msg::Reader(_) | Msg::Refused(..) => None,
        })
        .collect();
    let starts_at = || {
        batch.iter().find_map(|m| match m {
            Msg::Comment(_, position) => Some(*position),
            Msg::Reader(_) | Msg::Refused(..) => None,
        })
    };
    let stored = moderator
        .store_import(&prepared, options.dry_run)
        .await
        .map_err(|e| (starts_at(), e))?;
    let mut readers = 0;
    for msg in &batch {
        if let Msg::Reader(record) = msg
            && moderator
                .store_reader(record, options.dry_run)
                .await
                .map_err(|e| (starts_at(), e))?
        {
            readers += 1;
        }
    }
    let mut taught = None;
    if options.learn && !options.dry_run {
        // A "deleted" placeholder has no words left to learn from.
        let labeled: Vec<(&Comment, Label)> = prepared
            .iter()
            .filter(|p| !p.comment.deleted)
            .filter_map(|p| Some((&p.comment, label_of(p.comment.status)?)))
            .collect();
        taught = Some(
            moderator
                .teach_imported(&labeled)
                .await
                .map_err(|e| (starts_at(), e))?,
        );
    }
    Ok(StoredBatch {
        comments: prepared
            .iter()
            .zip(stored)
            .map(|(p, stored)| (p.comment.status, p.adjusted, stored))
            .collect(),
        readers,
        taught,
    })
}

/// What an imported comment's status teaches: the source's spam folder is
/// spam, an approved comment is ham; pending and rejected (trash) teach
/// nothing, as the author's reject does not.
fn label_of(status: Status) -> Option<Label> {
    match status {
        Status::Spam => Some(Label::Spam),
        Status::Approved => Some(Label::Ham),
        Status::Pending | Status::Rejected => None,
    }
}

/// Counts a stored batch in the report; how many comments it held.
fn account(report: &mut Report, stored: &StoredBatch) -> u64 {
    for (status, adjusted, stored) in &stored.comments {
        match stored {
            Stored::New => report.imported(*status, *adjusted),
            Stored::AlreadyPresent => report.already_present += 1,
        }
    }
    report.readers += stored.readers;
    stored.comments.len() as u64
}

/// Runs `f(arg)` on a blocking thread.
async fn blocking<A, T>(f: fn(A) -> T, arg: A) -> Result<T, Error>
where
    A: Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(move || f(arg))
        .await
        .map_err(|e| Error::Aborted(e.to_string()))
}

/// The format of the file from its first bytes.
fn detect(path: PathBuf) -> Result<Format, Error> {
    let mut head = Vec::with_capacity(DETECT_BYTES);
    File::open(&path)
        .map_err(import::Error::from)?
        .take(DETECT_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(import::Error::from)?;
    Ok(Format::detect(&head).ok_or(import::Error::UnknownFormat)?)
}

/// Reads the whole file without storing, to find a fatal error before
/// anything is stored.
fn read_through((path, format): (PathBuf, Format)) -> Result<(), Error> {
    if format == Format::Ndjson {
        let mut lines = Lines::open(&path).map_err(import::Error::from)?;
        while lines.next_line()?.is_some() {}
        return Ok(());
    }
    for item in import::open(&path, Some(format))? {
        item?;
    }
    Ok(())
}

/// What the reading thread read, besides the comments.
enum Outcome {
    /// A reader's summary.
    Reader(import::Summary),
    /// NDJSON: the pages seen.
    Lines { pages: u64 },
}

/// The reading thread: reads, converts and prepares, and sends batches
/// until the file ends, it fails, or the storing side hangs up.
fn produce(
    moderator: &Moderator,
    path: &Path,
    format: Format,
    tx: &mpsc::Sender<Vec<Msg>>,
) -> Result<Outcome, Error> {
    let mut batch = Vec::with_capacity(BATCH);
    // Sends a full batch, or with `last` whatever is left; `false` once
    // the storing side hung up.
    let send = |batch: &mut Vec<Msg>, last: bool| -> bool {
        let full = batch.len() >= BATCH;
        let rest = last && !batch.is_empty();
        if !full && !rest {
            return true;
        }
        tx.blocking_send(std::mem::replace(batch, Vec::with_capacity(BATCH)))
            .is_ok()
    };
    if format == Format::Ndjson {
        let mut lines = Lines::open(path).map_err(import::Error::from)?;
        let mut pages = std::collections::HashSet::new();
        while let Some((position, raw)) = lines.next_line()? {
            batch.push(match moderator.prepare_line(raw) {
                Ok(PreparedLine::Comment(prepared)) => {
                    if !pages.contains(&prepared.comment.page) {
                        pages.insert(prepared.comment.page.clone());
                    }
                    Msg::Comment(prepared, position)
                }
                Ok(PreparedLine::Reader(record)) => Msg::Reader(record),
                Err(message) => Msg::Refused(position, None, message),
            });
            if !send(&mut batch, false) {
                break;
            }
        }
        send(&mut batch, true);
        return Ok(Outcome::Lines {
            pages: pages.len() as u64,
        });
    }
    let mut reader = import::open(path, Some(format))?;
    let mut converter = Converter::default();
    for item in reader.by_ref() {
        match item? {
            Item::Thread(thread) => converter.thread(thread),
            Item::Comment(record) => {
                let (position, id) = (record.position, record.id.clone());
                batch.push(match moderator.prepare_import(converter.comment(record)) {
                    Ok(prepared) => Msg::Comment(Box::new(prepared), position),
                    Err(e) => Msg::Refused(position, Some(id), refusal(&e)),
                });
                if !send(&mut batch, false) {
                    break;
                }
            }
        }
    }
    send(&mut batch, true);
    Ok(Outcome::Reader(reader.summary().clone()))
}

/// The core's refusal in words: the fields and why, no value.
fn refusal(e: &moderation::Error) -> String {
    match e {
        moderation::Error::Invalid { fields } => fields
            .iter()
            .map(|(field, why)| format!("{field}: {why}"))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

//! Backups: a compressed snapshot of the records as stored, written on a
//! schedule while the service runs, and read back by `moderato restore`.
//!
//! A snapshot is gzip'd JSON Lines in a versioned envelope, one record a
//! line, each naming its type:
//!
//! ```text
//! {"type":"moderato-backup","version":1,"started_at":…,"key_check":"…"}
//! {"type":"comment","record":{…the comment as stored…}}
//! …
//! {"type":"subscriber","record":{…a reader's mail record as stored…}}
//! {"type":"ledger","record":{…one decision the learning filter learned…}}
//! {"type":"end","records":{"comment":N,"subscriber":M,"ledger":L}}
//! ```
//!
//! Records are as stored: emails stay sealed, so a backup is encrypted at
//! rest like the database and can be restored only with the same master
//! key, whose check value the header carries. Other stored kinds join with
//! a type of their own (a reader of this version skips types it does not
//! know, and counts them); the `end` line says the file is whole.
//!
//! Every record stored before a snapshot began and not deleted meanwhile is
//! in it (the store is read in id order while writes go on; each record is
//! whole). A snapshot is written to a temporary file, synced and renamed,
//! the last `backup_keep` are kept, and none is started (or continued) when
//! it would leave less than the disk reserve free.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::learn::Label;
use crate::domain::learn::ledger::Entry as LedgerEntry;
use crate::domain::now_millis;
use crate::domain::ports::{Store, StoreError};
use crate::domain::privacy::EmailKey;
use crate::domain::subscription::Subscriber;
use crate::domain::{Comment, CommentId};

/// The envelope's version; a reader refuses a newer one.
pub const FORMAT_VERSION: u32 = 1;
/// Comments read from the store at a time.
const BATCH: usize = 512;
/// File names: `moderato-backup-<UTC time>.ndjson.gz`.
const PREFIX: &str = "moderato-backup-";
const SUFFIX: &str = ".ndjson.gz";

/// Why a backup could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Writing would leave less free than the reserve.
    #[error("not enough free space in {dir}: {free} bytes free, the backup needs about {needed}")]
    NoSpace {
        /// The backup directory.
        dir: PathBuf,
        /// Bytes free.
        free: u64,
        /// Bytes it would need, with the reserve.
        needed: u64,
    },
    /// The store could not be read.
    #[error("the store cannot be read: {0}")]
    Store(#[from] StoreError),
    /// The file is not a backup this version can read.
    #[error("{path} line {line}: {problem}")]
    Format {
        /// The file.
        path: PathBuf,
        /// The line (1-based), 0 for the whole file.
        line: usize,
        /// What is wrong.
        problem: String,
    },
}

/// The first line of a snapshot.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Header {
    /// `moderato-backup`.
    #[serde(rename = "type")]
    pub kind: String,
    /// [`FORMAT_VERSION`] when written.
    pub version: u32,
    /// When the snapshot began (ms since the epoch): every comment stored
    /// before it (and not deleted since) is in it.
    pub started_at: i64,
    /// The master key's check value: only that key reads the emails.
    pub key_check: String,
}

/// Where and how often to write snapshots.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// The directory of the snapshots.
    pub dir: PathBuf,
    /// Time between two snapshots.
    pub every: Duration,
    /// Snapshots kept.
    pub keep: usize,
    /// Bytes that must stay free on the backup directory's file system.
    pub reserve_bytes: u64,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

/// Writes one snapshot of `store` into `schedule.dir`, then removes the
/// oldest beyond `schedule.keep`. Returns its path.
///
/// # Errors
/// [`Error`]; a snapshot that failed half-way leaves no file behind.
pub async fn write_snapshot(
    store: &dyn Store,
    key_check: &str,
    schedule: &Schedule,
) -> Result<PathBuf, Error> {
    let dir = &schedule.dir;
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    // About as large as the last one; a first one about a tenth of the
    // database (JSON of sealed records compresses well).
    let estimate = snapshots(dir)?
        .last()
        .and_then(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .unwrap_or_else(|| store.stats().size_on_disk.unwrap_or(0) / 10);
    ensure_room(dir, estimate + schedule.reserve_bytes)?;

    let started_at = now_millis();
    let name = format!("{PREFIX}{}{SUFFIX}", file_time(started_at));
    let path = dir.join(&name);
    let temporary = dir.join(format!(".{name}.tmp"));
    let written = write_to(store, key_check, started_at, &temporary, schedule).await;
    let result = written.and_then(|()| {
        std::fs::rename(&temporary, &path).map_err(io(&path))?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    });
    if let Err(e) = result {
        let _ = std::fs::remove_file(&temporary);
        return Err(e);
    }
    let all = snapshots(dir)?;
    for old in all.iter().take(all.len().saturating_sub(schedule.keep)) {
        if let Err(e) = std::fs::remove_file(old) {
            tracing::warn!(file = %old.display(), error = %e, "old backup not removed");
        }
    }
    Ok(path)
}

async fn write_to(
    store: &dyn Store,
    key_check: &str,
    started_at: i64,
    path: &Path,
    schedule: &Schedule,
) -> Result<(), Error> {
    let file = std::fs::File::create(path).map_err(io(path))?;
    let mut out = GzEncoder::new(std::io::BufWriter::new(file), Compression::default());
    let header = Header {
        kind: "moderato-backup".into(),
        version: FORMAT_VERSION,
        started_at,
        key_check: key_check.to_owned(),
    };
    line(
        &mut out,
        path,
        &serde_json::to_value(&header).unwrap_or(Value::Null),
    )?;
    let mut writer = Records {
        out: &mut out,
        path,
        schedule,
    };
    let count = writer
        .write(
            "comment",
            |after| store.comments_after(after, BATCH),
            |comment: &Comment| comment.id,
            |comment| serde_json::to_value(comment),
        )
        .await?;
    let subscribers = writer
        .write(
            "subscriber",
            |after| store.subscribers_after(after, BATCH),
            |subscriber: &Subscriber| EmailKey(subscriber.key),
            |subscriber| serde_json::to_value(subscriber),
        )
        .await?;
    let ledger = writer
        .write(
            "ledger",
            |after| store.ledger_after(after, BATCH),
            |entry: &LedgerEntry| (entry.email, entry.comment),
            |entry| serde_json::to_value(LedgerRecord::from(entry)),
        )
        .await?;
    line(
        &mut out,
        path,
        &serde_json::json!({ "type": "end", "records": {
            "comment": count, "subscriber": subscribers, "ledger": ledger,
        } }),
    )?;
    let writer = out.finish().map_err(io(path))?;
    let file = writer.into_inner().map_err(|e| Error::Io {
        path: path.to_owned(),
        source: e.into_error(),
    })?;
    file.sync_all().map_err(io(path))
}

/// Where the records of a snapshot go.
struct Records<'a, W> {
    out: &'a mut W,
    path: &'a Path,
    schedule: &'a Schedule,
}

impl<W: Write> Records<'_, W> {
    /// Writes every record of one kind, a line each, read from the store
    /// in key order `BATCH` at a time (`next` gives the batch after a key),
    /// and stops when the disk reserve is reached; how many.
    async fn write<T, K, Batch>(
        &mut self,
        kind: &str,
        mut next: impl FnMut(Option<K>) -> Batch,
        key_of: impl Fn(&T) -> K,
        encode: impl Fn(&T) -> serde_json::Result<Value>,
    ) -> Result<u64, Error>
    where
        Batch: std::future::Future<Output = Result<Vec<T>, StoreError>>,
    {
        let mut count = 0u64;
        let mut after = None;
        loop {
            let batch = next(after).await?;
            let Some(last) = batch.last() else { break };
            after = Some(key_of(last));
            for record in &batch {
                let record = encode(record).map_err(|e| Error::Format {
                    path: self.path.to_owned(),
                    line: 0,
                    problem: format!("a {kind} record cannot be encoded: {e}"),
                })?;
                line(
                    self.out,
                    self.path,
                    &serde_json::json!({ "type": kind, "record": record }),
                )?;
                count += 1;
            }
            // Never fill the disk: stop when the reserve is reached.
            ensure_room(&self.schedule.dir, self.schedule.reserve_bytes)?;
            tokio::task::yield_now().await;
        }
        Ok(count)
    }
}

/// A ledger entry as a backup line holds it (the domain's entry has no
/// serde form of its own: only backups write it as text).
#[derive(Debug, Serialize, Deserialize)]
struct LedgerRecord {
    comment: CommentId,
    #[serde(with = "hex::serde")]
    email: [u8; 32],
    label: Label,
    keys: Vec<u32>,
    trained: bool,
    decided_at: i64,
    probability: Option<f32>,
}

impl From<&LedgerEntry> for LedgerRecord {
    fn from(entry: &LedgerEntry) -> LedgerRecord {
        LedgerRecord {
            comment: entry.comment,
            email: entry.email.0,
            label: entry.label,
            keys: entry.keys.clone(),
            trained: entry.trained,
            decided_at: entry.decided_at,
            probability: entry.probability,
        }
    }
}

impl From<LedgerRecord> for LedgerEntry {
    fn from(record: LedgerRecord) -> LedgerEntry {
        LedgerEntry {
            comment: record.comment,
            email: EmailKey(record.email),
            label: record.label,
            keys: record.keys,
            trained: record.trained,
            decided_at: record.decided_at,
            probability: record.probability,
        }
    }
}

fn line(out: &mut impl Write, path: &Path, value: &Value) -> Result<(), Error> {
    serde_json::to_writer(&mut *out, value).map_err(|e| Error::Io {
        path: path.to_owned(),
        source: e.into(),
    })?;
    out.write_all(b"\n").map_err(io(path))
}

fn ensure_room(dir: &Path, needed: u64) -> Result<(), Error> {
    let free = fs2::available_space(dir).map_err(io(dir))?;
    if free < needed {
        return Err(Error::NoSpace {
            dir: dir.to_owned(),
            free,
            needed,
        });
    }
    Ok(())
}

/// `20261201T120000Z`: sorts by time, safe in a file name.
fn file_time(millis: i64) -> String {
    let time = time::OffsetDateTime::from_unix_timestamp(millis / 1000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        time.year(),
        u8::from(time.month()),
        time.day(),
        time.hour(),
        time.minute(),
        time.second()
    )
}

/// The snapshots in `dir`, oldest first.
///
/// # Errors
/// [`Error::Io`] when the directory cannot be read.
pub fn snapshots(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(PREFIX) && n.ends_with(SUFFIX))
        })
        .collect();
    found.sort();
    Ok(found)
}

/// Writes a snapshot every `schedule.every`, for as long as the service
/// runs; a failed one is logged and tried again at the next turn.
pub async fn run(store: Arc<dyn Store>, key_check: String, schedule: Schedule) {
    let mut every = tokio::time::interval(schedule.every);
    // The first tick is immediate: the first snapshot comes one period
    // after the start.
    every.tick().await;
    loop {
        every.tick().await;
        match write_snapshot(store.as_ref(), &key_check, &schedule).await {
            Ok(path) => tracing::info!(file = %path.display(), "backup written"),
            Err(e) => tracing::error!(error = %e, "backup not written"),
        }
    }
}

/// What a snapshot holds, read back in full (after its `end` line was seen).
#[derive(Debug)]
pub struct Snapshot {
    /// Its header.
    pub header: Header,
    /// Its comments, as stored.
    pub comments: Vec<Comment>,
    /// Its readers' mail records, as stored.
    pub subscribers: Vec<Subscriber>,
    /// The learning filter's ledger.
    pub ledger: Vec<LedgerEntry>,
    /// Records of types this version does not know, by type.
    pub unknown: std::collections::BTreeMap<String, u64>,
}

/// Reads a snapshot; refuses one that is cut short or of a newer version.
///
/// # Errors
/// [`Error::Format`] naming the line; [`Error::Io`].
pub fn read_snapshot(path: &Path) -> Result<Snapshot, Error> {
    let file = std::fs::File::open(path).map_err(io(path))?;
    let reader = BufReader::new(GzDecoder::new(file));
    let format = |line: usize, problem: String| Error::Format {
        path: path.to_owned(),
        line,
        problem,
    };
    let mut header: Option<Header> = None;
    let mut comments = Vec::new();
    let mut subscribers = Vec::new();
    let mut ledger = Vec::new();
    let mut unknown = std::collections::BTreeMap::new();
    let mut ended = None;
    for (index, text) in reader.lines().enumerate() {
        let number = index + 1;
        let text = text.map_err(|e| format(number, format!("not a whole gzip file: {e}")))?;
        let value: Value =
            serde_json::from_str(&text).map_err(|e| format(number, format!("not JSON: {e}")))?;
        let kind = value["type"].as_str().unwrap_or_default().to_owned();
        match (kind.as_str(), &header) {
            ("moderato-backup", None) => {
                let h: Header = serde_json::from_value(value)
                    .map_err(|e| format(number, format!("bad header: {e}")))?;
                if h.version > FORMAT_VERSION {
                    return Err(format(
                        number,
                        format!("written by a newer moderato (format {})", h.version),
                    ));
                }
                header = Some(h);
            }
            (_, None) => return Err(format(number, "not a moderato backup".into())),
            ("comment", Some(_)) => comments.push(
                serde_json::from_value(value["record"].clone())
                    .map_err(|e| format(number, format!("bad comment: {e}")))?,
            ),
            ("subscriber", Some(_)) => subscribers.push(
                serde_json::from_value(value["record"].clone())
                    .map_err(|e| format(number, format!("bad subscriber record: {e}")))?,
            ),
            ("ledger", Some(_)) => ledger.push(LedgerEntry::from(
                serde_json::from_value::<LedgerRecord>(value["record"].clone())
                    .map_err(|e| format(number, format!("bad ledger entry: {e}")))?,
            )),
            ("end", Some(_)) => ended = Some(value["records"].clone()),
            (_, Some(_)) => *unknown.entry(kind).or_insert(0) += 1,
        }
    }
    let header = header.ok_or_else(|| format(0, "empty file".into()))?;
    match ended {
        // A snapshot of an older moderato counts its comments only.
        Some(counts)
            if counts["comment"].as_u64() == Some(comments.len() as u64)
                && [("subscriber", subscribers.len()), ("ledger", ledger.len())]
                    .iter()
                    .all(|(kind, n)| counts[kind].as_u64().is_none_or(|c| c == *n as u64)) =>
        {
            Ok(Snapshot {
                header,
                comments,
                subscribers,
                ledger,
                unknown,
            })
        }
        Some(_) => Err(format(0, "the end line does not match the records".into())),
        None => Err(format(
            0,
            "the file is cut short (no end line): take an older backup".into(),
        )),
    }
}

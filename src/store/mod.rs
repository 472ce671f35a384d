//! The store shell: the core's [`Store`](crate::domain::ports::Store) port
//! on sled (this module) and on PostgreSQL ([`postgres`], for several
//! replicas on one database). On sled: one tree of comments keyed by id
//! and index trees kept consistent with it in one transaction per change
//! (ARCHITECTURE.md, "Storage layout").
//!
//! No `sled::` type leaves this module, and values are serde-encoded only
//! here. Every write method waits for its flush before it returns, so a
//! caller that acknowledges a write after it is never lying: concurrent
//! writers share one flush ([`commit`], group commit).

mod check;
pub mod commit;
mod data;
mod generations;
mod keys;
mod learning;
mod outbox;
mod port;
pub mod postgres;
mod read;
pub mod reopen;
mod reply;
mod rewrite;
pub mod seal;
mod subscribers;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError, abort};

use crate::domain::comment::History;
use crate::domain::learn::ledger::Entry as LedgerEntry;
use crate::domain::outbox::Scheduled;
use crate::domain::ports::{Fingerprints, StoreError as Error, Transition};
use crate::domain::{Comment, CommentId, Status, Via, now_millis};

pub use check::{Problem, Report};
pub use reopen::ReopeningStore;
pub use seal::SealCheck;

impl From<sled::Error> for Error {
    /// An I/O error of sled is [`Error::Unavailable`]: after one, sled
    /// refuses every later write with the same error (it keeps it as a
    /// global error, so that no write lands after a hole in its log), and
    /// only a reopen of the database recovers ([`reopen`]).
    fn from(e: sled::Error) -> Error {
        match e {
            sled::Error::Io(io) => Error::Unavailable {
                reason: reopen::io_reason(&io),
            },
            other => Error::Backend(Box::new(other)),
        }
    }
}

/// The sled database; cloning is cheap (sled trees and a few `Arc`s).
#[derive(Clone, Debug)]
pub struct SledStore {
    db: sled::Db,
    comments: sled::Tree,
    by_status: sled::Tree,
    by_page: sled::Tree,
    by_email: sled::Tree,
    fingerprints: sled::Tree,
    text_seen: sled::Tree,
    /// Comments per status, kept in memory so the queue cap and metrics do
    /// not scan an index on every request. Counted at open, then updated
    /// after each committed change.
    counts: Arc<[AtomicU64; 4]>,
    /// One flusher shared by every write (see [`commit`]).
    commit: commit::GroupCommit,
    /// Bumped after every change to a page's approved comments, so the
    /// read cache knows when a page's JSON is stale.
    generations: Arc<generations::PageGenerations>,
    /// Decision links used once (see [`keys::USED_LINKS`]).
    used_links: sled::Tree,
    /// Jobs of the notification outbox (see [`outbox`]).
    outbox: sled::Tree,
    /// Readers' records (see [`subscribers`]).
    subscribers: sled::Tree,
    /// Jobs in the outbox, counted at open, then kept up to date.
    jobs: Arc<AtomicU64>,
    /// The learning filter's ledger (see [`learning`]).
    ledger: sled::Tree,
}

type TxResult<T> = Result<T, ConflictableTransactionError<Error>>;

impl SledStore {
    /// Opens (or creates) the database in `path`.
    ///
    /// # Errors
    /// [`Error::Backend`] when the files cannot be opened.
    pub fn open(path: &std::path::Path, cache_capacity_bytes: u64) -> Result<SledStore, Error> {
        SledStore::open_with(path, cache_capacity_bytes, Arc::default())
    }

    /// [`SledStore::open`], continuing the page generations of an earlier
    /// handle of the same database (a reopen after an I/O failure).
    fn open_with(
        path: &std::path::Path,
        cache_capacity_bytes: u64,
        generations: Arc<generations::PageGenerations>,
    ) -> Result<SledStore, Error> {
        // sled may panic on a damaged file instead of returning an error:
        // that is a damaged database too, never a crash.
        let opened = std::panic::catch_unwind(|| {
            sled::Config::new()
                .path(path)
                .cache_capacity(cache_capacity_bytes)
                .open()
        })
        .map_err(|_| Error::Corrupt {
            id: "database".into(),
            message: "sled could not read its files".into(),
        })?;
        SledStore::from_db(opened?, generations)
    }

    /// A throw-away database for unit tests and benchmarks.
    ///
    /// # Errors
    /// [`Error::Backend`] when sled cannot create it.
    pub fn temporary() -> Result<SledStore, Error> {
        SledStore::from_db(sled::Config::new().temporary(true).open()?, Arc::default())
    }

    fn from_db(
        db: sled::Db,
        generations: Arc<generations::PageGenerations>,
    ) -> Result<SledStore, Error> {
        let store = SledStore {
            comments: db.open_tree(keys::COMMENTS)?,
            by_status: db.open_tree(keys::BY_STATUS)?,
            by_page: db.open_tree(keys::BY_PAGE)?,
            by_email: db.open_tree(keys::BY_EMAIL)?,
            fingerprints: db.open_tree(keys::FINGERPRINTS)?,
            text_seen: db.open_tree(keys::TEXT_SEEN)?,
            used_links: db.open_tree(keys::USED_LINKS)?,
            outbox: db.open_tree(keys::OUTBOX)?,
            subscribers: db.open_tree(keys::SUBSCRIBERS)?,
            ledger: db.open_tree(keys::LEDGER)?,
            jobs: Arc::default(),
            commit: commit::GroupCommit::new(db.clone()),
            db,
            counts: Arc::new(Default::default()),
            generations,
        };
        store.recount();
        store.clear_leases()?;
        Ok(store)
    }

    /// Sets the in-memory status counters from the `by_status` index.
    fn recount(&self) {
        for status in Status::ALL {
            let n = self
                .by_status
                .scan_prefix([keys::status_tag(status)])
                .count();
            self.counts[status.index()].store(n as u64, Ordering::Relaxed);
        }
        self.jobs.store(self.outbox.len() as u64, Ordering::Relaxed);
    }

    /// Marks `page` changed when a comment entered or left its public
    /// (approved) view. Every write method calls it after its transaction
    /// committed and before it flushes.
    fn public_change(&self, page: &str, before: Option<Status>, after: Option<Status>) {
        if before == Some(Status::Approved) || after == Some(Status::Approved) {
            self.generations.bump(page);
        }
    }

    /// A number that changes whenever the approved comments of `page`
    /// change. Read it *before* reading the page: data read after it is at
    /// least as new as the generation.
    pub fn page_generation(&self, page: &str) -> u64 {
        self.generations.get(page)
    }

    /// (flush requests, flushes done) since start: group commit at work.
    pub fn commit_stats(&self) -> (u64, u64) {
        self.commit.stats()
    }

    /// Waits until every write so far is on disk; concurrent callers share
    /// one flush (group commit).
    ///
    /// # Errors
    /// [`Error::Backend`] on I/O failure.
    pub async fn flush(&self) -> Result<(), Error> {
        self.commit.flush().await?;
        Ok(())
    }

    /// Stores a new comment and its index entries, then flushes. When the
    /// comment has a parent, the parent is checked inside the same
    /// transaction, so it cannot be rejected or deleted in between; so is
    /// the duplicate check, so two identical posts racing cannot both land.
    /// `jobs` join the outbox in the same transaction.
    ///
    /// # Errors
    /// [`Error::InvalidParent`], [`Error::Duplicate`], or a database error.
    pub async fn insert(
        &self,
        comment: &Comment,
        prints: &Fingerprints,
        jobs: &[Scheduled],
    ) -> Result<(), Error> {
        let value = encode(comment)?;
        let id = comment.id.to_bytes();
        (
            &self.comments,
            &self.by_status,
            &self.by_page,
            &self.by_email,
            &self.fingerprints,
            &self.text_seen,
            &self.outbox,
        )
            .transaction(
                |(comments, by_status, by_page, by_email, fingerprints, text_seen, outbox)| {
                    if let Some(earlier) = fingerprints.get(prints.commenter_text)? {
                        // A deleted comment leaves its fingerprint behind; it no
                        // longer counts.
                        if comments.get(&earlier)?.is_some() {
                            return abort(Error::Duplicate);
                        }
                    }
                    if let Some(parent) = comment.parent {
                        let parent = match comments.get(parent.to_bytes())? {
                            Some(bytes) => {
                                decode(&bytes).map_err(ConflictableTransactionError::Abort)?
                            }
                            None => return abort(Error::InvalidParent),
                        };
                        if parent.status != Status::Approved || parent.page != comment.page {
                            return abort(Error::InvalidParent);
                        }
                    }
                    comments.insert(&id, value.as_slice())?;
                    index_insert(by_status, by_page, by_email, comment)?;
                    fingerprints.insert(&prints.commenter_text, &id)?;
                    text_seen.insert(&prints.text, &comment.created_at.to_be_bytes())?;
                    outbox::enqueue(outbox, jobs)?;
                    Ok(())
                },
            )
            .map_err(flatten)?;
        self.jobs_added(jobs.len());
        self.adjust_count(comment.status, 1);
        self.public_change(&comment.page, None, Some(comment.status));
        self.flush().await
    }

    /// When a text with this fingerprint was last stored (ms since epoch).
    ///
    /// # Errors
    /// A database error.
    pub fn text_last_seen(&self, text: &[u8; 32]) -> Result<Option<i64>, Error> {
        Ok(self
            .text_seen
            .get(text)?
            .and_then(|v| <[u8; 8]>::try_from(v.as_ref()).ok())
            .map(i64::from_be_bytes))
    }

    /// One comment, or `None`.
    ///
    /// # Errors
    /// A database or decoding error.
    pub fn get(&self, id: CommentId) -> Result<Option<Comment>, Error> {
        self.comments
            .get(id.to_bytes())?
            .map(|bytes| decode(&bytes))
            .transpose()
    }

    /// Moves a comment to `status` (a no-op when it is there already),
    /// records the change with `via` in its audit trail, then flushes.
    /// Returns the comment as stored and its status before, or `None` for an
    /// unknown id. `jobs` join the outbox in the same transaction when the
    /// status changed.
    ///
    /// # Errors
    /// A database or decoding error.
    pub async fn set_status(
        &self,
        id: CommentId,
        status: Status,
        via: Via,
        jobs: &[Scheduled],
    ) -> Result<Option<Transition>, Error> {
        Ok(self
            .change_status(id, status, via, jobs, learning::LedgerWrite::Untouched)
            .await?
            .map(|(transition, _)| transition))
    }

    /// [`SledStore::set_status`], with a ledger write in the same
    /// transaction; returns the ledger entry it replaced as well.
    async fn change_status(
        &self,
        id: CommentId,
        status: Status,
        via: Via,
        jobs: &[Scheduled],
        ledger_write: learning::LedgerWrite<'_>,
    ) -> Result<Option<(Transition, Option<LedgerEntry>)>, Error> {
        let now = now_millis();
        let outcome = (
            &self.comments,
            &self.by_status,
            &self.by_page,
            &self.by_email,
            &self.outbox,
            &self.ledger,
        )
            .transaction(|(comments, by_status, by_page, by_email, outbox, ledger)| {
                let Some(bytes) = comments.get(id.to_bytes())? else {
                    return Ok(None);
                };
                let mut comment = decode(&bytes).map_err(ConflictableTransactionError::Abort)?;
                let from = comment.status;
                let replaced = ledger_write.apply(ledger, &comment)?;
                if from == status {
                    return Ok(Some((comment, from, replaced)));
                }
                index_remove(by_status, by_page, by_email, &comment)?;
                comment.record(status, now, via);
                comments.insert(
                    &id.to_bytes(),
                    encode(&comment).map_err(ConflictableTransactionError::Abort)?,
                )?;
                index_insert(by_status, by_page, by_email, &comment)?;
                outbox::enqueue(outbox, jobs)?;
                Ok(Some((comment, from, replaced)))
            })
            .map_err(flatten)?;
        let Some((comment, from, replaced)) = outcome else {
            return Ok(None);
        };
        if from != status {
            self.jobs_added(jobs.len());
            self.adjust_count(from, -1);
            self.adjust_count(status, 1);
            self.public_change(&comment.page, Some(from), Some(status));
        }
        if from != status || ledger_write.writes() {
            self.flush().await?;
        }
        Ok(Some((Transition { comment, from }, replaced)))
    }

    /// Deletes a comment and every index entry of it, then flushes. Returns
    /// whether it existed.
    ///
    /// # Errors
    /// A database or decoding error.
    pub async fn delete(&self, id: CommentId) -> Result<bool, Error> {
        let removed = (
            &self.comments,
            &self.by_status,
            &self.by_page,
            &self.by_email,
        )
            .transaction(|(comments, by_status, by_page, by_email)| {
                let Some(bytes) = comments.remove(&id.to_bytes())? else {
                    return Ok(None);
                };
                let comment = decode(&bytes).map_err(ConflictableTransactionError::Abort)?;
                index_remove(by_status, by_page, by_email, &comment)?;
                Ok(Some((comment.status, comment.page)))
            })
            .map_err(flatten)?;
        match removed {
            Some((status, page)) => {
                self.adjust_count(status, -1);
                self.public_change(&page, Some(status), None);
                self.flush().await?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn adjust_count(&self, status: Status, delta: i64) {
        let counter = &self.counts[status.index()];
        if delta >= 0 {
            counter.fetch_add(delta as u64, Ordering::Relaxed);
        } else {
            counter.fetch_sub(delta.unsigned_abs(), Ordering::Relaxed);
        }
    }

    /// Comments currently in `status` (from the in-memory counters).
    pub fn status_count(&self, status: Status) -> u64 {
        self.counts[status.index()].load(Ordering::Relaxed)
    }

    /// Writes a marker and flushes it, blocking: whether this handle can
    /// write now (after a reopen, before taking writes again).
    ///
    /// # Errors
    /// [`Error::Unavailable`] when the write or the flush fails.
    pub fn probe_write(&self) -> Result<(), Error> {
        self.db
            .insert(keys::WRITE_PROBE, &now_millis().to_be_bytes())?;
        self.db.flush()?;
        Ok(())
    }

    /// Bytes the database takes on disk.
    ///
    /// # Errors
    /// A database error.
    pub fn size_on_disk(&self) -> Result<u64, Error> {
        Ok(self.db.size_on_disk()?)
    }
}

fn index_insert(
    by_status: &sled::transaction::TransactionalTree,
    by_page: &sled::transaction::TransactionalTree,
    by_email: &sled::transaction::TransactionalTree,
    comment: &Comment,
) -> TxResult<()> {
    by_status.insert(keys::status_key(comment.status, comment.id), &[])?;
    by_page.insert(
        keys::page_key(&comment.page, comment.status, comment.id),
        &[],
    )?;
    by_email.insert(
        keys::email_key(comment.email_key(), comment.id),
        &[keys::status_tag(comment.status)],
    )?;
    Ok(())
}

fn index_remove(
    by_status: &sled::transaction::TransactionalTree,
    by_page: &sled::transaction::TransactionalTree,
    by_email: &sled::transaction::TransactionalTree,
    comment: &Comment,
) -> TxResult<()> {
    by_status.remove(keys::status_key(comment.status, comment.id))?;
    by_page.remove(keys::page_key(&comment.page, comment.status, comment.id))?;
    by_email.remove(keys::email_key(comment.email_key(), comment.id))?;
    Ok(())
}

fn index_id(entry: sled::Result<(sled::IVec, sled::IVec)>) -> Result<CommentId, Error> {
    let (key, _) = entry?;
    keys::id_suffix(&key).ok_or_else(|| Error::Corrupt {
        id: hex::encode(&key),
        message: "index key without an id".into(),
    })
}

fn encode(comment: &Comment) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(comment).map_err(|e| Error::Corrupt {
        id: comment.id.to_string(),
        message: e.to_string(),
    })
}

fn decode(bytes: &[u8]) -> Result<Comment, Error> {
    serde_json::from_slice(bytes).map_err(|e| Error::Corrupt {
        id: "?".into(),
        message: e.to_string(),
    })
}

fn flatten(e: TransactionError<Error>) -> Error {
    match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => e.into(),
    }
}

#[cfg(test)]
mod tests;

//! What the core needs from the world outside it, as traits: a [`Store`]
//! for comments, their indexes and the outbox of notifications, and
//! [`Notifications`], which wakes whoever sends them. The shells implement
//! them (`crate::store` for sled, `crate::notify` for mail and webhooks);
//! the core holds them as `Arc<dyn …>` and never learns which database or
//! channel is behind them.

use std::fmt;

use async_trait::async_trait;

use super::comment::{Comment, CommentId, History, Status, Via};
use super::learn::ledger::Entry as LedgerEntry;
use super::outbox::{JobId, QueuedJob, Scheduled};
use super::privacy::EmailKey;
use super::subscription::Subscriber;

/// Why a store operation failed. The first four are answers the core acts
/// on; the others are faults of the store itself.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The parent is missing, not approved, or on another page.
    #[error("the parent comment is not an approved comment of this page")]
    InvalidParent,
    /// The same commenter already posted the same text on this page.
    #[error("the same comment is already stored")]
    Duplicate,
    /// The comment replied to does not exist.
    #[error("the parent comment does not exist")]
    ParentNotFound,
    /// The comment replied to is rejected or spam.
    #[error("the parent comment is {0}")]
    ParentClosed(Status),
    /// The comment changed (or went) since the caller read it: read it
    /// again and decide again.
    #[error("the comment changed meanwhile")]
    Conflict,
    /// A stored record could not be decoded.
    #[error("stored record {id} cannot be decoded: {message}")]
    Corrupt {
        /// The record's key, as text.
        id: String,
        /// The decoder's message.
        message: String,
    },
    /// The store cannot take writes now: the disk is full, the file system
    /// went read-only, the disk or the server does not answer. Nothing of
    /// the refused write was acknowledged; the store recovers by itself
    /// once the cause is gone (see [`Store::health`]), so the answer is
    /// "try again later", not a fault of the request.
    #[error("the store cannot write now: {reason}")]
    Unavailable {
        /// The cause in a few words (`no space left on device`), without
        /// paths or data.
        reason: String,
    },
    /// The database itself failed (I/O, a lost connection, corruption).
    #[error("database error")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Keyed hashes of a new comment's text, computed by the core (the store
/// holds no key): they let the store refuse duplicates in the same
/// transaction that stores the comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprints {
    /// Commenter + page + normalized text: the same reader's same words on
    /// a page, refused with 409.
    pub commenter_text: [u8; 32],
    /// Normalized text alone: when anyone last posted it (the `duplicate`
    /// spam rule).
    pub text: [u8; 32],
}

/// Computes a stored comment's commenter + page + text fingerprint (it
/// needs the key, which only the core holds).
pub type Fingerprinter = dyn Fn(&Comment) -> [u8; 32] + Send + Sync;

/// Which comments a moderation listing shows.
#[derive(Debug, Clone, Copy)]
pub struct ListQuery<'a> {
    /// One status, or every status.
    pub status: Option<Status>,
    /// One page, or every page.
    pub page: Option<&'a str>,
    /// At most this many.
    pub limit: usize,
    /// Continue with the comments older than this one.
    pub before: Option<CommentId>,
}

/// One page of a moderation listing.
#[derive(Debug)]
pub struct Listing {
    /// Newest first.
    pub comments: Vec<Comment>,
    /// Pass back as `before` to get the next page; `None` at the end.
    pub next_cursor: Option<CommentId>,
}

/// A status change as stored: the comment afterwards and the status it
/// left (equal to its status when nothing changed).
#[derive(Debug, Clone)]
pub struct Transition {
    /// The comment as stored now.
    pub comment: Comment,
    /// Its status before.
    pub from: Status,
}

/// What a writer's change does to their comment (see [`Store::rewrite`]).
#[derive(Debug, Clone, Copy)]
pub enum Rewrite<'a> {
    /// The edited comment, same id and page, with the fingerprints of its
    /// new text.
    Edit {
        /// The comment as it is to be stored.
        after: &'a Comment,
        /// Fingerprints of the new text.
        prints: &'a Fingerprints,
    },
    /// The emptied "deleted" placeholder that its replies hang under.
    Placeholder(&'a Comment),
    /// The same comment with other reader boxes ([`crate::domain::Notify`]):
    /// text, fingerprints and indexes stay.
    Update(&'a Comment),
    /// Gone, with its index entries.
    Remove,
}

/// A decision as stored: the status change, and the ledger entry the
/// decision replaced (the model unlearns it).
#[derive(Debug, Clone)]
pub struct Decided {
    /// The comment afterwards and the status it left.
    pub transition: Transition,
    /// The comment's ledger entry before, `None` when it had none.
    pub unlearned: Option<LedgerEntry>,
}

/// Figures of the store for `/metrics`.
#[derive(Debug, Clone, Copy, Default)]
pub struct StoreStats {
    /// Bytes on disk, when the store can tell.
    pub size_on_disk: Option<u64>,
    /// Writes that waited for durability.
    pub flush_requests: u64,
    /// Flushes (fsyncs) done for them.
    pub flushes: u64,
}

/// Whether the store can take writes now ([`Store::health`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreHealth {
    /// Writes are accepted. When false, writes answer
    /// [`StoreError::Unavailable`] until the store recovers by itself.
    pub writable: bool,
    /// Reads are served (possibly while writes are refused).
    pub readable: bool,
    /// Why writes are refused, in a few words.
    pub problem: Option<String>,
}

/// The moderation queue and everything kept with it.
///
/// Every write method is one transaction over the comment, all its index
/// entries and the outbox jobs it is given, and returns only once the change
/// is durable, so a caller that acknowledges a write afterwards never lies
/// (ARCHITECTURE.md, "Invariants"). `import` is the exception: it does not
/// wait, and the caller calls [`Store::flush`] after the last one.
#[async_trait]
pub trait Store: Send + Sync + fmt::Debug {
    /// Stores a new comment. When it has a parent, the parent is checked
    /// in the same transaction (it must be an approved comment of the same
    /// page); so is the duplicate check, so two identical posts racing
    /// cannot both land. `jobs` join the outbox in the same transaction.
    ///
    /// # Errors
    /// [`StoreError::InvalidParent`], [`StoreError::Duplicate`], or a fault.
    async fn insert(
        &self,
        comment: &Comment,
        prints: &Fingerprints,
        jobs: &[Scheduled],
    ) -> Result<(), StoreError>;

    /// Stores the author's reply under its parent and returns the parent as
    /// it is afterwards. A pending parent is approved in the same
    /// transaction (recorded with [`Via::Reply`]); a rejected or spam one is
    /// refused. `fingerprint` refuses the same reply twice under one parent.
    /// `jobs` join the outbox in the same transaction.
    ///
    /// # Errors
    /// [`StoreError::ParentNotFound`], [`StoreError::ParentClosed`],
    /// [`StoreError::InvalidParent`] (another page),
    /// [`StoreError::Duplicate`], or a fault.
    async fn insert_reply(
        &self,
        reply: &Comment,
        fingerprint: [u8; 32],
        jobs: &[Scheduled],
    ) -> Result<Comment, StoreError>;

    /// Moves a comment to `status`, recording `via` in its audit trail (a
    /// no-op when it is there already). `jobs` join the outbox in the same
    /// transaction, only when the status changed. `None` for an unknown id.
    ///
    /// # Errors
    /// A fault.
    async fn set_status(
        &self,
        id: CommentId,
        status: Status,
        via: Via,
        jobs: &[Scheduled],
    ) -> Result<Option<Transition>, StoreError>;

    /// Deletes a comment and its index entries. Whether it existed.
    ///
    /// # Errors
    /// A fault.
    async fn delete(&self, id: CommentId) -> Result<bool, StoreError>;

    /// Stores a comment as it is (id, status and times kept) unless one
    /// with its id exists: then nothing changes and it returns `false`.
    /// Does not wait for durability.
    ///
    /// # Errors
    /// A fault.
    async fn import(&self, comment: &Comment, prints: &Fingerprints) -> Result<bool, StoreError>;

    // Imports (domain::moderation::import): many comments at a time.

    /// [`Store::import`] of several comments, whether each was new. A
    /// backend may store them in one transaction (all or none: sled does,
    /// since an import's speed is its per-transaction cost); this default
    /// stores them one by one. Does not wait for durability.
    ///
    /// # Errors
    /// A fault; comments of the batch may then be stored or not (a second
    /// import of the same file completes it).
    async fn import_batch(
        &self,
        batch: &[(&Comment, &Fingerprints)],
    ) -> Result<Vec<bool>, StoreError> {
        let mut stored = Vec::with_capacity(batch.len());
        for (comment, prints) in batch {
            stored.push(self.import(comment, prints).await?);
        }
        Ok(stored)
    }

    /// Deletes every comment of one commenter with its index entries and
    /// its duplicate fingerprint (which `fingerprint` computes from a
    /// comment: the store holds no key). How many.
    ///
    /// # Errors
    /// A fault; comments deleted before it stay deleted.
    async fn erase_commenter(
        &self,
        email: EmailKey,
        fingerprint: &Fingerprinter,
    ) -> Result<usize, StoreError>;

    /// Records a decision link as used; `false` when it was used before. Of
    /// two concurrent claims exactly one wins.
    ///
    /// # Errors
    /// A fault.
    async fn claim_link(&self, mac: &[u8; 32]) -> Result<bool, StoreError>;

    /// Makes a claimed link usable again (its decision could not be stored).
    ///
    /// # Errors
    /// A fault.
    async fn release_link(&self, mac: &[u8; 32]) -> Result<(), StoreError>;

    /// Whether a decision link was used.
    ///
    /// # Errors
    /// A fault.
    async fn link_used(&self, mac: &[u8; 32]) -> Result<bool, StoreError>;

    // ---- The writer's edits and deletions (issue 13) ----

    /// Replaces or removes a comment its writer changed, in one
    /// transaction, if it is still exactly `before` (otherwise
    /// [`StoreError::Conflict`], and nothing changes: the caller reads it
    /// again). The index entries follow the new status and identity;
    /// `old_print` (the commenter + page + text fingerprint of `before`) is
    /// dropped when it points to this comment; an edit stores the new
    /// fingerprints, refusing the new text with [`StoreError::Duplicate`]
    /// when the same commenter has it on this page in another comment.
    /// `jobs` join the outbox in the same transaction. Durable before it
    /// returns.
    ///
    /// # Errors
    /// [`StoreError::Conflict`], [`StoreError::Duplicate`], or a fault.
    async fn rewrite(
        &self,
        before: &Comment,
        old_print: [u8; 32],
        change: Rewrite<'_>,
        jobs: &[Scheduled],
    ) -> Result<(), StoreError>;

    /// Every comment of one commenter (by keyed email hash), oldest first.
    ///
    /// # Errors
    /// A fault.
    async fn comments_of(&self, email: EmailKey) -> Result<Vec<Comment>, StoreError>;

    // ---- Readers' subscriptions (issue 13; domain::subscription) ----

    /// A reader's record, by keyed email hash.
    ///
    /// # Errors
    /// A fault.
    async fn subscriber(&self, email: EmailKey) -> Result<Option<Subscriber>, StoreError>;

    /// Replaces a reader's record `before` (`None`: there is none) by
    /// `after` (`None`: forget it), in one transaction with `jobs`, only if
    /// the stored record is still `before` (otherwise
    /// [`StoreError::Conflict`] and nothing changes). `after` keeps
    /// `before`'s key. Durable before it returns.
    ///
    /// # Errors
    /// [`StoreError::Conflict`], or a fault.
    async fn put_subscriber(
        &self,
        before: Option<&Subscriber>,
        after: Option<&Subscriber>,
        jobs: &[Scheduled],
    ) -> Result<(), StoreError>;

    /// Readers' records ordered by key, `limit` at a time after `after`.
    ///
    /// # Errors
    /// A fault.
    async fn subscribers_after(
        &self,
        after: Option<EmailKey>,
        limit: usize,
    ) -> Result<Vec<Subscriber>, StoreError>;

    /// Whether any comment (any status) of `page` replies to `id`.
    ///
    /// # Errors
    /// A fault.
    async fn has_replies(&self, page: &str, id: CommentId) -> Result<bool, StoreError>;

    /// Waits until every write so far is durable.
    ///
    /// # Errors
    /// A fault.
    async fn flush(&self) -> Result<(), StoreError>;

    /// One comment, or `None`.
    ///
    /// # Errors
    /// A fault.
    async fn get(&self, id: CommentId) -> Result<Option<Comment>, StoreError>;

    /// The approved comments of a page, oldest first.
    ///
    /// # Errors
    /// A fault.
    async fn approved_for_page(&self, page: &str) -> Result<Vec<Comment>, StoreError>;

    /// How many approved comments a page has.
    ///
    /// # Errors
    /// A fault.
    async fn approved_count(&self, page: &str) -> Result<usize, StoreError>;

    /// The moderation listing, newest first.
    ///
    /// # Errors
    /// A fault.
    async fn list(&self, query: ListQuery<'_>) -> Result<Listing, StoreError>;

    /// Every comment, oldest first, `limit` at a time after `after`.
    ///
    /// # Errors
    /// A fault.
    async fn comments_after(
        &self,
        after: Option<CommentId>,
        limit: usize,
    ) -> Result<Vec<Comment>, StoreError>;

    /// How many of this commenter's comments were approved or marked spam.
    ///
    /// # Errors
    /// A fault.
    async fn history(&self, email: EmailKey) -> Result<History, StoreError>;

    /// When a text with this fingerprint was last stored (ms since epoch).
    ///
    /// # Errors
    /// A fault.
    async fn text_last_seen(&self, text: &[u8; 32]) -> Result<Option<i64>, StoreError>;

    /// Comments in `status` now (kept in memory: the queue cap and the
    /// metrics read it on every request).
    fn status_count(&self, status: Status) -> u64;

    /// A number that changes whenever the approved comments of `page`
    /// change. Read it *before* reading the page: data read after it is at
    /// least as new as the generation.
    fn page_generation(&self, page: &str) -> u64;

    /// Figures for `/metrics`.
    fn stats(&self) -> StoreStats;

    // ---- Health (issue 15: when things go wrong) ----

    /// Whether writes and reads are served now: `/healthz` and `/readyz`
    /// answer from it. A store that refused a write for lack of space (or
    /// a read-only file system, or a lost server) says so here until it
    /// has recovered by itself.
    fn health(&self) -> StoreHealth;

    // The outbox (domain::outbox): jobs are written by the write methods
    // above; the notification worker claims, completes and reschedules them.

    /// Claims up to `limit` jobs due at `now` (ms since the epoch) that no
    /// one holds, each for `lease_ms`: until the lease ends no other claim
    /// returns them. Oldest due first.
    ///
    /// # Errors
    /// A fault.
    async fn claim_jobs(
        &self,
        now: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<QueuedJob>, StoreError>;

    /// Removes a job that was sent, or that will never be.
    ///
    /// # Errors
    /// A fault.
    async fn complete_job(&self, id: JobId) -> Result<(), StoreError>;

    /// Gives a claimed job back, due again at `at`, with `attempts` made.
    ///
    /// # Errors
    /// A fault.
    async fn reschedule_job(&self, id: JobId, at: i64, attempts: u32) -> Result<(), StoreError>;

    /// Jobs in the outbox now (claimed or not).
    ///
    /// # Errors
    /// A fault.
    async fn pending_jobs(&self) -> Result<u64, StoreError>;

    /// Gives back the jobs this process claimed and has not settled, at a
    /// clean stop (a worker aborted mid-send), so another replica or the
    /// next start sends them at once instead of after the lease. Stores
    /// that free every lease when they open (sled: one process) need not.
    ///
    /// # Errors
    /// A fault.
    async fn release_claims(&self) -> Result<(), StoreError> {
        Ok(())
    }

    // The ledger of the learning filter (issue 11, domain::learn::ledger):
    // what the model learned, one entry per comment id (an entry always
    // carries its comment's email key), hashed features only. The model is
    // the seed plus these entries, so an entry is written in the
    // transaction of the decision that causes it. Deleting a comment keeps
    // its entry; erasing a reader removes them.

    /// [`Store::set_status`], and in the same transaction the comment's
    /// ledger entry becomes `learned` (`None` removes it; its `comment` is
    /// `id`), whether or not the status changed. Returns the entry it
    /// replaced. `None` for an unknown id: nothing changes.
    ///
    /// # Errors
    /// A fault.
    async fn record_decision(
        &self,
        id: CommentId,
        status: Status,
        via: Via,
        jobs: &[Scheduled],
        learned: Option<&LedgerEntry>,
    ) -> Result<Option<Decided>, StoreError>;

    /// Writes entries taught from a file, each replacing the entry of its
    /// comment id, in one transaction. Returns the replaced entries, in
    /// the order of `entries`.
    ///
    /// # Errors
    /// A fault; then nothing was written.
    async fn put_ledger(
        &self,
        entries: &[LedgerEntry],
    ) -> Result<Vec<Option<LedgerEntry>>, StoreError>;

    /// Removes every entry of one reader and returns them (erasure).
    ///
    /// # Errors
    /// A fault.
    async fn forget_reader(&self, email: EmailKey) -> Result<Vec<LedgerEntry>, StoreError>;

    /// Ledger entries in (email key, comment id) order, `limit` at a time,
    /// after the entry with that email key and comment id.
    ///
    /// # Errors
    /// A fault, or an entry that cannot be decoded.
    async fn ledger_after(
        &self,
        after: Option<(EmailKey, CommentId)>,
        limit: usize,
    ) -> Result<Vec<LedgerEntry>, StoreError>;
}

/// Wakes the notification worker: jobs were just written to the outbox.
/// Never waits; a worker that misses a wake-up still finds the jobs on its
/// next poll (another replica's jobs are only ever found that way).
pub trait Notifications: Send + Sync + fmt::Debug {
    /// Jobs are due.
    fn jobs_queued(&self);
}

/// Nobody to wake: for tools that store comments without a running service
/// (imports from the command line, benchmarks); their jobs wait in the
/// outbox for the service.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoNotifications;

impl Notifications for NoNotifications {
    fn jobs_queued(&self) {}
}

//! [`ReopeningStore`] as the core's [`Store`] port. Each method hands over
//! to the sled code of its concern (`mod.rs` writes, `read.rs` reads,
//! `reply.rs`, `data.rs`) on the current handle: a write through
//! [`ReopeningStore::writable`] and [`ReopeningStore::observe`] (refused
//! while the disk cannot take it, and watched for I/O failures), a read
//! through [`ReopeningStore::readable`]. sled's reads are synchronous and
//! fast (its page cache is in memory), so they run in place.

use async_trait::async_trait;

use super::{ReopeningStore, SledStore};
use crate::domain::comment::History;
use crate::domain::learn::ledger::Entry as LedgerEntry;
use crate::domain::outbox::{JobId, QueuedJob, Scheduled};
use crate::domain::ports::{
    Decided, Fingerprinter, Fingerprints, ListQuery, Listing, Rewrite, Store, StoreError,
    StoreHealth, StoreStats, Transition,
};
use crate::domain::privacy::EmailKey;
use crate::domain::subscription::Subscriber;
use crate::domain::{Comment, CommentId, Status, Via};

#[async_trait]
impl Store for ReopeningStore {
    async fn insert(
        &self,
        comment: &Comment,
        prints: &Fingerprints,
        jobs: &[Scheduled],
    ) -> Result<(), StoreError> {
        let store = self.writable()?;
        self.observe(SledStore::insert(&store, comment, prints, jobs).await)
    }

    async fn insert_reply(
        &self,
        reply: &Comment,
        fingerprint: [u8; 32],
        jobs: &[Scheduled],
    ) -> Result<Comment, StoreError> {
        let store = self.writable()?;
        self.observe(SledStore::insert_reply(&store, reply, fingerprint, jobs).await)
    }

    async fn set_status(
        &self,
        id: CommentId,
        status: Status,
        via: Via,
        jobs: &[Scheduled],
    ) -> Result<Option<Transition>, StoreError> {
        let store = self.writable()?;
        self.observe(SledStore::set_status(&store, id, status, via, jobs).await)
    }

    async fn delete(&self, id: CommentId) -> Result<bool, StoreError> {
        let store = self.writable()?;
        self.observe(SledStore::delete(&store, id).await)
    }

    async fn import(&self, comment: &Comment, prints: &Fingerprints) -> Result<bool, StoreError> {
        let store = self.writable()?;
        self.observe(SledStore::import(&store, comment, prints))
    }

    async fn import_batch(
        &self,
        batch: &[(&Comment, &Fingerprints)],
    ) -> Result<Vec<bool>, StoreError> {
        let store = self.writable()?;
        self.observe(SledStore::import_batch(&store, batch))
    }

    async fn erase_commenter(
        &self,
        email: EmailKey,
        fingerprint: &Fingerprinter,
    ) -> Result<usize, StoreError> {
        let store = self.writable()?;
        self.observe(SledStore::erase_commenter(&store, email, fingerprint).await)
    }

    async fn claim_link(&self, mac: &[u8; 32]) -> Result<bool, StoreError> {
        let store = self.writable()?;
        self.observe(SledStore::claim_link(&store, mac).await)
    }

    async fn release_link(&self, mac: &[u8; 32]) -> Result<(), StoreError> {
        // A release undoes a claim whose decision failed: tried even while
        // writes are refused (it may well fail too, and then the link stays
        // used: the author decides in the admin page).
        let store = self.readable()?;
        self.observe(SledStore::release_link(&store, mac))
    }

    async fn link_used(&self, mac: &[u8; 32]) -> Result<bool, StoreError> {
        SledStore::link_used(&*self.readable()?, mac)
    }

    async fn rewrite(
        &self,
        before: &Comment,
        old_print: [u8; 32],
        change: Rewrite<'_>,
        jobs: &[Scheduled],
    ) -> Result<(), StoreError> {
        let store = self.writable()?;
        self.observe(SledStore::rewrite(&store, before, old_print, change, jobs).await)
    }

    async fn comments_of(&self, email: EmailKey) -> Result<Vec<Comment>, StoreError> {
        SledStore::comments_of(&*self.readable()?, email)
    }

    async fn subscriber(&self, email: EmailKey) -> Result<Option<Subscriber>, StoreError> {
        SledStore::subscriber(&*self.readable()?, email)
    }

    async fn put_subscriber(
        &self,
        before: Option<&Subscriber>,
        after: Option<&Subscriber>,
        jobs: &[Scheduled],
    ) -> Result<(), StoreError> {
        let store = self.writable()?;
        self.observe(SledStore::put_subscriber(&store, before, after, jobs).await)
    }

    async fn subscribers_after(
        &self,
        after: Option<EmailKey>,
        limit: usize,
    ) -> Result<Vec<Subscriber>, StoreError> {
        SledStore::subscribers_after(&*self.readable()?, after, limit)
    }

    async fn has_replies(&self, page: &str, id: CommentId) -> Result<bool, StoreError> {
        SledStore::has_replies(&*self.readable()?, page, id)
    }

    async fn flush(&self) -> Result<(), StoreError> {
        let store = self.writable()?;
        self.observe(SledStore::flush(&store).await)
    }

    async fn get(&self, id: CommentId) -> Result<Option<Comment>, StoreError> {
        SledStore::get(&*self.readable()?, id)
    }

    async fn approved_for_page(&self, page: &str) -> Result<Vec<Comment>, StoreError> {
        SledStore::approved_for_page(&*self.readable()?, page)
    }

    async fn approved_count(&self, page: &str) -> Result<usize, StoreError> {
        SledStore::approved_count(&*self.readable()?, page)
    }

    async fn list(&self, query: ListQuery<'_>) -> Result<Listing, StoreError> {
        SledStore::list(&*self.readable()?, query)
    }

    async fn comments_after(
        &self,
        after: Option<CommentId>,
        limit: usize,
    ) -> Result<Vec<Comment>, StoreError> {
        SledStore::comments_after(&*self.readable()?, after, limit)
    }

    async fn history(&self, email: EmailKey) -> Result<History, StoreError> {
        SledStore::history(&*self.readable()?, email)
    }

    async fn text_last_seen(&self, text: &[u8; 32]) -> Result<Option<i64>, StoreError> {
        SledStore::text_last_seen(&*self.readable()?, text)
    }

    fn status_count(&self, status: Status) -> u64 {
        self.readable()
            .map_or(0, |store| SledStore::status_count(&store, status))
    }

    fn page_generation(&self, page: &str) -> u64 {
        self.page_generation(page)
    }

    async fn claim_jobs(
        &self,
        now: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<QueuedJob>, StoreError> {
        let store = self.writable()?;
        self.observe(SledStore::claim_jobs(&store, now, lease_ms, limit))
    }

    async fn complete_job(&self, id: JobId) -> Result<(), StoreError> {
        let store = self.writable()?;
        self.observe(SledStore::complete_job(&store, id))
    }

    async fn reschedule_job(&self, id: JobId, at: i64, attempts: u32) -> Result<(), StoreError> {
        let store = self.writable()?;
        self.observe(SledStore::reschedule_job(&store, id, at, attempts))
    }

    async fn pending_jobs(&self) -> Result<u64, StoreError> {
        Ok(SledStore::pending_jobs(&*self.readable()?))
    }

    async fn record_decision(
        &self,
        id: CommentId,
        status: Status,
        via: Via,
        jobs: &[Scheduled],
        learned: Option<&LedgerEntry>,
    ) -> Result<Option<Decided>, StoreError> {
        let store = self.writable()?;
        self.observe(SledStore::record_decision(&store, id, status, via, jobs, learned).await)
    }

    async fn put_ledger(
        &self,
        entries: &[LedgerEntry],
    ) -> Result<Vec<Option<LedgerEntry>>, StoreError> {
        let store = self.writable()?;
        self.observe(SledStore::put_ledger(&store, entries).await)
    }

    async fn forget_reader(&self, email: EmailKey) -> Result<Vec<LedgerEntry>, StoreError> {
        let store = self.writable()?;
        self.observe(SledStore::forget_reader(&store, email).await)
    }

    async fn ledger_after(
        &self,
        after: Option<(EmailKey, CommentId)>,
        limit: usize,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        SledStore::ledger_after(&*self.readable()?, after, limit)
    }

    // `release_claims` keeps the port's default: one sled process frees
    // every lease when it opens the database.

    fn stats(&self) -> StoreStats {
        let Ok(store) = self.readable() else {
            return StoreStats::default();
        };
        let (flush_requests, flushes) = store.commit_stats();
        StoreStats {
            size_on_disk: store.size_on_disk().ok(),
            flush_requests,
            flushes,
        }
    }

    fn health(&self) -> StoreHealth {
        ReopeningStore::health(self)
    }
}

//! [`SledStore`] as the core's [`Store`] port. Each method hands over to
//! the sled code of its concern (`mod.rs` writes, `read.rs` reads,
//! `reply.rs`, `data.rs`); sled's reads are synchronous and fast (its page
//! cache is in memory), so they run in place.

use async_trait::async_trait;

use super::SledStore;
use crate::domain::comment::History;
use crate::domain::learn::ledger::Entry as LedgerEntry;
use crate::domain::outbox::{JobId, QueuedJob, Scheduled};
use crate::domain::ports::{
    Decided, Fingerprinter, Fingerprints, ListQuery, Listing, Rewrite, Store, StoreError,
    StoreStats, Transition,
};
use crate::domain::privacy::EmailKey;
use crate::domain::subscription::Subscriber;
use crate::domain::{Comment, CommentId, Status, Via};

#[async_trait]
impl Store for SledStore {
    async fn insert(
        &self,
        comment: &Comment,
        prints: &Fingerprints,
        jobs: &[Scheduled],
    ) -> Result<(), StoreError> {
        SledStore::insert(self, comment, prints, jobs).await
    }

    async fn insert_reply(
        &self,
        reply: &Comment,
        fingerprint: [u8; 32],
        jobs: &[Scheduled],
    ) -> Result<Comment, StoreError> {
        SledStore::insert_reply(self, reply, fingerprint, jobs).await
    }

    async fn set_status(
        &self,
        id: CommentId,
        status: Status,
        via: Via,
        jobs: &[Scheduled],
    ) -> Result<Option<Transition>, StoreError> {
        SledStore::set_status(self, id, status, via, jobs).await
    }

    async fn delete(&self, id: CommentId) -> Result<bool, StoreError> {
        SledStore::delete(self, id).await
    }

    async fn import(&self, comment: &Comment, prints: &Fingerprints) -> Result<bool, StoreError> {
        SledStore::import(self, comment, prints)
    }

    async fn import_batch(
        &self,
        batch: &[(&Comment, &Fingerprints)],
    ) -> Result<Vec<bool>, StoreError> {
        SledStore::import_batch(self, batch)
    }

    async fn erase_commenter(
        &self,
        email: EmailKey,
        fingerprint: &Fingerprinter,
    ) -> Result<usize, StoreError> {
        SledStore::erase_commenter(self, email, fingerprint).await
    }

    async fn claim_link(&self, mac: &[u8; 32]) -> Result<bool, StoreError> {
        SledStore::claim_link(self, mac).await
    }

    async fn release_link(&self, mac: &[u8; 32]) -> Result<(), StoreError> {
        SledStore::release_link(self, mac)
    }

    async fn link_used(&self, mac: &[u8; 32]) -> Result<bool, StoreError> {
        SledStore::link_used(self, mac)
    }

    async fn rewrite(
        &self,
        before: &Comment,
        old_print: [u8; 32],
        change: Rewrite<'_>,
        jobs: &[Scheduled],
    ) -> Result<(), StoreError> {
        SledStore::rewrite(self, before, old_print, change, jobs).await
    }

    async fn comments_of(&self, email: EmailKey) -> Result<Vec<Comment>, StoreError> {
        SledStore::comments_of(self, email)
    }

    async fn subscriber(&self, email: EmailKey) -> Result<Option<Subscriber>, StoreError> {
        SledStore::subscriber(self, email)
    }

    async fn put_subscriber(
        &self,
        before: Option<&Subscriber>,
        after: Option<&Subscriber>,
        jobs: &[Scheduled],
    ) -> Result<(), StoreError> {
        SledStore::put_subscriber(self, before, after, jobs).await
    }

    async fn subscribers_after(
        &self,
        after: Option<EmailKey>,
        limit: usize,
    ) -> Result<Vec<Subscriber>, StoreError> {
        SledStore::subscribers_after(self, after, limit)
    }

    async fn has_replies(&self, page: &str, id: CommentId) -> Result<bool, StoreError> {
        SledStore::has_replies(self, page, id)
    }

    async fn flush(&self) -> Result<(), StoreError> {
        SledStore::flush(self).await
    }

    async fn get(&self, id: CommentId) -> Result<Option<Comment>, StoreError> {
        SledStore::get(self, id)
    }

    async fn approved_for_page(&self, page: &str) -> Result<Vec<Comment>, StoreError> {
        SledStore::approved_for_page(self, page)
    }

    async fn approved_count(&self, page: &str) -> Result<usize, StoreError> {
        SledStore::approved_count(self, page)
    }

    async fn list(&self, query: ListQuery<'_>) -> Result<Listing, StoreError> {
        SledStore::list(self, query)
    }

    async fn comments_after(
        &self,
        after: Option<CommentId>,
        limit: usize,
    ) -> Result<Vec<Comment>, StoreError> {
        SledStore::comments_after(self, after, limit)
    }

    async fn history(&self, email: EmailKey) -> Result<History, StoreError> {
        SledStore::history(self, email)
    }

    async fn text_last_seen(&self, text: &[u8; 32]) -> Result<Option<i64>, StoreError> {
        SledStore::text_last_seen(self, text)
    }

    fn status_count(&self, status: Status) -> u64 {
        SledStore::status_count(self, status)
    }

    fn page_generation(&self, page: &str) -> u64 {
        SledStore::page_generation(self, page)
    }

    async fn claim_jobs(
        &self,
        now: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<QueuedJob>, StoreError> {
        SledStore::claim_jobs(self, now, lease_ms, limit)
    }

    async fn complete_job(&self, id: JobId) -> Result<(), StoreError> {
        SledStore::complete_job(self, id)
    }

    async fn reschedule_job(&self, id: JobId, at: i64, attempts: u32) -> Result<(), StoreError> {
        SledStore::reschedule_job(self, id, at, attempts)
    }

    async fn pending_jobs(&self) -> Result<u64, StoreError> {
        Ok(SledStore::pending_jobs(self))
    }

    async fn record_decision(
        &self,
        id: CommentId,
        status: Status,
        via: Via,
        jobs: &[Scheduled],
        learned: Option<&LedgerEntry>,
    ) -> Result<Option<Decided>, StoreError> {
        SledStore::record_decision(self, id, status, via, jobs, learned).await
    }

    async fn put_ledger(
        &self,
        entries: &[LedgerEntry],
    ) -> Result<Vec<Option<LedgerEntry>>, StoreError> {
        SledStore::put_ledger(self, entries).await
    }

    async fn forget_reader(&self, email: EmailKey) -> Result<Vec<LedgerEntry>, StoreError> {
        SledStore::forget_reader(self, email).await
    }

    async fn ledger_after(
        &self,
        after: Option<(EmailKey, CommentId)>,
        limit: usize,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        SledStore::ledger_after(self, after, limit)
    }

    fn stats(&self) -> StoreStats {
        let (flush_requests, flushes) = self.commit_stats();
        StoreStats {
            size_on_disk: self.size_on_disk().ok(),
            flush_requests,
            flushes,
        }
    }
}

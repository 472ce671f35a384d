//! [`PgStore`] as the core's [`Store`] port: each method hands over to the
//! code of its concern (`write.rs`, `read.rs`, `watch.rs`).

use std::sync::atomic::Ordering;

use async_trait::async_trait;

use super::PgStore;
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
impl Store for PgStore {
    async fn insert(
        &self,
        comment: &Comment,
        prints: &Fingerprints,
        jobs: &[Scheduled],
    ) -> Result<(), StoreError> {
        PgStore::insert(self, comment, prints, jobs).await
    }

    async fn insert_reply(
        &self,
        reply: &Comment,
        fingerprint: [u8; 32],
        jobs: &[Scheduled],
    ) -> Result<Comment, StoreError> {
        PgStore::insert_reply(self, reply, fingerprint, jobs).await
    }

    async fn set_status(
        &self,
        id: CommentId,
        status: Status,
        via: Via,
        jobs: &[Scheduled],
    ) -> Result<Option<Transition>, StoreError> {
        PgStore::set_status(self, id, status, via, jobs).await
    }

    async fn delete(&self, id: CommentId) -> Result<bool, StoreError> {
        PgStore::delete(self, id).await
    }

    async fn import(&self, comment: &Comment, prints: &Fingerprints) -> Result<bool, StoreError> {
        PgStore::import(self, comment, prints).await
    }

    async fn erase_commenter(
        &self,
        email: EmailKey,
        fingerprint: &Fingerprinter,
    ) -> Result<usize, StoreError> {
        PgStore::erase_commenter(self, email, fingerprint).await
    }

    async fn claim_link(&self, mac: &[u8; 32]) -> Result<bool, StoreError> {
        PgStore::claim_link(self, mac).await
    }

    async fn release_link(&self, mac: &[u8; 32]) -> Result<(), StoreError> {
        PgStore::release_link(self, mac).await
    }

    async fn link_used(&self, mac: &[u8; 32]) -> Result<bool, StoreError> {
        PgStore::link_used(self, mac).await
    }

    async fn rewrite(
        &self,
        before: &Comment,
        old_print: [u8; 32],
        change: Rewrite<'_>,
        jobs: &[Scheduled],
    ) -> Result<(), StoreError> {
        PgStore::rewrite(self, before, old_print, change, jobs).await
    }

    async fn comments_of(&self, email: EmailKey) -> Result<Vec<Comment>, StoreError> {
        PgStore::comments_of(self, email).await
    }

    async fn subscriber(&self, email: EmailKey) -> Result<Option<Subscriber>, StoreError> {
        PgStore::subscriber(self, email).await
    }

    async fn put_subscriber(
        &self,
        before: Option<&Subscriber>,
        after: Option<&Subscriber>,
        jobs: &[Scheduled],
    ) -> Result<(), StoreError> {
        PgStore::put_subscriber(self, before, after, jobs).await
    }

    async fn subscribers_after(
        &self,
        after: Option<EmailKey>,
        limit: usize,
    ) -> Result<Vec<Subscriber>, StoreError> {
        PgStore::subscribers_after(self, after, limit).await
    }

    async fn has_replies(&self, page: &str, id: CommentId) -> Result<bool, StoreError> {
        PgStore::has_replies(self, page, id).await
    }

    async fn flush(&self) -> Result<(), StoreError> {
        PgStore::flush(self).await
    }

    async fn get(&self, id: CommentId) -> Result<Option<Comment>, StoreError> {
        PgStore::get(self, id).await
    }

    async fn approved_for_page(&self, page: &str) -> Result<Vec<Comment>, StoreError> {
        PgStore::approved_for_page(self, page).await
    }

    async fn approved_count(&self, page: &str) -> Result<usize, StoreError> {
        PgStore::approved_count(self, page).await
    }

    async fn list(&self, query: ListQuery<'_>) -> Result<Listing, StoreError> {
        PgStore::list(self, query).await
    }

    async fn comments_after(
        &self,
        after: Option<CommentId>,
        limit: usize,
    ) -> Result<Vec<Comment>, StoreError> {
        PgStore::comments_after(self, after, limit).await
    }

    async fn history(&self, email: EmailKey) -> Result<History, StoreError> {
        PgStore::history(self, email).await
    }

    async fn text_last_seen(&self, text: &[u8; 32]) -> Result<Option<i64>, StoreError> {
        PgStore::text_last_seen(self, text).await
    }

    fn status_count(&self, status: Status) -> u64 {
        self.shared.status_count(status)
    }

    fn page_generation(&self, page: &str) -> u64 {
        self.shared.page_generation(page)
    }

    fn stats(&self) -> StoreStats {
        let commits = self.shared.commits.load(Ordering::Relaxed);
        let size = self.shared.size.load(Ordering::Relaxed);
        StoreStats {
            size_on_disk: (size > 0).then_some(size),
            // Every write is its own durable commit.
            flush_requests: commits,
            flushes: commits,
        }
    }

    /// From the watcher's last poll through the pool (every 250 ms): while
    /// the server does not answer, neither reads nor writes are served.
    fn health(&self) -> StoreHealth {
        let problem = self.shared.problem();
        StoreHealth {
            writable: problem.is_none(),
            readable: problem.is_none(),
            problem,
        }
    }

    async fn claim_jobs(
        &self,
        now: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<QueuedJob>, StoreError> {
        PgStore::claim_jobs(self, now, lease_ms, limit).await
    }

    async fn complete_job(&self, id: JobId) -> Result<(), StoreError> {
        PgStore::complete_job(self, id).await
    }

    async fn reschedule_job(&self, id: JobId, at: i64, attempts: u32) -> Result<(), StoreError> {
        PgStore::reschedule_job(self, id, at, attempts).await
    }

    async fn pending_jobs(&self) -> Result<u64, StoreError> {
        PgStore::pending_jobs(self).await
    }

    async fn release_claims(&self) -> Result<(), StoreError> {
        PgStore::release_claims(self).await
    }

    async fn record_decision(
        &self,
        id: CommentId,
        status: Status,
        via: Via,
        jobs: &[Scheduled],
        learned: Option<&LedgerEntry>,
    ) -> Result<Option<Decided>, StoreError> {
        PgStore::record_decision(self, id, status, via, jobs, learned).await
    }

    async fn put_ledger(
        &self,
        entries: &[LedgerEntry],
    ) -> Result<Vec<Option<LedgerEntry>>, StoreError> {
        PgStore::put_ledger(self, entries).await
    }

    async fn forget_reader(&self, email: EmailKey) -> Result<Vec<LedgerEntry>, StoreError> {
        PgStore::forget_reader(self, email).await
    }

    async fn ledger_after(
        &self,
        after: Option<(EmailKey, CommentId)>,
        limit: usize,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        PgStore::ledger_after(self, after, limit).await
    }
}

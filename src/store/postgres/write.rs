//! The write paths: each one transaction over the comment rows, the
//! learning ledger's rows, the outbox jobs they bring, the text and link
//! records, the page's change counter and the status counts, in
//! that order (one lock order, so two writers never deadlock), committed
//! before it returns.

use deadpool_postgres::Transaction;

use super::learning::LedgerWrite;
use super::outbox;
use super::watch::Change;
use super::{Error, PgStore, decode, encode, id_bytes, is_duplicate, status_name, status_of};
use crate::domain::learn::ledger::Entry as LedgerEntry;
use crate::domain::outbox::Scheduled;
use crate::domain::ports::{Decided, Fingerprinter, Fingerprints, Transition};
use crate::domain::privacy::EmailKey;
use crate::domain::{Comment, CommentId, Status, Via, now_millis};

const INSERT_COMMENT: &str = "INSERT INTO comments
     (id, page, status, email_hash, parent, created_at, fingerprint, body)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text::jsonb)";

impl PgStore {
    /// See [`crate::domain::ports::Store::insert`].
    pub(super) async fn insert(
        &self,
        comment: &Comment,
        prints: &Fingerprints,
        jobs: &[Scheduled],
    ) -> Result<(), Error> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        if let Some(parent) = comment.parent {
            // FOR SHARE: the parent cannot be rejected or deleted before
            // this transaction ends.
            let row = tx
                .query_opt(
                    &tx.prepare_cached("SELECT status, page FROM comments WHERE id = $1 FOR SHARE")
                        .await?,
                    &[&id_bytes(parent)],
                )
                .await?;
            let valid = row.is_some_and(|row| {
                row.get::<_, &str>(0) == status_name(Status::Approved)
                    && row.get::<_, &str>(1) == comment.page
            });
            if !valid {
                return Err(Error::InvalidParent);
            }
        }
        insert_row(&tx, comment, Some(&prints.commenter_text)).await?;
        outbox::enqueue(&tx, jobs).await?;
        text_seen(&tx, &prints.text, comment.created_at).await?;
        let changes = [Change::new(&comment.page, None, Some(comment.status))];
        let generations = self.record(&tx, comment.id, &changes).await?;
        let _gate = self.shared.commit_guard().await;
        tx.commit().await?;
        self.committed(&changes, &generations);
        Ok(())
    }

    /// See [`crate::domain::ports::Store::insert_reply`].
    pub(super) async fn insert_reply(
        &self,
        reply: &Comment,
        fingerprint: [u8; 32],
        jobs: &[Scheduled],
    ) -> Result<Comment, Error> {
        let parent_id = reply.parent.ok_or(Error::ParentNotFound)?;
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let mut parent = lock_comment(&tx, parent_id)
            .await?
            .ok_or(Error::ParentNotFound)?;
        if parent.page != reply.page {
            return Err(Error::InvalidParent);
        }
        let from = parent.status;
        match from {
            Status::Approved => {}
            Status::Pending => {
                parent.record(Status::Approved, reply.created_at, Via::Reply);
                update_row(&tx, &parent).await?;
            }
            Status::Rejected | Status::Spam => return Err(Error::ParentClosed(from)),
        }
        insert_row(&tx, reply, Some(&fingerprint)).await?;
        outbox::enqueue(&tx, jobs).await?;
        let changes = [
            Change::new(&reply.page, Some(from), Some(Status::Approved)),
            Change::new(&reply.page, None, Some(reply.status)),
        ];
        let generations = self.record(&tx, reply.id, &changes).await?;
        let _gate = self.shared.commit_guard().await;
        tx.commit().await?;
        self.committed(&changes, &generations);
        Ok(parent)
    }

    /// See [`crate::domain::ports::Store::set_status`].
    pub(super) async fn set_status(
        &self,
        id: CommentId,
        status: Status,
        via: Via,
        jobs: &[Scheduled],
    ) -> Result<Option<Transition>, Error> {
        Ok(self
            .change_status(id, status, via, jobs, LedgerWrite::Untouched)
            .await?
            .map(|(transition, _)| transition))
    }

    /// See [`crate::domain::ports::Store::record_decision`].
    pub(super) async fn record_decision(
        &self,
        id: CommentId,
        status: Status,
        via: Via,
        jobs: &[Scheduled],
        learned: Option<&LedgerEntry>,
    ) -> Result<Option<Decided>, Error> {
        let changed = self
            .change_status(id, status, via, jobs, LedgerWrite::Replace(learned))
            .await?;
        Ok(changed.map(|(transition, unlearned)| Decided {
            transition,
            unlearned,
        }))
    }

    /// A status change with its ledger write (after the comment's row
    /// lock), in one transaction; returns the entry it replaced as well.
    async fn change_status(
        &self,
        id: CommentId,
        status: Status,
        via: Via,
        jobs: &[Scheduled],
        ledger: LedgerWrite<'_>,
    ) -> Result<Option<(Transition, Option<LedgerEntry>)>, Error> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let Some(mut comment) = lock_comment(&tx, id).await? else {
            return Ok(None);
        };
        let replaced = ledger.apply(&tx, id).await?;
        let from = comment.status;
        if from == status {
            tx.commit().await?;
            return Ok(Some((Transition { comment, from }, replaced)));
        }
        comment.record(status, now_millis(), via);
        update_row(&tx, &comment).await?;
        outbox::enqueue(&tx, jobs).await?;
        let changes = [Change::new(&comment.page, Some(from), Some(status))];
        let generations = self.record(&tx, id, &changes).await?;
        let _gate = self.shared.commit_guard().await;
        tx.commit().await?;
        self.committed(&changes, &generations);
        Ok(Some((Transition { comment, from }, replaced)))
    }

    /// See [`crate::domain::ports::Store::delete`].
    pub(super) async fn delete(&self, id: CommentId) -> Result<bool, Error> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let Some(row) = tx
            .query_opt(
                &tx.prepare_cached("DELETE FROM comments WHERE id = $1 RETURNING status, page")
                    .await?,
                &[&id_bytes(id)],
            )
            .await?
        else {
            return Ok(false);
        };
        let changes = [Change::new(row.get(1), Some(status_of(row.get(0))?), None)];
        let generations = self.record(&tx, id, &changes).await?;
        let _gate = self.shared.commit_guard().await;
        tx.commit().await?;
        self.committed(&changes, &generations);
        Ok(true)
    }

    /// See [`crate::domain::ports::Store::import`]: committed without
    /// waiting for the disk (`synchronous_commit = off`); [`PgStore::flush`]
    /// makes every import before it durable.
    pub(super) async fn import(
        &self,
        comment: &Comment,
        prints: &Fingerprints,
    ) -> Result<bool, Error> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.batch_execute("SET LOCAL synchronous_commit = off")
            .await?;
        let exists = tx
            .query_opt(
                &tx.prepare_cached("SELECT 1 FROM comments WHERE id = $1 FOR UPDATE")
                    .await?,
                &[&id_bytes(comment.id)],
            )
            .await?
            .is_some();
        if exists {
            return Ok(false);
        }
        // An imported copy of a comment stored here keeps no fingerprint
        // (it is already held): it is stored, as sled stores it.
        let taken = tx
            .query_opt(
                &tx.prepare_cached("SELECT 1 FROM comments WHERE fingerprint = $1")
                    .await?,
                &[&prints.commenter_text.as_slice()],
            )
            .await?
            .is_some();
        let print = (!taken).then_some(&prints.commenter_text);
        insert_row(&tx, comment, print).await?;
        text_seen(&tx, &prints.text, comment.created_at).await?;
        let changes = [Change::new(&comment.page, None, Some(comment.status))];
        let generations = self.record(&tx, comment.id, &changes).await?;
        let _gate = self.shared.commit_guard().await;
        tx.commit().await?;
        self.committed(&changes, &generations);
        Ok(true)
    }

    /// Waits until every commit so far is on disk: one durable commit of
    /// its own, whose WAL flush covers every earlier (import) commit.
    pub(super) async fn flush(&self) -> Result<(), Error> {
        let client = self.pool.get().await?;
        client
            .execute(
                &client
                    .prepare_cached(
                        "UPDATE moderato_meta SET value = value WHERE key = 'key_check'",
                    )
                    .await?,
                &[],
            )
            .await?;
        Ok(())
    }

    /// See [`crate::domain::ports::Store::erase_commenter`]: every comment
    /// of the commenter in one transaction. Their fingerprints go with
    /// their rows, so `_fingerprint` is not needed here.
    pub(super) async fn erase_commenter(
        &self,
        email: EmailKey,
        _fingerprint: &Fingerprinter,
    ) -> Result<usize, Error> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let rows = tx
            .query(
                &tx.prepare_cached(
                    "DELETE FROM comments WHERE email_hash = $1 RETURNING id, status, page",
                )
                .await?,
                &[&email.0.as_slice()],
            )
            .await?;
        let mut changes = Vec::with_capacity(rows.len());
        for row in &rows {
            changes.push(Change::new(row.get(2), Some(status_of(row.get(1))?), None));
        }
        let shard_of = rows
            .first()
            .and_then(|row| CommentId::from_bytes(row.get(0)))
            .unwrap_or(CommentId(ulid::Ulid::nil()));
        let generations = self.record(&tx, shard_of, &changes).await?;
        let _gate = self.shared.commit_guard().await;
        tx.commit().await?;
        self.committed(&changes, &generations);
        Ok(rows.len())
    }

    /// See [`crate::domain::ports::Store::claim_link`]: the primary key of
    /// `used_links` decides, whichever replica claims.
    pub(super) async fn claim_link(&self, mac: &[u8; 32]) -> Result<bool, Error> {
        let client = self.pool.get().await?;
        let inserted = client
            .execute(
                &client
                    .prepare_cached(
                        "INSERT INTO used_links (mac, used_at) VALUES ($1, $2)
                         ON CONFLICT (mac) DO NOTHING",
                    )
                    .await?,
                &[&mac.as_slice(), &now_millis()],
            )
            .await?;
        Ok(inserted == 1)
    }

    /// See [`crate::domain::ports::Store::release_link`].
    pub(super) async fn release_link(&self, mac: &[u8; 32]) -> Result<(), Error> {
        let client = self.pool.get().await?;
        client
            .execute(
                &client
                    .prepare_cached("DELETE FROM used_links WHERE mac = $1")
                    .await?,
                &[&mac.as_slice()],
            )
            .await?;
        Ok(())
    }

    /// Applies `changes` to the page counters and the status counts inside
    /// `tx`; returns the pages' new counter values. The count shard comes
    /// from the comment id, so concurrent writers mostly touch other rows.
    pub(super) async fn record(
        &self,
        tx: &Transaction<'_>,
        id: CommentId,
        changes: &[Change],
    ) -> Result<Vec<(String, i64)>, Error> {
        let mut pages: Vec<&str> = changes
            .iter()
            .filter(|c| c.touches_public_view())
            .map(|c| c.page.as_str())
            .collect();
        pages.sort_unstable();
        pages.dedup();
        let mut generations = Vec::with_capacity(pages.len());
        if !pages.is_empty() {
            let bump = tx
                .prepare_cached(
                    "INSERT INTO page_changes (page, generation) VALUES ($1, 1)
                     ON CONFLICT (page) DO UPDATE SET generation = page_changes.generation + 1
                     RETURNING generation",
                )
                .await?;
            for page in pages {
                let row = tx.query_one(&bump, &[&page]).await?;
                generations.push((page.to_owned(), row.get(0)));
            }
        }
        let mut deltas = [0i64; 4];
        for change in changes {
            if let Some(from) = change.from {
                deltas[from.index()] -= 1;
            }
            if let Some(to) = change.to {
                deltas[to.index()] += 1;
            }
        }
        let shard = i32::from(id.to_bytes()[15] % 16);
        let count = tx
            .prepare_cached("UPDATE status_counts SET n = n + $3 WHERE status = $1 AND shard = $2")
            .await?;
        for status in Status::ALL {
            let delta = deltas[status.index()];
            if delta != 0 {
                tx.execute(&count, &[&status_name(status), &shard, &delta])
                    .await?;
            }
        }
        Ok(generations)
    }

    /// After a commit: this replica's counts and page generations move at
    /// once (the watcher brings the other replicas' changes).
    pub(super) fn committed(&self, changes: &[Change], generations: &[(String, i64)]) {
        self.shared.apply(changes, generations);
    }
}

/// Inserts a comment row; `fingerprint` `None` leaves it without one.
async fn insert_row(
    tx: &Transaction<'_>,
    comment: &Comment,
    fingerprint: Option<&[u8; 32]>,
) -> Result<(), Error> {
    let body = encode(comment)?;
    tx.execute(
        &tx.prepare_cached(INSERT_COMMENT).await?,
        &[
            &id_bytes(comment.id),
            &comment.page,
            &status_name(comment.status),
            &comment.email_hash.as_slice(),
            &comment.parent.map(id_bytes),
            &comment.created_at,
            &fingerprint.map(|f| f.as_slice()),
            &body,
        ],
    )
    .await
    .map_err(|e| {
        if is_duplicate(&e) {
            Error::Duplicate
        } else {
            e.into()
        }
    })?;
    Ok(())
}

/// Rewrites a comment's status and body (the other columns never change).
async fn update_row(tx: &Transaction<'_>, comment: &Comment) -> Result<(), Error> {
    let body = encode(comment)?;
    tx.execute(
        &tx.prepare_cached("UPDATE comments SET status = $2, body = $3::text::jsonb WHERE id = $1")
            .await?,
        &[&id_bytes(comment.id), &status_name(comment.status), &body],
    )
    .await?;
    Ok(())
}

/// Reads a comment and locks its row until the transaction ends.
pub(super) async fn lock_comment(
    tx: &Transaction<'_>,
    id: CommentId,
) -> Result<Option<Comment>, Error> {
    let row = tx
        .query_opt(
            &tx.prepare_cached("SELECT id, body::text FROM comments WHERE id = $1 FOR UPDATE")
                .await?,
            &[&id_bytes(id)],
        )
        .await?;
    row.map(|row| decode(row.get(0), row.get(1))).transpose()
}

/// Records when a text was last stored (never moving back in time, for
/// imports of older comments).
pub(super) async fn text_seen(tx: &Transaction<'_>, hash: &[u8; 32], at: i64) -> Result<(), Error> {
    tx.execute(
        &tx.prepare_cached(
            "INSERT INTO text_seen (hash, last_seen) VALUES ($1, $2)
             ON CONFLICT (hash) DO UPDATE
             SET last_seen = GREATEST(text_seen.last_seen, EXCLUDED.last_seen)",
        )
        .await?,
        &[&hash.as_slice(), &at],
    )
    .await?;
    Ok(())
}

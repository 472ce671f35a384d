//! What the readers' features store (issue 13): a writer's edit or delete
//! of their own comment, the comments of one address, the readers' mail
//! address records, and whether a comment has replies. Each write is one
//! transaction, in the lock order of `write.rs` (comment row, outbox, text
//! records, page counter and counts).

use deadpool_postgres::Transaction;

use super::outbox;
use super::watch::Change;
use super::write::{lock_comment, text_seen};
use super::{Error, PgStore, decode, encode, id_bytes, is_duplicate, status_name};
use crate::domain::outbox::Scheduled;
use crate::domain::ports::Rewrite;
use crate::domain::privacy::EmailKey;
use crate::domain::subscription::Subscriber;
use crate::domain::{Comment, CommentId, now_millis};

impl PgStore {
    /// See [`crate::domain::ports::Store::rewrite`]. The fingerprint is a
    /// column of the comment's row, so `old_print` goes with the row's old
    /// value: an edit writes the new one (its unique constraint refuses a
    /// text the commenter has on the page in another comment), a
    /// placeholder or a removal leaves none, an update keeps it.
    pub(super) async fn rewrite(
        &self,
        before: &Comment,
        _old_print: [u8; 32],
        change: Rewrite<'_>,
        jobs: &[Scheduled],
    ) -> Result<(), Error> {
        if let Rewrite::Edit { after, .. } | Rewrite::Placeholder(after) | Rewrite::Update(after) =
            change
            && (after.id != before.id || after.page != before.page)
        {
            return Err(Error::Corrupt {
                id: before.id.to_string(),
                message: "a rewrite may not change the id or the page".into(),
            });
        }
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        match lock_comment(&tx, before.id).await? {
            Some(stored) if stored == *before => {}
            _ => return Err(Error::Conflict),
        }
        let to = match change {
            Rewrite::Edit { after, prints } => {
                rewrite_row(&tx, after, Print::Set(&prints.commenter_text)).await?;
                text_seen(&tx, &prints.text, now_millis()).await?;
                Some(after.status)
            }
            Rewrite::Placeholder(after) => {
                rewrite_row(&tx, after, Print::Clear).await?;
                Some(after.status)
            }
            Rewrite::Update(after) => {
                rewrite_row(&tx, after, Print::Keep).await?;
                Some(after.status)
            }
            Rewrite::Remove => {
                tx.execute(
                    &tx.prepare_cached("DELETE FROM comments WHERE id = $1")
                        .await?,
                    &[&id_bytes(before.id)],
                )
                .await?;
                None
            }
        };
        outbox::enqueue(&tx, jobs).await?;
        let changes = [Change::rewrite(&before.page, Some(before.status), to)];
        let generations = self.record(&tx, before.id, &changes).await?;
        let _gate = self.shared.commit_guard().await;
        tx.commit().await?;
        self.committed(&changes, &generations);
        Ok(())
    }

    /// See [`crate::domain::ports::Store::comments_of`].
    pub(super) async fn comments_of(&self, email: EmailKey) -> Result<Vec<Comment>, Error> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                &client
                    .prepare_cached(
                        "SELECT id, body::text FROM comments WHERE email_hash = $1 ORDER BY id",
                    )
                    .await?,
                &[&email.0.as_slice()],
            )
            .await?;
        rows.iter()
            .map(|row| decode(row.get(0), row.get(1)))
            .collect()
    }

    /// See [`crate::domain::ports::Store::has_replies`].
    pub(super) async fn has_replies(&self, page: &str, id: CommentId) -> Result<bool, Error> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                &client
                    .prepare_cached(
                        "SELECT 1 FROM comments WHERE page = $1 AND parent = $2 AND id <> $2 LIMIT 1",
                    )
                    .await?,
                &[&page, &id_bytes(id)],
            )
            .await?;
        Ok(row.is_some())
    }

    /// See [`crate::domain::ports::Store::subscriber`].
    pub(super) async fn subscriber(&self, email: EmailKey) -> Result<Option<Subscriber>, Error> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                &client
                    .prepare_cached("SELECT body::text FROM subscribers WHERE key = $1")
                    .await?,
                &[&email.0.as_slice()],
            )
            .await?;
        row.map(|row| decode_subscriber(row.get(0))).transpose()
    }

    /// See [`crate::domain::ports::Store::put_subscriber`]: the stored
    /// record is locked and compared with `before`; an insert that finds
    /// one (another replica was first) is a conflict too.
    pub(super) async fn put_subscriber(
        &self,
        before: Option<&Subscriber>,
        after: Option<&Subscriber>,
        jobs: &[Scheduled],
    ) -> Result<(), Error> {
        let Some(key) = before.or(after).map(|r| r.key) else {
            return Ok(());
        };
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let stored = tx
            .query_opt(
                &tx.prepare_cached("SELECT body::text FROM subscribers WHERE key = $1 FOR UPDATE")
                    .await?,
                &[&key.as_slice()],
            )
            .await?
            .map(|row| decode_subscriber(row.get(0)))
            .transpose()?;
        if stored.as_ref() != before {
            return Err(Error::Conflict);
        }
        match after {
            Some(after) => {
                let body = serde_json::to_string(after).map_err(|e| Error::Corrupt {
                    id: "subscriber".into(),
                    message: e.to_string(),
                })?;
                let written = tx
                    .execute(
                        &tx.prepare_cached(
                            "INSERT INTO subscribers (key, body) VALUES ($1, $2::text::jsonb)
                             ON CONFLICT (key) DO UPDATE SET body = EXCLUDED.body
                             WHERE $3",
                        )
                        .await?,
                        &[&key.as_slice(), &body, &before.is_some()],
                    )
                    .await?;
                if written == 0 {
                    // Inserted by another replica since the read above.
                    return Err(Error::Conflict);
                }
            }
            None => {
                tx.execute(
                    &tx.prepare_cached("DELETE FROM subscribers WHERE key = $1")
                        .await?,
                    &[&key.as_slice()],
                )
                .await?;
            }
        }
        outbox::enqueue(&tx, jobs).await?;
        tx.commit().await?;
        Ok(())
    }

    /// See [`crate::domain::ports::Store::subscribers_after`].
    pub(super) async fn subscribers_after(
        &self,
        after: Option<EmailKey>,
        limit: usize,
    ) -> Result<Vec<Subscriber>, Error> {
        let client = self.pool.get().await?;
        let after = after.map_or_else(Vec::new, |key| key.0.to_vec());
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = client
            .query(
                &client
                    .prepare_cached(
                        "SELECT body::text FROM subscribers WHERE key > $1 ORDER BY key LIMIT $2",
                    )
                    .await?,
                &[&after.as_slice(), &limit],
            )
            .await?;
        rows.iter()
            .map(|row| decode_subscriber(row.get(0)))
            .collect()
    }
}

/// What a rewrite does to the row's fingerprint column.
enum Print<'a> {
    Set(&'a [u8; 32]),
    Clear,
    Keep,
}

/// Rewrites a comment row: status, identity, body and (unless kept) the
/// fingerprint; id, page, parent and creation time never change.
async fn rewrite_row(
    tx: &Transaction<'_>,
    comment: &Comment,
    print: Print<'_>,
) -> Result<(), Error> {
    let body = encode(comment)?;
    let id = id_bytes(comment.id);
    let status = status_name(comment.status);
    let email_hash = comment.email_hash.as_slice();
    let written = match print {
        Print::Keep => {
            tx.execute(
                &tx.prepare_cached(
                    "UPDATE comments SET status = $2, email_hash = $3, body = $4::text::jsonb
                     WHERE id = $1",
                )
                .await?,
                &[&id, &status, &email_hash, &body],
            )
            .await
        }
        Print::Set(_) | Print::Clear => {
            let print = match print {
                Print::Set(print) => Some(print.as_slice()),
                _ => None,
            };
            tx.execute(
                &tx.prepare_cached(
                    "UPDATE comments SET status = $2, email_hash = $3, body = $4::text::jsonb,
                     fingerprint = $5 WHERE id = $1",
                )
                .await?,
                &[&id, &status, &email_hash, &body, &print],
            )
            .await
        }
    };
    written.map_err(|e| {
        if is_duplicate(&e) {
            Error::Duplicate
        } else {
            e.into()
        }
    })?;
    Ok(())
}

fn decode_subscriber(body: &str) -> Result<Subscriber, Error> {
    serde_json::from_str(body).map_err(|e| Error::Corrupt {
        id: "subscriber".into(),
        message: e.to_string(),
    })
}

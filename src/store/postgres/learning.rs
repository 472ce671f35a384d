//! The learning filter's ledger on PostgreSQL: the `learn_ledger` table,
//! one row per comment id, written inside the transaction of the decision
//! that causes it (after the comment's row lock, so two replicas deciding
//! the same comment replace each other's entry in order).

use deadpool_postgres::Transaction;
use tokio_postgres::Row;

use super::{Error, PgStore, id_bytes};
use crate::domain::CommentId;
use crate::domain::learn::Label;
use crate::domain::learn::ledger::Entry;
use crate::domain::privacy::EmailKey;

const COLUMNS: &str = "comment, email_hash, label, trained, decided_at, probability, keys";

/// What a status change does to the comment's ledger entry.
#[derive(Debug, Clone, Copy)]
pub(super) enum LedgerWrite<'a> {
    /// Nothing.
    Untouched,
    /// The entry becomes this one (`None`: removed).
    Replace(Option<&'a Entry>),
}

impl LedgerWrite<'_> {
    /// Carries the write out inside `tx`; returns the entry it replaced.
    pub(super) async fn apply(
        self,
        tx: &Transaction<'_>,
        id: CommentId,
    ) -> Result<Option<Entry>, Error> {
        let LedgerWrite::Replace(learned) = self else {
            return Ok(None);
        };
        let replaced = tx
            .query_opt(
                &tx.prepare_cached(&format!(
                    "DELETE FROM learn_ledger WHERE comment = $1 RETURNING {COLUMNS}"
                ))
                .await?,
                &[&id_bytes(id)],
            )
            .await?
            .map(|row| entry_of(&row))
            .transpose()?;
        if let Some(entry) = learned {
            put(tx, entry).await?;
        }
        Ok(replaced)
    }
}

/// Inserts or replaces one entry; returns the one it replaced.
async fn put(tx: &Transaction<'_>, entry: &Entry) -> Result<Option<Entry>, Error> {
    let old = tx
        .query_opt(
            &tx.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM learn_ledger WHERE comment = $1 FOR UPDATE"
            ))
            .await?,
            &[&id_bytes(entry.comment)],
        )
        .await?
        .map(|row| entry_of(&row))
        .transpose()?;
    let keys: Vec<u8> = entry.keys.iter().flat_map(|k| k.to_le_bytes()).collect();
    tx.execute(
        &tx.prepare_cached(&format!(
            "INSERT INTO learn_ledger ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (comment) DO UPDATE SET email_hash = EXCLUDED.email_hash,
               label = EXCLUDED.label, trained = EXCLUDED.trained,
               decided_at = EXCLUDED.decided_at, probability = EXCLUDED.probability,
               keys = EXCLUDED.keys"
        ))
        .await?,
        &[
            &id_bytes(entry.comment),
            &entry.email.0.as_slice(),
            &entry.label.as_str(),
            &entry.trained,
            &entry.decided_at,
            &entry.probability,
            &keys,
        ],
    )
    .await?;
    Ok(old)
}

fn entry_of(row: &Row) -> Result<Entry, Error> {
    let comment: &[u8] = row.get(0);
    let corrupt = |message: &str| Error::Corrupt {
        id: format!("learn_ledger {}", hex::encode(comment)),
        message: message.to_owned(),
    };
    let id = CommentId::from_bytes(comment).ok_or_else(|| corrupt("not a comment id"))?;
    let email: [u8; 32] = row
        .get::<_, &[u8]>(1)
        .try_into()
        .map_err(|_| corrupt("not an email key"))?;
    let label = match row.get::<_, &str>(2) {
        "spam" => Label::Spam,
        "ham" => Label::Ham,
        _ => return Err(corrupt("unknown label")),
    };
    let keys: &[u8] = row.get(6);
    Ok(Entry {
        comment: id,
        email: EmailKey(email),
        label,
        trained: row.get(3),
        decided_at: row.get(4),
        probability: row.get(5),
        keys: keys
            .chunks_exact(4)
            .filter_map(|c| c.try_into().ok().map(u32::from_le_bytes))
            .collect(),
    })
}

impl PgStore {
    /// See [`crate::domain::ports::Store::put_ledger`].
    pub(super) async fn put_ledger(&self, entries: &[Entry]) -> Result<Vec<Option<Entry>>, Error> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let mut replaced = Vec::with_capacity(entries.len());
        for entry in entries {
            replaced.push(put(&tx, entry).await?);
        }
        tx.commit().await?;
        Ok(replaced)
    }

    /// See [`crate::domain::ports::Store::forget_reader`].
    pub(super) async fn forget_reader(&self, email: EmailKey) -> Result<Vec<Entry>, Error> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                &client
                    .prepare_cached(&format!(
                        "DELETE FROM learn_ledger WHERE email_hash = $1 RETURNING {COLUMNS}"
                    ))
                    .await?,
                &[&email.0.as_slice()],
            )
            .await?;
        // A row that cannot be decoded is gone all the same (it was the
        // reader's); the model is rebuilt from what is left at a start.
        Ok(rows.iter().filter_map(|row| entry_of(row).ok()).collect())
    }

    /// See [`crate::domain::ports::Store::ledger_after`].
    pub(super) async fn ledger_after(
        &self,
        after: Option<(EmailKey, CommentId)>,
        limit: usize,
    ) -> Result<Vec<Entry>, Error> {
        let client = self.pool.get().await?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = match after {
            Some((email, id)) => {
                client
                    .query(
                        &client
                            .prepare_cached(&format!(
                                "SELECT {COLUMNS} FROM learn_ledger
                                 WHERE (email_hash, comment) > ($1, $2)
                                 ORDER BY email_hash, comment LIMIT $3"
                            ))
                            .await?,
                        &[&email.0.as_slice(), &id_bytes(id), &limit],
                    )
                    .await?
            }
            None => {
                client
                    .query(
                        &client
                            .prepare_cached(&format!(
                                "SELECT {COLUMNS} FROM learn_ledger
                                 ORDER BY email_hash, comment LIMIT $1"
                            ))
                            .await?,
                        &[&limit],
                    )
                    .await?
            }
        };
        rows.iter().map(entry_of).collect()
    }
}

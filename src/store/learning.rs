//! The learning filter's ledger on sled: the `ledger` tree, keyed by the
//! reader's email key and the comment id (so erasing a reader is one prefix
//! scan), each value one learned decision in a small binary form (a JSON
//! array of a thousand numbers would be three times its size). An entry is
//! written inside the transaction of the decision that causes it
//! ([`LedgerWrite`]).

use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionalTree};

use super::{Comment, Error, SledStore, TxResult, flatten, keys};
use crate::domain::learn::Label;
use crate::domain::learn::ledger::Entry;
use crate::domain::outbox::Scheduled;
use crate::domain::ports::Decided;
use crate::domain::privacy::EmailKey;
use crate::domain::{CommentId, Status, Via};

/// Version byte of the stored form.
const VERSION: u8 = 1;

/// Bytes before the keys: version, label, trained, decided at, probability.
const HEAD: usize = 1 + 1 + 1 + 8 + 4;

/// What a status change does to the comment's ledger entry.
#[derive(Debug, Clone, Copy)]
pub(super) enum LedgerWrite<'a> {
    /// Nothing (a status change that teaches nothing, e.g. a reply).
    Untouched,
    /// The entry becomes this one (`None`: removed).
    Replace(Option<&'a Entry>),
}

impl LedgerWrite<'_> {
    /// Whether it writes the ledger.
    pub(super) fn writes(self) -> bool {
        matches!(self, LedgerWrite::Replace(_))
    }

    /// Carries the write out inside a transaction over `comment`; returns
    /// the entry it replaced.
    pub(super) fn apply(
        self,
        ledger: &TransactionalTree,
        comment: &Comment,
    ) -> TxResult<Option<Entry>> {
        let LedgerWrite::Replace(learned) = self else {
            return Ok(None);
        };
        let key = keys::ledger_key(comment.email_key(), comment.id);
        let replaced = match ledger.remove(&key[..])? {
            Some(old) => Some(decode(&key, &old).map_err(ConflictableTransactionError::Abort)?),
            None => None,
        };
        if let Some(entry) = learned {
            ledger.insert(
                &keys::ledger_key(entry.email, entry.comment)[..],
                encode(entry),
            )?;
        }
        Ok(replaced)
    }
}

fn encode(entry: &Entry) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEAD + 4 * entry.keys.len());
    out.push(VERSION);
    out.push(match entry.label {
        Label::Spam => b's',
        Label::Ham => b'h',
    });
    out.push(u8::from(entry.trained));
    out.extend_from_slice(&entry.decided_at.to_be_bytes());
    out.extend_from_slice(&entry.probability.unwrap_or(f32::NAN).to_be_bytes());
    for k in &entry.keys {
        out.extend_from_slice(&k.to_le_bytes());
    }
    out
}

fn decode(key: &[u8], value: &[u8]) -> Result<Entry, Error> {
    let corrupt = |message: &str| Error::Corrupt {
        id: format!("ledger {}", hex::encode(key)),
        message: message.to_owned(),
    };
    let (Some(email), Some(comment)) = (
        key.get(..32).and_then(|k| <[u8; 32]>::try_from(k).ok()),
        key.get(32..).and_then(CommentId::from_bytes),
    ) else {
        return Err(corrupt("key is not an email key and a comment id"));
    };
    if value.len() < HEAD || !(value.len() - HEAD).is_multiple_of(4) || value[0] != VERSION {
        return Err(corrupt("not a version 1 entry"));
    }
    let label = match value[1] {
        b's' => Label::Spam,
        b'h' => Label::Ham,
        _ => return Err(corrupt("unknown label")),
    };
    let decided_at = <[u8; 8]>::try_from(&value[3..11]).map_or(0, i64::from_be_bytes);
    let probability = <[u8; 4]>::try_from(&value[11..15])
        .map(f32::from_be_bytes)
        .ok()
        .filter(|p| !p.is_nan());
    Ok(Entry {
        comment,
        email: EmailKey(email),
        label,
        keys: value[HEAD..]
            .chunks_exact(4)
            .filter_map(|c| c.try_into().ok().map(u32::from_le_bytes))
            .collect(),
        trained: value[2] != 0,
        decided_at,
        probability,
    })
}

impl SledStore {
    /// See [`crate::domain::ports::Store::record_decision`].
    pub(super) async fn record_decision(
        &self,
        id: CommentId,
        status: Status,
        via: Via,
        jobs: &[Scheduled],
        learned: Option<&Entry>,
    ) -> Result<Option<Decided>, Error> {
        let changed = self
            .change_status(id, status, via, jobs, LedgerWrite::Replace(learned))
            .await?;
        Ok(changed.map(|(transition, unlearned)| Decided {
            transition,
            unlearned,
        }))
    }

    /// See [`crate::domain::ports::Store::put_ledger`].
    pub async fn put_ledger(&self, entries: &[Entry]) -> Result<Vec<Option<Entry>>, Error> {
        let replaced = (&self.ledger,)
            .transaction(|(ledger,)| {
                let mut replaced = Vec::with_capacity(entries.len());
                for entry in entries {
                    let key = keys::ledger_key(entry.email, entry.comment);
                    replaced.push(match ledger.insert(&key[..], encode(entry))? {
                        Some(old) => {
                            Some(decode(&key, &old).map_err(ConflictableTransactionError::Abort)?)
                        }
                        None => None,
                    });
                }
                Ok(replaced)
            })
            .map_err(flatten)?;
        self.flush().await?;
        Ok(replaced)
    }

    /// See [`crate::domain::ports::Store::forget_reader`].
    pub(super) async fn forget_reader(&self, email: EmailKey) -> Result<Vec<Entry>, Error> {
        let mut forgotten = Vec::new();
        for item in self.ledger.scan_prefix(email.0) {
            let (key, value) = item?;
            // Removed one by one: an entry is independent of the others, and
            // one that cannot be decoded still goes (it is the reader's).
            if self.ledger.remove(&key)?.is_some()
                && let Ok(entry) = decode(&key, &value)
            {
                forgotten.push(entry);
            }
        }
        self.flush().await?;
        Ok(forgotten)
    }

    /// See [`crate::domain::ports::Store::ledger_after`].
    pub(super) fn ledger_after(
        &self,
        after: Option<(EmailKey, CommentId)>,
        limit: usize,
    ) -> Result<Vec<Entry>, Error> {
        let range = match after {
            Some((email, id)) => self.ledger.range((
                std::ops::Bound::Excluded(keys::ledger_key(email, id).to_vec()),
                std::ops::Bound::Unbounded,
            )),
            None => self.ledger.iter(),
        };
        let mut entries = Vec::with_capacity(limit.min(4096));
        for item in range.take(limit) {
            let (key, value) = item?;
            entries.push(decode(&key, &value)?);
        }
        Ok(entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Entry {
        Entry {
            comment: CommentId(ulid::Ulid::from_parts(1_000, 7)),
            email: EmailKey([3; 32]),
            label: Label::Spam,
            keys: vec![1, 9, u32::MAX],
            trained: true,
            decided_at: 1_700_000_000_000,
            probability: Some(0.25),
        }
    }

    #[test]
    fn entries_round_trip() {
        let e = entry();
        let key = keys::ledger_key(e.email, e.comment);
        assert_eq!(decode(&key, &encode(&e)).expect("decodes"), e);
        let none = Entry {
            probability: None,
            label: Label::Ham,
            trained: false,
            keys: Vec::new(),
            ..entry()
        };
        assert_eq!(decode(&key, &encode(&none)).expect("decodes"), none);
    }

    #[test]
    fn damaged_entries_are_errors() {
        let e = entry();
        let key = keys::ledger_key(e.email, e.comment);
        let bytes = encode(&e);
        assert!(decode(&key, &bytes[..HEAD - 1]).is_err());
        assert!(decode(&key, &bytes[..bytes.len() - 1]).is_err());
        assert!(decode(&key[..40], &bytes).is_err());
        let mut bad = bytes.clone();
        bad[1] = b'x';
        assert!(decode(&key, &bad).is_err());
    }
}

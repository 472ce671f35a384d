//! Readers' records on sled: the `subscribers` tree, one JSON record per
//! keyed email hash, changed by compare-and-swap in a transaction that also
//! writes the record's outbox jobs; and the comments of one commenter.

use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, abort};

use super::{Comment, Error, SledStore, flatten, keys, outbox};
use crate::domain::outbox::Scheduled;
use crate::domain::privacy::EmailKey;
use crate::domain::subscription::Subscriber;

fn encode(record: &Subscriber) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(record).map_err(|e| Error::Corrupt {
        id: "subscriber".into(),
        message: e.to_string(),
    })
}

fn decode(bytes: &[u8]) -> Result<Subscriber, Error> {
    serde_json::from_slice(bytes).map_err(|e| Error::Corrupt {
        id: "subscriber".into(),
        message: e.to_string(),
    })
}

impl SledStore {
    /// See [`crate::domain::ports::Store::subscriber`].
    ///
    /// # Errors
    /// A database or decoding error.
    pub fn subscriber(&self, email: EmailKey) -> Result<Option<Subscriber>, Error> {
        self.subscribers
            .get(email.0)?
            .map(|bytes| decode(&bytes))
            .transpose()
    }

    /// See [`crate::domain::ports::Store::put_subscriber`].
    ///
    /// # Errors
    /// [`Error::Conflict`] when the record is no longer `before`, or a
    /// database error.
    pub async fn put_subscriber(
        &self,
        before: Option<&Subscriber>,
        after: Option<&Subscriber>,
        jobs: &[Scheduled],
    ) -> Result<(), Error> {
        let Some(key) = before.or(after).map(|r| r.key) else {
            return Ok(());
        };
        if after.is_some_and(|a| a.key != key) {
            return Err(Error::Corrupt {
                id: "subscriber".into(),
                message: "a record may not change its key".into(),
            });
        }
        let value = after.map(encode).transpose()?;
        (&self.subscribers, &self.outbox)
            .transaction(|(subscribers, outbox_tree)| {
                let stored = subscribers
                    .get(key)?
                    .map(|bytes| decode(&bytes))
                    .transpose()
                    .map_err(ConflictableTransactionError::Abort)?;
                if stored.as_ref() != before {
                    return abort(Error::Conflict);
                }
                match &value {
                    Some(value) => subscribers.insert(&key, value.as_slice())?,
                    None => subscribers.remove(&key)?,
                };
                outbox::enqueue(outbox_tree, jobs)?;
                Ok(())
            })
            .map_err(flatten)?;
        self.jobs_added(jobs.len());
        self.flush().await
    }

    /// See [`crate::domain::ports::Store::subscribers_after`].
    ///
    /// # Errors
    /// A database or decoding error.
    pub fn subscribers_after(
        &self,
        after: Option<EmailKey>,
        limit: usize,
    ) -> Result<Vec<Subscriber>, Error> {
        let range = match after {
            Some(key) => self.subscribers.range((
                std::ops::Bound::Excluded(key.0.to_vec()),
                std::ops::Bound::Unbounded,
            )),
            None => self.subscribers.iter(),
        };
        let mut records = Vec::new();
        for entry in range.take(limit) {
            let (_, value) = entry?;
            records.push(decode(&value)?);
        }
        Ok(records)
    }

    /// See [`crate::domain::ports::Store::comments_of`].
    ///
    /// # Errors
    /// A database or decoding error.
    pub fn comments_of(&self, email: EmailKey) -> Result<Vec<Comment>, Error> {
        let mut comments = Vec::new();
        for entry in self.by_email.scan_prefix(email.0) {
            let (key, _) = entry?;
            if let Some(comment) = keys::id_suffix(&key)
                .map(|id| self.get(id))
                .transpose()?
                .flatten()
            {
                comments.push(comment);
            }
        }
        Ok(comments)
    }
}

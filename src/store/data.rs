//! Whole-database operations: every comment for an export, imports that
//! keep ids, erasing one commenter, and the record of used decision links.

use sled::Transactional;
use sled::transaction::ConflictableTransactionError;

use super::{
    Comment, Error, Fingerprints, SledStore, decode, encode, flatten, index_insert, index_remove,
    keys, now_millis,
};
use crate::domain::CommentId;
use crate::domain::ports::Fingerprinter;
use crate::domain::privacy::EmailKey;

impl SledStore {
    /// Every comment, oldest first, `limit` at a time after `after`. A
    /// comment that cannot be decoded is an error naming its id, not hidden.
    ///
    /// # Errors
    /// A database or decoding error.
    pub fn comments_after(
        &self,
        after: Option<CommentId>,
        limit: usize,
    ) -> Result<Vec<Comment>, Error> {
        let range = match after {
            Some(id) => self.comments.range((
                std::ops::Bound::Excluded(id.to_bytes().to_vec()),
                std::ops::Bound::Unbounded,
            )),
            None => self.comments.iter(),
        };
        let mut comments = Vec::with_capacity(limit.min(1024));
        for entry in range.take(limit) {
            let (key, value) = entry?;
            comments.push(
                decode(&value).map_err(|e| match e {
                    Error::Corrupt { message, .. } => Error::Corrupt {
                        id: keys::id_suffix(&key)
                            .map_or_else(|| hex::encode(&key), |id| id.to_string()),
                        message,
                    },
                    other => other,
                })?,
            );
        }
        Ok(comments)
    }

    /// Stores an imported comment as it is (id, status and times kept) with
    /// every index entry, unless a comment with its id exists: then nothing
    /// changes and it returns `false`. Does not flush: call [`Store::flush`]
    /// after the last one.
    ///
    /// # Errors
    /// A database error.
    pub fn import(&self, comment: &Comment, prints: &Fingerprints) -> Result<bool, Error> {
        Ok(self.import_batch(&[(comment, prints)])?[0])
    }

    /// [`SledStore::import`] of several comments in one transaction: all of
    /// them or none, and one commit for the lot (an import's speed is
    /// sled's per-transaction cost). Whether each was new.
    ///
    /// # Errors
    /// A database error; then none of them is stored.
    pub fn import_batch(&self, batch: &[(&Comment, &Fingerprints)]) -> Result<Vec<bool>, Error> {
        let values = batch
            .iter()
            .map(|(comment, _)| encode(comment))
            .collect::<Result<Vec<_>, Error>>()?;
        let stored = (
            &self.comments,
            &self.by_status,
            &self.by_page,
            &self.by_email,
            &self.fingerprints,
            &self.text_seen,
        )
            .transaction(
                |(comments, by_status, by_page, by_email, fingerprints, text_seen)| {
                    let mut stored = Vec::with_capacity(batch.len());
                    for ((comment, prints), value) in batch.iter().zip(&values) {
                        let id = comment.id.to_bytes();
                        if comments.get(id)?.is_some() {
                            stored.push(false);
                            continue;
                        }
                        comments.insert(&id, value.as_slice())?;
                        index_insert(by_status, by_page, by_email, comment)?;
                        if fingerprints.get(prints.commenter_text)?.is_none() {
                            fingerprints.insert(&prints.commenter_text, &id)?;
                        }
                        let newer = text_seen
                            .get(prints.text)?
                            .and_then(|v| <[u8; 8]>::try_from(v.as_ref()).ok())
                            .is_none_or(|seen| i64::from_be_bytes(seen) < comment.created_at);
                        if newer {
                            text_seen.insert(&prints.text, &comment.created_at.to_be_bytes())?;
                        }
                        stored.push(true);
                    }
                    Ok(stored)
                },
            )
            .map_err(flatten)?;
        for ((comment, _), new) in batch.iter().zip(&stored) {
            if *new {
                self.adjust_count(comment.status, 1);
                self.public_change(&comment.page, None, Some(comment.status));
            }
        }
        Ok(stored)
    }

    /// Deletes every comment of one commenter, with its index entries and
    /// its duplicate fingerprint (`fingerprint` computes it from the comment,
    /// as the caller holds the key), then flushes. Returns how many.
    ///
    /// # Errors
    /// A database or decoding error; comments deleted before it stay deleted.
    pub async fn erase_commenter(
        &self,
        email: EmailKey,
        fingerprint: &Fingerprinter,
    ) -> Result<usize, Error> {
        let mut ids = Vec::new();
        for entry in self.by_email.scan_prefix(email.0) {
            let (key, _) = entry?;
            if let Some(id) = keys::id_suffix(&key) {
                ids.push(id);
            }
        }
        let mut deleted = 0;
        for id in ids {
            let removed = (
                &self.comments,
                &self.by_status,
                &self.by_page,
                &self.by_email,
                &self.fingerprints,
            )
                .transaction(|(comments, by_status, by_page, by_email, fingerprints)| {
                    let Some(bytes) = comments.remove(&id.to_bytes())? else {
                        // An index entry without its comment: drop it too.
                        by_email.remove(keys::email_key(email, id))?;
                        return Ok(None);
                    };
                    let comment = decode(&bytes).map_err(ConflictableTransactionError::Abort)?;
                    index_remove(by_status, by_page, by_email, &comment)?;
                    let print = fingerprint(&comment);
                    if fingerprints
                        .get(print)?
                        .is_some_and(|owner| owner.as_ref() == id.to_bytes())
                    {
                        fingerprints.remove(&print)?;
                    }
                    Ok(Some((comment.status, comment.page)))
                })
                .map_err(flatten)?;
            if let Some((status, page)) = removed {
                self.adjust_count(status, -1);
                self.public_change(&page, Some(status), None);
                deleted += 1;
            }
        }
        self.flush().await?;
        Ok(deleted)
    }

    /// Records a decision link as used; `false` when it was used before.
    /// Atomic: of two concurrent claims exactly one wins.
    ///
    /// # Errors
    /// A database error.
    pub async fn claim_link(&self, mac: &[u8; 32]) -> Result<bool, Error> {
        let won = self
            .used_links
            .compare_and_swap(
                mac,
                None as Option<&[u8]>,
                Some(&now_millis().to_be_bytes()),
            )?
            .is_ok();
        if won {
            self.flush().await?;
        }
        Ok(won)
    }

    /// Makes a claimed link usable again (its decision could not be stored).
    ///
    /// # Errors
    /// A database error.
    pub fn release_link(&self, mac: &[u8; 32]) -> Result<(), Error> {
        self.used_links.remove(mac)?;
        Ok(())
    }

    /// Whether a decision link was used.
    ///
    /// # Errors
    /// A database error.
    pub fn link_used(&self, mac: &[u8; 32]) -> Result<bool, Error> {
        Ok(self.used_links.contains_key(mac)?)
    }
}

//! The writer's changes to their own comment: an edit, or a deletion that
//! leaves a "deleted" placeholder (when replies hang under it) or nothing.
//! One transaction each, over the comment, its index entries and its
//! fingerprints, applied only if the comment is still what the caller read.

use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, abort};

use super::{
    Comment, Error, SledStore, decode, encode, flatten, index_insert, index_remove, keys,
    now_millis, outbox,
};
use crate::domain::CommentId;
use crate::domain::outbox::Scheduled;
use crate::domain::ports::Rewrite;

impl SledStore {
    /// See [`crate::domain::ports::Store::rewrite`].
    ///
    /// # Errors
    /// [`Error::Conflict`] when the comment is no longer `before`,
    /// [`Error::Duplicate`] for an edit to a text the commenter has on the
    /// page already, or a database error.
    pub async fn rewrite(
        &self,
        before: &Comment,
        old_print: [u8; 32],
        change: Rewrite<'_>,
        jobs: &[Scheduled],
    ) -> Result<(), Error> {
        let id = before.id.to_bytes();
        let after = match change {
            Rewrite::Edit { after, .. } | Rewrite::Placeholder(after) | Rewrite::Update(after) => {
                if after.id != before.id || after.page != before.page {
                    return Err(Error::Corrupt {
                        id: before.id.to_string(),
                        message: "a rewrite may not change the id or the page".into(),
                    });
                }
                Some((after, encode(after)?))
            }
            Rewrite::Remove => None,
        };
        let seen_at = now_millis();
        (
            &self.comments,
            &self.by_status,
            &self.by_page,
            &self.by_email,
            &self.fingerprints,
            &self.text_seen,
            &self.outbox,
        )
            .transaction(
                |(comments, by_status, by_page, by_email, fingerprints, text_seen, outbox)| {
                    let Some(bytes) = comments.get(id)? else {
                        return abort(Error::Conflict);
                    };
                    let stored = decode(&bytes).map_err(ConflictableTransactionError::Abort)?;
                    if stored != *before {
                        return abort(Error::Conflict);
                    }
                    if let Rewrite::Edit { prints, .. } = change
                        && let Some(earlier) = fingerprints.get(prints.commenter_text)?
                        && earlier.as_ref() != id
                        && comments.get(&earlier)?.is_some()
                    {
                        return abort(Error::Duplicate);
                    }
                    index_remove(by_status, by_page, by_email, &stored)?;
                    let keeps_print = matches!(change, Rewrite::Update(_));
                    if !keeps_print
                        && fingerprints
                            .get(old_print)?
                            .is_some_and(|owner| owner.as_ref() == id)
                    {
                        fingerprints.remove(&old_print)?;
                    }
                    match &after {
                        Some((after, value)) => {
                            comments.insert(&id, value.as_slice())?;
                            index_insert(by_status, by_page, by_email, after)?;
                        }
                        None => {
                            comments.remove(&id)?;
                        }
                    }
                    if let Rewrite::Edit { prints, .. } = change {
                        fingerprints.insert(&prints.commenter_text, &id)?;
                        text_seen.insert(&prints.text, &seen_at.to_be_bytes())?;
                    }
                    outbox::enqueue(outbox, jobs)?;
                    Ok(())
                },
            )
            .map_err(flatten)?;
        self.jobs_added(jobs.len());
        let new_status = after.as_ref().map(|(after, _)| after.status);
        self.adjust_count(before.status, -1);
        if let Some(status) = new_status {
            self.adjust_count(status, 1);
        }
        // The public view changes with any edit of an approved comment,
        // whatever its status afterwards.
        self.public_change(&before.page, Some(before.status), new_status);
        self.flush().await
    }

    /// Whether any comment of `page`, in any status, replies to `id`.
    ///
    /// # Errors
    /// A database or decoding error.
    pub fn has_replies(&self, page: &str, id: CommentId) -> Result<bool, Error> {
        for entry in self.by_page.scan_prefix(keys::page_prefix(page, None)) {
            let (key, _) = entry?;
            // Every comment of the page is read: imported replies need not
            // be younger than their parent, so the ids cannot narrow it.
            let Some(candidate) = keys::id_suffix(&key).filter(|c| *c != id) else {
                continue;
            };
            if self.get(candidate)?.is_some_and(|c| c.parent == Some(id)) {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

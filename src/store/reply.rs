//! The author's replies: stored approved under their parent, in the same
//! transaction that checks (and, for a pending parent, approves) it.

use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, abort};

use super::{
    Comment, Error, SledStore, Via, decode, encode, flatten, index_insert, index_remove, outbox,
};
use crate::domain::Status;
use crate::domain::outbox::Scheduled;

impl SledStore {
    /// Stores the author's `reply` (approved, with `parent` set) and
    /// returns the parent as it is afterwards, then flushes.
    ///
    /// A pending parent is approved in the same transaction (the author
    /// answering a comment publishes it, as WordPress's "Approve and
    /// Reply" does), and the change is recorded with [`Via::Reply`]. A
    /// rejected or spam parent is refused: answering publicly what the
    /// author declined is most likely a slip. `fingerprint` refuses the same
    /// reply twice under one parent (a double click).
    ///
    /// # Errors
    /// [`Error::ParentNotFound`], [`Error::ParentClosed`],
    /// [`Error::InvalidParent`] (another page), [`Error::Duplicate`], or a
    /// database error.
    pub async fn insert_reply(
        &self,
        reply: &Comment,
        fingerprint: [u8; 32],
        jobs: &[Scheduled],
    ) -> Result<Comment, Error> {
        let parent_id = reply.parent.ok_or(Error::ParentNotFound)?;
        let value = encode(reply)?;
        let id = reply.id.to_bytes();
        let (parent, from) = (
            &self.comments,
            &self.by_status,
            &self.by_page,
            &self.by_email,
            &self.fingerprints,
            &self.outbox,
        )
            .transaction(
                |(comments, by_status, by_page, by_email, fingerprints, outbox)| {
                    if let Some(earlier) = fingerprints.get(fingerprint)?
                        && comments.get(&earlier)?.is_some()
                    {
                        return abort(Error::Duplicate);
                    }
                    let Some(bytes) = comments.get(parent_id.to_bytes())? else {
                        return abort(Error::ParentNotFound);
                    };
                    let mut parent = decode(&bytes).map_err(ConflictableTransactionError::Abort)?;
                    if parent.page != reply.page {
                        return abort(Error::InvalidParent);
                    }
                    let from = parent.status;
                    match from {
                        Status::Approved => {}
                        Status::Pending => {
                            index_remove(by_status, by_page, by_email, &parent)?;
                            parent.record(Status::Approved, reply.created_at, Via::Reply);
                            comments.insert(
                                &parent_id.to_bytes(),
                                encode(&parent).map_err(ConflictableTransactionError::Abort)?,
                            )?;
                            index_insert(by_status, by_page, by_email, &parent)?;
                        }
                        Status::Rejected | Status::Spam => {
                            return abort(Error::ParentClosed(from));
                        }
                    }
                    comments.insert(&id, value.as_slice())?;
                    index_insert(by_status, by_page, by_email, reply)?;
                    fingerprints.insert(&fingerprint, &id)?;
                    outbox::enqueue(outbox, jobs)?;
                    Ok((parent, from))
                },
            )
            .map_err(flatten)?;
        self.jobs_added(jobs.len());
        if from != Status::Approved {
            self.adjust_count(from, -1);
            self.adjust_count(Status::Approved, 1);
        }
        self.adjust_count(reply.status, 1);
        self.public_change(&reply.page, Some(from), Some(Status::Approved));
        self.public_change(&reply.page, None, Some(reply.status));
        self.flush().await?;
        Ok(parent)
    }
}

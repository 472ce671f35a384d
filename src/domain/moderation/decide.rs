//! The author's decisions: approve, reject, mark as spam, delete, by any
//! route (the admin API one by one or in bulk, the admin page, the signed
//! links of notification emails). Every route ends here, so each decision is
//! recorded the same way in the audit trail.

use std::time::SystemTime;

use super::learning::teaches;
use super::{Error, Moderator};
use crate::domain::comment::{Comment, CommentId, Decision, Via, now_millis};
use crate::domain::ports::Transition;
use crate::domain::privacy::{Refused, Verified};

/// Why a decision link leads to no decision.
#[derive(Debug, thiserror::Error)]
pub enum LinkRefusal {
    /// Not a token of this instance.
    #[error("this link is not valid")]
    Invalid,
    /// Genuine but too old.
    #[error("this link has expired")]
    Expired,
    /// It worked once already.
    #[error("this link was already used")]
    Used,
    /// The comment no longer exists.
    #[error("this comment no longer exists")]
    Gone,
    /// The store failed.
    #[error(transparent)]
    Fault(#[from] Error),
}

impl From<Refused> for LinkRefusal {
    fn from(refused: Refused) -> LinkRefusal {
        match refused {
            Refused::Invalid => LinkRefusal::Invalid,
            Refused::Expired => LinkRefusal::Expired,
        }
    }
}

impl Moderator {
    /// Applies the author's `decision` to comment `id`, recorded with `via`
    /// (a no-op when the comment is there already), and teaches the
    /// learning filter what it means: `spam` spam, `approve` ham, `reject`
    /// nothing, the label of an earlier decision unlearned first. The
    /// ledger entry is stored in the decision's transaction, so the model
    /// stays seed + ledger whatever fails. `None` for an unknown id.
    ///
    /// # Errors
    /// A fault of the store.
    pub async fn decide(
        &self,
        id: CommentId,
        decision: Decision,
        via: Via,
    ) -> Result<Option<Transition>, Error> {
        let status = decision.status();
        let mut jobs_written = false;
        let transition = self
            .in_learning_turn(async || {
                let Some(comment) = self.store.get(id).await? else {
                    return Ok((None, Vec::new()));
                };
                // The readers' jobs of an approval, from the comment as it
                // is now; the store writes them only if the status changes.
                let jobs = match decision {
                    Decision::Approve => {
                        let jobs = self
                            .subscriptions
                            .jobs_for_approval(&comment, now_millis())
                            .await?;
                        self.room_for(jobs).await?
                    }
                    Decision::Reject | Decision::Spam => Vec::new(),
                };
                // The author's own replies are not readers' comments.
                let learned = teaches(decision)
                    .filter(|_| !comment.by_author)
                    .map(|label| self.entry_for(&comment, label));
                let Some(decided) = self
                    .store
                    .record_decision(id, status, via, &jobs, learned.as_ref())
                    .await?
                else {
                    return Ok((None, Vec::new()));
                };
                jobs_written = !jobs.is_empty() && decided.transition.from != status;
                let changes = vec![(decided.unlearned, learned)];
                Ok((Some(decided.transition), changes))
            })
            .await?;
        if let Some(t) = &transition
            && t.from != status
        {
            tracing::info!(comment_id = %id, status = %status, via = ?via, "decision");
        }
        if jobs_written {
            self.notifications.jobs_queued();
        }
        Ok(transition)
    }

    /// Deletes a comment and its index entries. Whether it existed.
    ///
    /// # Errors
    /// A fault of the store.
    pub async fn delete(&self, id: CommentId) -> Result<bool, Error> {
        let found = self.store.delete(id).await?;
        if found {
            tracing::info!(comment_id = %id, "deleted");
        }
        Ok(found)
    }

    /// What a decision link would do, without doing it: for the
    /// confirmation page that a GET shows (mail scanners follow links and
    /// must not decide anything).
    ///
    /// # Errors
    /// Why the link leads to no decision.
    pub async fn inspect_link(&self, token: &str) -> Result<(Verified, Comment), LinkRefusal> {
        let verified = self.check_link(token).await?;
        let comment = self
            .store
            .get(verified.id)
            .await
            .map_err(Error::from)?
            .ok_or(LinkRefusal::Gone)?;
        Ok((verified, comment))
    }

    /// Carries out a decision link, once: the link's MAC is claimed in the
    /// store first, and released again if the decision cannot be stored.
    ///
    /// # Errors
    /// Why the link leads to no decision.
    pub async fn decide_by_link(&self, token: &str) -> Result<Transition, LinkRefusal> {
        let verified = self.check_link(token).await?;
        if !self
            .store
            .claim_link(&verified.mac)
            .await
            .map_err(Error::from)?
        {
            return Err(LinkRefusal::Used);
        }
        match self
            .decide(verified.id, verified.decision, Via::EmailLink)
            .await
        {
            Ok(Some(transition)) => Ok(transition),
            Ok(None) => Err(LinkRefusal::Gone),
            Err(e) => {
                // The decision did not happen: let the link be used again.
                if let Err(release) = self.store.release_link(&verified.mac).await {
                    tracing::error!(error = %release, "cannot release a decision link");
                }
                Err(e.into())
            }
        }
    }

    async fn check_link(&self, token: &str) -> Result<Verified, LinkRefusal> {
        let verified = self.links.verify(token, SystemTime::now())?;
        if self
            .store
            .link_used(&verified.mac)
            .await
            .map_err(Error::from)?
        {
            return Err(LinkRefusal::Used);
        }
        Ok(verified)
    }
}

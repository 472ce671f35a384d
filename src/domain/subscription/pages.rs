//! The reader's side of their mail: the confirmation link (double opt-in)
//! and the unsubscribe link, each a page whose `GET` only shows what a
//! button would do and whose `POST` does it, plus erasure, expiry and the
//! export of the records.

use super::{Subscriber, Subscriptions};
use crate::domain::comment::Comment;
use crate::domain::ports::StoreError;
use crate::domain::privacy::{EmailKey, ReaderLink};

/// Why a reader link leads to nothing.
#[derive(Debug, thiserror::Error)]
pub enum LinkRefusal {
    /// Not a link of this instance (or of another kind).
    #[error("this link is not valid")]
    Invalid,
    /// A confirmation link past its time, or of a request that is gone.
    #[error("this link has expired")]
    Expired,
    /// The store failed.
    #[error(transparent)]
    Fault(#[from] StoreError),
}

/// What a confirmation link is about.
#[derive(Debug, Clone)]
pub struct Confirmation {
    /// The record.
    pub subscriber: Subscriber,
}

/// What an unsubscribe link is about.
#[derive(Debug, Clone)]
pub struct Unsubscription {
    /// The reader.
    pub email: EmailKey,
    /// The subscribed comment, when it still exists.
    pub comment: Option<Comment>,
}

impl Subscriptions {
    /// The request a confirmation token confirms (changes nothing).
    ///
    /// # Errors
    /// Why the link leads to nothing.
    pub async fn check_confirmation(
        &self,
        token: &str,
        now: i64,
    ) -> Result<Confirmation, LinkRefusal> {
        let Some(ReaderLink::Confirm {
            email,
            requested_at,
        }) = self.links.verify(token)
        else {
            return Err(LinkRefusal::Invalid);
        };
        let subscriber = self
            .store
            .subscriber(email)
            .await?
            .ok_or(LinkRefusal::Expired)?;
        if subscriber.is_confirmed() {
            return Ok(Confirmation { subscriber });
        }
        if subscriber.requested_at != requested_at || subscriber.is_expired(now) {
            return Err(LinkRefusal::Expired);
        }
        Ok(Confirmation { subscriber })
    }

    /// Confirms the address of a confirmation token (a repeat is fine).
    ///
    /// # Errors
    /// Why the link leads to nothing.
    pub async fn confirm(&self, token: &str, now: i64) -> Result<Subscriber, LinkRefusal> {
        for _ in 0..5 {
            let Confirmation { subscriber: before } = self.check_confirmation(token, now).await?;
            if before.is_confirmed() {
                return Ok(before);
            }
            let mut after = before.clone();
            after.confirmed_at = Some(now);
            match self
                .store
                .put_subscriber(Some(&before), Some(&after), &[])
                .await
            {
                Ok(()) => {
                    tracing::info!("a reader confirmed their address");
                    return Ok(after);
                }
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict.into())
    }

    /// What an unsubscribe token names (changes nothing).
    ///
    /// # Errors
    /// Why the link leads to nothing.
    pub async fn check_unsubscribe(&self, token: &str) -> Result<Unsubscription, LinkRefusal> {
        let Some(ReaderLink::Unsubscribe { email, comment }) = self.links.verify(token) else {
            return Err(LinkRefusal::Invalid);
        };
        let comment = self
            .store
            .get(comment)
            .await?
            .filter(|c| c.email_hash == email.0);
        Ok(Unsubscription { email, comment })
    }

    /// Ends the notifications of the token's comment ("one click", RFC
    /// 8058). Ending what has ended already is fine.
    ///
    /// # Errors
    /// Why the link leads to nothing.
    pub async fn unsubscribe_thread(&self, token: &str) -> Result<Unsubscription, LinkRefusal> {
        let found = self.check_unsubscribe(token).await?;
        if let Some(comment) = &found.comment {
            self.change_notify(comment.id, |notify| *notify = Default::default())
                .await?;
        }
        tracing::info!("a reader unsubscribed from a thread");
        Ok(found)
    }

    /// Stops all mail to the token's reader: every box of every comment of
    /// theirs is unticked and the record forgotten (ticking a box later asks
    /// for a new confirmation).
    ///
    /// # Errors
    /// Why the link leads to nothing.
    pub async fn unsubscribe_all(&self, token: &str) -> Result<usize, LinkRefusal> {
        let found = self.check_unsubscribe(token).await?;
        let mut threads = 0;
        for comment in self.store.comments_of(found.email).await? {
            if comment.notify != Default::default() {
                self.change_notify(comment.id, |notify| *notify = Default::default())
                    .await?;
                threads += 1;
            }
        }
        self.forget(found.email).await?;
        tracing::info!(threads, "a reader stopped all mail");
        Ok(threads)
    }

    /// Forgets a reader's record (erasure, "stop all mail").
    ///
    /// # Errors
    /// A fault of the store.
    pub async fn forget(&self, email: EmailKey) -> Result<bool, StoreError> {
        for _ in 0..5 {
            let Some(before) = self.store.subscriber(email).await? else {
                return Ok(false);
            };
            match self.store.put_subscriber(Some(&before), None, &[]).await {
                Ok(()) => return Ok(true),
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict)
    }

    /// Forgets every unconfirmed request past its time. How many.
    ///
    /// # Errors
    /// A fault of the store.
    pub async fn expire(&self, now: i64) -> Result<usize, StoreError> {
        let mut expired = 0;
        let mut after = None;
        loop {
            let batch = self.store.subscribers_after(after, 256).await?;
            let Some(last) = batch.last() else { break };
            after = Some(last.email_key());
            for record in batch.iter().filter(|r| r.is_expired(now)) {
                match self.store.put_subscriber(Some(record), None, &[]).await {
                    Ok(()) => expired += 1,
                    // Renewed or confirmed meanwhile: not expired any more.
                    Err(StoreError::Conflict) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        if expired > 0 {
            tracing::info!(expired, "unconfirmed notification requests expired");
        }
        Ok(expired)
    }
}

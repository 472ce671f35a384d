//! What the notification worker mails to readers for each outbox job, as
//! the core decides it: the mail shell (`crate::notify`) only writes and
//! sends the [`ReaderMessage`]s it is given, then reports back.
//!
//! - `OptIn`: the reader's record is created (or found); an unconfirmed
//!   address gets its confirmation mail, at most one a day.
//! - `ReplyPublished`: the reply is queued for every confirmed subscriber of
//!   a comment above it (never the replier), and a digest is scheduled a few
//!   minutes later, so several replies go in one mail per thread.
//! - `ReplyDigest`: the queued replies still public, one mail per thread,
//!   within the daily cap.
//! - `ApprovalNotice`: one mail when a held comment is approved.

use super::{CONFIRMATION_INTERVAL, Subscriber, Subscriptions, day_of, millis};
use crate::domain::comment::{Comment, CommentId, Status};
use crate::domain::outbox::{Job, Scheduled};
use crate::domain::ports::{Rewrite, StoreError};
use crate::domain::privacy::{EmailKey, ReaderLink};

/// A subscribed comment and a reply under it: one entry of a queue.
pub type Queued = (CommentId, CommentId);

/// What a digest mails for one thread: the thread, its replies, and the
/// queue entries they came from.
type ThreadDigest = (Comment, Vec<Comment>, Vec<Queued>);

/// How often a record change is tried again after a conflict.
const ATTEMPTS: usize = 5;

/// One mail to one reader.
#[derive(Debug, Clone)]
pub struct ReaderMessage {
    /// `nonce || ciphertext` of the recipient's address.
    pub to_sealed: Vec<u8>,
    /// What it says.
    pub kind: MessageKind,
}

/// What a reader's mail says.
#[derive(Debug, Clone)]
pub enum MessageKind {
    /// "Confirm that you want these mails": the confirmation token.
    Confirm {
        /// The token of the confirmation link.
        token: String,
        /// The page of the comment that asked.
        page: String,
    },
    /// New public replies under the reader's comment.
    Replies {
        /// The reader's (subscribed) comment.
        thread: Comment,
        /// The replies, oldest first.
        replies: Vec<Comment>,
        /// The token of its unsubscribe link.
        unsubscribe: String,
    },
    /// The reader's held comment is public now.
    Approved {
        /// The comment.
        comment: Comment,
        /// The token of its unsubscribe link.
        unsubscribe: String,
    },
}

impl Subscriptions {
    /// For an `OptIn` job (`job_id` is its outbox id): the reader's record,
    /// and the confirmation mail to send, if the address needs one and got
    /// none today (a retry of the job that claimed today's may send it).
    ///
    /// # Errors
    /// A fault of the store.
    pub async fn opt_in(
        &self,
        job_id: &str,
        comment: CommentId,
        now: i64,
    ) -> Result<Option<ReaderMessage>, StoreError> {
        let Some(comment) = self.store.get(comment).await? else {
            return Ok(None);
        };
        if !(comment.notify.replies || comment.notify.approved) || !comment.has_email() {
            return Ok(None);
        }
        for _ in 0..ATTEMPTS {
            let existing = self.store.subscriber(comment.email_key()).await?;
            let mut record = self.requested(existing.as_ref(), &comment, now);
            if record.is_confirmed() {
                if existing.as_ref() != Some(&record) {
                    match self
                        .store
                        .put_subscriber(existing.as_ref(), Some(&record), &[])
                        .await
                    {
                        Err(StoreError::Conflict) => continue,
                        other => other?,
                    }
                }
                return Ok(None);
            }
            let own_claim = record.confirmation_job.as_deref() == Some(job_id);
            let recent = record
                .confirmation_sent_at
                .is_some_and(|at| now < at.saturating_add(millis(CONFIRMATION_INTERVAL)));
            if recent && !own_claim {
                // Nothing new to send; keep the (possibly renewed) request.
                if existing.as_ref() != Some(&record) {
                    match self
                        .store
                        .put_subscriber(existing.as_ref(), Some(&record), &[])
                        .await
                    {
                        Err(StoreError::Conflict) => continue,
                        other => other?,
                    }
                }
                return Ok(None);
            }
            if !own_claim {
                record.confirmation_sent_at = Some(now);
                record.confirmation_job = Some(job_id.to_owned());
            }
            if existing.as_ref() != Some(&record) {
                match self
                    .store
                    .put_subscriber(existing.as_ref(), Some(&record), &[])
                    .await
                {
                    Err(StoreError::Conflict) => continue,
                    other => other?,
                }
            }
            let token = self.links.sign(ReaderLink::Confirm {
                email: record.email_key(),
                requested_at: record.requested_at,
            });
            return Ok(Some(ReaderMessage {
                to_sealed: record.email_sealed,
                kind: MessageKind::Confirm {
                    token,
                    page: comment.page,
                },
            }));
        }
        Err(StoreError::Conflict)
    }

    /// For a `ReplyPublished` job: queues the reply for each confirmed
    /// subscriber above it and schedules their digest. How many readers.
    ///
    /// # Errors
    /// A fault of the store.
    pub async fn route_reply(&self, reply: CommentId, now: i64) -> Result<usize, StoreError> {
        let Some(reply) = self.store.get(reply).await? else {
            return Ok(0);
        };
        if reply.status != Status::Approved || reply.deleted {
            return Ok(0);
        }
        let mut routed = 0;
        let mut seen: Vec<[u8; 32]> = Vec::new();
        for thread in self.subscribed_above(&reply).await? {
            // One reader subscribed at several levels hears of it once,
            // under the nearest of their comments.
            if seen.contains(&thread.email_hash) {
                continue;
            }
            seen.push(thread.email_hash);
            if self
                .queue(thread.email_key(), thread.id, reply.id, now)
                .await?
            {
                routed += 1;
            }
        }
        Ok(routed)
    }

    /// Adds (thread, reply) to a confirmed reader's queue, scheduling the
    /// digest when none is. Whether the reader is confirmed.
    async fn queue(
        &self,
        email: EmailKey,
        thread: CommentId,
        reply: CommentId,
        now: i64,
    ) -> Result<bool, StoreError> {
        for _ in 0..ATTEMPTS {
            let Some(before) = self.store.subscriber(email).await? else {
                return Ok(false);
            };
            if !before.is_confirmed() {
                return Ok(false);
            }
            if before.queued.contains(&(thread, reply)) {
                return Ok(true);
            }
            let mut after = before.clone();
            after.queued.push((thread, reply));
            let mut jobs = Vec::new();
            if !after.digest_scheduled {
                after.digest_scheduled = true;
                jobs.push(Scheduled {
                    job: Job::ReplyDigest {
                        subscriber: email.0,
                    },
                    at: now.saturating_add(millis(self.settings.digest_delay)),
                });
            }
            match self
                .store
                .put_subscriber(Some(&before), Some(&after), &jobs)
                .await
            {
                Ok(()) => return Ok(true),
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict)
    }

    /// For a `ReplyDigest` job: one mail per thread of the replies queued
    /// for `email` that are still public under a comment still subscribed,
    /// within today's cap. What is over the cap or no longer public is
    /// dropped from the queue here; what is mailed is dropped by
    /// [`Subscriptions::digest_sent`].
    ///
    /// # Errors
    /// A fault of the store.
    pub async fn digest(
        &self,
        email: EmailKey,
        now: i64,
    ) -> Result<Vec<(ReaderMessage, Vec<Queued>)>, StoreError> {
        let Some(record) = self.store.subscriber(email).await? else {
            return Ok(Vec::new());
        };
        if !record.is_confirmed() {
            return Ok(Vec::new());
        }
        let mut sent_today = if record.mail_day == day_of(now) {
            record.mails_that_day
        } else {
            0
        };
        let mut threads: Vec<ThreadDigest> = Vec::new();
        let mut dropped = Vec::new();
        for &(thread_id, reply_id) in &record.queued {
            let thread = match threads.iter().position(|(t, _, _)| t.id == thread_id) {
                Some(i) => Some(i),
                None => match self.store.get(thread_id).await? {
                    Some(t) if t.notify.replies && t.email_hash == record.key && !t.deleted => {
                        if sent_today >= self.settings.per_day {
                            None
                        } else {
                            sent_today += 1;
                            threads.push((t, Vec::new(), Vec::new()));
                            Some(threads.len() - 1)
                        }
                    }
                    _ => None,
                },
            };
            let reply = self
                .store
                .get(reply_id)
                .await?
                .filter(|r| r.status == Status::Approved && !r.deleted);
            match (thread, reply) {
                (Some(i), Some(reply)) => {
                    threads[i].1.push(reply);
                    threads[i].2.push((thread_id, reply_id));
                }
                _ => dropped.push((thread_id, reply_id)),
            }
        }
        if !dropped.is_empty() {
            if threads.is_empty() {
                tracing::info!(
                    dropped = dropped.len(),
                    "reader digest: nothing to send (cap reached, unsubscribed or no longer public)"
                );
            }
            self.unqueue(email, &dropped, 0, now).await?;
        }
        Ok(threads
            .into_iter()
            .filter(|(_, replies, _)| !replies.is_empty())
            .map(|(thread, replies, pairs)| {
                let unsubscribe = self.links.sign(ReaderLink::Unsubscribe {
                    email,
                    comment: thread.id,
                });
                (
                    ReaderMessage {
                        to_sealed: record.email_sealed.clone(),
                        kind: MessageKind::Replies {
                            thread,
                            replies,
                            unsubscribe,
                        },
                    },
                    pairs,
                )
            })
            .collect())
    }

    /// After a digest: drops the mailed pairs, counts the mails, and
    /// schedules the next digest when replies arrived meanwhile (unless
    /// `retrying`: the job that failed in part is due again by itself).
    ///
    /// # Errors
    /// A fault of the store.
    pub async fn digest_sent(
        &self,
        email: EmailKey,
        mailed: &[Queued],
        mails: u32,
        retrying: bool,
        now: i64,
    ) -> Result<(), StoreError> {
        for _ in 0..ATTEMPTS {
            let Some(before) = self.store.subscriber(email).await? else {
                return Ok(());
            };
            let mut after = before.clone();
            after.queued.retain(|pair| !mailed.contains(pair));
            count(&mut after, mails, now);
            let mut jobs = Vec::new();
            if retrying {
                after.digest_scheduled = true;
            } else if after.queued.is_empty() {
                after.digest_scheduled = false;
            } else {
                after.digest_scheduled = true;
                jobs.push(Scheduled {
                    job: Job::ReplyDigest {
                        subscriber: email.0,
                    },
                    at: now.saturating_add(millis(self.settings.digest_delay)),
                });
            }
            match self
                .store
                .put_subscriber(Some(&before), Some(&after), &jobs)
                .await
            {
                Ok(()) => return Ok(()),
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict)
    }

    async fn unqueue(
        &self,
        email: EmailKey,
        pairs: &[Queued],
        mails: u32,
        now: i64,
    ) -> Result<(), StoreError> {
        for _ in 0..ATTEMPTS {
            let Some(before) = self.store.subscriber(email).await? else {
                return Ok(());
            };
            let mut after = before.clone();
            after.queued.retain(|pair| !pairs.contains(pair));
            count(&mut after, mails, now);
            match self
                .store
                .put_subscriber(Some(&before), Some(&after), &[])
                .await
            {
                Ok(()) => return Ok(()),
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict)
    }

    /// For an `ApprovalNotice` job: the mail, if the comment is public,
    /// still asks for it, and its writer confirmed the address.
    ///
    /// # Errors
    /// A fault of the store.
    pub async fn approval(&self, comment: CommentId) -> Result<Option<ReaderMessage>, StoreError> {
        let Some(comment) = self.store.get(comment).await? else {
            return Ok(None);
        };
        if comment.status != Status::Approved || !comment.notify.approved || comment.deleted {
            return Ok(None);
        }
        let confirmed = self
            .store
            .subscriber(comment.email_key())
            .await?
            .is_some_and(|s: Subscriber| s.is_confirmed());
        if !confirmed {
            return Ok(None);
        }
        let unsubscribe = self.links.sign(ReaderLink::Unsubscribe {
            email: comment.email_key(),
            comment: comment.id,
        });
        Ok(Some(ReaderMessage {
            to_sealed: comment.email_sealed.clone(),
            kind: MessageKind::Approved {
                comment,
                unsubscribe,
            },
        }))
    }

    /// After the approval notice: the box is spent (a single mail).
    ///
    /// # Errors
    /// A fault of the store.
    pub async fn approval_sent(&self, comment: CommentId) -> Result<(), StoreError> {
        self.change_notify(comment, |notify| notify.approved = false)
            .await
    }

    /// Changes the boxes of one comment (a compare-and-swap on it).
    pub(super) async fn change_notify(
        &self,
        id: CommentId,
        change: impl Fn(&mut crate::domain::Notify),
    ) -> Result<(), StoreError> {
        for _ in 0..ATTEMPTS {
            let Some(before) = self.store.get(id).await? else {
                return Ok(());
            };
            let mut after = before.clone();
            change(&mut after.notify);
            if after == before {
                return Ok(());
            }
            match self
                .store
                .rewrite(&before, [0u8; 32], Rewrite::Update(&after), &[])
                .await
            {
                Ok(()) => return Ok(()),
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict)
    }
}

fn count(record: &mut Subscriber, mails: u32, now: i64) {
    let today = day_of(now);
    if record.mail_day != today {
        record.mail_day = today;
        record.mails_that_day = 0;
    }
    record.mails_that_day = record.mails_that_day.saturating_add(mails);
}

//! The notification shell: it sends what the core's outbox holds
//! (`domain::outbox`): an email with signed decision links ([`mail`]) and a
//! signed webhook ([`webhook`]).
//!
//! The reader's request never waits for either: the core writes the jobs in
//! the transaction that stores the comment and wakes the [`Worker`] through
//! the [`Notifier`]. The worker claims due jobs with a lease, sends each,
//! and completes it, or reschedules it with exponential backoff after a
//! transient failure. Jobs survive restarts and crashes (delivery is at
//! least once); a job whose comment is gone is completed without sending.
//! Tests drive the worker with [`Worker::deliver_due`] on a clock of their
//! own.

pub mod mail;
pub mod reader_mail;
mod readers;
pub mod webhook;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::config::Config;
use crate::domain::now_millis;
use crate::domain::outbox::{Job, QueuedJob};
use crate::domain::ports::{Notifications, Store, StoreError};
use crate::domain::privacy::{LinkSigner, Privacy};
use crate::domain::subscription::Subscriptions;

/// Why the notification worker could not be built.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The SMTP settings cannot make a transport.
    #[error("smtp: {0}")]
    Mail(String),
    /// The HTTP client for the webhook cannot be built.
    #[error("webhook: {0}")]
    Webhook(String),
}

/// How often and how patiently a delivery is retried.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// Wait before the second attempt; doubled before each later one.
    pub first_delay: Duration,
}

impl Default for Retry {
    fn default() -> Retry {
        Retry {
            attempts: 5,
            first_delay: Duration::from_secs(2),
        }
    }
}

/// One failed attempt: whether trying again may help.
#[derive(Debug, Clone)]
pub struct Failure {
    /// What went wrong, for the log (never the payload).
    pub message: String,
    /// False for answers that will not change (a 4xx, a 5xx SMTP reply).
    pub transient: bool,
}

/// How long a claimed job is held before another claim may take it: longer
/// than any one delivery may take (30 s for SMTP, 10 s for the webhook).
const LEASE: Duration = Duration::from_secs(120);

/// How often the worker looks for due jobs when nobody woke it: the jobs of
/// a retry, and jobs written by another process.
const POLL: Duration = Duration::from_secs(1);

/// Jobs claimed at once.
const BATCH: usize = 32;

/// The waking side, held by the core; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Notifier {
    wake: Arc<Notify>,
}

impl Notifications for Notifier {
    fn jobs_queued(&self) {
        self.wake.notify_one();
    }
}

impl Notifier {
    /// A waker for a worker not yet built.
    pub fn new() -> Notifier {
        Notifier::default()
    }

    /// The worker that sends the outbox's jobs, when email or a webhook is
    /// set up (`None` otherwise: jobs are then never written). `links` signs
    /// the decision links of the mails: the core's signer, so the links the
    /// mails carry are the ones the core accepts.
    ///
    /// # Errors
    /// [`Error`] when the SMTP transport or the HTTP client cannot be built.
    pub fn worker(
        &self,
        config: &Config,
        store: Arc<dyn Store>,
        privacy: Arc<Privacy>,
        links: LinkSigner,
    ) -> Result<Option<Worker>, Error> {
        if config.smtp_host.is_empty() && config.webhook_url.is_empty() {
            return Ok(None);
        }
        let mail = if config.smtp_host.is_empty() {
            None
        } else {
            Some(mail::Mailer::new(config, &privacy, links)?)
        };
        let readers = mail
            .as_ref()
            .map(|_| Subscriptions::new(store.clone(), privacy.clone(), config.reader_mail()));
        let webhook = if config.webhook_url.is_empty() {
            None
        } else {
            Some(webhook::Webhook::new(config, privacy)?)
        };
        Ok(Some(Worker {
            store,
            mail,
            readers,
            webhook,
            wake: self.wake.clone(),
            retry: Retry::default(),
        }))
    }
}

/// What became of one job on one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Sent.
    Sent {
        /// Attempts in all (1 = the first).
        attempts: u32,
    },
    /// Failed; due again after the backoff.
    Retrying {
        /// Attempts so far.
        attempts: u32,
        /// What went wrong (never the payload).
        error: String,
    },
    /// Failed for good, or on the last attempt; completed unsent.
    Failed {
        /// Attempts in all.
        attempts: u32,
        /// What went wrong.
        error: String,
    },
    /// Nothing to send any more: the comment is gone (or, for a mail,
    /// decided meanwhile), the channel is off, or the job is of a kind this
    /// version does not know.
    Skipped,
}

/// One job the worker handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The job.
    pub job: Job,
    /// What became of it.
    pub outcome: Outcome,
}

/// Sends the jobs of the outbox.
#[derive(Debug)]
pub struct Worker {
    store: Arc<dyn Store>,
    mail: Option<mail::Mailer>,
    /// Readers' mail: only with mail set up.
    readers: Option<Subscriptions>,
    webhook: Option<webhook::Webhook>,
    wake: Arc<Notify>,
    /// The retry policy (tests shorten it).
    pub retry: Retry,
}

impl Worker {
    /// Sends due jobs until the task is aborted: when woken by the core, and
    /// on a short poll for retries and other processes' jobs.
    pub async fn run(self) {
        loop {
            if let Err(e) = self.deliver_due(now_millis()).await {
                tracing::error!(error = %e, "cannot read the notification outbox");
            }
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(POLL) => {}
            }
        }
    }

    /// Claims every job due at `now` (ms since the epoch), sends each on
    /// its channel, and completes or reschedules it. Returns what it did,
    /// in the order of the jobs.
    ///
    /// # Errors
    /// When the outbox cannot be read or updated.
    pub async fn deliver_due(&self, now: i64) -> Result<Vec<Delivery>, StoreError> {
        let lease = i64::try_from(LEASE.as_millis()).unwrap_or(i64::MAX);
        let mut done = Vec::new();
        loop {
            let jobs = self.store.claim_jobs(now, lease, BATCH).await?;
            if jobs.is_empty() {
                return Ok(done);
            }
            for queued in jobs {
                let outcome = self.attempt(&queued, now).await;
                self.settle(&queued, &outcome, now).await?;
                done.push(Delivery {
                    job: queued.job,
                    outcome,
                });
            }
        }
    }

    /// One attempt at one job.
    async fn attempt(&self, queued: &QueuedJob, now: i64) -> Outcome {
        let attempts = queued.attempts + 1;
        let (id, status) = match &queued.job {
            Job::AuthorMail { comment, status } | Job::Webhook { comment, status } => {
                (*comment, *status)
            }
            Job::OptIn { .. }
            | Job::ReplyPublished { .. }
            | Job::ReplyDigest { .. }
            | Job::ApprovalNotice { .. } => return self.reader_job(queued, attempts, now).await,
            Job::Unknown => return Outcome::Skipped,
        };
        let comment = match self.store.get(id).await {
            Ok(Some(comment)) => comment,
            Ok(None) => return Outcome::Skipped,
            Err(e) => {
                return Outcome::Retrying {
                    attempts,
                    error: format!("cannot read the comment: {e}"),
                };
            }
        };
        let sent = match (&queued.job, &self.mail, &self.webhook) {
            // A comment the author decided meanwhile needs no mail.
            (Job::AuthorMail { .. }, Some(mail), _) if comment.status == status => {
                mail.send(&comment).await
            }
            (Job::Webhook { .. }, _, Some(hook)) => hook.send(&comment, status).await,
            _ => return Outcome::Skipped,
        };
        self.outcome(attempts, sent)
    }

    /// What a send's result makes of the job.
    fn outcome(&self, attempts: u32, sent: Result<(), Failure>) -> Outcome {
        match sent {
            Ok(()) => Outcome::Sent { attempts },
            Err(failure) if self.will_retry(&failure, attempts) => Outcome::Retrying {
                attempts,
                error: failure.message,
            },
            Err(failure) => Outcome::Failed {
                attempts,
                error: failure.message,
            },
        }
    }

    fn will_retry(&self, failure: &Failure, attempts: u32) -> bool {
        failure.transient && attempts < self.retry.attempts.max(1)
    }

    /// Completes or reschedules a job after an attempt, and logs it.
    async fn settle(
        &self,
        queued: &QueuedJob,
        outcome: &Outcome,
        now: i64,
    ) -> Result<(), StoreError> {
        let channel = match queued.job {
            Job::AuthorMail { .. } => "email",
            Job::Webhook { .. } => "webhook",
            Job::OptIn { .. }
            | Job::ReplyPublished { .. }
            | Job::ReplyDigest { .. }
            | Job::ApprovalNotice { .. } => "reader-mail",
            Job::Unknown => "unknown",
        };
        match outcome {
            Outcome::Retrying { attempts, error } => {
                let delay = self
                    .retry
                    .first_delay
                    .saturating_mul(2u32.saturating_pow(attempts.saturating_sub(1)));
                let at = now.saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX));
                tracing::warn!(
                    job = %queued.id, channel, attempt = attempts, error = %error,
                    retry_in_ms = at - now, "notification failed; retrying"
                );
                self.store.reschedule_job(queued.id, at, *attempts).await
            }
            Outcome::Sent { attempts } => {
                tracing::info!(job = %queued.id, channel, attempts, "notification sent");
                self.store.complete_job(queued.id).await
            }
            Outcome::Failed { attempts, error } => {
                tracing::error!(
                    job = %queued.id, channel, attempts, error = %error,
                    "notification not delivered"
                );
                self.store.complete_job(queued.id).await
            }
            Outcome::Skipped => {
                tracing::debug!(job = %queued.id, channel, "notification no longer needed");
                self.store.complete_job(queued.id).await
            }
        }
    }
}

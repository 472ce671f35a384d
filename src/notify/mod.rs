//! Telling the author that a comment waits: an email with signed decision
//! links ([`mail`], [`links`]) and a signed webhook ([`webhook`]).
//!
//! The reader's request never waits for either: [`Notifier::comment_stored`]
//! puts the comment on a bounded queue with `try_send` (a full queue drops
//! the notification with a warning), and a [`Worker`] delivers in the
//! background, retrying transient failures with exponential backoff. Tests
//! drive the worker one notification at a time with [`Worker::process_one`].

pub mod mail;
pub mod webhook;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::mpsc;

use crate::config::Config;
use crate::domain::ports::Notifications;
use crate::domain::privacy::{LinkSigner, Privacy};
use crate::domain::{Comment, Status};

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

/// What became of one notification, per channel; `None` when the channel
/// is off.
#[derive(Debug, Clone, Default)]
pub struct Delivery {
    /// The email: `Ok(attempts)` or the last error.
    pub email: Option<Result<u32, String>>,
    /// The webhook: `Ok(attempts)` or the last error.
    pub webhook: Option<Result<u32, String>>,
}

/// The sending side, held in the shared state; cheap to clone.
#[derive(Debug, Clone)]
pub struct Notifier {
    tx: Option<mpsc::Sender<Comment>>,
    rx: Arc<Mutex<Option<mpsc::Receiver<Comment>>>>,
    on_spam: bool,
}

impl Notifier {
    /// A queue when email or webhook is configured; a no-op otherwise.
    pub fn new(config: &Config) -> Notifier {
        let enabled = !config.smtp_host.is_empty() || !config.webhook_url.is_empty();
        let (tx, rx) = if enabled {
            let capacity = usize::try_from(config.notify_queue_capacity)
                .unwrap_or(usize::MAX)
                .clamp(1, 1 << 20);
            let (tx, rx) = mpsc::channel(capacity);
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        Notifier {
            tx,
            rx: Arc::new(Mutex::new(rx)),
            on_spam: config.notify_on_spam,
        }
    }

    /// The worker that drains the queue; `Some` once, and only when a
    /// channel is configured.
    ///
    /// # Errors
    /// [`Error`] when the SMTP transport or the HTTP client cannot be built.
    /// `links` signs the decision links of the mails: the core's signer,
    /// so the links the mails carry are the ones the core accepts.
    pub fn worker(
        &self,
        config: Arc<Config>,
        privacy: Arc<Privacy>,
        links: LinkSigner,
    ) -> Result<Option<Worker>, Error> {
        let Some(rx) = self
            .rx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        else {
            return Ok(None);
        };
        let mail = if config.smtp_host.is_empty() {
            None
        } else {
            Some(mail::Mailer::new(&config, &privacy, links)?)
        };
        let webhook = if config.webhook_url.is_empty() {
            None
        } else {
            Some(webhook::Webhook::new(&config, privacy.clone())?)
        };
        Ok(Some(Worker {
            rx,
            mail,
            webhook,
            retry: Retry::default(),
        }))
    }
}

impl Notifications for Notifier {
    /// Queues a notification for a comment just stored, if its status calls
    /// for one (pending; spam too when configured). Never waits: when the
    /// queue is full the notification is dropped and a warning logged.
    fn comment_stored(&self, comment: &Comment) {
        let Some(tx) = &self.tx else { return };
        let wanted = match comment.status {
            Status::Pending => true,
            Status::Spam => self.on_spam,
            Status::Approved | Status::Rejected => false,
        };
        if !wanted {
            return;
        }
        match tx.try_send(comment.clone()) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!(comment_id = %comment.id, "notification queue full; notification dropped");
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                tracing::warn!(comment_id = %comment.id, "notification worker stopped; notification dropped");
            }
        }
    }
}

/// The receiving side: delivers queued notifications.
#[derive(Debug)]
pub struct Worker {
    rx: mpsc::Receiver<Comment>,
    mail: Option<mail::Mailer>,
    webhook: Option<webhook::Webhook>,
    /// The retry policy (tests shorten it).
    pub retry: Retry,
}

impl Worker {
    /// Delivers notifications until the queue closes.
    pub async fn run(mut self) {
        while self.process_one().await.is_some() {}
    }

    /// Waits for the next notification and delivers it, with retries, on
    /// every configured channel at once. `None` once the queue is closed.
    pub async fn process_one(&mut self) -> Option<Delivery> {
        let comment = self.rx.recv().await?;
        Some(self.deliver(&comment).await)
    }

    /// Like [`Worker::process_one`], but `None` at once when nothing is queued.
    pub async fn try_process_one(&mut self) -> Option<Delivery> {
        let comment = self.rx.try_recv().ok()?;
        Some(self.deliver(&comment).await)
    }

    async fn deliver(&self, comment: &Comment) -> Delivery {
        let retry = self.retry;
        let email = async {
            match &self.mail {
                Some(mail) => {
                    Some(with_retries(retry, "email", comment, || mail.send(comment)).await)
                }
                None => None,
            }
        };
        let webhook = async {
            match &self.webhook {
                Some(hook) => {
                    Some(with_retries(retry, "webhook", comment, || hook.send(comment)).await)
                }
                None => None,
            }
        };
        let (email, webhook) = tokio::join!(email, webhook);
        Delivery { email, webhook }
    }
}

async fn with_retries<F, Fut>(
    retry: Retry,
    channel: &'static str,
    comment: &Comment,
    mut attempt: F,
) -> Result<u32, String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), Failure>>,
{
    let mut delay = retry.first_delay;
    let attempts = retry.attempts.max(1);
    for n in 1..=attempts {
        match attempt().await {
            Ok(()) => {
                tracing::info!(comment_id = %comment.id, channel, attempts = n, "notification sent");
                return Ok(n);
            }
            Err(failure) if failure.transient && n < attempts => {
                tracing::warn!(
                    comment_id = %comment.id, channel, attempt = n, error = %failure.message,
                    retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                    "notification failed; retrying"
                );
                tokio::time::sleep(delay).await;
                delay = delay.saturating_mul(2);
            }
            Err(failure) => {
                tracing::error!(
                    comment_id = %comment.id, channel, attempts = n, error = %failure.message,
                    "notification not delivered"
                );
                return Err(failure.message);
            }
        }
    }
    Err("no attempt made".into())
}

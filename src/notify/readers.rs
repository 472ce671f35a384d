//! The worker's handling of readers' jobs: it asks the core what to mail
//! (`domain::subscription`), writes and sends it ([`super::reader_mail`]),
//! and reports back what went out.

use super::reader_mail::ReaderMailer;
use super::{Failure, Outcome, Worker};
use crate::domain::outbox::{Job, QueuedJob};
use crate::domain::privacy::EmailKey;
use crate::domain::subscription::Subscriptions;
use crate::domain::subscription::deliver::ReaderMessage;

impl Worker {
    /// One attempt at a reader's job.
    pub(super) async fn reader_job(&self, queued: &QueuedJob, attempts: u32, now: i64) -> Outcome {
        let (Some(readers), Some(mail)) = (&self.readers, &self.mail) else {
            return Outcome::Skipped;
        };
        let writer = ReaderMailer::new(mail);
        let retry = |error: String| Outcome::Retrying { attempts, error };
        match &queued.job {
            Job::OptIn { comment } => {
                match readers.opt_in(&queued.id.to_string(), *comment, now).await {
                    Ok(Some(message)) => {
                        self.outcome(attempts, send(readers, &writer, &message).await)
                    }
                    Ok(None) => Outcome::Skipped,
                    Err(e) => retry(e.to_string()),
                }
            }
            Job::ReplyPublished { reply } => match readers.route_reply(*reply, now).await {
                Ok(0) => Outcome::Skipped,
                // Queued for the digests; nothing is mailed yet.
                Ok(_) => Outcome::Sent { attempts },
                Err(e) => retry(e.to_string()),
            },
            Job::ReplyDigest { subscriber } => {
                let email = EmailKey(*subscriber);
                let mails = match readers.digest(email, now).await {
                    Ok(mails) => mails,
                    Err(e) => return retry(e.to_string()),
                };
                let mut mailed = Vec::new();
                let mut sent = 0;
                let mut failure = None;
                for (message, pairs) in &mails {
                    match send(readers, &writer, message).await {
                        Ok(()) => {
                            mailed.extend_from_slice(pairs);
                            sent += 1;
                        }
                        Err(f) => failure = Some(f),
                    }
                }
                let retrying = failure
                    .as_ref()
                    .is_some_and(|f| self.will_retry(f, attempts));
                if let Err(e) = readers
                    .digest_sent(email, &mailed, sent, retrying, now)
                    .await
                {
                    return retry(e.to_string());
                }
                match failure {
                    Some(f) => self.outcome(attempts, Err(f)),
                    None if sent == 0 => Outcome::Skipped,
                    None => Outcome::Sent { attempts },
                }
            }
            Job::ApprovalNotice { comment } => match readers.approval(*comment).await {
                Ok(Some(message)) => {
                    let sent = send(readers, &writer, &message).await;
                    if sent.is_ok()
                        && let Err(e) = readers.approval_sent(*comment).await
                    {
                        tracing::error!(error = %e, "cannot mark an approval notice as sent");
                    }
                    self.outcome(attempts, sent)
                }
                Ok(None) => Outcome::Skipped,
                Err(e) => retry(e.to_string()),
            },
            Job::AuthorMail { .. } | Job::Webhook { .. } | Job::Unknown => Outcome::Skipped,
        }
    }
}

/// Opens the recipient's address and sends; the address goes no further
/// than the SMTP conversation (never into an error or a log line).
async fn send(
    readers: &Subscriptions,
    writer: &ReaderMailer<'_>,
    message: &ReaderMessage,
) -> Result<(), Failure> {
    let to = readers
        .open_address(&message.to_sealed)
        .map_err(|_| Failure {
            message: "the reader's address cannot be decrypted".into(),
            transient: false,
        })?;
    writer.send(&to, message).await
}

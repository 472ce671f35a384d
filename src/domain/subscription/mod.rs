//! Readers' mail: the boxes "Notify me of follow-up replies by email" and
//! "Tell me when my comment is approved", with double opt-in.
//!
//! A ticked box is a flag on the comment ([`crate::domain::Notify`]), which
//! already holds the sealed address and its keyed hash. The [`Subscriber`]
//! record, keyed by that hash, remembers whether the address is confirmed,
//! when the last confirmation mail went out (at most one a day), the
//! replies waiting to be mailed, and how many mails it got today. Nothing
//! is ever sent to an unconfirmed address but its one confirmation mail.
//!
//! The steps run in two places: the HTTP pages (confirm, unsubscribe, see
//! [`pages`]) and the notification worker (what to mail for an outbox job,
//! see [`deliver`]). Both go through [`Subscriptions`], over the store
//! port; every change of a record is a compare-and-swap, so two workers or
//! a worker and a click never lose each other's change.

pub mod deliver;
pub mod pages;

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::comment::{Comment, CommentId, Status};
use super::outbox::{Job, Scheduled};
use super::ports::{Store, StoreError};
use super::privacy::{EmailKey, Privacy, ReaderLinks};

/// How long a confirmation link works, and an unconfirmed request is kept.
pub const CONFIRM_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// At most one confirmation mail per address in this time.
pub const CONFIRMATION_INTERVAL: Duration = Duration::from_secs(24 * 3600);

/// Most comments looked at above a reply for subscriptions.
const MAX_ANCESTORS: usize = 64;

/// What is known of one reader's address, by its keyed hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscriber {
    /// The keyed hash of the address (the record's key).
    #[serde(with = "hex::serde")]
    pub key: [u8; 32],
    /// `nonce || ciphertext` of the address.
    #[serde(with = "hex::serde")]
    pub email_sealed: Vec<u8>,
    /// When the pending request was made (ms); the confirmation link names it.
    pub requested_at: i64,
    /// When the reader confirmed the address (ms); `None` until then.
    #[serde(default)]
    pub confirmed_at: Option<i64>,
    /// When the last confirmation mail was claimed for sending (ms).
    #[serde(default)]
    pub confirmation_sent_at: Option<i64>,
    /// The outbox job that claimed it: its retries may still send.
    #[serde(default)]
    pub confirmation_job: Option<String>,
    /// Public replies waiting for the next digest: (subscribed comment,
    /// reply), oldest first.
    #[serde(default)]
    pub queued: Vec<(CommentId, CommentId)>,
    /// A `ReplyDigest` job is in the outbox for this reader.
    #[serde(default)]
    pub digest_scheduled: bool,
    /// The UTC day (days since the epoch) of `mails_that_day`.
    #[serde(default)]
    pub mail_day: i64,
    /// Reply mails sent on `mail_day`.
    #[serde(default)]
    pub mails_that_day: u32,
}

impl Subscriber {
    /// The keyed hash as a typed key.
    pub fn email_key(&self) -> EmailKey {
        EmailKey(self.key)
    }

    /// Whether the reader confirmed the address.
    pub fn is_confirmed(&self) -> bool {
        self.confirmed_at.is_some()
    }

    /// Whether an unconfirmed request is past its time at `now`.
    pub fn is_expired(&self, now: i64) -> bool {
        !self.is_confirmed() && now > self.requested_at.saturating_add(millis(CONFIRM_TTL))
    }
}

/// The settings of readers' mail (from the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReaderMail {
    /// Mail is set up: the boxes are offered and honoured.
    pub enabled: bool,
    /// How long after the first queued reply its digest goes out.
    pub digest_delay: Duration,
    /// Reply mails one address gets in a day at most.
    pub per_day: u32,
}

impl Default for ReaderMail {
    fn default() -> ReaderMail {
        ReaderMail {
            enabled: false,
            digest_delay: Duration::from_secs(300),
            per_day: 20,
        }
    }
}

/// The readers' mail steps over the store; cheap to clone.
#[derive(Debug, Clone)]
pub struct Subscriptions {
    store: Arc<dyn Store>,
    privacy: Arc<Privacy>,
    links: ReaderLinks,
    settings: ReaderMail,
}

impl Subscriptions {
    /// The steps over `store`, with the keys of `privacy`.
    pub fn new(
        store: Arc<dyn Store>,
        privacy: Arc<Privacy>,
        settings: ReaderMail,
    ) -> Subscriptions {
        Subscriptions {
            links: privacy.reader_links(),
            store,
            privacy,
            settings,
        }
    }

    /// The settings.
    pub fn settings(&self) -> ReaderMail {
        self.settings
    }

    /// The signer of readers' links.
    pub fn links(&self) -> &ReaderLinks {
        &self.links
    }

    /// The outbox jobs a new comment causes for readers: its own opt-in,
    /// and, when it is public at once, the replies it makes.
    ///
    /// # Errors
    /// A fault of the store (reading the comments above it).
    pub async fn jobs_for_new(
        &self,
        comment: &Comment,
        now: i64,
    ) -> Result<Vec<Scheduled>, StoreError> {
        let mut jobs = Vec::new();
        if !self.settings.enabled {
            return Ok(jobs);
        }
        if comment.notify.replies || comment.notify.approved {
            jobs.push(Scheduled {
                job: Job::OptIn {
                    comment: comment.id,
                },
                at: now,
            });
        }
        if comment.status == Status::Approved {
            jobs.extend(self.jobs_for_public_reply(comment, now).await?);
        }
        Ok(jobs)
    }

    /// The outbox jobs of `comment` becoming approved (it is not yet): the
    /// reply it makes, and the approval notice its writer asked for.
    ///
    /// # Errors
    /// A fault of the store.
    pub async fn jobs_for_approval(
        &self,
        comment: &Comment,
        now: i64,
    ) -> Result<Vec<Scheduled>, StoreError> {
        let mut jobs = Vec::new();
        if !self.settings.enabled || comment.status == Status::Approved {
            return Ok(jobs);
        }
        if comment.notify.approved {
            jobs.push(Scheduled {
                job: Job::ApprovalNotice {
                    comment: comment.id,
                },
                at: now,
            });
        }
        jobs.extend(self.jobs_for_public_reply(comment, now).await?);
        Ok(jobs)
    }

    /// A `ReplyPublished` job when some comment above `reply` asked for
    /// replies (the worker checks again, and who confirmed, when it runs).
    async fn jobs_for_public_reply(
        &self,
        reply: &Comment,
        now: i64,
    ) -> Result<Vec<Scheduled>, StoreError> {
        let wanted = !self.subscribed_above(reply).await?.is_empty();
        Ok(if wanted {
            vec![Scheduled {
                job: Job::ReplyPublished { reply: reply.id },
                at: now,
            }]
        } else {
            Vec::new()
        })
    }

    /// The comments above `reply` whose writers asked for replies, other
    /// than the replier (never mailed about their own reply), nearest first.
    async fn subscribed_above(&self, reply: &Comment) -> Result<Vec<Comment>, StoreError> {
        let mut found = Vec::new();
        let mut next = reply.parent;
        for _ in 0..MAX_ANCESTORS {
            let Some(id) = next else { break };
            let Some(above) = self.store.get(id).await? else {
                break;
            };
            next = above.parent;
            if above.notify.replies
                && !above.deleted
                && above.email_hash != reply.email_hash
                && above.page == reply.page
            {
                found.push(above);
            }
        }
        Ok(found)
    }

    /// The reader's record, created (or renewed when expired) for a new
    /// request at `now`.
    fn requested(&self, existing: Option<&Subscriber>, comment: &Comment, now: i64) -> Subscriber {
        match existing {
            Some(record) if !record.is_expired(now) => record.clone(),
            _ => Subscriber {
                key: comment.email_hash,
                email_sealed: comment.email_sealed.clone(),
                requested_at: now,
                confirmed_at: None,
                confirmation_sent_at: existing.and_then(|r| r.confirmation_sent_at),
                confirmation_job: None,
                queued: Vec::new(),
                digest_scheduled: false,
                mail_day: 0,
                mails_that_day: 0,
            },
        }
    }

    /// Decrypts a sealed address, for the mail shell only.
    ///
    /// # Errors
    /// When it cannot be decrypted (another key, damaged bytes).
    pub fn open_address(&self, sealed: &[u8]) -> Result<String, crate::domain::privacy::Error> {
        self.privacy.decrypt_email(sealed)
    }
}

/// A duration in milliseconds, saturating.
pub fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// The UTC day of `ms` since the epoch.
fn day_of(ms: i64) -> i64 {
    ms.div_euclid(24 * 3600 * 1000)
}

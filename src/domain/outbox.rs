//! The outbox: what must be sent because of a change, written in the same
//! transaction as the change itself (the transactional outbox pattern).
//!
//! A comment and the job that tells the author about it are durable
//! together or not at all, so a notification is never lost to a crash or a
//! restart, and never sent for a change that did not happen. The
//! notification worker (`crate::notify`) claims due jobs with a lease,
//! sends them, and completes or reschedules them; a job whose worker died
//! is claimed again when its lease ends (delivery is at least once).
//!
//! Jobs name what to send, not its content: the worker reads the comment
//! when it sends, so a job never holds an address or a text of its own.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::comment::{CommentId, Status};

/// What to send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Job {
    /// Mail the author that a comment waits (or was filed as spam).
    AuthorMail {
        /// The comment.
        comment: CommentId,
        /// Its status when the job was written.
        status: Status,
    },
    /// POST the signed webhook about a comment.
    Webhook {
        /// The comment.
        comment: CommentId,
        /// Its status when the job was written: the event (`comment.pending`).
        status: Status,
    },
    // ---- Readers' mail (issue 13; see domain::subscription) ----
    /// A reader ticked a box on this comment: remember the address and send
    /// the one confirmation mail it may need.
    OptIn {
        /// The comment that asked.
        comment: CommentId,
    },
    /// A reply became public: queue it for the confirmed subscribers of the
    /// comments above it.
    ReplyPublished {
        /// The reply.
        reply: CommentId,
    },
    /// Mail one subscriber the replies queued for them (one mail per
    /// thread), a few minutes after the first one.
    ReplyDigest {
        /// The subscriber's keyed email hash.
        #[serde(with = "hex::serde")]
        subscriber: [u8; 32],
    },
    /// Tell a writer who asked that their held comment was approved.
    ApprovalNotice {
        /// The comment.
        comment: CommentId,
    },
    /// A job this version does not know (written by a newer one): kept
    /// readable, completed without sending.
    #[serde(other)]
    Unknown,
}

/// A job and when it is due (ms since the epoch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheduled {
    /// What to send.
    pub job: Job,
    /// Not before.
    pub at: i64,
}

/// The id of a queued job: a ULID, so ids sort by when they were written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JobId(pub ulid::Ulid);

impl JobId {
    /// A fresh id.
    pub fn generate() -> JobId {
        JobId(ulid::Ulid::generate())
    }

    /// The 16 big-endian bytes used as a key.
    pub fn to_bytes(self) -> [u8; 16] {
        self.0.to_bytes()
    }

    /// The inverse of [`JobId::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Option<JobId> {
        let array: [u8; 16] = bytes.try_into().ok()?;
        Some(JobId(ulid::Ulid::from_bytes(array)))
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for JobId {
    type Err = ();
    fn from_str(s: &str) -> Result<JobId, ()> {
        ulid::Ulid::from_string(s).map(JobId).map_err(|_| ())
    }
}

/// A job the worker claimed: it holds the lease until `complete_job` or
/// `reschedule_job`, or until the lease ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedJob {
    /// Its id.
    pub id: JobId,
    /// What to send.
    pub job: Job,
    /// Attempts made before this one.
    pub attempts: u32,
}

/// Which notices the author asked for (from the configuration).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Notices {
    /// Mail is set up.
    pub mail: bool,
    /// A webhook is set up.
    pub webhook: bool,
    /// Also notify of comments the rules file as spam.
    pub on_spam: bool,
    /// Jobs waiting at most; beyond it new notices are dropped (the
    /// comments themselves are stored and wait in the admin page).
    pub capacity: u64,
}

impl Notices {
    /// The jobs that tell the author about a comment just stored with
    /// `status`: pending always, spam when asked, nothing for a comment that
    /// went live or was rejected.
    pub fn for_new_comment(&self, comment: CommentId, status: Status, now: i64) -> Vec<Scheduled> {
        let wanted = match status {
            Status::Pending => true,
            Status::Spam => self.on_spam,
            Status::Approved | Status::Rejected => false,
        };
        let mut jobs = Vec::new();
        if wanted && self.mail {
            jobs.push(Scheduled {
                job: Job::AuthorMail { comment, status },
                at: now,
            });
        }
        if wanted && self.webhook {
            jobs.push(Scheduled {
                job: Job::Webhook { comment, status },
                at: now,
            });
        }
        jobs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_queued_comments_notify_on_the_configured_channels() {
        let id = CommentId(ulid::Ulid::from_parts(1, 1));
        let both = Notices {
            mail: true,
            webhook: true,
            on_spam: false,
            capacity: 10,
        };
        assert_eq!(both.for_new_comment(id, Status::Pending, 5).len(), 2);
        assert!(both.for_new_comment(id, Status::Spam, 5).is_empty());
        assert!(both.for_new_comment(id, Status::Approved, 5).is_empty());
        let spam_too = Notices {
            on_spam: true,
            webhook: false,
            ..both
        };
        assert_eq!(
            spam_too.for_new_comment(id, Status::Spam, 5),
            vec![Scheduled {
                job: Job::AuthorMail {
                    comment: id,
                    status: Status::Spam
                },
                at: 5
            }]
        );
        assert!(
            Notices::default()
                .for_new_comment(id, Status::Pending, 5)
                .is_empty()
        );
    }

    #[test]
    fn unknown_job_kinds_stay_readable() {
        let job: Job = serde_json::from_str(r#"{"kind":"from_the_future","x":1}"#).expect("job");
        assert_eq!(job, Job::Unknown);
    }
}

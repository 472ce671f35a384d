//! The moderation steps, over the [ports](crate::domain::ports): a reader's
//! comment arriving ([`intake`]), the author's decisions ([`decide`]) and
//! replies ([`reply`]), comments brought from elsewhere ([`import`]),
//! moderato's own export format ([`portable`]), and the erasure of a
//! commenter.
//!
//! [`Moderator`] holds what every step needs (the store, the rules in force,
//! the keys, the sanitizer, the notifications) and is the one way the shells
//! change what is stored: the HTTP routes and the command line both call it,
//! so a comment is built, checked and fingerprinted the same way whichever
//! door it came through.

pub mod decide;
pub mod edit;
pub mod fingerprint;
pub mod import;
pub mod intake;
pub mod learning;
pub mod portable;
pub mod reply;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::comment::{Comment, CommentId};
use super::input::{AuthorName, FieldErrors};
use super::outbox::{Notices, Scheduled};
use super::ports::{Notifications, Store, StoreError};
use super::privacy::{self, EditTokens, EmailKey, FormTokens, LinkSigner, Privacy};
use super::rules::{self, RuleSet};
use super::sanitize::Sanitizer;
use super::subscription::{ReaderMail, Subscriptions};

pub use decide::LinkRefusal;
pub use edit::Edited;
pub use import::{Adjustments, ImportedComment, Prepared, Stored};
pub use intake::{ClientInfo, Received};
pub use learning::{Learning, LearningStats, Taught};
pub use portable::PreparedLine;

/// What the author's replies are keyed by instead of an email address. It
/// has no `@`, so no reader's (validated) address can hash to the same key:
/// the author's replies never count in a reader's history or erasure.
pub const AUTHOR_IDENTITY: &str = "moderato:blog-author";

/// What a "deleted" placeholder is keyed by once its writer's address is
/// gone: no reader's history, erasure or subscription ever finds it.
pub const DELETED_IDENTITY: &str = "moderato:deleted";

/// How comments that the spam rules accept are published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModerationMode {
    /// Every comment waits for the author; rule spam goes to `spam`.
    All,
    /// Accepted comments go live only for commenters with an earlier
    /// approved comment (WordPress's default).
    FirstTime,
    /// Every comment the rules accept goes live at once.
    Rules,
}

/// The settings of the moderation steps (from the configuration).
#[derive(Debug, Clone)]
pub struct Settings {
    /// How accepted comments are published.
    pub mode: ModerationMode,
    /// Pending comments kept at most; beyond it new commenters are refused.
    pub max_pending: u64,
    /// The name shown on the author's replies.
    pub author_name: AuthorName,
    /// Where the rule files are, for reloads.
    pub rules_dir: PathBuf,
    /// How long a decision link in an email stays valid.
    pub link_ttl: Duration,
    /// How long a writer may edit or delete their comment; zero: never.
    pub edit_window: Duration,
    /// Which notices the author asked for.
    pub notices: Notices,
    /// Readers' mail (the boxes of the form).
    pub readers: ReaderMail,
}

/// Why a moderation step did not happen.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// One or more fields are invalid; each has a message for the reader.
    #[error("some fields are not valid")]
    Invalid {
        /// Message per invalid field.
        fields: FieldErrors,
    },
    /// The same commenter posted the same text on this page already (or
    /// the author the same reply).
    #[error("this comment was already received")]
    Duplicate,
    /// The moderation queue is full for commenters not approved before.
    #[error("the moderation queue is full")]
    QueueFull {
        /// When to try again.
        retry_after: Duration,
    },
    /// No such comment.
    #[error("no such comment")]
    NotFound,
    /// The edit token is wrong, or its window closed (or editing is off).
    #[error("this edit token is not valid or has expired")]
    Forbidden,
    /// The store failed.
    #[error("the store failed")]
    Store(#[source] StoreError),
    /// An email could not be encrypted.
    #[error("the email cannot be protected")]
    Privacy(#[from] privacy::Error),
}

impl From<StoreError> for Error {
    /// Faults of the store; the answers a step acts on (duplicate, parent)
    /// are matched where they mean something.
    fn from(e: StoreError) -> Error {
        match e {
            StoreError::Duplicate => Error::Duplicate,
            other => Error::Store(other),
        }
    }
}

impl Error {
    /// An invalid field.
    pub fn field(name: &'static str, message: impl Into<String>) -> Error {
        let mut fields = FieldErrors::new();
        fields.insert(name, message.into());
        Error::Invalid { fields }
    }
}

/// The moderation steps with everything they need; share it behind an
/// `Arc`.
#[derive(Debug)]
pub struct Moderator {
    store: Arc<dyn Store>,
    notifications: Arc<dyn Notifications>,
    subscriptions: Subscriptions,
    privacy: Arc<Privacy>,
    sanitizer: Sanitizer,
    form_tokens: FormTokens,
    edit_tokens: EditTokens,
    links: LinkSigner,
    /// The rules in force. Readers clone the inner `Arc` and drop the lock
    /// at once; a reload swaps it, so steps in flight finish with the rules
    /// they started with.
    rules: RwLock<Arc<RuleSet>>,
    settings: Settings,
    /// Monotonic ULIDs: ids made in the same millisecond still sort in
    /// creation order, so "oldest first" and cursors are exact.
    ids: Mutex<ulid::Generator>,
    /// The learning filter: its model and the turn its ledger changes take.
    learning: Learning,
}

impl Moderator {
    /// Puts the parts together; `rules` is the rule set loaded at start.
    pub fn new(
        store: Arc<dyn Store>,
        notifications: Arc<dyn Notifications>,
        privacy: Arc<Privacy>,
        rules: RuleSet,
        settings: Settings,
    ) -> Moderator {
        Moderator {
            form_tokens: privacy.form_tokens(),
            edit_tokens: privacy.edit_tokens(),
            links: privacy.link_signer(settings.link_ttl),
            subscriptions: Subscriptions::new(store.clone(), privacy.clone(), settings.readers),
            learning: Learning::new(&privacy),
            store,
            notifications,
            privacy,
            sanitizer: Sanitizer::new(),
            rules: RwLock::new(Arc::new(rules)),
            settings,
            ids: Mutex::new(ulid::Generator::new()),
        }
    }

    /// A new id, later than every id this process made before.
    pub fn new_id(&self) -> CommentId {
        // Held for nanoseconds, never across an await; a poisoned lock
        // still holds a valid generator.
        let mut ids = self.ids.lock().unwrap_or_else(PoisonError::into_inner);
        match ids.generate() {
            Ok(id) => CommentId(id),
            Err(overflow) => CommentId(overflow.commit_overflow_random()),
        }
    }

    /// Readers' mail: confirmation and unsubscribe pages, expiry.
    pub fn subscriptions(&self) -> &Subscriptions {
        &self.subscriptions
    }

    /// The store, for reads.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The keys (the admin views decrypt emails with them).
    pub fn privacy(&self) -> &Arc<Privacy> {
        &self.privacy
    }

    /// The signer of form tokens.
    pub fn form_tokens(&self) -> &FormTokens {
        &self.form_tokens
    }

    /// The signer of decision links.
    pub fn links(&self) -> &LinkSigner {
        &self.links
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The rules in force now.
    pub fn rules(&self) -> Arc<RuleSet> {
        // A poisoned lock still holds a complete rule set: swapping an Arc
        // cannot be interrupted half-way.
        self.rules
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Loads the rules directory again and puts it in force. On error the
    /// old rules stay in force and the error says why.
    ///
    /// # Errors
    /// The [`rules::Error`] naming file, rule and problem.
    pub fn reload_rules(&self) -> Result<Arc<RuleSet>, rules::Error> {
        match RuleSet::load_dir(&self.settings.rules_dir) {
            Ok(fresh) => {
                let fresh = Arc::new(fresh);
                *self.rules.write().unwrap_or_else(PoisonError::into_inner) = fresh.clone();
                tracing::info!(dir = %self.settings.rules_dir.display(), "spam rules reloaded");
                Ok(fresh)
            }
            Err(e) => {
                tracing::error!(error = %e, "spam rules not reloaded; the previous rules stay in force");
                Err(e)
            }
        }
    }

    /// Deletes every comment of the commenter with this address (trimmed,
    /// any case) and its index entries, then removes the commenter's
    /// entries from the learning ledger and unlearns them: the right to be
    /// forgotten. How many comments.
    ///
    /// # Errors
    /// [`Error::Store`]; comments deleted before it stay deleted.
    pub async fn erase(&self, email: &str) -> Result<usize, Error> {
        let key = self.privacy.email_key(email);
        let privacy = self.privacy.clone();
        let deleted = self
            .store
            .erase_commenter(key, &move |c: &Comment| fingerprint::of_stored(&privacy, c))
            .await?;
        self.subscriptions.forget(key).await?;
        let unlearned = self.forget_learned(key).await?;
        tracing::info!(deleted, unlearned, "erased a commenter's comments");
        Ok(deleted)
    }

    /// `jobs`, unless the outbox is at its capacity: then they are dropped
    /// with a warning (the change itself is stored either way).
    async fn room_for(&self, jobs: Vec<Scheduled>) -> Result<Vec<Scheduled>, Error> {
        if jobs.is_empty() {
            return Ok(jobs);
        }
        if self.store.pending_jobs().await? >= self.settings.notices.capacity {
            tracing::warn!(
                jobs = jobs.len(),
                "notification outbox full; notifications dropped"
            );
            return Ok(Vec::new());
        }
        Ok(jobs)
    }

    /// The protected identity of a comment's writer: the sealed address,
    /// its keyed hash and the public avatar seed. `None` for the author.
    fn identity(&self, email: Option<&str>) -> Result<Identity, Error> {
        Ok(match email {
            Some(email) => {
                let key = self.privacy.email_key(email);
                Identity {
                    sealed: self.privacy.encrypt_email(email)?,
                    key,
                    avatar: self.privacy.avatar(key),
                }
            }
            None => {
                let key = self.privacy.email_key(AUTHOR_IDENTITY);
                Identity {
                    sealed: Vec::new(),
                    key,
                    avatar: self.privacy.avatar(key),
                }
            }
        })
    }
}

/// See [`Moderator::identity`].
struct Identity {
    sealed: Vec<u8>,
    key: EmailKey,
    avatar: String,
}

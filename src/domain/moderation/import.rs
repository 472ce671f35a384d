//! Comments brought in from elsewhere: from another comment system
//! (WordPress, Disqus, Isso, read by `crate::import` and handed over as an
//! [`ImportedComment`]) or from moderato's own export ([`portable`]). Both
//! end in a [`Prepared`] comment and go through [`Moderator::store_import`],
//! so an imported comment is sanitized, sealed, keyed and fingerprinted in
//! one way, whichever file it came from.
//!
//! An import keeps what the source decided: its id (deterministic, so a
//! second import adds nothing), its time, its status, its thread. It does
//! not run the spam rules (the author's past decisions are the better
//! judge) and queues no notification. A reply may sit under a pending or
//! spam parent, as it did in the source: the store's `import` checks no
//! parent.
//!
//! [`portable`]: super::portable

use std::fmt;
use std::net::IpAddr;

use super::{Error, Identity, Moderator, fingerprint};
use crate::domain::comment::{Comment, CommentId, PageId, Status};
use crate::domain::input::{AuthorName, CommentText, EmailAddress, FieldErrors, Website};
use crate::domain::origin::Origin;
use crate::domain::ports::Fingerprints;
use crate::domain::privacy::{EmailKey, truncate_ip};

/// What a commenter without an email is keyed by, followed by the name:
/// it has a `:` before any `@`, which no valid address has, so it never
/// shares a key with a reader who gave one. Disqus exports often omit the
/// address; the avatar then comes from the name.
pub const NO_EMAIL_IDENTITY: &str = "moderato:no-email:";

/// A comment of another system, as the import shell read it: the input of
/// the one constructor of an imported comment ([`Moderator::prepare_import`]).
#[derive(Clone, PartialEq)]
pub struct ImportedComment {
    /// The moderato id (deterministic: see `crate::import::comment_id`).
    pub id: CommentId,
    /// The page key.
    pub page: String,
    /// The parent's moderato id.
    pub parent: Option<CommentId>,
    /// Display name as the source holds it; may be empty.
    pub author: String,
    /// Plain address, if the source has one. Private.
    pub email: Option<String>,
    /// The commenter's website.
    pub website: Option<String>,
    /// The client address the source kept. Private.
    pub ip: Option<String>,
    /// The user agent the source kept.
    pub user_agent: Option<String>,
    /// Milliseconds since the epoch, UTC: the original time.
    pub created_at: i64,
    /// The content as HTML-ish text (Markdown already rendered); not
    /// sanitized yet.
    pub content: String,
    /// The status the source gave it.
    pub status: Status,
    /// Written by the blog's own author.
    pub by_author: bool,
    /// Where it comes from.
    pub origin: Origin,
}

/// Emails and addresses stay out of logs, even debug ones.
impl fmt::Debug for ImportedComment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImportedComment")
            .field("id", &self.id)
            .field("page", &self.page)
            .field("parent", &self.parent)
            .field("author", &self.author)
            .field("email", &self.email.as_ref().map(|_| "<redacted>"))
            .field("ip", &self.ip.as_ref().map(|_| "<redacted>"))
            .field("created_at", &self.created_at)
            .field("status", &self.status)
            .field("by_author", &self.by_author)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

/// What the constructor changed to make a source's comment storable; the
/// import report counts these.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Adjustments {
    /// The address was not valid: imported without one.
    pub email_dropped: bool,
    /// The website was not an http(s) address: imported without one.
    pub website_dropped: bool,
    /// No name: shown as [`ANONYMOUS`](crate::domain::input::ANONYMOUS).
    pub anonymous: bool,
}

/// An imported comment ready to store, with its duplicate fingerprints.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The comment as it will be stored.
    pub comment: Comment,
    /// Its fingerprints.
    pub prints: Fingerprints,
    /// What was changed to store it.
    pub adjusted: Adjustments,
}

/// What storing an imported comment did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// It is stored now (or, in a dry run, would be).
    New,
    /// A comment with its id was stored already: nothing changed.
    AlreadyPresent,
}

impl Moderator {
    /// The one constructor of a comment imported from another system: the
    /// same sanitizer and paragraphs as a new comment, the email sealed
    /// and keyed as for a new comment (none is allowed), the address
    /// truncated, times, status, thread and origin kept.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the fields that cannot be stored (the
    /// page, an empty or oversized text), never quoting a private value;
    /// [`Error::Privacy`] when the email cannot be sealed.
    pub fn prepare_import(&self, input: ImportedComment) -> Result<Prepared, Error> {
        let mut fields = FieldErrors::new();
        let page = PageId::parse(&input.page)
            .map_err(|e| fields.insert("page", e))
            .ok();
        let text = CommentText::imported(&input.content)
            .map_err(|e| fields.insert("text", e))
            .ok();
        let (Some(page), Some(text)) = (page, text) else {
            return Err(Error::Invalid { fields });
        };
        let mut adjusted = Adjustments::default();
        let author = AuthorName::imported(&input.author);
        adjusted.anonymous = input.author.trim().is_empty();
        let email = match input.email.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(raw) => {
                let parsed = EmailAddress::parse(raw).ok();
                adjusted.email_dropped = parsed.is_none();
                parsed
            }
        };
        let url = match input.website.as_deref().map(Website::parse) {
            None | Some(Ok(None)) => None,
            Some(Ok(Some(url))) => Some(String::from(url)),
            Some(Err(_)) => {
                adjusted.website_dropped = true;
                None
            }
        };
        let identity = self.imported_identity(
            input.by_author,
            email.as_ref().map(EmailAddress::as_str),
            author.as_str(),
        )?;
        let prints = self.import_prints(identity.key, &page, &text, input.by_author, input.parent);
        let comment = Comment {
            id: input.id,
            page: page.as_str().to_owned(),
            parent: input.parent,
            html: self.sanitizer.clean(text.as_str()),
            text: text.into(),
            author: author.into(),
            url,
            email_sealed: identity.sealed,
            email_hash: identity.key.0,
            avatar: identity.avatar,
            ip: input
                .ip
                .as_deref()
                .and_then(|ip| ip.trim().parse::<IpAddr>().ok())
                .map(|ip| truncate_ip(ip).to_string()),
            user_agent: input.user_agent,
            status: input.status,
            score: 0,
            hits: Vec::new(),
            action: None,
            created_at: input.created_at,
            updated_at: input.created_at,
            by_author: input.by_author,
            decisions: Vec::new(),
            edit: None,
            deleted: false,
            notify: Default::default(),
            origin: Some(input.origin),
        };
        Ok(Prepared {
            comment,
            prints,
            adjusted,
        })
    }

    /// Stores prepared imports unless their id is stored already (one
    /// transaction where the store can); a dry run only looks. Does not
    /// wait for durability: call [`Moderator::finish_import`] after the
    /// last batch.
    ///
    /// # Errors
    /// A fault of the store.
    pub async fn store_import(
        &self,
        batch: &[&Prepared],
        dry_run: bool,
    ) -> Result<Vec<Stored>, Error> {
        let new = if dry_run {
            let mut new = Vec::with_capacity(batch.len());
            for prepared in batch {
                new.push(self.store.get(prepared.comment.id).await?.is_none());
            }
            new
        } else {
            let pairs: Vec<_> = batch.iter().map(|p| (&p.comment, &p.prints)).collect();
            self.store.import_batch(&pairs).await?
        };
        Ok(new
            .into_iter()
            .map(|new| {
                if new {
                    Stored::New
                } else {
                    Stored::AlreadyPresent
                }
            })
            .collect())
    }

    /// Waits until every imported comment is durable.
    ///
    /// # Errors
    /// A fault of the store.
    pub async fn finish_import(&self) -> Result<(), Error> {
        Ok(self.store.flush().await?)
    }

    /// The fingerprints of an imported comment, as its path in would have
    /// made them: a reader's text, or for the author's reply the reply's
    /// own (so `moderato check` finds what it recomputes with
    /// [`fingerprint::of_stored`]).
    pub(super) fn import_prints(
        &self,
        key: EmailKey,
        page: &PageId,
        text: &CommentText,
        by_author: bool,
        parent: Option<CommentId>,
    ) -> Fingerprints {
        let mut prints =
            fingerprint::of_reader_text(&self.privacy, key, page.as_str(), text.as_str());
        if let (true, Some(parent)) = (by_author, parent) {
            prints.commenter_text =
                fingerprint::of_author_reply(&self.privacy, parent, text.as_str());
        }
        prints
    }

    /// The identity of an imported comment's writer: the author's for the
    /// author's own comments, the reader's address when there is one, else
    /// one made from the name ([`NO_EMAIL_IDENTITY`]), which seals nothing.
    pub(super) fn imported_identity(
        &self,
        by_author: bool,
        email: Option<&str>,
        author: &str,
    ) -> Result<Identity, Error> {
        if by_author {
            return self.identity(None);
        }
        match email {
            Some(email) => self.identity(Some(email)),
            None => {
                let key = self
                    .privacy
                    .email_key(&format!("{NO_EMAIL_IDENTITY}{}", author.to_lowercase()));
                Ok(Identity {
                    sealed: Vec::new(),
                    key,
                    avatar: self.privacy.avatar(key),
                })
            }
        }
    }
}

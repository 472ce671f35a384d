//! The author's replies: public at once, marked as the author's, stored
//! under their parent in the transaction that checks (and, for a pending
//! parent, approves) it.

use super::{Error, Identity, Moderator, fingerprint};
use crate::domain::comment::{Comment, CommentId, Status, now_millis};
use crate::domain::input::CommentText;
use crate::domain::ports::StoreError;

impl Moderator {
    /// Stores the author's reply to `parent_id` and returns `(reply,
    /// parent)` as stored: approved on the parent's page, `by_author`, under
    /// the configured author name, without an email. A pending parent is
    /// approved by the same transaction (WordPress's "Approve and Reply").
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown parent; [`Error::Invalid`] for a
    /// text that is not a comment (`comment`) or a parent that is rejected,
    /// spam or on another page (`parent`); [`Error::Duplicate`] for the same
    /// reply twice; or a fault.
    pub async fn reply(
        &self,
        parent_id: CommentId,
        text: &str,
    ) -> Result<(Comment, Comment), Error> {
        let text = CommentText::parse(text).map_err(|message| Error::field("comment", message))?;
        let parent = self.store.get(parent_id).await?.ok_or(Error::NotFound)?;
        let reply = self.author_reply(&parent, text, self.identity(None)?);
        let print = fingerprint::of_author_reply(&self.privacy, parent_id, &reply.text);
        // Readers above hear of the reply; a pending parent it approves is
        // an approval too.
        let mut jobs = self
            .subscriptions
            .jobs_for_approval(&parent, reply.created_at)
            .await?;
        jobs.extend(
            self.subscriptions
                .jobs_for_new(&reply, reply.created_at)
                .await?,
        );
        let jobs = self.room_for(jobs).await?;
        let parent = match self.store.insert_reply(&reply, print, &jobs).await {
            Ok(parent) => parent,
            Err(StoreError::ParentNotFound) => return Err(Error::NotFound),
            Err(StoreError::ParentClosed(status)) => {
                return Err(Error::field(
                    "parent",
                    format!("This comment is marked {status}: approve it before replying."),
                ));
            }
            Err(StoreError::InvalidParent) => {
                return Err(Error::field(
                    "parent",
                    "This comment moved to another page.",
                ));
            }
            Err(e) => return Err(e.into()),
        };
        if !jobs.is_empty() {
            self.notifications.jobs_queued();
        }
        tracing::info!(comment_id = %reply.id, parent_id = %parent_id, "author replied");
        Ok((reply, parent))
    }

    /// The one constructor of an author's reply.
    fn author_reply(&self, parent: &Comment, text: CommentText, identity: Identity) -> Comment {
        let now = now_millis();
        Comment {
            id: self.new_id(),
            page: parent.page.clone(),
            parent: Some(parent.id),
            author: self.settings.author_name.to_string(),
            url: None,
            html: self.sanitizer.clean(text.as_str()),
            text: text.into(),
            email_sealed: identity.sealed,
            email_hash: identity.key.0,
            avatar: identity.avatar,
            ip: None,
            user_agent: None,
            status: Status::Approved,
            score: 0,
            hits: Vec::new(),
            action: None,
            created_at: now,
            updated_at: now,
            by_author: true,
            decisions: Vec::new(),
            edit: None,
            deleted: false,
            notify: Default::default(),
            origin: None,
        }
    }
}

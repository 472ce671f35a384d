//! The writer's own changes within the edit window: an edit re-runs
//! validation, the sanitizer and the spam rules; a deletion removes the
//! comment, or empties it into a "deleted" placeholder when replies hang
//! under it. Both need the edit token handed out in the 201 answer.
//!
//! The edited comment keeps the verdict of what only its posting could
//! show (the rules that need the request: honeypot, form token, history,
//! duplicates, client address) and gets the text rules' verdict of its new
//! words. An approved comment whose new verdict is worse than the one it
//! was approved under goes back to the queue; a spam verdict files it as
//! spam, as at intake. Every edit is recorded in the audit trail.

use super::{DELETED_IDENTITY, Error, Moderator, fingerprint};
use crate::domain::comment::{Comment, CommentId, EditGrant, Notify, Status, Via, now_millis};
use crate::domain::input::{CommentEdit, Fields};
use crate::domain::ports::{Rewrite, StoreError};
use crate::domain::rules::{Action, Hit, Subject};

/// How often a change is tried again when the comment changed under it
/// (an author's decision racing with the writer's edit).
const ATTEMPTS: usize = 3;

/// An edited comment, and what the writer may learn of it.
#[derive(Debug, Clone)]
pub struct Edited {
    /// The comment as stored now.
    pub comment: Comment,
    /// `pending` or `approved`: never `spam`, as at intake.
    pub public_status: Status,
}

impl Moderator {
    /// A new edit token and the grant stored with the comment, valid for
    /// the edit window from `now`; none when editing is off.
    pub(super) fn edit_grant(
        &self,
        now: i64,
    ) -> Result<(Option<String>, Option<EditGrant>), Error> {
        let window = self.settings.edit_window;
        if window.is_zero() {
            return Ok((None, None));
        }
        let issued = self
            .edit_tokens
            .issue()
            .map_err(|e| crate::domain::privacy::Error::Random(e.to_string()))?;
        let until = now.saturating_add(i64::try_from(window.as_millis()).unwrap_or(i64::MAX));
        Ok((
            Some(issued.token),
            Some(EditGrant {
                token_hash: issued.hash,
                until,
            }),
        ))
    }

    /// Replaces the text (and the name and website, when sent) of comment
    /// `id` for the writer holding `token`; returns once durable.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown id; [`Error::Forbidden`] for a
    /// wrong or expired token (or editing off), checked before the fields;
    /// [`Error::Invalid`] naming every invalid field; [`Error::Duplicate`]
    /// when the commenter has the new text on this page already; a fault.
    pub async fn edit(&self, id: CommentId, token: &str, fields: &Fields) -> Result<Edited, Error> {
        for _ in 0..ATTEMPTS {
            let before = self.writable(id, token).await?;
            let changes = CommentEdit::parse(fields).map_err(|fields| Error::Invalid { fields })?;
            let after = self.edited(&before, changes);
            let prints = fingerprint::of_reader_text(
                &self.privacy,
                after.email_key(),
                &after.page,
                &after.text,
            );
            let old_print = fingerprint::of_stored(&self.privacy, &before);
            let change = Rewrite::Edit {
                after: &after,
                prints: &prints,
            };
            // Back in the queue (or filed as spam): the author hears of it as
            // of a new comment.
            let jobs = if after.status == before.status {
                Vec::new()
            } else {
                self.room_for(self.settings.notices.for_new_comment(
                    id,
                    after.status,
                    after.updated_at,
                ))
                .await?
            };
            match self.store.rewrite(&before, old_print, change, &jobs).await {
                Ok(()) => {}
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
            if !jobs.is_empty() {
                self.notifications.jobs_queued();
            }
            tracing::info!(comment_id = %id, from = %before.status, to = %after.status, score = after.score, "edited by its writer");
            let public_status = match after.status {
                Status::Approved => Status::Approved,
                _ => Status::Pending,
            };
            return Ok(Edited {
                comment: after,
                public_status,
            });
        }
        Err(Error::Store(StoreError::Conflict))
    }

    /// Deletes comment `id` for the writer holding `token`: gone, or, when
    /// replies hang under it, emptied into a "deleted" placeholder without
    /// name, text or address. Returns once durable.
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::Forbidden`], or a fault.
    pub async fn withdraw(&self, id: CommentId, token: &str) -> Result<(), Error> {
        for _ in 0..ATTEMPTS {
            let before = self.writable(id, token).await?;
            let old_print = fingerprint::of_stored(&self.privacy, &before);
            let placeholder;
            let change = if self.store.has_replies(&before.page, id).await? {
                placeholder = self.placeholder(&before);
                Rewrite::Placeholder(&placeholder)
            } else {
                Rewrite::Remove
            };
            match self.store.rewrite(&before, old_print, change, &[]).await {
                Ok(()) => {
                    tracing::info!(comment_id = %id, placeholder = matches!(change, Rewrite::Placeholder(_)), "deleted by its writer");
                    return Ok(());
                }
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Store(StoreError::Conflict))
    }

    /// The comment, if `token` may change it now.
    async fn writable(&self, id: CommentId, token: &str) -> Result<Comment, Error> {
        let comment = self.store.get(id).await?.ok_or(Error::NotFound)?;
        let allowed = !self.settings.edit_window.is_zero()
            && comment.edit.as_ref().is_some_and(|grant| {
                now_millis() <= grant.until && self.edit_tokens.matches(token, &grant.token_hash)
            });
        if allowed {
            Ok(comment)
        } else {
            Err(Error::Forbidden)
        }
    }

    /// `before` with the writer's changes, sanitized and judged again.
    fn edited(&self, before: &Comment, changes: CommentEdit) -> Comment {
        let mut after = before.clone();
        if let Some(author) = changes.author {
            after.author = author.into();
        }
        if let Some(url) = changes.url {
            after.url = url.map(String::from);
        }
        after.html = self.sanitizer.clean(changes.text.as_str());
        after.text = changes.text.into();

        let rules = self.rules();
        let email = self
            .privacy
            .decrypt_email(&before.email_sealed)
            .unwrap_or_default();
        let text_verdict = rules.evaluate(&Subject {
            author: &after.author,
            email: &email,
            url: after.url.as_deref().unwrap_or(""),
            comment: &after.text,
            page: &after.page,
            request: None,
        });
        // What the posting's request showed still holds; the text rules
        // speak again.
        let request_rules = rules.request_rules();
        let mut hits: Vec<Hit> = before
            .hits
            .iter()
            .filter(|hit| request_rules.contains(&hit.rule.as_str()))
            .cloned()
            .collect();
        hits.extend(text_verdict.hits);
        after.score = hits.iter().map(|hit| hit.score).sum();
        after.hits = hits;
        let action = rules.action_for(after.score);
        after.action = Some(action);
        let status = status_after_edit(
            before.status,
            before.action.unwrap_or(Action::Accept),
            action,
        );
        after.record_writer_change(status, now_millis(), Via::Edit);
        after
    }

    /// `before` emptied: no name, text, website, address or edit token
    /// left, only its place in the thread.
    fn placeholder(&self, before: &Comment) -> Comment {
        let key = self.privacy.email_key(DELETED_IDENTITY);
        let mut placeholder = before.clone();
        placeholder.author = String::new();
        placeholder.url = None;
        placeholder.text = String::new();
        placeholder.html = String::new();
        placeholder.email_sealed = Vec::new();
        placeholder.email_hash = key.0;
        placeholder.avatar = String::new();
        placeholder.ip = None;
        placeholder.user_agent = None;
        placeholder.hits = Vec::new();
        placeholder.edit = None;
        placeholder.notify = Notify::default();
        placeholder.deleted = true;
        placeholder.record_writer_change(before.status, now_millis(), Via::WriterDelete);
        placeholder
    }
}

/// Where an edited comment goes. Rejected and spam comments stay where the
/// author (or the rules) put them; a spam verdict files any other as spam;
/// an approved comment whose verdict got worse than the one it was approved
/// under waits for the author again.
pub fn status_after_edit(current: Status, before: Action, after: Action) -> Status {
    match current {
        Status::Rejected | Status::Spam => current,
        _ if after == Action::Spam => Status::Spam,
        Status::Approved if rank(after) > rank(before) => Status::Pending,
        other => other,
    }
}

fn rank(action: Action) -> u8 {
    match action {
        Action::Accept => 0,
        Action::Hold => 1,
        Action::Spam => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_worse_verdict_sends_an_approved_comment_back() {
        use Action::{Accept, Hold};
        use Status::{Approved, Pending, Rejected};
        let cases = [
            (Approved, Accept, Accept, Approved),
            (Approved, Hold, Hold, Approved),
            (Approved, Hold, Accept, Approved),
            (Approved, Accept, Hold, Pending),
            (Approved, Accept, Action::Spam, Status::Spam),
            (Pending, Accept, Hold, Pending),
            (Pending, Hold, Accept, Pending),
            (Pending, Accept, Action::Spam, Status::Spam),
            (Rejected, Accept, Action::Spam, Rejected),
            (Status::Spam, Action::Spam, Accept, Status::Spam),
        ];
        for (current, before, after, expected) in cases {
            assert_eq!(
                status_after_edit(current, before, after),
                expected,
                "{current} {before:?} -> {after:?}"
            );
        }
    }
}

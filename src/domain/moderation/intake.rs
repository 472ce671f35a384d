//! A reader's comment arriving: validate, score with the spam rules,
//! sanitize, protect the email, store durably, notify. The HTTP handler and
//! the benchmarks both call [`Moderator::submit`], so what is measured is
//! what runs.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use super::{Error, Identity, ModerationMode, Moderator, fingerprint};
use crate::domain::comment::{Comment, Notify, Status, now_millis};
use crate::domain::input::{FieldValue, Fields, NewComment};
use crate::domain::learn::{self, email_domain};
use crate::domain::ports::StoreError;
use crate::domain::privacy::truncate_ip;
use crate::domain::rules::{Action, History, RequestFacts, Subject, Verdict};

/// Longest user agent kept, in bytes.
pub const MAX_USER_AGENT_BYTES: usize = 512;

/// Name of the form field that carries the signed form token.
pub const FORM_TOKEN_FIELD: &str = "form_token";

/// How long a commenter is asked to wait when the queue is full.
pub const QUEUE_FULL_RETRY: Duration = Duration::from_secs(600);

/// What the server knows of the client besides the body.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    /// The client's address (already resolved through trusted proxies).
    pub ip: Option<IpAddr>,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
}

/// A stored comment, and what the client may learn of it.
#[derive(Debug, Clone)]
pub struct Received {
    /// The comment as stored.
    pub comment: Comment,
    /// `pending` or `approved`: never `spam`, so spammers learn nothing.
    pub public_status: Status,
    /// The writer's edit token, handed out here once (only its keyed hash
    /// is stored); `None` when editing is off.
    pub edit_token: Option<String>,
}

impl Moderator {
    /// Validates, scores, sanitizes and stores one comment; returns once it
    /// is durable.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming every invalid field (including a parent
    /// that is not an approved comment of the page), [`Error::Duplicate`],
    /// [`Error::QueueFull`], or a fault.
    pub async fn submit(&self, fields: &Fields, client: &ClientInfo) -> Result<Received, Error> {
        let new = NewComment::parse(fields).map_err(|fields| Error::Invalid { fields })?;
        let identity = self.identity(Some(new.email.as_str()))?;
        let history = self.store.history(identity.key).await?;

        // The queue cap protects the author's inbox and the disk; readers the
        // author already trusts still get through.
        if history.approved == 0
            && self.store.status_count(Status::Pending) >= self.settings.max_pending
        {
            return Err(Error::QueueFull {
                retry_after: QUEUE_FULL_RETRY,
            });
        }

        let prints = fingerprint::of_reader_text(
            &self.privacy,
            identity.key,
            new.page.as_str(),
            new.text.as_str(),
        );
        let now = now_millis();
        let last_seen_same_text = self
            .store
            .text_last_seen(&prints.text)
            .await?
            .map(|then| Duration::from_millis(u64::try_from(now - then).unwrap_or(0)));
        let text_fields: BTreeMap<String, String> = fields
            .iter()
            .filter_map(|(name, value)| match value {
                FieldValue::Text(text) => Some((name.clone(), text.clone())),
                _ => None,
            })
            .collect();
        let form_token = self.form_tokens.verify(
            text_fields.get(FORM_TOKEN_FIELD).map(String::as_str),
            new.page.as_str(),
            SystemTime::now(),
        );
        let rules = self.rules();
        let url = new.url.as_ref().map_or("", |u| u.as_str());
        let mut verdict = rules.evaluate(&Subject {
            author: new.author.as_str(),
            email: new.email.as_str(),
            url,
            comment: new.text.as_str(),
            page: new.page.as_str(),
            request: Some(RequestFacts {
                ip: client.ip,
                fields: &text_fields,
                form_token,
                history,
                last_seen_same_text,
            }),
        });
        // The email's domain is a feature; it is taken here, before the
        // email exists only sealed.
        let domain = email_domain(new.email.as_str()).unwrap_or_default();
        let learned = learn::Comment {
            author: new.author.as_str(),
            email_domain: &domain,
            url,
            text: new.text.as_str(),
        };
        self.add_learned_verdict(&rules, &mut verdict, &learned)
            .await;
        let status = status_for(self.settings.mode, verdict.action, history);
        let (edit_token, edit) = self.edit_grant(now)?;
        let notify = new.notify;
        let mut comment = self.reader_comment(new, identity, client, verdict, status, now);
        comment.edit = edit;
        // The boxes are honoured only where readers' mail is set up (the
        // embed does not show them otherwise).
        if self.settings.readers.enabled {
            comment.notify = notify;
        }
        let mut jobs = self
            .settings
            .notices
            .for_new_comment(comment.id, comment.status, now);
        jobs.extend(self.subscriptions.jobs_for_new(&comment, now).await?);
        let jobs = self.room_for(jobs).await?;

        match self.store.insert(&comment, &prints, &jobs).await {
            Ok(()) => {}
            Err(StoreError::InvalidParent) => {
                return Err(Error::field(
                    "parent",
                    "The comment you reply to is not available.",
                ));
            }
            Err(e) => return Err(e.into()),
        }
        if !jobs.is_empty() {
            // The jobs are stored; the reader's answer does not wait for mail.
            self.notifications.jobs_queued();
        }
        tracing::info!(
            comment_id = %comment.id,
            status = %comment.status,
            score = comment.score,
            "comment received"
        );
        let public_status = match comment.status {
            Status::Approved => Status::Approved,
            _ => Status::Pending,
        };
        Ok(Received {
            comment,
            public_status,
            edit_token,
        })
    }

    /// The one constructor of a reader's comment.
    fn reader_comment(
        &self,
        new: NewComment,
        identity: Identity,
        client: &ClientInfo,
        verdict: Verdict,
        status: Status,
        now: i64,
    ) -> Comment {
        Comment {
            id: self.new_id(),
            page: new.page.as_str().to_owned(),
            parent: new.parent,
            html: self.sanitizer.clean(new.text.as_str()),
            text: new.text.into(),
            author: new.author.into(),
            url: new.url.map(String::from),
            email_sealed: identity.sealed,
            email_hash: identity.key.0,
            avatar: identity.avatar,
            ip: client.ip.map(|ip| truncate_ip(ip).to_string()),
            user_agent: client.user_agent.as_deref().map(truncate_user_agent),
            status,
            score: verdict.score,
            hits: verdict.hits,
            action: Some(verdict.action),
            created_at: now,
            updated_at: now,
            by_author: false,
            decisions: Vec::new(),
            edit: None,
            deleted: false,
            notify: Notify::default(),
            origin: None,
        }
    }
}

/// Where a comment goes, from the moderation mode, the rules' action and
/// the commenter's history. Spam is spam in every mode; only `accept` can
/// go live, and in `first-time` mode only for a reader approved before.
pub fn status_for(mode: ModerationMode, action: Action, history: History) -> Status {
    match (action, mode) {
        (Action::Spam, _) => Status::Spam,
        (Action::Hold, _) | (Action::Accept, ModerationMode::All) => Status::Pending,
        (Action::Accept, ModerationMode::Rules) => Status::Approved,
        (Action::Accept, ModerationMode::FirstTime) if history.approved > 0 => Status::Approved,
        (Action::Accept, ModerationMode::FirstTime) => Status::Pending,
    }
}

/// Cuts to at most [`MAX_USER_AGENT_BYTES`] on a character boundary.
fn truncate_user_agent(agent: &str) -> String {
    let mut end = agent.len().min(MAX_USER_AGENT_BYTES);
    while !agent.is_char_boundary(end) {
        end -= 1;
    }
    agent[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moderation_modes_decide_what_goes_live() {
        use ModerationMode::*;
        let new = History::default();
        let known = History {
            approved: 1,
            spam: 0,
        };
        let cases = [
            (All, Action::Accept, known, Status::Pending),
            (All, Action::Spam, new, Status::Spam),
            (FirstTime, Action::Accept, new, Status::Pending),
            (FirstTime, Action::Accept, known, Status::Approved),
            (FirstTime, Action::Hold, known, Status::Pending),
            (FirstTime, Action::Spam, known, Status::Spam),
            (Rules, Action::Accept, new, Status::Approved),
            (Rules, Action::Hold, new, Status::Pending),
            (Rules, Action::Spam, new, Status::Spam),
        ];
        for (mode, action, history, expected) in cases {
            assert_eq!(
                status_for(mode, action, history),
                expected,
                "{mode:?} {action:?} {history:?}"
            );
        }
    }

    #[test]
    fn user_agents_are_cut_on_a_character_boundary() {
        let long = "é".repeat(400);
        let cut = truncate_user_agent(&long);
        assert!(cut.len() <= MAX_USER_AGENT_BYTES);
        assert_eq!(cut.len(), 512);
        assert_eq!(truncate_user_agent("curl/8"), "curl/8");
    }
}

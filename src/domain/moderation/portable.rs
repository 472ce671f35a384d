//! moderato's own export format, one JSON object per comment (NDJSON): the
//! lossless backup, and the way a blog moves between instances. Readers'
//! records (their confirmed or pending mail address) follow the comments,
//! one line each, marked `"record": "subscriber"`.
//!
//! A line is the stored comment with the email decrypted into `email` and
//! the instance-bound fields (`email_sealed`, `email_hash`, `avatar`, the
//! edit grant) left out: an import recomputes them with its own key, and
//! makes the HTML again from the text rather than trusting the file. Fields
//! the model gains later travel through untouched. A comment's line becomes
//! a [`Prepared`] import and is stored by [`Moderator::store_import`], as a
//! comment of another system is; a reader's line is stored by
//! [`Moderator::store_reader`].

use serde_json::{Map, Value};

use super::import::{Adjustments, Prepared};
use super::{DELETED_IDENTITY, Error, Identity, Moderator};
use crate::domain::comment::{Comment, PageId};
use crate::domain::input::{CommentText, EmailAddress};
use crate::domain::ports::StoreError;
use crate::domain::subscription::Subscriber;

/// The `record` of a reader's line (a comment's line has none).
pub const SUBSCRIBER_RECORD: &str = "subscriber";

/// Fields of a stored comment that only make sense with this instance's key
/// (the edit grant is a keyed hash too, and short-lived).
const INSTANCE_FIELDS: [&str; 4] = ["email_sealed", "email_hash", "avatar", "edit"];

/// One line of an export file, read and sealed with this instance's key.
#[derive(Debug)]
pub enum PreparedLine {
    /// A comment.
    Comment(Box<Prepared>),
    /// A reader's mail address record.
    Reader(Box<Subscriber>),
}

impl Moderator {
    /// The export line of `comment`, newline included.
    ///
    /// # Errors
    /// When the comment cannot be encoded (a bug, not an input).
    pub fn export_line(&self, comment: &Comment) -> Result<Vec<u8>, serde_json::Error> {
        let Value::Object(mut fields) = serde_json::to_value(comment)? else {
            return Err(serde::ser::Error::custom("a comment is not a JSON object"));
        };
        for name in INSTANCE_FIELDS {
            fields.remove(name);
        }
        let email = if !comment.has_email() {
            // The author's replies and "deleted" placeholders have no email.
            Value::Null
        } else {
            match self.privacy.decrypt_email(&comment.email_sealed) {
                Ok(email) => Value::String(email),
                Err(e) => {
                    tracing::error!(comment_id = %comment.id, error = %e, "export: email cannot be decrypted");
                    Value::Null
                }
            }
        };
        fields.insert("email".into(), email);
        let mut line = serde_json::to_vec(&fields)?;
        line.push(b'\n');
        Ok(line)
    }

    /// The export line of a reader's record (after every comment): the
    /// decrypted address and whether (and when) it was confirmed, so a
    /// confirmed reader need not confirm again on another instance. `None`
    /// when the address cannot be decrypted (logged, without it).
    ///
    /// # Errors
    /// When the line cannot be encoded (a bug, not an input).
    pub fn export_subscriber_line(
        &self,
        record: &Subscriber,
    ) -> Result<Option<Vec<u8>>, serde_json::Error> {
        let Ok(email) = self.privacy.decrypt_email(&record.email_sealed) else {
            tracing::error!("export: a reader's address cannot be decrypted");
            return Ok(None);
        };
        let mut line = serde_json::to_vec(&serde_json::json!({
            "record": SUBSCRIBER_RECORD,
            "email": email,
            "requested_at": record.requested_at,
            "confirmed_at": record.confirmed_at,
        }))?;
        line.push(b'\n');
        Ok(Some(line))
    }

    /// Reads one export line: a comment ready to store (id, status, times
    /// and origin kept), sealed with this instance's key and its HTML made
    /// again from its text, or a reader's record. A comment line without an
    /// email is a comment without one (the author's replies, "deleted"
    /// placeholders, imports from Disqus).
    ///
    /// # Errors
    /// `Err(message)` saying what is wrong with the line, never quoting the
    /// email.
    pub fn prepare_line(&self, raw: &[u8]) -> Result<PreparedLine, String> {
        let value: Value =
            serde_json::from_slice(raw).map_err(|e| format!("not valid JSON: {e}"))?;
        let Value::Object(fields) = value else {
            return Err("expected a JSON object".into());
        };
        match fields.get("record") {
            None => Ok(PreparedLine::Comment(Box::new(
                self.prepare_comment(fields)?,
            ))),
            Some(Value::String(record)) if record == SUBSCRIBER_RECORD => Ok(PreparedLine::Reader(
                Box::new(self.prepare_reader(&fields)?),
            )),
            Some(_) => Err(format!("record: expected {SUBSCRIBER_RECORD:?} or none")),
        }
    }

    /// Stores an exported reader's record unless one exists for the address
    /// (an import never overwrites what a reader did here). Whether it was
    /// stored.
    ///
    /// # Errors
    /// A fault of the store.
    pub async fn store_reader(&self, record: &Subscriber, dry_run: bool) -> Result<bool, Error> {
        if self.store.subscriber(record.email_key()).await?.is_some() {
            return Ok(false);
        }
        if dry_run {
            return Ok(true);
        }
        match self.store.put_subscriber(None, Some(record), &[]).await {
            Ok(()) => Ok(true),
            // Written by someone else meanwhile: theirs stands.
            Err(StoreError::Conflict) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    fn prepare_comment(&self, mut fields: Map<String, Value>) -> Result<Prepared, String> {
        let by_author = matches!(fields.get("by_author"), Some(Value::Bool(true)));
        let deleted = matches!(fields.get("deleted"), Some(Value::Bool(true)));
        let email = match fields.remove("email") {
            Some(Value::String(email)) if !by_author && !deleted => {
                Some(EmailAddress::parse(&email).map_err(|e| format!("email: {e}"))?)
            }
            _ => None,
        };
        for name in INSTANCE_FIELDS {
            fields.remove(name);
        }
        let page = match fields.get("page") {
            Some(Value::String(page)) => PageId::parse(page).map_err(|e| format!("page: {e}"))?,
            _ => return Err("page: missing".into()),
        };
        let text = match fields.get("text") {
            // A placeholder keeps no text.
            _ if deleted => None,
            Some(Value::String(text)) => {
                Some(CommentText::imported(text).map_err(|e| format!("text: {e}"))?)
            }
            _ => return Err("text: missing".into()),
        };
        let author = match fields.get("author") {
            Some(Value::String(author)) => author.clone(),
            _ => return Err("author: missing".into()),
        };
        let (identity, prints, html, text) = match text {
            Some(text) => {
                let identity = self
                    .imported_identity(by_author, email.as_ref().map(EmailAddress::as_str), &author)
                    .map_err(|e| format!("email: {e}"))?;
                let parent = match fields.get("parent") {
                    Some(Value::String(id)) => id.parse().ok(),
                    _ => None,
                };
                let prints = self.import_prints(identity.key, &page, &text, by_author, parent);
                let html = self.sanitizer.clean(text.as_str());
                (identity, prints, html, String::from(text))
            }
            None => {
                // As the writer's delete left it: no name, text or address.
                let key = self.privacy.email_key(DELETED_IDENTITY);
                let identity = Identity {
                    sealed: Vec::new(),
                    key,
                    avatar: String::new(),
                };
                let prints =
                    super::fingerprint::of_reader_text(&self.privacy, key, page.as_str(), "");
                (identity, prints, String::new(), String::new())
            }
        };
        let instance: Map<String, Value> = [
            ("email_sealed", Value::String(hex::encode(identity.sealed))),
            ("email_hash", Value::String(identity.key.to_hex())),
            ("avatar", Value::String(identity.avatar)),
            ("html", Value::String(html)),
            ("page", Value::String(page.as_str().to_owned())),
            ("text", Value::String(text)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        fields.extend(instance);
        let comment: Comment =
            serde_json::from_value(Value::Object(fields)).map_err(|e| e.to_string())?;
        Ok(Prepared {
            comment,
            prints,
            adjusted: Adjustments::default(),
        })
    }

    /// A reader's record from its export line, sealed with this instance's
    /// key; nothing pending carried over (no queued digest, no mail count).
    fn prepare_reader(&self, fields: &Map<String, Value>) -> Result<Subscriber, String> {
        let email = match fields.get("email") {
            Some(Value::String(email)) => {
                EmailAddress::parse(email).map_err(|e| format!("email: {e}"))?
            }
            _ => return Err("email: missing".into()),
        };
        let requested_at = fields
            .get("requested_at")
            .and_then(Value::as_i64)
            .ok_or("requested_at: missing")?;
        let confirmed_at = match fields.get("confirmed_at") {
            None | Some(Value::Null) => None,
            Some(value) => Some(value.as_i64().ok_or("confirmed_at: not a time")?),
        };
        let identity = self
            .identity(Some(email.as_str()))
            .map_err(|e| format!("email: {e}"))?;
        Ok(Subscriber {
            key: identity.key.0,
            email_sealed: identity.sealed,
            requested_at,
            confirmed_at,
            confirmation_sent_at: None,
            confirmation_job: None,
            queued: Vec::new(),
            digest_scheduled: false,
            mail_day: 0,
            mails_that_day: 0,
        })
    }
}

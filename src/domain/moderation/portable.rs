//! moderato's own export format, one JSON object per comment (NDJSON): the
//! lossless backup, and the way a blog moves between instances. Readers'
//! records follow the comments, one line each, marked
//! `"record": "subscriber"`.
//!
//! A line is the stored comment with the email decrypted into `email` and
//! the instance-bound fields (`email_sealed`, `email_hash`, `avatar`) left
//! out: an import recomputes them with its own key, and makes the HTML again
//! from the text rather than trusting the file. Fields the model gains later
//! travel through untouched.

use serde_json::{Map, Value};

use super::{Error, Moderator, fingerprint};
use crate::domain::comment::{Comment, PageId};
use crate::domain::input::{CommentText, EmailAddress};
use crate::domain::subscription::Subscriber;

/// The `record` of a reader's line (a comment's line has none).
pub const SUBSCRIBER_RECORD: &str = "subscriber";

/// Fields of a stored comment that only make sense with this instance's key
/// (the edit grant is a keyed hash too, and short-lived).
const INSTANCE_FIELDS: [&str; 4] = ["email_sealed", "email_hash", "avatar", "edit"];

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
            // The author's replies have no email.
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

    /// Stores one export line as it is (id, status and times kept), sealed
    /// with this instance's key. `Ok(false)` when a comment with its id is
    /// stored already. Does not wait for durability: flush after the last.
    ///
    /// # Errors
    /// `Err(message)` saying what is wrong with the line (never quoting the
    /// email), or what failed storing it.
    pub async fn import_line(&self, raw: &[u8]) -> Result<bool, String> {
        if let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(raw)
            && fields.get("record").and_then(Value::as_str) == Some(SUBSCRIBER_RECORD)
        {
            return self.import_subscriber(&fields).await;
        }
        let comment = self.imported(raw)?;
        let prints = fingerprint::of_reader_text(
            &self.privacy,
            comment.email_key(),
            &comment.page,
            &comment.text,
        );
        self.store
            .import(&comment, &prints)
            .await
            .map_err(|e| format!("cannot store: {}", Error::from(e)))
    }

    /// The export line of a reader's record (after every comment): the
    /// decrypted address and whether (and when) it was confirmed, so a
    /// confirmed reader need not confirm again on another instance.
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

    /// Stores an exported reader's record unless one exists for the address.
    async fn import_subscriber(&self, fields: &Map<String, Value>) -> Result<bool, String> {
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
        if self
            .store
            .subscriber(identity.key)
            .await
            .map_err(|e| format!("cannot read: {e}"))?
            .is_some()
        {
            return Ok(false);
        }
        let record = Subscriber {
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
        };
        match self.store.put_subscriber(None, Some(&record), &[]).await {
            Ok(()) => Ok(true),
            Err(crate::domain::ports::StoreError::Conflict) => Ok(false),
            Err(e) => Err(format!("cannot store: {e}")),
        }
    }

    /// The one constructor of an imported comment.
    fn imported(&self, raw: &[u8]) -> Result<Comment, String> {
        let value: Value =
            serde_json::from_slice(raw).map_err(|e| format!("not valid JSON: {e}"))?;
        let Value::Object(mut fields) = value else {
            return Err("expected a JSON object".into());
        };
        let by_author = matches!(fields.get("by_author"), Some(Value::Bool(true)));
        let deleted = matches!(fields.get("deleted"), Some(Value::Bool(true)));
        let email = match fields.remove("email") {
            Some(Value::String(email)) if !deleted => {
                Some(EmailAddress::parse(&email).map_err(|e| format!("email: {e}"))?)
            }
            // The author's replies and "deleted" placeholders carry no email.
            _ if by_author || deleted => None,
            _ => return Err("email: missing".into()),
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
            _ if deleted => String::new(),
            Some(Value::String(text)) => CommentText::parse(text)
                .map_err(|e| format!("text: {e}"))?
                .into(),
            _ => return Err("text: missing".into()),
        };
        let identity = if deleted {
            let key = self.privacy.email_key(super::DELETED_IDENTITY);
            super::Identity {
                sealed: Vec::new(),
                key,
                avatar: String::new(),
            }
        } else {
            self.identity(email.as_ref().map(EmailAddress::as_str))
                .map_err(|e| format!("email: {e}"))?
        };
        let instance: Map<String, Value> = [
            ("email_sealed", Value::String(hex::encode(identity.sealed))),
            ("email_hash", Value::String(identity.key.to_hex())),
            ("avatar", Value::String(identity.avatar)),
            ("html", Value::String(self.sanitizer.clean(&text))),
            ("page", Value::String(page.as_str().to_owned())),
            ("text", Value::String(text)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        fields.extend(instance);
        serde_json::from_value(Value::Object(fields)).map_err(|e| e.to_string())
    }
}

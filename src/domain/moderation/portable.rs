//! moderato's own export format, one JSON object per comment (NDJSON): the
//! lossless backup, and the way a blog moves between instances.
//!
//! A line is the stored comment with the email decrypted into `email` and
//! the instance-bound fields (`email_sealed`, `email_hash`, `avatar`) left
//! out: an import recomputes them with its own key, and makes the HTML again
//! from the text rather than trusting the file. Fields the model gains later
//! travel through untouched. A line becomes a [`Prepared`] import and is
//! stored by [`Moderator::store_import`], as a comment of another system is.

use serde_json::{Map, Value};

use super::Moderator;
use super::import::{Adjustments, Prepared};
use crate::domain::comment::{Comment, PageId};
use crate::domain::input::{CommentText, EmailAddress};

/// Fields of a stored comment that only make sense with this instance's key.
const INSTANCE_FIELDS: [&str; 3] = ["email_sealed", "email_hash", "avatar"];

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

    /// Reads one export line into a comment ready to store (id, status,
    /// times and origin kept), sealed with this instance's key and its HTML
    /// made again from its text. A line without an email is a comment
    /// without one (the author's replies, imports from Disqus).
    ///
    /// # Errors
    /// `Err(message)` saying what is wrong with the line, never quoting the
    /// email.
    pub fn prepare_line(&self, raw: &[u8]) -> Result<Prepared, String> {
        let value: Value =
            serde_json::from_slice(raw).map_err(|e| format!("not valid JSON: {e}"))?;
        let Value::Object(mut fields) = value else {
            return Err("expected a JSON object".into());
        };
        let by_author = matches!(fields.get("by_author"), Some(Value::Bool(true)));
        let email = match fields.remove("email") {
            Some(Value::String(email)) if !by_author => {
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
            Some(Value::String(text)) => {
                CommentText::imported(text).map_err(|e| format!("text: {e}"))?
            }
            _ => return Err("text: missing".into()),
        };
        let author = match fields.get("author") {
            Some(Value::String(author)) => author.clone(),
            _ => return Err("author: missing".into()),
        };
        let identity = self
            .imported_identity(by_author, email.as_ref().map(EmailAddress::as_str), &author)
            .map_err(|e| format!("email: {e}"))?;
        let parent = match fields.get("parent") {
            Some(Value::String(id)) => id.parse().ok(),
            _ => None,
        };
        let prints = self.import_prints(identity.key, &page, &text, by_author, parent);
        let instance: Map<String, Value> = [
            ("email_sealed", Value::String(hex::encode(identity.sealed))),
            ("email_hash", Value::String(identity.key.to_hex())),
            ("avatar", Value::String(identity.avatar)),
            ("html", Value::String(self.sanitizer.clean(text.as_str()))),
            ("page", Value::String(page.as_str().to_owned())),
            ("text", Value::String(text.into())),
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
}

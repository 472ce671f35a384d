//! The webhook: a JSON POST per queued comment, signed with
//! `X-Moderato-Signature: sha256=<hex HMAC-SHA256 of the body>` under
//! `webhook_secret`, so the receiver can tell it came from here.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::{Error, Failure};
use crate::config::Config;
use crate::domain::comment::Hit;
use crate::domain::privacy::{Privacy, hmac_sha256};
use crate::domain::{Comment, PublicComment, Status};

/// The signature header.
pub const SIGNATURE_HEADER: &str = "x-moderato-signature";
/// The event header.
pub const EVENT_HEADER: &str = "x-moderato-event";

/// How long one POST may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// What the receiver gets.
#[derive(Debug, Serialize)]
pub struct Payload {
    /// `comment.pending` or `comment.spam`.
    pub event: String,
    /// The comment.
    pub comment: PayloadComment,
}

/// The comment in a payload: the public fields, its page, status and
/// verdict; the reader's email only when `webhook_include_email` is on.
#[derive(Debug, Serialize)]
pub struct PayloadComment {
    /// Public fields.
    #[serde(flatten)]
    pub public: PublicComment,
    /// The thread.
    pub page: String,
    /// Queue status.
    pub status: Status,
    /// Spam score.
    pub score: i32,
    /// Matching rules.
    pub hits: Vec<Hit>,
    /// The reader's address, only when configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// Posts signed payloads to the configured URL.
pub struct Webhook {
    client: reqwest::Client,
    url: String,
    secret: Vec<u8>,
    include_email: bool,
    privacy: Arc<Privacy>,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("url", &self.url)
            .field("include_email", &self.include_email)
            .finish_non_exhaustive()
    }
}

/// `sha256=<hex>` of `body` under `secret`: what the header carries.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    format!("sha256={}", hex::encode(hmac_sha256(secret, &[body])))
}

impl Webhook {
    /// A client for the configured URL.
    ///
    /// # Errors
    /// [`Error::Webhook`] when the HTTP client cannot be built.
    pub fn new(config: &Config, privacy: Arc<Privacy>) -> Result<Webhook, Error> {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("moderato/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Webhook(e.to_string()))?;
        Ok(Webhook {
            client,
            url: config.webhook_url.clone(),
            secret: config.webhook_secret.as_bytes().to_vec(),
            include_email: config.webhook_include_email,
            privacy,
        })
    }

    /// The payload for `comment`, as the event of its reaching `status`.
    pub fn payload(&self, comment: &Comment, status: Status) -> Payload {
        Payload {
            event: format!("comment.{status}"),
            comment: PayloadComment {
                public: PublicComment::from(comment),
                page: comment.page.clone(),
                status: comment.status,
                score: comment.score,
                hits: comment.hits.clone(),
                email: if self.include_email {
                    self.privacy.decrypt_email(&comment.email_sealed).ok()
                } else {
                    None
                },
            },
        }
    }

    /// Posts the payload once. Any 2xx is success; a 4xx other than 408
    /// and 429 will not change by retrying.
    ///
    /// # Errors
    /// A [`Failure`] with the status or the transport error.
    pub async fn send(&self, comment: &Comment, status: Status) -> Result<(), Failure> {
        let payload = self.payload(comment, status);
        let body = serde_json::to_vec(&payload).map_err(|e| Failure {
            message: e.to_string(),
            transient: false,
        })?;
        let response = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature(&self.secret, &body))
            .header(EVENT_HEADER, payload.event.as_str())
            .body(body)
            .send()
            .await
            .map_err(|e| Failure {
                // Without the URL: it may carry a token of the receiver's.
                message: e.without_url().to_string(),
                transient: true,
            })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        Err(Failure {
            message: format!("the receiver answered {status}"),
            transient: status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_hex() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}

//! The notification email: plain text, the comment quoted, the reader's
//! address (for the author only), and three signed decision links.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{Error, Failure};
use crate::config::{Config, SmtpSecurity, parse_mailbox, parse_recipients};
use crate::domain::comment::Hit;
use crate::domain::privacy::{LinkSigner, Privacy};
use crate::domain::{Comment, Decision, Status, format_time};

/// How long one SMTP conversation may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Builds and sends notification emails.
pub struct Mailer {
    pub(super) transport: AsyncSmtpTransport<Tokio1Executor>,
    pub(super) from: Mailbox,
    to: Vec<Mailbox>,
    pub(super) base_url: String,
    pub(super) blog_origin: Option<String>,
    /// Host part of Message-IDs (the public host).
    pub(super) host: String,
    signer: LinkSigner,
    privacy: Arc<Privacy>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.from.to_string())
            .field("to", &self.to.len())
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// A mailer for the configured server, sender and recipients.
    ///
    /// # Errors
    /// [`Error::Mail`] for settings that cannot make a transport.
    pub fn new(
        config: &Config,
        privacy: &Arc<Privacy>,
        signer: LinkSigner,
    ) -> Result<Mailer, Error> {
        let host = config.smtp_host.as_str();
        let tls = match config.smtp_security {
            SmtpSecurity::Starttls => Tls::Required(
                TlsParameters::new(host.to_owned()).map_err(|e| Error::Mail(e.to_string()))?,
            ),
            SmtpSecurity::Tls => Tls::Wrapper(
                TlsParameters::new(host.to_owned()).map_err(|e| Error::Mail(e.to_string()))?,
            ),
            SmtpSecurity::None => Tls::None,
        };
        // Say EHLO with the public host name: some servers refuse "localhost".
        let public_host = url::Url::parse(&config.public_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned));
        let hello = public_host
            .clone()
            .map_or_else(ClientId::default, ClientId::Domain);
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(config.smtp_port)
            .tls(tls)
            .timeout(Some(SMTP_TIMEOUT))
            .hello_name(hello);
        if !config.smtp_user.is_empty() {
            builder = builder.credentials(Credentials::new(
                config.smtp_user.clone(),
                config.smtp_password.clone(),
            ));
        }
        Ok(Mailer {
            transport: builder.build(),
            from: parse_mailbox(&config.smtp_from).map_err(Error::Mail)?,
            to: parse_recipients(&config.smtp_to).map_err(Error::Mail)?,
            base_url: config.public_base_url().to_owned(),
            host: public_host.unwrap_or_else(|| "localhost".into()),
            blog_origin: match config.allowed_origins.as_slice() {
                [one] => Some(one.trim_end_matches('/').to_owned()),
                _ => None,
            },
            signer,
            privacy: privacy.clone(),
        })
    }

    /// Sends the notification for `comment` once.
    ///
    /// # Errors
    /// A [`Failure`]; permanent for a 5xx SMTP reply or a message that
    /// cannot be built.
    pub async fn send(&self, comment: &Comment) -> Result<(), Failure> {
        let message = self
            .message(comment, SystemTime::now())
            .map_err(|e| Failure {
                message: e,
                transient: false,
            })?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| Failure {
                transient: !e.is_permanent(),
                message: e.to_string(),
            })
    }

    /// The email for `comment`, with links signed at `now`.
    ///
    /// # Errors
    /// A message when lettre refuses to build it.
    pub fn message(&self, comment: &Comment, now: SystemTime) -> Result<Message, String> {
        let email = self
            .privacy
            .decrypt_email(&comment.email_sealed)
            .unwrap_or_else(|_| "(cannot be decrypted)".into());
        let spam = comment.status == Status::Spam;
        let subject = format!(
            "{}New comment from {} on {}",
            if spam { "[spam] " } else { "" },
            one_line(&comment.author, 60),
            one_line(&comment.page, 120),
        );
        // One id per comment: a retried send is recognisably the same mail.
        let mut builder = Message::builder()
            .message_id(Some(format!("<{}.notification@{}>", comment.id, self.host)))
            .from(self.from.clone())
            .subject(subject)
            .header(ContentType::TEXT_PLAIN);
        for to in &self.to {
            builder = builder.to(to.clone());
        }
        builder
            .body(self.body(comment, &email, now))
            .map_err(|e| e.to_string())
    }

    fn body(&self, comment: &Comment, email: &str, now: SystemTime) -> String {
        let page = match &self.blog_origin {
            Some(origin) => format!("{origin}{}", comment.page),
            None => comment.page.clone(),
        };
        let hits = if comment.hits.is_empty() {
            String::new()
        } else {
            let list: Vec<String> = comment.hits.iter().map(Hit::describe).collect();
            format!(" ({})", list.join(", "))
        };
        let quoted: String = comment
            .text
            .lines()
            .map(|line| format!("> {line}\n"))
            .collect();
        let mut body = format!(
            "A new comment waits for you.\n\n\
             Page:    {page}\n\
             Author:  {author}\n\
             Email:   {email}\n\
             Website: {website}\n\
             Status:  {status}, score {score}{hits}\n\
             Written: {sent}\n\n\
             {quoted}\n",
            author = one_line(&comment.author, 200),
            website = comment.url.as_deref().unwrap_or("-"),
            status = comment.status,
            score = comment.score,
            sent = format_time(comment.created_at),
        );
        let mut expires = 0;
        for decision in Decision::ALL {
            let link = self.signer.sign(comment.id, decision, now);
            expires = link.expires;
            body.push_str(&format!(
                "{:<14}{}/admin/decide/{}\n",
                format!("{}:", decision.verb()),
                self.base_url,
                link.token
            ));
        }
        body.push_str(&format!(
            "\nEach link opens a confirmation page; nothing changes until you press its button.\n\
             The links work once and expire at {}.\n\
             This email contains the reader's address: please do not forward it.\n",
            format_time(i64::try_from(expires.saturating_mul(1000)).unwrap_or(i64::MAX)),
        ));
        body
    }
}

/// Text for a header or a one-line field: control characters become
/// spaces, and it is cut to `max` characters.
pub(super) fn one_line(text: &str, max: usize) -> String {
    let line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect();
    line.trim().to_owned()
}

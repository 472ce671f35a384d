//! The mails to readers, written from what the core decided
//! ([`ReaderMessage`]): the confirmation of an address, the replies to a
//! comment, the notice that a comment was approved.
//!
//! Notifications have a plain-text part and an HTML part (from the
//! sanitized HTML of the replies only; every other text is escaped), the
//! `List-Unsubscribe` and `List-Unsubscribe-Post: List-Unsubscribe=One-Click`
//! headers of RFC 8058, and the same link visibly in the text.

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart, header::ContentType};
use lettre::{AsyncTransport, Message};

use super::Failure;
use super::mail::{Mailer, one_line};
use crate::domain::Comment;
use crate::domain::sanitize::escape as escape_html;
use crate::domain::subscription::CONFIRM_TTL;
use crate::domain::subscription::deliver::{MessageKind, ReaderMessage};

/// Writes and sends readers' mails through the author's SMTP settings.
#[derive(Debug)]
pub struct ReaderMailer<'a> {
    mailer: &'a Mailer,
}

impl<'a> ReaderMailer<'a> {
    /// A writer on the author's mailer.
    pub fn new(mailer: &'a Mailer) -> ReaderMailer<'a> {
        ReaderMailer { mailer }
    }

    /// Sends `message` to `to` once.
    ///
    /// # Errors
    /// A [`Failure`]; permanent for a 5xx reply or an address lettre refuses.
    pub async fn send(&self, to: &str, message: &ReaderMessage) -> Result<(), Failure> {
        let permanent = |message: String| Failure {
            message,
            transient: false,
        };
        let to: Mailbox = to
            .parse()
            .map_err(|_| permanent("the reader's address is not one lettre can send to".into()))?;
        let email = self.message(to, message).map_err(permanent)?;
        self.mailer
            .transport
            .send(email)
            .await
            .map(|_| ())
            .map_err(|e| Failure {
                transient: !e.is_permanent(),
                message: e.to_string(),
            })
    }

    /// The mail of `message`.
    ///
    /// # Errors
    /// A message when lettre refuses to build it.
    pub fn message(&self, to: Mailbox, message: &ReaderMessage) -> Result<Message, String> {
        let base = &self.mailer.base_url;
        let builder = Message::builder().from(self.mailer.from.clone()).to(to);
        let built = match &message.kind {
            MessageKind::Confirm { token, page } => {
                let link = format!("{base}/notifications/confirm/{token}");
                let days = CONFIRM_TTL.as_secs() / 86_400;
                let text = format!(
                    "You asked to be told by email about your comment on {page}.\n\n\
                     To confirm that this address is yours and that you want these mails, \
                     open this link and press the button:\n\n{link}\n\n\
                     The link works for {days} days. If you did not ask for this, ignore this \
                     mail: nothing else will be sent to you.\n",
                    page = self.page_url(page),
                );
                builder
                    .subject(format!(
                        "Please confirm: notifications about {}",
                        one_line(page, 120)
                    ))
                    .header(ContentType::TEXT_PLAIN)
                    .body(text)
            }
            MessageKind::Replies {
                thread,
                replies,
                unsubscribe,
            } => {
                let unsubscribe = format!("{base}/notifications/unsubscribe/{unsubscribe}");
                let subject = match replies.len() {
                    1 => format!(
                        "{} replied to your comment on {}",
                        one_line(&replies[0].author, 60),
                        one_line(&thread.page, 120)
                    ),
                    n => format!(
                        "{n} new replies to your comment on {}",
                        one_line(&thread.page, 120)
                    ),
                };
                let (text, html) = self.replies(thread, replies, &unsubscribe);
                with_unsubscribe(builder.subject(subject), &unsubscribe)
                    .multipart(MultiPart::alternative_plain_html(text, html))
            }
            MessageKind::Approved {
                comment,
                unsubscribe,
            } => {
                let unsubscribe = format!("{base}/notifications/unsubscribe/{unsubscribe}");
                let link = self.comment_url(comment);
                let text = format!(
                    "Your comment on {page} is published now:\n\n{link}\n\n{quoted}\n{footer}",
                    page = self.page_url(&comment.page),
                    quoted = quote(&comment.text),
                    footer = footer_text(&unsubscribe),
                );
                let html = format!(
                    "<p>Your comment on {page} is published now: <a href=\"{link}\">read it on the page</a>.</p>\
                     <blockquote>{html}</blockquote>{footer}",
                    page = escape_html(&comment.page),
                    link = escape_html(&link),
                    html = comment.html,
                    footer = footer_html(&unsubscribe),
                );
                with_unsubscribe(
                    builder.subject(format!(
                        "Your comment on {} is published",
                        one_line(&comment.page, 120)
                    )),
                    &unsubscribe,
                )
                .multipart(
                    MultiPart::alternative()
                        .singlepart(SinglePart::plain(text))
                        .singlepart(SinglePart::html(html)),
                )
            }
        };
        built.map_err(|e| e.to_string())
    }

    fn replies(
        &self,
        thread: &Comment,
        replies: &[Comment],
        unsubscribe: &str,
    ) -> (String, String) {
        let mut text = format!(
            "New replies to your comment on {}:\n\n{}\n",
            self.page_url(&thread.page),
            quote(&thread.text)
        );
        let mut html = format!(
            "<p>New replies to your comment on {}:</p><blockquote>{}</blockquote>",
            escape_html(&self.page_url(&thread.page)),
            thread.html
        );
        for reply in replies {
            let link = self.comment_url(reply);
            text.push_str(&format!(
                "{} wrote:\n{}\nRead it on the page: {link}\n\n",
                one_line(&reply.author, 100),
                quote(&reply.text)
            ));
            // The reply's html is the sanitizer's; everything else is escaped.
            html.push_str(&format!(
                "<h2>{author} wrote:</h2><div>{body}</div><p><a href=\"{link}\">Read it on the page</a></p>",
                author = escape_html(&one_line(&reply.author, 100)),
                body = reply.html,
                link = escape_html(&link),
            ));
        }
        text.push_str(&footer_text(unsubscribe));
        html.push_str(&footer_html(unsubscribe));
        (text, html)
    }

    fn page_url(&self, page: &str) -> String {
        match &self.mailer.blog_origin {
            Some(origin) => format!("{origin}{page}"),
            None => page.to_owned(),
        }
    }

    fn comment_url(&self, comment: &Comment) -> String {
        format!("{}#comment-{}", self.page_url(&comment.page), comment.id)
    }
}

fn with_unsubscribe(
    builder: lettre::message::MessageBuilder,
    url: &str,
) -> lettre::message::MessageBuilder {
    builder
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe"),
            format!("<{url}>"),
        ))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
            "List-Unsubscribe=One-Click".to_owned(),
        ))
}

fn quote(text: &str) -> String {
    text.lines().map(|line| format!("> {line}\n")).collect()
}

fn footer_text(unsubscribe: &str) -> String {
    format!(
        "--\nYou get this mail because you asked for it when you commented.\n\
         Stop these mails for this comment (one click): {unsubscribe}\n"
    )
}

fn footer_html(unsubscribe: &str) -> String {
    format!(
        "<hr><p>You get this mail because you asked for it when you commented. \
         <a href=\"{}\">Stop these mails for this comment</a>.</p>",
        escape_html(unsubscribe)
    )
}

//! Validated input: a comment is only a `NewComment` once every field has
//! been checked ("parse, don't validate"), and each field's rule is written
//! once, in its newtype ([`AuthorName`], [`EmailAddress`], [`Website`],
//! [`CommentText`]), whichever path the text arrives by: a reader's post, an
//! edit, the author's reply, an import, the configured author name.
//!
//! Every invalid field is reported at once, in words a reader understands.
//! Nothing here touches HTTP or storage.

use std::collections::BTreeMap;

use super::comment::{CommentId, Notify, PageId};

/// Longest author name, in characters, after trimming.
pub const MAX_AUTHOR_CHARS: usize = 100;
/// Longest comment, in characters, after trimming.
pub const MAX_COMMENT_CHARS: usize = 10_000;
/// Longest imported comment, in characters: what WordPress's
/// `comment_content` column holds. Comments that another system published
/// are kept whole rather than cut to [`MAX_COMMENT_CHARS`].
pub const MAX_IMPORTED_COMMENT_CHARS: usize = 65_535;
/// The name an imported comment without one is shown under.
pub const ANONYMOUS: &str = "Anonymous";
/// Longest email address, in bytes (RFC 5321).
pub const MAX_EMAIL_LEN: usize = 254;
/// Longest website address.
pub const MAX_URL_LEN: usize = 2048;

/// One submitted field, as it arrived.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    /// A string (every form field, and JSON strings).
    Text(String),
    /// JSON `null`: treated as absent.
    Null,
    /// A JSON boolean (a box the embed sends as `true` / `false`).
    Flag(bool),
    /// A JSON number, boolean, array or object where text was expected.
    NotText,
}

/// Every field a client sent, by name; unknown names are kept for the spam
/// rules (honeypot) and otherwise ignored.
pub type Fields = BTreeMap<String, FieldValue>;

/// Invalid fields by name, with a message for the reader.
pub type FieldErrors = BTreeMap<&'static str, String>;

/// A comment whose every field is valid; not yet sanitized or stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewComment {
    /// The thread.
    pub page: PageId,
    /// Display name.
    pub author: AuthorName,
    /// Email address.
    pub email: EmailAddress,
    /// Website.
    pub url: Option<Website>,
    /// The comment text.
    pub text: CommentText,
    /// The comment this one replies to.
    pub parent: Option<CommentId>,
    /// The mail boxes ticked: `notify_replies`, `notify_approved`.
    pub notify: Notify,
}

impl NewComment {
    /// Validates every field at once.
    ///
    /// # Errors
    /// Every invalid field with its message.
    pub fn parse(fields: &Fields) -> Result<NewComment, FieldErrors> {
        let mut errors = FieldErrors::new();
        let page = text_field(fields, "page", &mut errors).and_then(|raw| {
            PageId::parse(raw.trim())
                .map_err(|e| errors.insert("page", e))
                .ok()
        });
        let author = text_field(fields, "author", &mut errors)
            .and_then(|raw| check(&mut errors, "author", AuthorName::parse(raw)));
        let email = text_field(fields, "email", &mut errors)
            .and_then(|raw| check(&mut errors, "email", EmailAddress::parse(raw)));
        let url = text_field(fields, "url", &mut errors)
            .and_then(|raw| check(&mut errors, "url", Website::parse(raw)))
            .flatten();
        let text = text_field(fields, "comment", &mut errors)
            .and_then(|raw| check(&mut errors, "comment", CommentText::parse(raw)));
        let notify = Notify {
            replies: flag(fields, "notify_replies", &mut errors),
            approved: flag(fields, "notify_approved", &mut errors),
        };
        let parent = text_field(fields, "parent", &mut errors)
            .and_then(|raw| check(&mut errors, "parent", parse_parent(raw)))
            .flatten();
        match (page, author, email, text) {
            (Some(page), Some(author), Some(email), Some(text)) if errors.is_empty() => {
                Ok(NewComment {
                    page,
                    author,
                    email,
                    url,
                    text,
                    parent,
                    notify,
                })
            }
            _ => {
                for (name, label) in [
                    ("page", "The page is missing."),
                    ("author", "Please enter your name."),
                    ("email", "Please enter your email address."),
                    ("comment", "Please type a comment."),
                ] {
                    if !matches!(fields.get(name), Some(FieldValue::Text(_))) {
                        errors.entry(name).or_insert_with(|| label.to_owned());
                    }
                }
                Err(errors)
            }
        }
    }
}

/// A writer's edit of their comment: a new text, and optionally a new name
/// and website. Fields not sent stay as they were; an empty `url` removes
/// the website.
#[derive(Debug, Clone, PartialEq)]
pub struct CommentEdit {
    /// The new text.
    pub text: CommentText,
    /// A new display name, when sent.
    pub author: Option<AuthorName>,
    /// A new website (`Some(None)`: removed), when sent.
    pub url: Option<Option<Website>>,
}

impl CommentEdit {
    /// Validates every field at once, by the same rules as a new comment.
    ///
    /// # Errors
    /// Every invalid field with its message.
    pub fn parse(fields: &Fields) -> Result<CommentEdit, FieldErrors> {
        let mut errors = FieldErrors::new();
        let text = text_field(fields, "comment", &mut errors)
            .and_then(|raw| check(&mut errors, "comment", CommentText::parse(raw)));
        let author = text_field(fields, "author", &mut errors)
            .and_then(|raw| check(&mut errors, "author", AuthorName::parse(raw)));
        let url = text_field(fields, "url", &mut errors)
            .and_then(|raw| check(&mut errors, "url", Website::parse(raw)));
        match text {
            Some(text) if errors.is_empty() => Ok(CommentEdit { text, author, url }),
            _ => {
                if !matches!(fields.get("comment"), Some(FieldValue::Text(_))) {
                    errors
                        .entry("comment")
                        .or_insert_with(|| "Please type a comment.".to_owned());
                }
                Err(errors)
            }
        }
    }
}

/// The text of a field, or `None` when it is absent (absent-but-required is
/// reported by the caller) or not text (reported here).
fn text_field<'a>(
    fields: &'a Fields,
    name: &'static str,
    errors: &mut FieldErrors,
) -> Option<&'a str> {
    match fields.get(name) {
        Some(FieldValue::Text(text)) => Some(text),
        Some(FieldValue::NotText) => {
            errors.insert(name, "This field must be text.".into());
            None
        }
        Some(FieldValue::Flag(_)) => {
            errors.insert(name, "This field must be text.".into());
            None
        }
        Some(FieldValue::Null) | None => None,
    }
}

/// A box: ticked as `1`, `on`, `true`, `yes` or JSON `true` (what browsers
/// and the embed send); absent, empty, `0`, `off`, `false`, `no` or JSON
/// `false` is unticked.
fn flag(fields: &Fields, name: &'static str, errors: &mut FieldErrors) -> bool {
    match fields.get(name) {
        Some(FieldValue::Flag(on)) => *on,
        Some(FieldValue::Text(text)) => match text.trim().to_ascii_lowercase().as_str() {
            "1" | "on" | "true" | "yes" => true,
            "" | "0" | "off" | "false" | "no" => false,
            _ => {
                errors.insert(name, "This box is either ticked or not.".into());
                false
            }
        },
        Some(FieldValue::NotText) => {
            errors.insert(name, "This box is either ticked or not.".into());
            false
        }
        Some(FieldValue::Null) | None => false,
    }
}

fn check<T>(errors: &mut FieldErrors, name: &'static str, result: Result<T, String>) -> Option<T> {
    result.map_err(|e| errors.insert(name, e)).ok()
}

/// Declares a validated text newtype: the rule is its `parse`.
macro_rules! text_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_newtype!(
    /// A display name: trimmed, 1 to [`MAX_AUTHOR_CHARS`] characters, no
    /// control characters.
    AuthorName
);
text_newtype!(
    /// An email address, trimmed and syntax-checked; not lowercased, since
    /// the author sees it as the reader typed it.
    EmailAddress
);
text_newtype!(
    /// A website: an http or https URL without credentials.
    Website
);
text_newtype!(
    /// A comment's text as typed: trimmed, 1 to [`MAX_COMMENT_CHARS`]
    /// characters, no control characters but newlines and tabs, `\r\n`
    /// folded to `\n`.
    CommentText
);

impl AuthorName {
    /// Checks a name.
    ///
    /// # Errors
    /// Why it is not one, in words for the reader.
    pub fn parse(raw: &str) -> Result<AuthorName, String> {
        let author = raw.trim();
        if author.is_empty() {
            return Err("Please enter your name.".into());
        }
        if author.chars().count() > MAX_AUTHOR_CHARS {
            return Err(format!(
                "Your name must be at most {MAX_AUTHOR_CHARS} characters."
            ));
        }
        if author.chars().any(char::is_control) {
            return Err("Your name must not contain control characters.".into());
        }
        Ok(AuthorName(author.to_owned()))
    }

    /// The name of an imported comment, which another system already
    /// published: control characters dropped, cut to [`MAX_AUTHOR_CHARS`],
    /// [`ANONYMOUS`] when empty (Isso allows anonymous comments).
    pub fn imported(raw: &str) -> AuthorName {
        let kept: String = raw.chars().filter(|c| !c.is_control()).collect();
        let name: String = kept.trim().chars().take(MAX_AUTHOR_CHARS).collect();
        match name.trim() {
            "" => AuthorName(ANONYMOUS.to_owned()),
            name => AuthorName(name.to_owned()),
        }
    }
}

impl EmailAddress {
    /// A pragmatic syntax check: what a reader can mistype, not all of RFC
    /// 5322.
    ///
    /// # Errors
    /// Why it is not an address, in words for the reader.
    pub fn parse(raw: &str) -> Result<EmailAddress, String> {
        let email = raw.trim();
        let invalid =
            || Err("Please enter a valid email address, such as name@example.org.".into());
        if email.is_empty() {
            return Err("Please enter your email address.".into());
        }
        if email.len() > MAX_EMAIL_LEN {
            return Err(format!(
                "The email address must be at most {MAX_EMAIL_LEN} characters."
            ));
        }
        let Some((local, domain)) = email.rsplit_once('@') else {
            return invalid();
        };
        let bad_char =
            |c: char| c.is_whitespace() || c.is_control() || "<>()[]\\,;:\"@".contains(c);
        if local.is_empty() || local.len() > 64 || local.chars().any(bad_char) {
            return invalid();
        }
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return invalid();
        }
        let labels: Vec<&str> = domain.split('.').collect();
        let label_ok = |label: &&str| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        };
        if labels.len() < 2 || !labels.iter().all(label_ok) {
            return invalid();
        }
        Ok(EmailAddress(email.to_owned()))
    }
}

impl Website {
    /// The website field: optional (`None` when blank); a bare
    /// `example.org` gets `https://`, as a reader means it; anything but
    /// http(s) is refused.
    ///
    /// # Errors
    /// Why it is not a website, in words for the reader.
    pub fn parse(raw: &str) -> Result<Option<Website>, String> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Ok(None);
        }
        if trimmed.len() > MAX_URL_LEN {
            return Err(format!(
                "The website address must be at most {MAX_URL_LEN} characters."
            ));
        }
        // `javascript:x` and `http://x` name a scheme; `example.org` and
        // `example.org:8080/x` do not (a dot comes before the first colon).
        let has_scheme = trimmed
            .split_once(':')
            .is_some_and(|(scheme, _)| !scheme.is_empty() && !scheme.contains('.'));
        let with_scheme = if has_scheme {
            trimmed.to_owned()
        } else {
            format!("https://{trimmed}")
        };
        let invalid = || "The website must be an http:// or https:// address.".to_owned();
        let url = url::Url::parse(&with_scheme).map_err(|_| invalid())?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
            return Err(invalid());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid());
        }
        let url = url.to_string();
        if url.len() > MAX_URL_LEN {
            return Err(format!(
                "The website address must be at most {MAX_URL_LEN} characters."
            ));
        }
        Ok(Some(Website(url)))
    }
}

impl CommentText {
    /// Checks a comment's text.
    ///
    /// # Errors
    /// Why it cannot be a comment, in words for the reader.
    pub fn parse(raw: &str) -> Result<CommentText, String> {
        let text = raw.trim();
        if text.is_empty() {
            return Err("Please type a comment.".into());
        }
        if text.chars().count() > MAX_COMMENT_CHARS {
            return Err(format!(
                "Your comment must be at most {MAX_COMMENT_CHARS} characters."
            ));
        }
        if text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err("Your comment must not contain control characters.".into());
        }
        Ok(CommentText(text.replace("\r\n", "\n")))
    }

    /// The text of an imported comment, which another system already
    /// published: control characters other than newlines and tabs are
    /// dropped rather than refused, and up to [`MAX_IMPORTED_COMMENT_CHARS`]
    /// characters are kept.
    ///
    /// # Errors
    /// Empty, or longer than that (a message naming the limit).
    pub fn imported(raw: &str) -> Result<CommentText, String> {
        let kept: String = raw
            .replace("\r\n", "\n")
            .chars()
            .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
            .collect();
        let text = kept.trim();
        if text.is_empty() {
            return Err("the comment has no text".into());
        }
        let chars = text.chars().count();
        if chars > MAX_IMPORTED_COMMENT_CHARS {
            return Err(format!(
                "the comment has {chars} characters; at most {MAX_IMPORTED_COMMENT_CHARS} are kept"
            ));
        }
        Ok(CommentText(text.to_owned()))
    }
}

fn parse_parent(raw: &str) -> Result<Option<CommentId>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse()
        .map(Some)
        .map_err(|()| "The comment you reply to does not exist.".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), FieldValue::Text(v.to_string())))
            .collect()
    }

    fn valid() -> Fields {
        fields(&[
            ("page", "/blog/grief/"),
            ("author", " Ann "),
            ("email", "ann@example.org"),
            ("comment", "Thank you.\r\nIt helped."),
        ])
    }

    #[test]
    fn the_mail_boxes_read_as_browsers_and_the_embed_send_them() {
        for (value, expected) in [
            ("1", Some(true)),
            ("on", Some(true)),
            ("", Some(false)),
            ("0", Some(false)),
            ("maybe", None),
        ] {
            let mut input = valid();
            input.insert("notify_replies".into(), FieldValue::Text(value.into()));
            let parsed = NewComment::parse(&input);
            assert_eq!(
                parsed.as_ref().ok().map(|c| c.notify.replies),
                expected,
                "{value:?}"
            );
            if expected.is_none() {
                assert!(parsed.expect_err("refused").contains_key("notify_replies"));
            }
        }
        let mut input = valid();
        input.insert("notify_approved".into(), FieldValue::Flag(true));
        let notify = NewComment::parse(&input).expect("valid").notify;
        assert_eq!(
            (notify.replies, notify.approved),
            (false, true),
            "unticked unless sent"
        );
    }

    #[test]
    fn an_edit_needs_a_text_and_checks_what_else_it_sends() {
        let edit = CommentEdit::parse(&fields(&[("comment", " New words ")])).expect("valid");
        assert_eq!(edit.text.as_str(), "New words");
        assert_eq!((edit.author, edit.url), (None, None), "unsent fields stay");
        let edit = CommentEdit::parse(&fields(&[("comment", "x"), ("url", ""), ("author", "Bo")]))
            .expect("valid");
        assert_eq!(edit.url, Some(None), "an empty url removes the website");
        assert_eq!(edit.author.as_ref().map(AuthorName::as_str), Some("Bo"));
        let errors = CommentEdit::parse(&fields(&[("author", ""), ("url", "javascript:x")]))
            .expect_err("invalid");
        assert_eq!(
            errors.keys().copied().collect::<Vec<_>>(),
            ["author", "comment", "url"]
        );
    }

    #[test]
    fn a_valid_comment_parses_trimmed() {
        let comment = NewComment::parse(&valid()).expect("valid");
        assert_eq!(comment.author.as_str(), "Ann");
        assert_eq!(comment.text.as_str(), "Thank you.\nIt helped.");
        assert_eq!(comment.url, None);
        assert_eq!(comment.parent, None);
    }

    #[test]
    fn every_missing_field_is_reported_at_once() {
        let errors = NewComment::parse(&Fields::new()).expect_err("empty");
        let names: Vec<_> = errors.keys().copied().collect();
        assert_eq!(names, ["author", "comment", "email", "page"]);
    }

    #[test]
    fn invalid_fields_are_named() {
        let cases: &[(&str, &str, &str)] = &[
            ("page", "blog/x", "page without slash"),
            ("page", "/a b", "page with space"),
            ("page", "/a\u{7}", "page with control character"),
            ("author", "   ", "blank author"),
            ("author", &"x".repeat(101), "author too long"),
            ("email", "ann", "email without @"),
            ("email", "ann@localhost", "email without dot in domain"),
            ("email", "a b@example.org", "email with space"),
            ("email", "ann@-x.org", "domain label starting with -"),
            ("url", "javascript:alert(1)", "javascript url"),
            ("url", "ftp://example.org", "ftp url"),
            ("url", "https://user:pw@example.org", "url with credentials"),
            ("comment", "  \n ", "blank comment"),
            ("comment", &"x".repeat(10_001), "comment too long"),
            ("comment", "a\u{0}b", "comment with NUL"),
            ("parent", "42", "parent not an id"),
        ];
        for (name, value, case) in cases {
            let mut input = valid();
            input.insert(name.to_string(), FieldValue::Text(value.to_string()));
            let errors = NewComment::parse(&input).expect_err(case);
            assert!(
                errors.contains_key(name),
                "{case}: expected an error for {name}, got {errors:?}"
            );
            assert_eq!(
                errors.len(),
                1,
                "{case}: only {name} is wrong, got {errors:?}"
            );
        }
    }

    #[test]
    fn wrong_types_are_reported_as_field_errors() {
        let mut input = valid();
        input.insert("author".into(), FieldValue::NotText);
        let errors = NewComment::parse(&input).expect_err("number as author");
        assert_eq!(
            errors.get("author").map(String::as_str),
            Some("This field must be text.")
        );
    }

    #[test]
    fn website_gets_a_scheme_when_a_reader_omits_it() {
        let cases = [
            ("example.org", Some("https://example.org/")),
            ("http://example.org/x", Some("http://example.org/x")),
            ("", None),
        ];
        for (raw, expected) in cases {
            assert_eq!(
                Website::parse(raw)
                    .expect(raw)
                    .as_ref()
                    .map(Website::as_str),
                expected,
                "url {raw:?}"
            );
        }
    }
}

//! The notification keys: SMTP and webhook settings checked together,
//! since they only make sense together (a decision link needs the public
//! URL, a password needs encryption). Addresses are parsed with lettre's
//! parser, the one that will send to them.

use lettre::message::{Mailbox, Mailboxes};

use super::{Config, SmtpSecurity};

/// Parses one address (`a@b.c` or `Name <a@b.c>`).
///
/// # Errors
/// A message saying why it is not an address.
pub fn parse_mailbox(raw: &str) -> Result<Mailbox, String> {
    raw.trim()
        .parse::<Mailbox>()
        .map_err(|e| format!("`{raw}` is not an email address ({e})"))
}

/// Parses a comma-separated list of at least one address.
///
/// # Errors
/// A message naming the address that is not one.
pub fn parse_recipients(raw: &str) -> Result<Vec<Mailbox>, String> {
    if raw.trim().is_empty() {
        return Err("expected at least one email address".into());
    }
    let parsed: Mailboxes = raw
        .parse()
        .map_err(|e| format!("`{raw}` is not a list of email addresses ({e})"))?;
    Ok(parsed.into_iter().collect())
}

/// Checks the notification keys; `Err((key, problem))` names the first
/// bad one. Called by [`Config::validate`].
///
/// # Errors
/// The key and what is wrong with it.
pub(super) fn validate(config: &Config) -> Result<(), (&'static str, String)> {
    let http_url = |raw: &str| {
        url::Url::parse(raw).is_ok_and(|u| {
            matches!(u.scheme(), "http" | "https")
                && u.host().is_some()
                && u.query().is_none()
                && u.fragment().is_none()
        })
    };
    if !config.public_url.is_empty() && !http_url(&config.public_url) {
        return Err((
            "public_url",
            format!(
                "`{}` is not a base URL such as https://comments.example.org",
                config.public_url
            ),
        ));
    }
    if !config.smtp_host.is_empty() {
        if config.smtp_host.contains(['/', ':', ' ']) {
            return Err((
                "smtp_host",
                "expected a host name or address, without scheme or port".into(),
            ));
        }
        if config.public_url.is_empty() {
            return Err((
                "public_url",
                "must be set when smtp_host is set: the email's decision links point to it".into(),
            ));
        }
        parse_mailbox(&config.smtp_from).map_err(|e| ("smtp_from", e))?;
        parse_recipients(&config.smtp_to).map_err(|e| ("smtp_to", e))?;
        let loopback = matches!(config.smtp_host.as_str(), "localhost" | "127.0.0.1" | "::1");
        if config.smtp_security == SmtpSecurity::None
            && !config.smtp_password.is_empty()
            && !loopback
        {
            return Err((
                "smtp_security",
                "`none` would send smtp_password unencrypted; use starttls or tls".into(),
            ));
        }
    }
    if !config.webhook_url.is_empty() {
        if !http_url(&config.webhook_url) {
            return Err((
                "webhook_url",
                format!("`{}` is not an http or https URL", config.webhook_url),
            ));
        }
        if config.webhook_secret.trim().len() < 16 {
            return Err((
                "webhook_secret",
                "must be at least 16 characters when webhook_url is set".into(),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> Config {
        Config {
            public_url: "https://comments.example.org".into(),
            smtp_host: "smtp.example.org".into(),
            smtp_from: "moderato@example.org".into(),
            smtp_to: "author@example.org, helper@example.org".into(),
            webhook_url: "https://hooks.example.org/moderato".into(),
            webhook_secret: "0123456789abcdef0123".into(),
            ..Config::default()
        }
    }

    #[test]
    fn environment_variables_set_every_notification_key() {
        let env = [
            ("MODERATO_PUBLIC_URL", "https://comments.example.org/"),
            ("MODERATO_SMTP_HOST", "smtp.example.org"),
            ("MODERATO_SMTP_PORT", "465"),
            ("MODERATO_SMTP_SECURITY", "tls"),
            ("MODERATO_SMTP_USER", "moderato"),
            ("MODERATO_SMTP_PASSWORD", "hunter2-but-longer"),
            ("MODERATO_SMTP_FROM", "Moderato <moderato@example.org>"),
            ("MODERATO_SMTP_TO", "a@example.org,b@example.org"),
            ("MODERATO_WEBHOOK_URL", "https://hooks.example.org/x"),
            ("MODERATO_WEBHOOK_SECRET", "0123456789abcdef0123"),
            ("MODERATO_WEBHOOK_INCLUDE_EMAIL", "true"),
            ("MODERATO_NOTIFY_ON_SPAM", "yes"),
            ("MODERATO_LINK_TTL_HOURS", "48"),
            ("MODERATO_MAX_IMPORT_MB", "8"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let config = Config::load(None, env).expect("valid");
        assert_eq!(config.smtp_port, 465);
        assert_eq!(config.smtp_security, SmtpSecurity::Tls);
        assert_eq!(config.public_base_url(), "https://comments.example.org");
        assert_eq!(parse_recipients(&config.smtp_to).map(|v| v.len()), Ok(2));
        assert!(config.webhook_include_email && config.notify_on_spam);
        assert_eq!((config.link_ttl_hours, config.max_import_mb), (48, 8));
        assert!(!format!("{config:?}").contains("hunter2"));

        let err = Config::load(
            None,
            [("MODERATO_SMTP_SECURITY".to_owned(), "ssl".to_owned())],
        )
        .expect_err("unknown security");
        assert!(err.to_string().contains("MODERATO_SMTP_SECURITY"), "{err}");
    }

    #[test]
    fn complete_settings_validate() {
        assert_eq!(validate(&valid()), Ok(()));
        assert_eq!(validate(&Config::default()), Ok(()));
    }

    #[test]
    fn bad_settings_name_their_key() {
        type Change = fn(&mut Config);
        let cases: [(Change, &str); 8] = [
            (|c| c.public_url = String::new(), "public_url"),
            (
                |c| c.public_url = "comments.example.org".into(),
                "public_url",
            ),
            (|c| c.smtp_from = "not an address".into(), "smtp_from"),
            (|c| c.smtp_to = String::new(), "smtp_to"),
            (|c| c.smtp_host = "smtp://x".into(), "smtp_host"),
            (
                |c| {
                    c.smtp_security = SmtpSecurity::None;
                    c.smtp_password = "pw".into();
                },
                "smtp_security",
            ),
            (|c| c.webhook_url = "ftp://x".into(), "webhook_url"),
            (|c| c.webhook_secret = "short".into(), "webhook_secret"),
        ];
        for (change, key) in cases {
            let mut config = valid();
            change(&mut config);
            let err = validate(&config).expect_err(key);
            assert_eq!(err.0, key, "{err:?}");
        }
    }
}

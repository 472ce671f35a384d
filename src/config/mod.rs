//! Service configuration: embedded defaults, an optional TOML file, and
//! `MODERATO_<KEY>` environment overrides, in that order.
//!
//! Every key is flat (no sections) so that each one maps to exactly one
//! environment variable. Nothing here reads the process environment by
//! itself: `Config::load` takes the variables as an argument, so tests build
//! a `Config` in code and stay isolated from the machine they run on.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::domain::AuthorName;
use crate::domain::moderation::Settings;
use crate::domain::outbox::Notices;

mod load;
mod notifications;
mod reader;

pub use crate::domain::moderation::ModerationMode;
pub use notifications::{parse_mailbox, parse_recipients};
pub use reader::{MAX_EDIT_WINDOW, parse_duration};

/// `90s`, `30m`, `24h`, `7d` as a duration (at least one second).
pub fn parse_period(text: &str) -> Option<Duration> {
    let text = text.trim();
    let unit = text.chars().last()?;
    let number: u64 = text[..text.len() - unit.len_utf8()].trim().parse().ok()?;
    let seconds = match unit {
        's' => number,
        'm' => number.checked_mul(60)?,
        'h' => number.checked_mul(3600)?,
        'd' => number.checked_mul(86_400)?,
        _ => return None,
    };
    (seconds > 0).then(|| Duration::from_secs(seconds))
}

/// Prefix of every environment variable that overrides a configuration key.
pub const ENV_PREFIX: &str = "MODERATO_";

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS, which is required (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on this machine or a test server.
    None,
}

/// The whole configuration. Field docs are the README's configuration table.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address and port to listen on.
    pub listen: String,
    /// Directory of the sled database and the generated secrets.
    pub data_dir: PathBuf,
    /// Directory of the spam rule files (`*.toml`).
    pub rules_dir: PathBuf,
    /// Admin bearer token; generated into the data directory when unset.
    pub admin_token: Option<String>,
    /// A bearer token that opens `GET /metrics` and nothing else, for a
    /// Prometheus scraper; unset, only the admin token opens it.
    pub metrics_token: Option<String>,
    /// Origins allowed to call the public API from a browser (CORS) and to
    /// receive a form post's redirect; empty allows every origin.
    pub allowed_origins: Vec<String>,
    /// `all`, `first-time` or `rules`.
    pub moderation: ModerationMode,
    /// Proxies whose `X-Forwarded-For` / `Forwarded` headers are believed.
    pub trusted_proxies: Vec<IpNet>,
    /// Turns every rate limit off (for benchmarks only).
    pub rate_limits_enabled: bool,
    /// Comments one address may post in a burst.
    pub rate_post_burst: u32,
    /// Seconds after which one more comment may be posted.
    pub rate_post_period_secs: u64,
    /// Public reads one address may make in a burst.
    pub rate_read_burst: u32,
    /// Public reads per second, sustained, per address.
    pub rate_read_per_sec: u32,
    /// Failed admin logins per minute from one address before it is locked out.
    pub rate_auth_failures_per_min: u32,
    /// Pending comments kept at most; beyond it new commenters get 503.
    pub max_pending: u64,
    /// Seconds a client may take to send a request's headers or body, and
    /// that an idle connection is kept.
    pub request_timeout_secs: u64,
    /// sled page cache in MiB.
    pub cache_capacity_mb: u64,
    /// PostgreSQL instead of sled: `postgres://user:password@host:5432/db`
    /// (never printed). Empty keeps sled in `data_dir`; set, the data
    /// directory is not opened, and `admin_token` and `master_key_file`
    /// are required (replicas share them).
    pub database_url: String,
    /// Connections to PostgreSQL kept at most by this process.
    pub database_pool_size: u64,
    /// A file holding the master key as 64 hex characters (what the data
    /// directory's `secret.key` holds). Required with `database_url`; with
    /// sled, empty reads (or creates) `secret.key` in `data_dir`.
    pub master_key_file: String,
    /// The name shown on the author's replies from the admin page.
    pub author_name: String,
    /// The service's public base URL (e.g. `https://comments.example.org`),
    /// used in the decision links of notification emails.
    pub public_url: String,
    /// SMTP server for notification emails; empty turns email off.
    pub smtp_host: String,
    /// SMTP port.
    pub smtp_port: u16,
    /// `starttls`, `tls` or `none`.
    pub smtp_security: SmtpSecurity,
    /// SMTP user; empty sends without logging in.
    pub smtp_user: String,
    /// SMTP password (never printed).
    pub smtp_password: String,
    /// Sender address of notification emails.
    pub smtp_from: String,
    /// Where notification emails go (comma-separated for several).
    pub smtp_to: String,
    /// URL that receives a JSON POST per queued comment; empty turns it off.
    pub webhook_url: String,
    /// Key of the `X-Moderato-Signature` HMAC-SHA256 of each webhook body.
    pub webhook_secret: String,
    /// Whether webhook payloads carry the reader's email address.
    pub webhook_include_email: bool,
    /// Also notify when the rules file a comment as spam.
    pub notify_on_spam: bool,
    /// Notifications waiting in the outbox at most; beyond it new ones are
    /// dropped (the comments are stored either way).
    pub notify_queue_capacity: u64,
    /// Hours a decision link in an email stays valid.
    pub link_ttl_hours: u64,
    /// Largest file `POST /admin/import` accepts, in MiB (streamed to a
    /// temporary file in `data_dir`, never held in memory).
    pub max_import_mb: u64,
    // ---- When things go wrong (issue 15) ----
    /// Writes are refused (503) while less than this many MiB are free on
    /// the data directory's file system; 0 turns the check off.
    pub disk_reserve_mb: u64,
    /// Where scheduled backups go; empty means `<data_dir>/backups`.
    pub backup_dir: PathBuf,
    /// Time between two backups (`90s`, `30m`, `24h`, `7d`); empty turns
    /// backups off.
    pub backup_every: String,
    /// Backups kept; older ones are removed.
    pub backup_keep: u64,
    /// How long a writer may edit or delete their comment (`15m`, `90s`,
    /// `0` turns it off).
    pub edit_window: String,
    /// Minutes a reply waits so that the replies of those minutes go to a
    /// subscriber in one mail.
    pub reader_digest_minutes: u64,
    /// Reply notifications one reader's address gets in a day at most.
    pub reader_mails_per_day: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./data"),
            rules_dir: PathBuf::from("./rules"),
            admin_token: None,
            metrics_token: None,
            allowed_origins: Vec::new(),
            moderation: ModerationMode::FirstTime,
            trusted_proxies: Vec::new(),
            rate_limits_enabled: true,
            rate_post_burst: 3,
            rate_post_period_secs: 15,
            rate_read_burst: 60,
            rate_read_per_sec: 10,
            rate_auth_failures_per_min: 10,
            max_pending: 10_000,
            request_timeout_secs: 30,
            cache_capacity_mb: 64,
            database_url: String::new(),
            database_pool_size: 16,
            master_key_file: String::new(),
            author_name: "Author".into(),
            public_url: String::new(),
            smtp_host: String::new(),
            smtp_port: 587,
            smtp_security: SmtpSecurity::Starttls,
            smtp_user: String::new(),
            smtp_password: String::new(),
            smtp_from: String::new(),
            smtp_to: String::new(),
            webhook_url: String::new(),
            webhook_secret: String::new(),
            webhook_include_email: false,
            notify_on_spam: false,
            notify_queue_capacity: 256,
            link_ttl_hours: 24 * 7,
            max_import_mb: 256,
            disk_reserve_mb: 2,
            backup_dir: PathBuf::new(),
            backup_every: String::new(),
            backup_keep: 7,
            edit_window: "15m".into(),
            reader_digest_minutes: 5,
            reader_mails_per_day: 20,
        }
    }
}

impl fmt::Debug for Config {
    /// Like the derived `Debug`, but the admin token is never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("rules_dir", &self.rules_dir)
            .field(
                "admin_token",
                &self.admin_token.as_ref().map(|_| "[redacted]"),
            )
            .field(
                "metrics_token",
                &self.metrics_token.as_ref().map(|_| "[redacted]"),
            )
            .field("allowed_origins", &self.allowed_origins)
            .field("moderation", &self.moderation)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("rate_limits_enabled", &self.rate_limits_enabled)
            .field(
                "database_url",
                &(!self.database_url.is_empty()).then_some("[redacted]"),
            )
            .field("master_key_file", &self.master_key_file)
            .field("max_pending", &self.max_pending)
            .field("public_url", &self.public_url)
            .field("smtp_host", &self.smtp_host)
            .field("smtp_port", &self.smtp_port)
            .field("smtp_security", &self.smtp_security)
            .field("smtp_user", &self.smtp_user)
            .field(
                "smtp_password",
                &(!self.smtp_password.is_empty()).then_some("[redacted]"),
            )
            .field("smtp_from", &self.smtp_from)
            .field("smtp_to", &self.smtp_to)
            .field("webhook_url", &self.webhook_url)
            .field(
                "webhook_secret",
                &(!self.webhook_secret.is_empty()).then_some("[redacted]"),
            )
            .field("webhook_include_email", &self.webhook_include_email)
            .field("edit_window", &self.edit_window)
            .finish_non_exhaustive()
    }
}

/// Why the configuration could not be loaded. Each message names the key.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file named by `--config` could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML, or a key has the wrong type.
    #[error("config file {path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// toml's message, which names the key and line.
        message: String,
    },
    /// An environment variable's value has the wrong type for its key.
    #[error("{var}: {message}")]
    Env {
        /// The variable.
        var: String,
        /// What is wrong.
        message: String,
    },
    /// An environment variable names no key.
    #[error("{var}: there is no configuration key `{key}`")]
    UnknownEnv {
        /// The variable.
        var: String,
        /// The key it maps to.
        key: String,
    },
    /// A value (from the file or the environment) is not valid for its key.
    #[error("configuration key `{key}`: {problem}")]
    Invalid {
        /// The key.
        key: &'static str,
        /// What is wrong, in words.
        problem: String,
    },
}

impl Config {
    /// Checks values that parse but make no sense.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the first bad key.
    pub fn validate(&self) -> Result<(), Error> {
        let invalid = |key, problem: &str| {
            Err(Error::Invalid {
                key,
                problem: problem.to_owned(),
            })
        };
        if self.listen.parse::<SocketAddr>().is_err() {
            return invalid(
                "listen",
                "expected an address and port such as 127.0.0.1:8080",
            );
        }
        for (key, token) in [
            ("admin_token", &self.admin_token),
            ("metrics_token", &self.metrics_token),
        ] {
            if let Some(token) = token
                && token.trim().len() < 16
            {
                return invalid(key, "must be at least 16 characters");
            }
        }
        if self.metrics_token.is_some() && self.metrics_token == self.admin_token {
            return invalid(
                "metrics_token",
                "must differ from admin_token (it opens /metrics only)",
            );
        }
        for origin in &self.allowed_origins {
            let ok = url::Url::parse(origin).is_ok_and(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.host().is_some()
                    && u.path() == "/"
                    && !origin.ends_with('/')
            });
            if !ok {
                return invalid(
                    "allowed_origins",
                    &format!("`{origin}` is not an origin such as https://blog.example.org"),
                );
            }
        }
        if let Err(problem) = AuthorName::parse(&self.author_name) {
            return invalid("author_name", &problem);
        }
        let positive = [
            ("rate_post_burst", u64::from(self.rate_post_burst)),
            ("rate_post_period_secs", self.rate_post_period_secs),
            ("rate_read_burst", u64::from(self.rate_read_burst)),
            ("rate_read_per_sec", u64::from(self.rate_read_per_sec)),
            (
                "rate_auth_failures_per_min",
                u64::from(self.rate_auth_failures_per_min),
            ),
            ("max_pending", self.max_pending),
            ("request_timeout_secs", self.request_timeout_secs),
            ("cache_capacity_mb", self.cache_capacity_mb),
            ("smtp_port", u64::from(self.smtp_port)),
            ("notify_queue_capacity", self.notify_queue_capacity),
            ("link_ttl_hours", self.link_ttl_hours),
            ("max_import_mb", self.max_import_mb),
            ("backup_keep", self.backup_keep),
            ("database_pool_size", self.database_pool_size),
        ];
        for (key, value) in positive {
            if value == 0 {
                return invalid(key, "must be greater than 0");
            }
        }
        if !self.backup_every.trim().is_empty() && parse_period(&self.backup_every).is_none() {
            return invalid(
                "backup_every",
                "expected a period such as 90s, 30m, 24h or 7d (empty turns backups off)",
            );
        }
        self.validate_database()?;
        notifications::validate(self)
            .and_then(|()| reader::validate(self))
            .map_err(|(key, problem)| Error::Invalid { key, problem })
    }

    /// With `database_url` the replicas share no data directory: the
    /// secrets it would hold must come from the configuration.
    fn validate_database(&self) -> Result<(), Error> {
        if self.database_url.is_empty() {
            return Ok(());
        }
        let invalid = |key, problem: &str| {
            Err(Error::Invalid {
                key,
                problem: problem.to_owned(),
            })
        };
        if !["postgres://", "postgresql://"]
            .iter()
            .any(|scheme| self.database_url.starts_with(scheme))
        {
            return invalid(
                "database_url",
                "expected a URL such as postgres://user:password@host:5432/db",
            );
        }
        if self.admin_token.is_none() {
            return invalid(
                "admin_token",
                "is required with database_url (every replica needs the same token)",
            );
        }
        if self.master_key_file.is_empty() {
            return invalid(
                "master_key_file",
                "is required with database_url (every replica needs the same key)",
            );
        }
        if !self.backup_every.trim().is_empty() {
            return invalid(
                "backup_every",
                "must be empty with database_url: back PostgreSQL up with its own tools \
                 (pg_dump, or the server's base backups and WAL archive)",
            );
        }
        Ok(())
    }

    /// Whether comments live in PostgreSQL rather than in the data directory.
    pub fn uses_postgres(&self) -> bool {
        !self.database_url.is_empty()
    }

    /// The settings of the moderation steps.
    pub fn moderation_settings(&self) -> Settings {
        Settings {
            mode: self.moderation,
            max_pending: self.max_pending,
            // validate() checked it; the default name stands in otherwise.
            author_name: AuthorName::parse(&self.author_name)
                .or_else(|_| AuthorName::parse("Author"))
                .expect("\"Author\" is a valid name"),
            rules_dir: self.rules_dir.clone(),
            link_ttl: self.link_ttl(),
            edit_window: self.edit_window(),
            readers: self.reader_mail(),
            notices: Notices {
                mail: !self.smtp_host.is_empty(),
                webhook: !self.webhook_url.is_empty(),
                on_spam: self.notify_on_spam,
                capacity: self.notify_queue_capacity,
            },
        }
    }

    /// How long a decision link in an email stays valid.
    pub fn link_ttl(&self) -> Duration {
        Duration::from_secs(self.link_ttl_hours.saturating_mul(3600))
    }

    /// The public base URL without a trailing slash.
    pub fn public_base_url(&self) -> &str {
        self.public_url.trim_end_matches('/')
    }

    /// The parsed listen address (validated by [`Config::validate`]).
    pub fn listen_addr(&self) -> Option<SocketAddr> {
        self.listen.parse().ok()
    }

    /// Where scheduled backups go.
    pub fn backup_path(&self) -> PathBuf {
        if self.backup_dir.as_os_str().is_empty() {
            self.data_dir.join("backups")
        } else {
            self.backup_dir.clone()
        }
    }

    /// Where sled keeps its files, inside the data directory.
    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("db")
    }
}

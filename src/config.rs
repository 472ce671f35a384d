//! Service configuration: embedded defaults, an optional TOML file, and
//! `MODERATO_<KEY>` environment overrides, in that order.
//!
//! Every key is flat (no sections) so that each one maps to exactly one
//! environment variable. Nothing here reads the process environment by
//! itself: `Config::load` takes the variables as an argument, so tests build
//! a `Config` in code and stay isolated from the machine they run on.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// Prefix of every environment variable that overrides a configuration key.
pub const ENV_PREFIX: &str = "MODERATO_";

/// How comments that the spam rules accept are published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModerationMode {
    /// Every comment waits for the author; rule spam goes to `spam`.
    All,
    /// Accepted comments go live only for commenters with an earlier
    /// approved comment (WordPress's default).
    FirstTime,
    /// Every comment the rules accept goes live at once.
    Rules,
}

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
    /// Notifications waiting to be sent at most; beyond it they are dropped.
    pub notify_queue_capacity: u64,
    /// Hours a decision link in an email stays valid.
    pub link_ttl_hours: u64,
    /// Largest body `POST /admin/import` accepts, in MiB.
    pub max_import_mb: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./data"),
            rules_dir: PathBuf::from("./rules"),
            admin_token: None,
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
            max_import_mb: 32,
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
            .field("allowed_origins", &self.allowed_origins)
            .field("moderation", &self.moderation)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("rate_limits_enabled", &self.rate_limits_enabled)
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
    /// Layers the optional file and the `MODERATO_*` variables of `env` over
    /// the defaults, then validates the result.
    ///
    /// # Errors
    /// A [`Error`] naming the file, the variable or the key that is wrong.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, Error> {
        let mut table = match toml::Table::try_from(Config::default()) {
            Ok(table) => table,
            Err(e) => {
                return Err(Error::Invalid {
                    key: "defaults",
                    problem: e.to_string(),
                });
            }
        };
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
                path: path.to_owned(),
                source,
            })?;
            let from_file: toml::Table =
                text.parse().map_err(|e: toml::de::Error| Error::File {
                    path: path.to_owned(),
                    message: e.to_string(),
                })?;
            // Type-check the file alone first so its errors carry its line.
            Config::deserialize(toml::Value::Table(from_file.clone())).map_err(|e| {
                Error::File {
                    path: path.to_owned(),
                    message: e.to_string(),
                }
            })?;
            table.extend(from_file);
        }
        for (var, value) in env {
            let Some(key) = var.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let key = key.to_ascii_lowercase();
            let value = env_value(&table, &var, &key, &value)?;
            table.insert(key, value);
            // Type-check after each variable so an error names its variable.
            Config::deserialize(toml::Value::Table(table.clone())).map_err(|e| Error::Env {
                var: var.clone(),
                message: e.to_string(),
            })?;
        }
        let config = Config::deserialize(toml::Value::Table(table)).map_err(|e| Error::File {
            path: PathBuf::from("(merged configuration)"),
            message: e.to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

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
        if let Some(token) = &self.admin_token
            && token.trim().len() < 16
        {
            return invalid("admin_token", "must be at least 16 characters");
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
        let author_name = self.author_name.trim();
        if author_name.is_empty()
            || author_name.chars().count() > crate::domain::MAX_AUTHOR_CHARS
            || author_name.chars().any(char::is_control)
        {
            return invalid(
                "author_name",
                "must be 1 to 100 characters, without control characters",
            );
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
        ];
        for (key, value) in positive {
            if value == 0 {
                return invalid(key, "must be greater than 0");
            }
        }
        crate::notify::validate_config(self)
            .map_err(|(key, problem)| Error::Invalid { key, problem })
    }

    /// The parsed listen address (validated by [`Config::validate`]).
    pub fn listen_addr(&self) -> Option<SocketAddr> {
        self.listen.parse().ok()
    }

    /// Where sled keeps its files, inside the data directory.
    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("db")
    }
}

/// Turns one environment string into a TOML value of the type its key has
/// in the defaults: numbers, booleans and comma-separated lists.
fn env_value(
    defaults: &toml::Table,
    var: &str,
    key: &str,
    raw: &str,
) -> Result<toml::Value, Error> {
    let unknown = || Error::UnknownEnv {
        var: var.to_owned(),
        key: key.to_owned(),
    };
    // Optional keys are absent from the serialized defaults.
    const OPTIONAL_STRINGS: &[&str] = &["admin_token"];
    let Some(default) = defaults.get(key) else {
        return if OPTIONAL_STRINGS.contains(&key) {
            Ok(toml::Value::String(raw.to_owned()))
        } else {
            Err(unknown())
        };
    };
    let bad = |expected: &str| Error::Env {
        var: var.to_owned(),
        message: format!("expected {expected}, got `{raw}`"),
    };
    Ok(match default {
        toml::Value::Integer(_) => {
            toml::Value::Integer(raw.trim().parse().map_err(|_| bad("a whole number"))?)
        }
        toml::Value::Boolean(_) => match raw.trim() {
            "true" | "1" | "yes" | "on" => toml::Value::Boolean(true),
            "false" | "0" | "no" | "off" => toml::Value::Boolean(false),
            _ => return Err(bad("true or false")),
        },
        toml::Value::Array(_) => toml::Value::Array(
            raw.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| toml::Value::String(s.to_owned()))
                .collect(),
        ),
        _ => toml::Value::String(raw.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_load_without_file_or_environment() {
        let config = Config::load(None, env(&[])).expect("defaults are valid");
        assert_eq!(config.listen, "127.0.0.1:8080");
        assert_eq!(config.data_dir, PathBuf::from("./data"));
        assert_eq!(config.moderation, ModerationMode::FirstTime);
    }

    #[test]
    fn environment_overrides_file_and_parses_types() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("moderato.toml");
        std::fs::write(&file, "listen = \"0.0.0.0:9000\"\nmax_pending = 5\n").expect("write");
        let config = Config::load(
            Some(&file),
            env(&[
                ("MODERATO_MAX_PENDING", "7"),
                (
                    "MODERATO_ALLOWED_ORIGINS",
                    "https://a.example, https://b.example",
                ),
                ("MODERATO_TRUSTED_PROXIES", "127.0.0.1/32,10.0.0.0/8"),
                ("MODERATO_MODERATION", "all"),
                ("MODERATO_RATE_LIMITS_ENABLED", "false"),
                ("PATH", "/usr/bin"),
            ]),
        )
        .expect("valid");
        assert_eq!(config.listen, "0.0.0.0:9000");
        assert_eq!(config.max_pending, 7);
        assert_eq!(config.allowed_origins.len(), 2);
        assert_eq!(config.trusted_proxies.len(), 2);
        assert_eq!(config.moderation, ModerationMode::All);
        assert!(!config.rate_limits_enabled);
    }

    #[test]
    fn bad_values_name_their_key() {
        let cases = [
            (("MODERATO_LISTEN", "not an address"), "listen"),
            (("MODERATO_MAX_PENDING", "many"), "MODERATO_MAX_PENDING"),
            (("MODERATO_MODERATION", "sometimes"), "moderation"),
            (
                ("MODERATO_TRUSTED_PROXIES", "10.0.0.0/99"),
                "trusted_proxies",
            ),
            (
                ("MODERATO_ALLOWED_ORIGINS", "blog.example.org"),
                "allowed_origins",
            ),
            (("MODERATO_ADMIN_TOKEN", "short"), "admin_token"),
            (("MODERATO_RATE_POST_BURST", "0"), "rate_post_burst"),
            (("MODERATO_AUTHOR_NAME", " "), "author_name"),
            (("MODERATO_NO_SUCH_KEY", "1"), "no_such_key"),
        ];
        for ((var, value), expected) in cases {
            let err = Config::load(None, env(&[(var, value)]))
                .expect_err(&format!("{var}={value} should be refused"))
                .to_string();
            assert!(
                err.contains(expected),
                "error for {var}={value} should name `{expected}`, got: {err}"
            );
        }
    }

    #[test]
    fn file_errors_name_the_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("moderato.toml");
        std::fs::write(&file, "max_pending = \"lots\"\n").expect("write");
        let err = Config::load(Some(&file), env(&[]))
            .expect_err("bad type")
            .to_string();
        assert!(err.contains("max_pending"), "got: {err}");
        std::fs::write(&file, "lisen = \"x\"\n").expect("write");
        let err = Config::load(Some(&file), env(&[]))
            .expect_err("unknown key")
            .to_string();
        assert!(err.contains("lisen"), "got: {err}");
    }

    #[test]
    fn debug_never_prints_the_admin_token() {
        let config = Config {
            admin_token: Some("super-secret-admin-token".into()),
            smtp_password: "super-secret-smtp".into(),
            webhook_secret: "super-secret-webhook".into(),
            ..Config::default()
        };
        assert!(!format!("{config:?}").contains("super-secret"));
    }
}

//! Loading: the embedded defaults, then the optional TOML file, then the
//! `MODERATO_*` environment variables, each layer type-checked as it is
//! added so that an error names the file, the variable or the key.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{Config, ENV_PREFIX, Error};

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
    const OPTIONAL_STRINGS: &[&str] = &["admin_token", "metrics_token"];
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
    use crate::config::ModerationMode;

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

//! The reader-side keys: how long a writer may edit their comment
//! (`edit_window`), and readers' mail (`reader_digest_minutes`,
//! `reader_mails_per_day`; on when SMTP is set up). Durations are written as people write them: `90s`,
//! `15m`, `2h`, `1h30m`, or `0` for "off".

use std::time::Duration;

use super::Config;
use crate::domain::subscription::ReaderMail;

/// Longest edit window: a day. Past it an edit is no longer a correction.
pub const MAX_EDIT_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// Parses `90s`, `15m`, `2h`, `1h30m` (units `s`, `m`, `h`, each at most
/// once, largest first) or `0`.
///
/// # Errors
/// A message saying what a duration looks like.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let text = raw.trim();
    let bad = || format!("`{raw}` is not a duration such as 90s, 15m, 2h or 0");
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    if text.is_empty() {
        return Err(bad());
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    let mut last_unit = u64::MAX;
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return Err(bad()),
        };
        if digits.is_empty() || unit >= last_unit {
            return Err(bad());
        }
        let n: u64 = digits.parse().map_err(|_| bad())?;
        total = n
            .checked_mul(unit)
            .and_then(|secs| total.checked_add(secs))
            .ok_or_else(bad)?;
        digits.clear();
        last_unit = unit;
    }
    if !digits.is_empty() {
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
}

/// Checks the reader-side keys; `Err((key, problem))` names the bad one.
/// Called by [`Config::validate`].
///
/// # Errors
/// The key and what is wrong with it.
pub(super) fn validate(config: &Config) -> Result<(), (&'static str, String)> {
    let window = parse_duration(&config.edit_window).map_err(|e| ("edit_window", e))?;
    if window > MAX_EDIT_WINDOW {
        return Err(("edit_window", "must be at most 24h".into()));
    }
    if config.reader_mails_per_day == 0 {
        return Err(("reader_mails_per_day", "must be greater than 0".into()));
    }
    if config.reader_digest_minutes > 24 * 60 {
        return Err((
            "reader_digest_minutes",
            "must be at most 1440 (a day)".into(),
        ));
    }
    Ok(())
}

impl Config {
    /// The settings of readers' mail: on when SMTP is set up.
    pub fn reader_mail(&self) -> ReaderMail {
        ReaderMail {
            enabled: !self.smtp_host.is_empty(),
            digest_delay: Duration::from_secs(self.reader_digest_minutes.saturating_mul(60)),
            per_day: self.reader_mails_per_day,
        }
    }

    /// How long a writer may edit or delete their comment; zero turns
    /// editing off (and an invalid value, which `validate` refuses, too).
    pub fn edit_window(&self) -> Duration {
        parse_duration(&self.edit_window).unwrap_or(Duration::ZERO)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_write_them() {
        let cases = [
            ("0", Some(0)),
            ("90s", Some(90)),
            ("15m", Some(900)),
            (" 2h ", Some(7200)),
            ("1h30m", Some(5400)),
            ("1m30s", Some(90)),
            ("", None),
            ("15", None),
            ("m", None),
            ("30s1m", None),
            ("1m1m", None),
            ("-5m", None),
            ("1d", None),
            ("99999999999999999999h", None),
        ];
        for (raw, expected) in cases {
            assert_eq!(
                parse_duration(raw).ok().map(|d| d.as_secs()),
                expected,
                "{raw:?}"
            );
        }
    }

    #[test]
    fn the_edit_window_is_checked_by_key() {
        for (value, ok) in [
            ("15m", true),
            ("0", true),
            ("24h", true),
            ("25h", false),
            ("soon", false),
        ] {
            let config = Config {
                edit_window: value.into(),
                ..Config::default()
            };
            let result = validate(&config);
            assert_eq!(result.is_ok(), ok, "{value}: {result:?}");
            if let Err((key, _)) = result {
                assert_eq!(key, "edit_window");
            }
        }
        let env = [("MODERATO_EDIT_WINDOW".to_owned(), "90s".to_owned())];
        let config = Config::load(None, env).expect("valid");
        assert_eq!(config.edit_window(), Duration::from_secs(90));
        assert_eq!(Config::default().edit_window(), Duration::from_secs(900));
    }
}

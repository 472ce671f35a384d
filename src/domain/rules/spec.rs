//! The rule-file format (serde): reads one `rules/*.toml` file into
//! [`FileSpec`], with every problem reported as an [`Error`] that names the
//! file and the rule.
//!
//! Each `[[rule]]` table is read in two steps: the common keys (`name`,
//! `kind`, `score`, `description`, `enabled`) first, then the rest into the
//! kind's own struct with `deny_unknown_fields`. That way a typo in a key is
//! an error that says which rule it is in, instead of a rule that silently
//! never fires. This module reads files (word lists too) but compiles nothing.

use std::path::{Path, PathBuf};

use ipnet::IpNet;
use serde::Deserialize;

use super::Error;

/// One parsed rule file.
#[derive(Debug)]
pub struct FileSpec {
    /// Thresholds set by this file, if any (later files override).
    pub thresholds: ThresholdSpec,
    /// The rules, in file order.
    pub rules: Vec<RuleSpec>,
}

/// `[thresholds]`: both keys optional, so a local file can move one alone.
#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdSpec {
    /// Score from which a comment is held for the author.
    pub hold: Option<i32>,
    /// Score from which a comment is filed as spam.
    pub spam: Option<i32>,
}

/// One rule, validated but not compiled.
#[derive(Debug, Clone)]
pub struct RuleSpec {
    /// Unique name, shown in hits.
    pub name: String,
    /// The file it came from (for errors and the summary).
    pub file: PathBuf,
    /// Points added when the rule hits (negative lowers the score).
    pub score: i32,
    /// `enabled = false` keeps a rule in the file, validated, but off.
    pub enabled: bool,
    /// The kind and its settings.
    pub kind: KindSpec,
}

/// A text field of the subject that text rules can look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldName {
    /// The name the reader gave.
    Author,
    /// The email address.
    Email,
    /// The website field.
    Url,
    /// The comment text.
    Comment,
    /// Shorthand for all four.
    All,
}

/// Which recorded decision a `history` rule looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HistoryWhen {
    /// Earlier comments the author approved.
    Approved,
    /// Earlier comments the author marked as spam.
    Spam,
}

/// The kind-specific settings of a rule, after word/CIDR files are read.
#[derive(Debug, Clone)]
pub enum KindSpec {
    /// Regular expressions over the normalized text of `fields`.
    Regex {
        patterns: Vec<String>,
        fields: Vec<FieldName>,
    },
    /// Words or phrases, normalized, matched on word boundaries.
    Words {
        words: Vec<String>,
        fields: Vec<FieldName>,
    },
    /// More than `max` distinct links.
    Links { max: u32, url_field: bool },
    /// A comment that is nothing but links (at most `max_words` other words).
    LinkOnly { max_words: u32 },
    /// Links, the website field or the email in blocked domains.
    Domains {
        domains: Vec<String>,
        fields: Vec<FieldName>,
    },
    /// A form field that humans leave empty.
    Honeypot { field: String },
    /// The signed form token: missing, invalid, too young or expired.
    MinTime {
        seconds: u64,
        max_age_hours: u64,
        missing: bool,
    },
    /// The same normalized text stored within the last `hours`.
    Duplicate { hours: u64 },
    /// Shouting: at least `min_letters` letters and a capital share >= `ratio`.
    Caps { ratio: f64, min_letters: usize },
    /// Earlier decisions about the same email.
    History { when: HistoryWhen, min: u32 },
    /// The client address is in one of the networks.
    Ip { networks: Vec<IpNet> },
    /// More than `ratio` of the letters outside the `allowed` scripts.
    Script {
        allowed: Vec<String>,
        ratio: f64,
        min_letters: usize,
    },
    /// The learning filter's verdict, mapped from its spam probability to a
    /// score. Run by the moderation steps after every other rule, since it
    /// needs the model (which the rules engine does not hold) and the other
    /// rules' score.
    Learned(LearnedSpec),
}

/// The settings of the `learned` rule: where its spam probability starts to
/// add points, how many, and which rules it never lowers. The defaults are
/// the measured mapping (BENCHMARKS.md, "Probability -> rule score").
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LearnedSpec {
    /// From this probability the rule files spam on its own, once the
    /// author has decided 20 spam and 20 ham comments (before that it holds).
    #[serde(default = "LearnedSpec::default_spam_from")]
    pub spam_from: f64,
    /// From this probability it holds a comment on its own.
    #[serde(default = "LearnedSpec::default_hold_from")]
    pub hold_from: f64,
    /// From this probability it adds `nudge`.
    #[serde(default = "LearnedSpec::default_nudge_from")]
    pub nudge_from: f64,
    /// Points added between `nudge_from` and `hold_from`.
    #[serde(default = "LearnedSpec::default_points")]
    pub nudge: i32,
    /// Below this probability it subtracts `relief`.
    #[serde(default = "LearnedSpec::default_relief_below")]
    pub relief_below: f64,
    /// Points subtracted below `relief_below`.
    #[serde(default = "LearnedSpec::default_points")]
    pub relief: i32,
    /// Rules whose hit it never lowers (the hard signals): a comment they
    /// call spam cannot become an accept through the learned rule.
    #[serde(default)]
    pub never_lowers: Vec<String>,
}

impl LearnedSpec {
    fn default_spam_from() -> f64 {
        0.99
    }
    fn default_hold_from() -> f64 {
        0.90
    }
    fn default_nudge_from() -> f64 {
        0.60
    }
    fn default_relief_below() -> f64 {
        0.05
    }
    fn default_points() -> i32 {
        3
    }

    /// Checks the order of the bounds and the signs of the points.
    fn check(&self) -> Result<(), String> {
        let bounds = [
            ("relief_below", self.relief_below),
            ("nudge_from", self.nudge_from),
            ("hold_from", self.hold_from),
            ("spam_from", self.spam_from),
        ];
        if let Some((name, _)) = bounds.iter().find(|(_, p)| !(0.0..=1.0).contains(p)) {
            return Err(format!("learned: `{name}` must be between 0 and 1"));
        }
        if bounds.windows(2).any(|w| w[0].1 > w[1].1) {
            return Err(
                "learned: the bounds must rise: relief_below <= nudge_from <= hold_from <= spam_from"
                    .into(),
            );
        }
        if self.nudge < 0 || self.relief < 0 {
            return Err("learned: `nudge` and `relief` are points, 0 or more".into());
        }
        Ok(())
    }
}

impl Default for LearnedSpec {
    fn default() -> Self {
        LearnedSpec {
            spam_from: Self::default_spam_from(),
            hold_from: Self::default_hold_from(),
            nudge_from: Self::default_nudge_from(),
            nudge: Self::default_points(),
            relief_below: Self::default_relief_below(),
            relief: Self::default_points(),
            never_lowers: Vec::new(),
        }
    }
}

impl KindSpec {
    /// The kind's name as written in rule files.
    pub fn name(&self) -> &'static str {
        match self {
            KindSpec::Regex { .. } => "regex",
            KindSpec::Words { .. } => "words",
            KindSpec::Links { .. } => "links",
            KindSpec::LinkOnly { .. } => "link_only",
            KindSpec::Domains { .. } => "domains",
            KindSpec::Honeypot { .. } => "honeypot",
            KindSpec::MinTime { .. } => "min_time",
            KindSpec::Duplicate { .. } => "duplicate",
            KindSpec::Caps { .. } => "caps",
            KindSpec::History { .. } => "history",
            KindSpec::Ip { .. } => "ip",
            KindSpec::Script { .. } => "script",
            KindSpec::Learned(_) => "learned",
        }
    }

    /// `true` for kinds that need facts from the HTTP request, which an
    /// offline evaluation does not have.
    pub fn needs_request(&self) -> bool {
        matches!(
            self,
            KindSpec::Honeypot { .. }
                | KindSpec::MinTime { .. }
                | KindSpec::Duplicate { .. }
                | KindSpec::History { .. }
                | KindSpec::Ip { .. }
        )
    }
}

/// The kinds a rule file may name, for the "unknown kind" message.
const KINDS: &str = "regex, words, links, link_only, domains, honeypot, min_time, duplicate, \
                     caps, history, ip, script, learned";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    thresholds: ThresholdSpec,
    #[serde(default)]
    rule: Vec<toml::Table>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegexKeys {
    pattern: Option<String>,
    patterns: Option<Vec<String>>,
    fields: Option<Vec<FieldName>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WordsKeys {
    words: Option<Vec<String>>,
    file: Option<String>,
    fields: Option<Vec<FieldName>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DomainsKeys {
    domains: Option<Vec<String>>,
    file: Option<String>,
    fields: Option<Vec<FieldName>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IpKeys {
    cidrs: Option<Vec<String>>,
    file: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LinksKeys {
    max: u32,
    #[serde(default)]
    url_field: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkOnlyKeys {
    #[serde(default = "default_max_words")]
    max_words: u32,
}

fn default_max_words() -> u32 {
    2
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HoneypotKeys {
    field: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MinTimeKeys {
    seconds: u64,
    max_age_hours: u64,
    #[serde(default = "yes")]
    missing: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DuplicateKeys {
    hours: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CapsKeys {
    ratio: f64,
    min_letters: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HistoryKeys {
    when: HistoryWhen,
    #[serde(default = "one")]
    min: u32,
}

fn one() -> u32 {
    1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScriptKeys {
    allowed: Vec<String>,
    #[serde(default = "half")]
    ratio: f64,
    #[serde(default = "ten")]
    min_letters: usize,
}

fn half() -> f64 {
    0.5
}

fn ten() -> usize {
    10
}

/// Reads and validates one rule file. `dir` is where list files are found.
pub fn parse_file(path: &Path, dir: &Path, source: &str) -> Result<FileSpec, Error> {
    let raw: RawFile = toml::from_str(source).map_err(|e| Error::File {
        file: path.to_owned(),
        problem: e.message().to_owned(),
    })?;
    let mut rules = Vec::with_capacity(raw.rule.len());
    for (i, table) in raw.rule.into_iter().enumerate() {
        rules.push(parse_rule(path, dir, i, table)?);
    }
    Ok(FileSpec {
        thresholds: raw.thresholds,
        rules,
    })
}

fn parse_rule(
    path: &Path,
    dir: &Path,
    index: usize,
    mut t: toml::Table,
) -> Result<RuleSpec, Error> {
    let unnamed = format!("#{}", index + 1);
    let fail = |rule: &str, problem: String| Error::Rule {
        file: path.to_owned(),
        rule: rule.to_owned(),
        problem,
    };
    let name = match t.remove("name") {
        Some(toml::Value::String(s)) if !s.trim().is_empty() => s,
        Some(_) => return Err(fail(&unnamed, "`name` must be a non-empty string".into())),
        None => return Err(fail(&unnamed, "missing key `name`".into())),
    };
    let kind = match t.remove("kind") {
        Some(toml::Value::String(s)) => s,
        Some(_) => return Err(fail(&name, "`kind` must be a string".into())),
        None => return Err(fail(&name, "missing key `kind`".into())),
    };
    // The learned rule's points come from its probability, so it has no
    // `score`; every other rule needs one.
    let score = match (t.remove("score"), kind == "learned") {
        (Some(_), true) => {
            return Err(fail(
                &name,
                "learned: `score` is not used, the probability sets the points \
                 (spam_from, hold_from, nudge_from, nudge, relief_below, relief)"
                    .into(),
            ));
        }
        (None, true) => 0,
        (Some(toml::Value::Integer(n)), false) => {
            i32::try_from(n).map_err(|_| fail(&name, format!("`score` {n} is out of range")))?
        }
        (Some(_), false) => return Err(fail(&name, "`score` must be an integer".into())),
        (None, false) => return Err(fail(&name, "missing key `score`".into())),
    };
    let enabled = match t.remove("enabled") {
        Some(toml::Value::Boolean(b)) => b,
        Some(_) => return Err(fail(&name, "`enabled` must be true or false".into())),
        None => true,
    };
    if let Some(d) = t.remove("description")
        && !d.is_str()
    {
        return Err(fail(&name, "`description` must be a string".into()));
    }
    let kind = parse_kind(&kind, t, dir).map_err(|problem| fail(&name, problem))?;
    Ok(RuleSpec {
        name,
        file: path.to_owned(),
        score,
        enabled,
        kind,
    })
}

/// Deserializes the kind-specific keys; the error is a message for the user.
fn keys<T: for<'de> Deserialize<'de>>(kind: &str, t: toml::Table) -> Result<T, String> {
    t.try_into::<T>()
        .map_err(|e| format!("{kind}: {}", e.message()))
}

fn parse_kind(kind: &str, t: toml::Table, dir: &Path) -> Result<KindSpec, String> {
    let spec = match kind {
        "regex" => {
            let k: RegexKeys = keys(kind, t)?;
            let mut patterns = k.patterns.unwrap_or_default();
            patterns.extend(k.pattern);
            if patterns.is_empty() {
                return Err("regex: missing key `pattern` (or `patterns`)".into());
            }
            KindSpec::Regex {
                patterns,
                fields: fields_or(k.fields, &[FieldName::Comment]),
            }
        }
        "words" => {
            let k: WordsKeys = keys(kind, t)?;
            let words = list(k.words, k.file.as_deref(), dir, "words")?;
            KindSpec::Words {
                words,
                fields: fields_or(k.fields, &[FieldName::Comment]),
            }
        }
        "domains" => {
            let k: DomainsKeys = keys(kind, t)?;
            let domains = list(k.domains, k.file.as_deref(), dir, "domains")?
                .into_iter()
                .map(|d| {
                    d.trim_start_matches("*.")
                        .trim_matches('.')
                        .to_ascii_lowercase()
                })
                .collect();
            KindSpec::Domains {
                domains,
                fields: fields_or(k.fields, &[FieldName::Comment, FieldName::Url]),
            }
        }
        "ip" => {
            let k: IpKeys = keys(kind, t)?;
            let mut networks = Vec::new();
            for entry in list(k.cidrs, k.file.as_deref(), dir, "cidrs")? {
                let net = entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<std::net::IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("ip: `{entry}` is not an address or CIDR network"))?;
                networks.push(net);
            }
            KindSpec::Ip { networks }
        }
        "links" => {
            let k: LinksKeys = keys(kind, t)?;
            KindSpec::Links {
                max: k.max,
                url_field: k.url_field,
            }
        }
        "link_only" => {
            let k: LinkOnlyKeys = keys(kind, t)?;
            KindSpec::LinkOnly {
                max_words: k.max_words,
            }
        }
        "honeypot" => {
            let k: HoneypotKeys = keys(kind, t)?;
            KindSpec::Honeypot { field: k.field }
        }
        "min_time" => {
            let k: MinTimeKeys = keys(kind, t)?;
            if k.max_age_hours == 0 || k.max_age_hours * 3600 <= k.seconds {
                return Err("min_time: `max_age_hours` must be longer than `seconds`".into());
            }
            KindSpec::MinTime {
                seconds: k.seconds,
                max_age_hours: k.max_age_hours,
                missing: k.missing,
            }
        }
        "duplicate" => {
            let k: DuplicateKeys = keys(kind, t)?;
            KindSpec::Duplicate { hours: k.hours }
        }
        "caps" => {
            let k: CapsKeys = keys(kind, t)?;
            if !(0.0..=1.0).contains(&k.ratio) {
                return Err("caps: `ratio` must be between 0 and 1".into());
            }
            KindSpec::Caps {
                ratio: k.ratio,
                min_letters: k.min_letters,
            }
        }
        "history" => {
            let k: HistoryKeys = keys(kind, t)?;
            KindSpec::History {
                when: k.when,
                min: k.min.max(1),
            }
        }
        "script" => {
            let k: ScriptKeys = keys(kind, t)?;
            if !(0.0..=1.0).contains(&k.ratio) {
                return Err("script: `ratio` must be between 0 and 1".into());
            }
            if let Some(bad) = k
                .allowed
                .iter()
                .find(|s| super::text::Script::parse(s).is_none())
            {
                return Err(format!(
                    "script: unknown script `{bad}` (known: latin, cyrillic, greek, armenian, \
                     hebrew, arabic, indic, thai, georgian, han, kana, hangul)"
                ));
            }
            KindSpec::Script {
                allowed: k.allowed,
                ratio: k.ratio,
                min_letters: k.min_letters,
            }
        }
        "learned" => {
            let spec: LearnedSpec = keys(kind, t)?;
            spec.check()?;
            KindSpec::Learned(spec)
        }
        other => return Err(format!("unknown kind `{other}` (known: {KINDS})")),
    };
    Ok(spec)
}

fn fields_or(fields: Option<Vec<FieldName>>, default: &[FieldName]) -> Vec<FieldName> {
    let fields = fields.unwrap_or_else(|| default.to_vec());
    let mut out: Vec<FieldName> = if fields.contains(&FieldName::All) {
        vec![
            FieldName::Author,
            FieldName::Email,
            FieldName::Url,
            FieldName::Comment,
        ]
    } else {
        fields
    };
    out.sort();
    out.dedup();
    out
}

/// An inline list and/or a list file next to the rules (one entry a line,
/// `#` starts a comment). At least one entry is required.
fn list(
    inline: Option<Vec<String>>,
    file: Option<&str>,
    dir: &Path,
    key: &str,
) -> Result<Vec<String>, String> {
    let mut entries: Vec<String> = inline.unwrap_or_default();
    if let Some(file) = file {
        let path = dir.join(file);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read list file {}: {e}", path.display()))?;
        entries.extend(
            text.lines()
                .map(|l| l.split('#').next().unwrap_or_default().trim())
                .filter(|l| !l.is_empty())
                .map(str::to_owned),
        );
    }
    entries.retain(|e| !e.trim().is_empty());
    if entries.is_empty() {
        return Err(format!(
            "missing key `{key}` (or `file`), or the list is empty"
        ));
    }
    Ok(entries)
}

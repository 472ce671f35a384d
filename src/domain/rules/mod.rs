//! The spam rules engine: loads `rules/*.toml`, scores a comment, and turns
//! the score into an action (`accept`, `hold`, `spam`).
//!
//! This module is pure: [`RuleSet::evaluate`] does no I/O and keeps no state,
//! so the HTTP handler, `POST /admin/rules/test` and `moderato rules eval`
//! all get the same verdict for the same input. Facts that need the store or
//! the request (form token, honeypot field, earlier decisions, duplicates,
//! client address) are computed by the caller and passed in
//! [`RequestFacts`]; offline there are none, and the rules that need them are
//! skipped. The rule-file format is documented in README.md ("Spam rules").

mod compile;
mod normalize;
#[cfg(test)]
mod properties;
mod spec;
#[cfg(test)]
mod tests;
mod text;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use crate::domain::comment::{Action, History, Hit};
pub use crate::domain::privacy::TokenCheck;
pub use normalize::{decode_visible, fold, normalize};
pub use text::{LinkFinder, Script, host_of};

use compile::Compiled;
pub use spec::LearnedSpec;
use spec::{KindSpec, RuleSpec};

/// What the rules look at: the comment as the reader typed it, plus request
/// facts when there is a request.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// The name the reader gave.
    pub author: &'a str,
    /// Trimmed email address, `""` when unknown.
    pub email: &'a str,
    /// Website field, `""` when none.
    pub url: &'a str,
    /// Raw comment text as typed (not the sanitized HTML: sanitizing would
    /// remove the very links and tags spam rules look for).
    pub comment: &'a str,
    /// The page (thread key) the comment is for.
    pub page: &'a str,
    /// Facts from the HTTP request; `None` offline, where rules needing them
    /// are skipped.
    pub request: Option<RequestFacts<'a>>,
}

/// Facts about the request that only the HTTP layer and the store know.
#[derive(Debug, Clone, Copy)]
pub struct RequestFacts<'a> {
    /// Client address (after trusted-proxy resolution).
    pub ip: Option<IpAddr>,
    /// Every string field the client sent, including unknown ones (honeypot).
    pub fields: &'a BTreeMap<String, String>,
    /// Result of [`FormTokens::verify`] for this request.
    pub form_token: TokenCheck,
    /// This commenter's earlier decisions (by keyed email hash).
    pub history: History,
    /// How long ago the same normalized text was last stored; `None` = never.
    pub last_seen_same_text: Option<Duration>,
}

/// What the rules say about one comment.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Verdict {
    /// Sum of the scores of the rules that hit.
    pub score: i32,
    /// The action the thresholds give for that score.
    pub action: Action,
    /// The rules that hit, in rule order.
    pub hits: Vec<Hit>,
}

/// Errors from loading rules or evaluating a file of comments.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The rules directory (or a file in it) could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The path that failed.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The directory holds no `*.toml` file.
    #[error("{}: no rule files (*.toml) found", dir.display())]
    NoRules {
        /// The directory.
        dir: PathBuf,
    },
    /// A file is not valid TOML or has a bad top-level key.
    #[error("{}: {problem}", file.display())]
    File {
        /// The file.
        file: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// A rule is invalid.
    #[error("{}: rule `{rule}`: {problem}", file.display())]
    Rule {
        /// The file.
        file: PathBuf,
        /// The rule's name (or `#n` when it has none).
        rule: String,
        /// What is wrong.
        problem: String,
    },
    /// Thresholds are inconsistent.
    #[error("thresholds: {0}")]
    Thresholds(String),
    /// The merged matchers could not be built (size limits).
    #[error("cannot compile rules: {0}")]
    Compile(String),
    /// A line of an evaluation file is invalid.
    #[error("{}:{line}: {problem}", file.display())]
    Eval {
        /// The file.
        file: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        problem: String,
    },
}

/// Score thresholds; `hold <= spam`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// From this score a comment is held.
    pub hold: i32,
    /// From this score a comment is spam.
    pub spam: i32,
}

impl Default for Thresholds {
    /// Used when no file sets them; the shipped `default.toml` sets both.
    fn default() -> Self {
        Thresholds { hold: 5, spam: 10 }
    }
}

/// A loaded, compiled rule set. Immutable once built, `Send + Sync`: share it
/// behind an `Arc` and swap the `Arc` on reload.
#[derive(Debug)]
pub struct RuleSet {
    specs: Vec<RuleSpec>,
    thresholds: Thresholds,
    files: Vec<PathBuf>,
    compiled: Compiled,
}

impl RuleSet {
    /// Loads `dir/*.toml` in file-name order, so `50-local.toml` can override
    /// the thresholds of `default.toml`; other files (word lists) are read
    /// only when a rule names them.
    ///
    /// # Errors
    /// A file that cannot be read, invalid TOML, an invalid rule (the message
    /// names the file, the rule and the problem), a rule name used twice,
    /// `hold > spam`, or no rule file at all.
    pub fn load_dir(dir: &Path) -> Result<RuleSet, Error> {
        let read_err = |path: &Path| {
            let path = path.to_owned();
            move |source| Error::Read { path, source }
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(read_err(dir))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(Error::NoRules {
                dir: dir.to_owned(),
            });
        }
        let mut sources = Vec::with_capacity(files.len());
        for path in &files {
            let text = std::fs::read_to_string(path).map_err(read_err(path))?;
            sources.push((path.clone(), text));
        }
        Self::from_sources(dir, &sources)
    }

    /// Builds a rule set from file contents already in memory (`(path,
    /// text)` in load order); list files are read from `dir`.
    ///
    /// # Errors
    /// As [`RuleSet::load_dir`].
    pub fn from_sources(dir: &Path, sources: &[(PathBuf, String)]) -> Result<RuleSet, Error> {
        let mut thresholds = Thresholds::default();
        let mut specs: Vec<RuleSpec> = Vec::new();
        for (path, text) in sources {
            let file = spec::parse_file(path, dir, text)?;
            thresholds.hold = file.thresholds.hold.unwrap_or(thresholds.hold);
            thresholds.spam = file.thresholds.spam.unwrap_or(thresholds.spam);
            for rule in file.rules {
                if let Some(first) = specs.iter().find(|r| r.name == rule.name) {
                    return Err(Error::Rule {
                        file: rule.file.clone(),
                        rule: rule.name.clone(),
                        problem: format!(
                            "duplicate name (first defined in {})",
                            first.file.display()
                        ),
                    });
                }
                specs.push(rule);
            }
        }
        check_learned(&specs)?;
        if thresholds.hold > thresholds.spam {
            return Err(Error::Thresholds(format!(
                "`hold` ({}) must not be above `spam` ({})",
                thresholds.hold, thresholds.spam
            )));
        }
        let compiled = Compiled::build(&specs)?;
        Ok(RuleSet {
            specs,
            thresholds,
            files: sources.iter().map(|(p, _)| p.clone()).collect(),
            compiled,
        })
    }

    /// Scores a subject. Pure, no I/O: the hot path of `POST /api/comments`.
    pub fn evaluate(&self, subject: &Subject<'_>) -> Verdict {
        let hit = self.compiled.run(subject);
        let hits: Vec<Hit> = self
            .specs
            .iter()
            .zip(hit)
            .filter(|(_, h)| *h)
            .map(|(s, _)| Hit::new(s.name.clone(), s.score))
            .collect();
        let score = hits.iter().fold(0i32, |sum, h| sum.saturating_add(h.score));
        Verdict {
            score,
            action: self.action_for(score),
            hits,
        }
    }

    /// The enabled `learned` rule: its name and settings. The rules engine
    /// does not run it (it holds no model); the moderation steps do, after
    /// [`RuleSet::evaluate`], with [`crate::domain::learn::verdict`].
    pub fn learned(&self) -> Option<(&str, &LearnedSpec)> {
        self.specs.iter().find_map(|s| match &s.kind {
            KindSpec::Learned(spec) if s.enabled => Some((s.name.as_str(), spec)),
            _ => None,
        })
    }

    /// The action the thresholds give for a score.
    pub fn action_for(&self, score: i32) -> Action {
        if score >= self.thresholds.spam {
            Action::Spam
        } else if score >= self.thresholds.hold {
            Action::Hold
        } else {
            Action::Accept
        }
    }

    /// The thresholds in force (after every file was applied).
    pub fn thresholds(&self) -> Thresholds {
        self.thresholds
    }

    /// Names of the enabled rules that need request facts, which an offline
    /// evaluation skips.
    pub fn request_rules(&self) -> Vec<&str> {
        self.specs
            .iter()
            .filter(|s| s.enabled && s.kind.needs_request())
            .map(|s| s.name.as_str())
            .collect()
    }

    /// A human summary for `moderato rules check`: files, thresholds, and one
    /// line per rule (name, kind, score, on/off).
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let enabled = self.specs.iter().filter(|s| s.enabled).count();
        let _ = writeln!(
            out,
            "{} rules ({} enabled) from {} file(s); hold at {}, spam at {}",
            self.specs.len(),
            enabled,
            self.files.len(),
            self.thresholds.hold,
            self.thresholds.spam
        );
        for file in &self.files {
            let _ = writeln!(out, "{}:", file.display());
            for s in self.specs.iter().filter(|s| &s.file == file) {
                let score = match s.kind {
                    KindSpec::Learned(_) => "p".to_owned(),
                    _ => format!("{:+}", s.score),
                };
                let _ = writeln!(
                    out,
                    "  {:<28} {:<10} {:>4}{}",
                    s.name,
                    s.kind.name(),
                    score,
                    if s.enabled { "" } else { "  (disabled)" }
                );
            }
        }
        let offline = self.request_rules();
        if !offline.is_empty() {
            let _ = writeln!(
                out,
                "need a request (skipped offline): {}",
                offline.join(", ")
            );
        }
        out
    }
}

/// At most one `learned` rule, and every rule it never lowers exists.
fn check_learned(specs: &[RuleSpec]) -> Result<(), Error> {
    let mut learned = specs.iter().filter_map(|s| match &s.kind {
        KindSpec::Learned(spec) => Some((s, spec)),
        _ => None,
    });
    let Some((first, spec)) = learned.next() else {
        return Ok(());
    };
    if let Some((second, _)) = learned.next() {
        return Err(Error::Rule {
            file: second.file.clone(),
            rule: second.name.clone(),
            problem: format!(
                "learned: only one learned rule (first: `{}` in {})",
                first.name,
                first.file.display()
            ),
        });
    }
    for name in &spec.never_lowers {
        if !specs.iter().any(|s| &s.name == name) {
            return Err(Error::Rule {
                file: first.file.clone(),
                rule: first.name.clone(),
                problem: format!("learned: `never_lowers` names no rule `{name}`"),
            });
        }
    }
    Ok(())
}

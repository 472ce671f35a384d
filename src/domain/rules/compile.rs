//! Compiles validated [`RuleSpec`]s into matchers, once, at load time, and
//! runs them over a subject.
//!
//! The text rules are what makes evaluation cost grow with the rule count, so
//! they are merged per field: every `regex` pattern of a field goes into one
//! `RegexSet` and every `words` entry of a field into one Aho-Corasick
//! automaton. One pass per field then answers "which rules hit", whether there
//! are ten rules or a thousand. The other kinds are a few comparisons each.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use ipnet::IpNet;
use regex::{RegexBuilder, RegexSet, RegexSetBuilder};

use super::spec::{FieldName, HistoryWhen, KindSpec, RuleSpec};
use super::text::{self, LinkFinder, Script};
use super::{Error, Subject, TokenCheck, normalize};

/// Compiled-program size limits: generous, because a thousand rules in one
/// `RegexSet` is a supported setup, but bounded so a pathological pattern is
/// a load error rather than memory exhaustion.
const REGEX_SIZE_LIMIT: usize = 64 << 20;
const DFA_SIZE_LIMIT: usize = 64 << 20;

/// The four text fields, in `Subject` order.
const FIELDS: [FieldName; 4] = [
    FieldName::Author,
    FieldName::Email,
    FieldName::Url,
    FieldName::Comment,
];

/// Text matchers of one field.
#[derive(Debug, Default)]
struct FieldMatchers {
    regex: Option<RegexSet>,
    /// Rule index of each pattern in `regex`.
    regex_rules: Vec<usize>,
    words: Option<AhoCorasick>,
    /// Rule index of each pattern in `words`.
    word_rules: Vec<usize>,
    /// Whether the pattern starts / ends with a word character, i.e. whether
    /// a word boundary must be checked on that side.
    word_edges: Vec<(bool, bool)>,
}

/// A rule that is not a text match.
#[derive(Debug)]
enum Check {
    Links {
        max: u32,
        url_field: bool,
    },
    LinkOnly {
        max_words: u32,
    },
    Honeypot {
        field: String,
    },
    MinTime {
        min_secs: u64,
        max_secs: u64,
        missing: bool,
    },
    Duplicate {
        secs: u64,
    },
    Caps {
        ratio: f64,
        min_letters: usize,
    },
    History {
        when: HistoryWhen,
        min: u32,
    },
    Ip {
        networks: Vec<IpNet>,
    },
    Script {
        allowed: Vec<Script>,
        ratio: f64,
        min_letters: usize,
    },
}

/// Every rule compiled; immutable and shared between requests.
#[derive(Debug)]
pub struct Compiled {
    fields: [FieldMatchers; 4],
    checks: Vec<(usize, Check)>,
    /// Blocked domain -> (rule index, fields the rule looks at).
    domains: HashMap<String, Vec<(usize, Vec<FieldName>)>>,
    links: LinkFinder,
    rule_count: usize,
}

impl Compiled {
    /// Compiles the enabled rules of `specs` (indices are positions in `specs`).
    pub fn build(specs: &[RuleSpec]) -> Result<Compiled, Error> {
        let mut regex_patterns: [Vec<String>; 4] = Default::default();
        let mut fields: [FieldMatchers; 4] = Default::default();
        let mut words: [Vec<String>; 4] = Default::default();
        let mut checks = Vec::new();
        let mut domains: HashMap<String, Vec<(usize, Vec<FieldName>)>> = HashMap::new();
        for (i, spec) in specs.iter().enumerate().filter(|(_, s)| s.enabled) {
            let fail = |problem: String| Error::Rule {
                file: spec.file.clone(),
                rule: spec.name.clone(),
                problem,
            };
            match &spec.kind {
                KindSpec::Regex {
                    patterns,
                    fields: on,
                } => {
                    for p in patterns {
                        // Compile alone first so a bad pattern names its rule.
                        RegexBuilder::new(p)
                            .case_insensitive(true)
                            .size_limit(REGEX_SIZE_LIMIT)
                            .build()
                            .map_err(|e| fail(format!("bad pattern `{p}`: {e}")))?;
                        for f in on {
                            let k = slot(*f);
                            regex_patterns[k].push(p.clone());
                            fields[k].regex_rules.push(i);
                        }
                    }
                }
                KindSpec::Words {
                    words: list,
                    fields: on,
                } => {
                    for w in list {
                        let w = normalize(w);
                        if w.is_empty() {
                            return Err(fail(format!("word `{w}` is empty once normalized")));
                        }
                        let edges = (
                            w.chars().next().is_some_and(char::is_alphanumeric),
                            w.chars().last().is_some_and(char::is_alphanumeric),
                        );
                        for f in on {
                            let k = slot(*f);
                            words[k].push(w.clone());
                            fields[k].word_rules.push(i);
                            fields[k].word_edges.push(edges);
                        }
                    }
                }
                KindSpec::Domains {
                    domains: list,
                    fields: on,
                } => {
                    for d in list {
                        domains.entry(d.clone()).or_default().push((i, on.clone()));
                    }
                }
                kind => checks.extend(check_of(kind).map(|c| (i, c))),
            }
        }
        for (k, patterns) in regex_patterns.iter().enumerate() {
            if patterns.is_empty() {
                continue;
            }
            let set = RegexSetBuilder::new(patterns)
                .case_insensitive(true)
                .size_limit(REGEX_SIZE_LIMIT)
                .dfa_size_limit(DFA_SIZE_LIMIT)
                .build()
                .map_err(|e| Error::Compile(format!("regex rules of one field: {e}")))?;
            fields[k].regex = Some(set);
        }
        for (k, list) in words.iter().enumerate() {
            if list.is_empty() {
                continue;
            }
            let ac = AhoCorasickBuilder::new()
                .match_kind(MatchKind::Standard)
                .build(list)
                .map_err(|e| Error::Compile(format!("word lists: {e}")))?;
            fields[k].words = Some(ac);
        }
        Ok(Compiled {
            fields,
            checks,
            domains,
            links: LinkFinder::new(),
            rule_count: specs.len(),
        })
    }

    /// Returns, per rule index, whether the rule hit. Rules that need the
    /// request are skipped when `subject.request` is `None`.
    pub fn run(&self, s: &Subject<'_>) -> Vec<bool> {
        let mut hit = vec![false; self.rule_count];
        let raw = [s.author, s.email, s.url, s.comment];
        // The comment is decoded once: `visible` for caps and script,
        // its folded form for every text matcher.
        let visible = normalize::decode_visible(s.comment);
        let mut normalized: [Option<String>; 4] = Default::default();
        normalized[3] = Some(normalize::fold(&visible));
        for (k, m) in self.fields.iter().enumerate() {
            if m.regex.is_none() && m.words.is_none() {
                continue;
            }
            let text = normalized[k].get_or_insert_with(|| normalize(raw[k]));
            if let Some(set) = &m.regex {
                for p in set.matches(text).iter() {
                    hit[m.regex_rules[p]] = true;
                }
            }
            if let Some(ac) = &m.words {
                for found in ac.find_overlapping_iter(text.as_str()) {
                    let p = found.pattern().as_usize();
                    if hit[m.word_rules[p]] {
                        continue;
                    }
                    let (check_start, check_end) = m.word_edges[p];
                    let before = text[..found.start()].chars().next_back();
                    let after = text[found.end()..].chars().next();
                    let bounded = (!check_start || !before.is_some_and(char::is_alphanumeric))
                        && (!check_end || !after.is_some_and(char::is_alphanumeric));
                    if bounded {
                        hit[m.word_rules[p]] = true;
                    }
                }
            }
        }
        let comment = normalized[3].take().unwrap_or_else(|| normalize(s.comment));
        let needs_links = !self.domains.is_empty()
            || self
                .checks
                .iter()
                .any(|(_, c)| matches!(c, Check::Links { .. } | Check::LinkOnly { .. }));
        let links = if needs_links {
            self.links.find(&comment)
        } else {
            Vec::new()
        };
        if !self.domains.is_empty() {
            self.run_domains(s, &links, &mut hit);
        }
        let mut facts = Facts {
            comment: &comment,
            visible: &visible,
            links: &links,
            words_outside_links: None,
            caps: None,
        };
        for (i, check) in &self.checks {
            hit[*i] = self.check(check, s, &mut facts);
        }
        hit
    }

    fn run_domains(&self, s: &Subject<'_>, links: &[text::Link], hit: &mut [bool]) {
        let mut hosts: Vec<(FieldName, String)> = links
            .iter()
            .map(|l| (FieldName::Comment, l.host.clone()))
            .collect();
        if !s.url.trim().is_empty() {
            hosts.push((
                FieldName::Url,
                text::host_of(&s.url.trim().to_ascii_lowercase()),
            ));
        }
        if let Some((_, domain)) = s.email.rsplit_once('@') {
            hosts.push((FieldName::Email, domain.trim().to_ascii_lowercase()));
        }
        for (field, host) in &hosts {
            let mut suffix = host.as_str();
            loop {
                if let Some(rules) = self.domains.get(suffix) {
                    for (i, on) in rules {
                        if on.contains(field) {
                            hit[*i] = true;
                        }
                    }
                }
                match suffix.split_once('.') {
                    Some((_, rest)) => suffix = rest,
                    None => break,
                }
            }
        }
    }

    fn check(&self, check: &Check, s: &Subject<'_>, f: &mut Facts<'_>) -> bool {
        match check {
            Check::Links { max, url_field } => {
                let extra = usize::from(*url_field && !s.url.trim().is_empty());
                f.links.len() + extra > *max as usize
            }
            Check::LinkOnly { max_words } => {
                let (comment, links) = (f.comment, f.links);
                !links.is_empty()
                    && *f.words_outside_links.get_or_insert_with(|| {
                        text::words_outside_links(comment, links, *max_words as usize)
                    }) <= *max_words as usize
            }
            Check::Caps { ratio, min_letters } => {
                let visible = f.visible;
                let (letters, upper) = *f.caps.get_or_insert_with(|| text::caps_share(visible));
                letters >= *min_letters && letters > 0 && upper as f64 / letters as f64 >= *ratio
            }
            Check::Script {
                allowed,
                ratio,
                min_letters,
            } => {
                let (letters, foreign) = text::foreign_letters(f.visible, allowed);
                letters >= *min_letters && letters > 0 && foreign as f64 / letters as f64 > *ratio
            }
            request_check => {
                let Some(r) = &s.request else { return false };
                match request_check {
                    Check::Honeypot { field } => {
                        r.fields.get(field).is_some_and(|v| !v.trim().is_empty())
                    }
                    Check::MinTime {
                        min_secs,
                        max_secs,
                        missing,
                    } => match r.form_token {
                        TokenCheck::Missing => *missing,
                        TokenCheck::Invalid => true,
                        TokenCheck::Valid { age } => {
                            age.as_secs() < *min_secs || age.as_secs() > *max_secs
                        }
                    },
                    Check::Duplicate { secs } => {
                        r.last_seen_same_text.is_some_and(|d| d.as_secs() <= *secs)
                    }
                    Check::History { when, min } => match when {
                        HistoryWhen::Approved => r.history.approved >= *min,
                        HistoryWhen::Spam => r.history.spam >= *min,
                    },
                    Check::Ip { networks } => {
                        r.ip.is_some_and(|ip| networks.iter().any(|n| n.contains(&ip)))
                    }
                    _ => false,
                }
            }
        }
    }
}

/// Per-comment measurements shared by the checks, computed at most once
/// each, so many rules of one kind cost little more than one.
struct Facts<'a> {
    comment: &'a str,
    visible: &'a str,
    links: &'a [text::Link],
    words_outside_links: Option<usize>,
    caps: Option<(usize, usize)>,
}

/// Index of a field in `FIELDS` (`All` is expanded by the spec parser).
fn slot(f: FieldName) -> usize {
    FIELDS.iter().position(|x| *x == f).unwrap_or(3)
}

/// The non-text check of a rule; `None` for the kinds compiled into the
/// field matchers or the domain table, and for the learned rule, which the
/// moderation steps run after this (it needs the model).
fn check_of(kind: &KindSpec) -> Option<Check> {
    Some(match kind {
        KindSpec::Links { max, url_field } => Check::Links {
            max: *max,
            url_field: *url_field,
        },
        KindSpec::LinkOnly { max_words } => Check::LinkOnly {
            max_words: *max_words,
        },
        KindSpec::Honeypot { field } => Check::Honeypot {
            field: field.clone(),
        },
        KindSpec::MinTime {
            seconds,
            max_age_hours,
            missing,
        } => Check::MinTime {
            min_secs: *seconds,
            max_secs: max_age_hours.saturating_mul(3600),
            missing: *missing,
        },
        KindSpec::Duplicate { hours } => Check::Duplicate {
            secs: hours.saturating_mul(3600),
        },
        KindSpec::Caps { ratio, min_letters } => Check::Caps {
            ratio: *ratio,
            min_letters: *min_letters,
        },
        KindSpec::History { when, min } => Check::History {
            when: *when,
            min: *min,
        },
        KindSpec::Ip { networks } => Check::Ip {
            networks: networks.clone(),
        },
        KindSpec::Script {
            allowed,
            ratio,
            min_letters,
        } => Check::Script {
            allowed: allowed.iter().filter_map(|s| Script::parse(s)).collect(),
            ratio: *ratio,
            min_letters: *min_letters,
        },
        KindSpec::Regex { .. }
        | KindSpec::Words { .. }
        | KindSpec::Domains { .. }
        | KindSpec::Learned(_) => return None,
    })
}

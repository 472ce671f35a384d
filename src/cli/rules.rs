//! `moderato rules check` and `moderato rules eval`: validate a rules
//! directory, and measure rules against labeled comments (JSON Lines).
//!
//! These functions return the text to print; [`super::run`] prints it.
//! Evaluation is offline: there is no request, so the rules that need one
//! are skipped and the output says which.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use crate::domain::learn::filter::{Filter, apply_rule};
use crate::domain::learn::{self, Experience, Extractor, HashKey, email_domain};
use crate::domain::rules::{Action, Error, Hit, RuleSet, Subject};

/// Confusion counts and rates as `learn replay` reports them.
pub use crate::domain::learn::replay::Confusion;

/// Counts of one notion of "positive", turned into a [`Confusion`] at the
/// end.
#[derive(Debug, Clone, Copy, Default)]
struct Tally([usize; 4]);

impl Tally {
    fn add(&mut self, spam: bool, positive: bool) {
        let i = match (spam, positive) {
            (true, true) => 0,
            (false, true) => 1,
            (true, false) => 2,
            (false, false) => 3,
        };
        self.0[i] += 1;
    }

    fn confusion(self) -> Confusion {
        let [tp, fp, r#fn, tn] = self.0;
        Confusion::from_counts(tp, fp, r#fn, tn)
    }
}

/// The learned rule as `rules eval` runs it: the shipped seed model under
/// a fixed key, with no author decision (so it may hold, never bin alone).
#[derive(Debug)]
pub struct SeedModel {
    extractor: Extractor,
    filter: Filter,
}

impl SeedModel {
    /// The seed model (about 10 ms to train).
    pub fn new() -> SeedModel {
        let extractor = Extractor::new(&HashKey::new(*b"moderato-replay!"));
        let filter = Filter::seeded(&extractor);
        SeedModel { extractor, filter }
    }
}

impl Default for SeedModel {
    fn default() -> Self {
        SeedModel::new()
    }
}

/// A labeled comment the rules got wrong (as flagged = hold or spam).
#[derive(Debug, Clone, Serialize)]
pub struct Miss {
    /// The line's `id`, or `line N`.
    pub id: String,
    /// The label: `spam` or `ham`.
    pub label: String,
    /// The action the rules chose.
    pub action: Action,
    /// The score.
    pub score: i32,
    /// The rules that hit.
    pub hits: Vec<Hit>,
    /// The start of the comment.
    pub text: String,
}

/// The result of evaluating a file.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Lines evaluated (labeled or not).
    pub total: usize,
    /// The model the learned rule ran on: `seed` (the shipped seed, no
    /// author decision) or `none` (the rules alone).
    pub model: &'static str,
    /// Rules skipped because they need a request.
    pub skipped: Vec<String>,
    /// Positive = the `spam` action.
    pub spam: Confusion,
    /// Positive = `hold` or `spam`.
    pub flagged: Confusion,
    /// Labeled comments misclassified as flagged / not flagged.
    #[serde(skip)]
    pub misses: Vec<Miss>,
}

/// Loads the rules, validates them, and returns their summary.
///
/// # Errors
/// Any load error (file, rule and problem named).
pub fn check_command(rules_dir: &Path) -> Result<String, Error> {
    let rules = RuleSet::load_dir(rules_dir)?;
    Ok(format!("{}: ok\n{}", rules_dir.display(), rules.summary()))
}

/// Runs the rules of `rules_dir` over the labeled comments in `file` and
/// formats the report: text, or one JSON object with `json`; `explain` adds
/// every miss with its hits.
///
/// # Errors
/// A load error, an unreadable file, or a line that is not a JSON object with
/// a `comment` or `text` string (the message names the line).
pub fn eval_command(
    file: &Path,
    rules_dir: &Path,
    json: bool,
    explain: bool,
    rules_only: bool,
) -> Result<String, Error> {
    let rules = RuleSet::load_dir(rules_dir)?;
    let model = (!rules_only).then(SeedModel::new);
    let report = evaluate_file(file, &rules, model.as_ref())?;
    Ok(if json {
        format_json(&report, explain)
    } else {
        format_text(&report, explain)
    })
}

/// Evaluates every line of `file` with `rules`, and the learned rule on
/// `model` when given.
///
/// # Errors
/// As [`eval_command`], without the rule loading.
pub fn evaluate_file(
    file: &Path,
    rules: &RuleSet,
    model: Option<&SeedModel>,
) -> Result<Report, Error> {
    let text = std::fs::read_to_string(file).map_err(|source| Error::Read {
        path: file.to_owned(),
        source,
    })?;
    let mut report = Report {
        total: 0,
        model: match model {
            Some(_) if rules.learned().is_some() => "seed",
            _ => "none",
        },
        skipped: rules
            .request_rules()
            .into_iter()
            .map(str::to_owned)
            .collect(),
        spam: Confusion::default(),
        flagged: Confusion::default(),
        misses: Vec::new(),
    };
    let (mut spam_tally, mut flagged_tally) = (Tally::default(), Tally::default());
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |problem: &str| Error::Eval {
            file: file.to_owned(),
            line: n + 1,
            problem: problem.to_owned(),
        };
        let value: Value =
            serde_json::from_str(line).map_err(|e| bad(&format!("invalid json: {e}")))?;
        let obj = value.as_object().ok_or_else(|| bad("not a json object"))?;
        let field = |k: &str| obj.get(k).and_then(Value::as_str).unwrap_or_default();
        let comment = obj
            .get("comment")
            .or_else(|| obj.get("text"))
            .and_then(Value::as_str)
            .ok_or_else(|| bad("missing string `comment` (or `text`)"))?;
        let label = match obj.get("label").and_then(Value::as_str) {
            None => None,
            Some("spam") => Some(true),
            Some("ham") => Some(false),
            Some(_) => return Err(bad("`label` must be \"spam\" or \"ham\"")),
        };
        let mut verdict = rules.evaluate(&Subject {
            author: field("author"),
            email: field("email").trim(),
            url: field("url"),
            comment,
            page: field("page"),
            request: None,
        });
        if let Some(model) = model {
            let domain = email_domain(field("email")).unwrap_or_default();
            let features = model.extractor.extract(&learn::Comment {
                author: field("author"),
                email_domain: &domain,
                url: field("url"),
                text: comment,
            });
            let learned = model.filter.verdict(&features);
            apply_rule(rules, &mut verdict, learned, Experience::default());
        }
        report.total += 1;
        let Some(spam) = label else { continue };
        let flagged = verdict.action != Action::Accept;
        spam_tally.add(spam, verdict.action == Action::Spam);
        flagged_tally.add(spam, flagged);
        if spam != flagged {
            let id = obj
                .get("id")
                .and_then(Value::as_str)
                .map_or_else(|| format!("line {}", n + 1), str::to_owned);
            report.misses.push(Miss {
                id,
                label: if spam { "spam" } else { "ham" }.to_owned(),
                action: verdict.action,
                score: verdict.score,
                hits: verdict.hits,
                text: comment
                    .chars()
                    .take(100)
                    .collect::<String>()
                    .replace('\n', " "),
            });
        }
    }
    report.spam = spam_tally.confusion();
    report.flagged = flagged_tally.confusion();
    Ok(report)
}

fn format_text(r: &Report, explain: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "total: {}", r.total);
    let _ = writeln!(
        out,
        "learned rule: {}",
        if r.model == "seed" {
            "on the shipped seed model, no author decision (it may hold, never bin alone)"
        } else {
            "not run (the rules alone)"
        }
    );
    if !r.skipped.is_empty() {
        let _ = writeln!(
            out,
            "skipped offline (need a request): {}",
            r.skipped.join(", ")
        );
    }
    for (name, c) in [("spam", &r.spam), ("flagged", &r.flagged)] {
        let _ = writeln!(
            out,
            "{name:<8} tp {:>4}  fp {:>4}  fn {:>4}  tn {:>4}  precision {:.3}  recall {:.3}",
            c.tp, c.fp, c.r#fn, c.tn, c.precision, c.recall
        );
    }
    if explain {
        let _ = writeln!(out, "misses ({}):", r.misses.len());
        for m in &r.misses {
            let _ = writeln!(
                out,
                "  {} [{} -> {:?}, score {}] {}\n    {}",
                m.id,
                m.label,
                m.action,
                m.score,
                hits_text(&m.hits),
                m.text
            );
        }
    }
    out
}

fn hits_text(hits: &[Hit]) -> String {
    if hits.is_empty() {
        return "no hits".to_owned();
    }
    hits.iter()
        .map(Hit::describe)
        .collect::<Vec<_>>()
        .join(", ")
}

fn format_json(r: &Report, explain: bool) -> String {
    let mut value = serde_json::to_value(r).unwrap_or(Value::Null);
    if explain
        && let (Some(obj), Ok(misses)) = (value.as_object_mut(), serde_json::to_value(&r.misses))
    {
        obj.insert("misses".to_owned(), misses);
    }
    format!("{value}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crate_path(rel: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
    }

    /// The issue-3 targets: flagged precision >= 0.95 and recall >= 0.85,
    /// spam-action precision >= 0.99.
    fn assert_targets(name: &str, r: &Report) {
        assert!(
            r.flagged.precision >= 0.95,
            "{name}: flagged precision {:?}",
            r.flagged
        );
        assert!(
            r.flagged.recall >= 0.85,
            "{name}: flagged recall {:?}",
            r.flagged
        );
        assert!(
            r.spam.precision >= 0.99,
            "{name}: spam precision {:?}",
            r.spam
        );
    }

    #[test]
    fn default_rules_meet_the_targets_on_the_blog_fixtures() {
        let rules = RuleSet::load_dir(&crate_path("rules")).expect("default rules load");
        // The rules alone: the fixtures are part of the seed.
        let report = evaluate_file(
            &crate_path("tests/fixtures/blog-comments.jsonl"),
            &rules,
            None,
        )
        .expect("fixtures");
        assert!(report.total >= 60, "fixtures: {} comments", report.total);
        assert_targets("blog fixtures", &report);
    }

    #[test]
    fn default_rules_meet_the_targets_on_the_dev_corpus() {
        let corpus = crate_path("../shared/corpus/comments-dev.jsonl");
        if !corpus.exists() {
            println!(
                "note: {} is absent; dev-corpus targets not checked",
                corpus.display()
            );
            return;
        }
        let rules = RuleSet::load_dir(&crate_path("rules")).expect("default rules load");
        let report = evaluate_file(&corpus, &rules, None).expect("corpus");
        assert_targets("dev corpus", &report);
        // With the seed model the rules bin no more ham than alone.
        let seeded = evaluate_file(&corpus, &rules, Some(&SeedModel::new())).expect("corpus");
        assert_eq!(seeded.spam.fp, report.spam.fp, "{:?}", seeded.spam);
    }

    #[test]
    fn output_reports_counts_skipped_rules_and_misses() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(
            dir.path().join("r.toml"),
            "[thresholds]\nhold = 1\nspam = 2\n\
             [[rule]]\nname = \"w\"\nkind = \"words\"\nwords = [\"buy\"]\nscore = 2\n\
             [[rule]]\nname = \"h\"\nkind = \"honeypot\"\nfield = \"x\"\nscore = 9\n",
        )
        .expect("write rules");
        let data = dir.path().join("c.jsonl");
        std::fs::write(
            &data,
            "{\"text\": \"buy now\", \"label\": \"spam\"}\n\n{\"comment\": \"hello\", \"label\": \"spam\"}\n{\"comment\": \"buy\", \"label\": \"ham\"}\n{\"comment\": \"x\"}\n",
        )
        .expect("write data");
        let json = eval_command(&data, dir.path(), true, false, false).expect("eval");
        let v: Value = serde_json::from_str(&json).expect("json output");
        assert_eq!(v["total"], 4, "{json}");
        assert_eq!(v["spam"]["tp"], 1, "{json}");
        assert_eq!(v["spam"]["fp"], 1, "{json}");
        assert_eq!(v["spam"]["fn"], 1, "{json}");
        assert_eq!(v["flagged"]["precision"], 0.5, "{json}");
        let text = eval_command(&data, dir.path(), false, true, false).expect("eval");
        assert!(
            text.contains("skipped offline (need a request): h"),
            "{text}"
        );
        assert!(
            text.contains("line 3 [spam -> Accept, score 0] no hits"),
            "{text}"
        );
        assert!(
            text.contains("line 4 [ham -> Spam, score 2] w +2"),
            "{text}"
        );
        std::fs::write(&data, "{\"label\": \"spam\"}\n").expect("write");
        let err = eval_command(&data, dir.path(), false, false, false)
            .expect_err("no text")
            .to_string();
        assert!(err.contains("c.jsonl:1: missing string `comment`"), "{err}");
        assert!(
            check_command(dir.path())
                .expect("check")
                .contains("2 rules")
        );
    }
}

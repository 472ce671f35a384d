//! `moderato learn replay | train | stats | rebuild`: measure the learning
//! filter the honest way (prequential replay of labeled comments), teach it
//! from a file, and look at what it holds.
//!
//! `replay` is offline and pure: the rules of a directory and the shipped
//! seed model, nothing stored. The others open the data directory (stop
//! the service first: the database is locked while it runs) and go through
//! the core like the service does. Each returns the text to print.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use clap::Subcommand;
use serde_json::json;

use crate::config::Config;
use crate::domain::learn::filter;
use crate::domain::learn::replay::{
    Confusion, Figures, LabeledComment, Report, parse_jsonl, shuffle,
};
use crate::domain::learn::{Extractor, HashKey, Label, seed};
use crate::domain::moderation::{LearningStats, Moderator};
use crate::domain::rules::RuleSet;
use crate::startup;

/// The hash key of offline replays: fixed, so that a replay reported with
/// its `--seed` gives the same figures on every machine (the key decides
/// which features share a bucket).
const REPLAY_KEY: [u8; 16] = *b"moderato-replay!";

/// The learning filter's commands.
#[derive(Debug, Subcommand)]
pub enum LearnCommand {
    /// Replay labeled comments (JSON Lines with `label` and `comment`) from
    /// the shipped rules and a fresh model (the seed alone): each comment's
    /// verdict is recorded, then its label applied as the author's decision.
    /// Prints precision and recall of flagged (hold or spam) and of spam,
    /// the ham binned as spam, and the same over decisions 1-50, 51-150 and
    /// after 150.
    Replay {
        /// One JSON object a line: `label` (`spam` | `ham`), `comment` or
        /// `text`, optional `author`, `email`, `url`.
        file: std::path::PathBuf,
        /// Shuffle with this seed first (the same seed gives the same order
        /// everywhere); file order without it.
        #[arg(long)]
        seed: Option<u64>,
        /// Rules directory (default: the configured `rules_dir`).
        #[arg(long)]
        rules: Option<std::path::PathBuf>,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Teach labeled comments (the same format) as the author's decisions:
    /// an old spam folder, an export. Entries are marked as trained;
    /// teaching a file again replaces what it taught.
    Train {
        /// The labeled comments.
        file: std::path::PathBuf,
    },
    /// What the filter has learned (the service shows the same at
    /// `GET /admin/learning`).
    Stats {
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Rebuild the model from the seed and the ledger, as every start does;
    /// prints the time it took and the model's digest.
    Rebuild,
}

/// Runs a learn command; the text to print, or what went wrong.
pub fn run(command: LearnCommand, config: &Config) -> Result<String, String> {
    match command {
        LearnCommand::Replay {
            file,
            seed,
            rules,
            json,
        } => replay_command(
            &file,
            rules.as_deref().unwrap_or(&config.rules_dir),
            seed,
            json,
        ),
        LearnCommand::Train { file } => {
            let comments = read_labeled(&file)?;
            with_core(config, async |moderator| {
                let started = Instant::now();
                let taught = moderator
                    .train(&comments)
                    .await
                    .map_err(|e| e.to_string())?;
                let stats = moderator
                    .learning_stats()
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(format!(
                    "taught {} spam and {} ham from {} in {} ms ({} replaced what an earlier run taught)\n{}",
                    taught.learned.spam,
                    taught.learned.ham,
                    file.display(),
                    started.elapsed().as_millis(),
                    taught.replaced,
                    stats_text(&stats)
                ))
            })
        }
        LearnCommand::Stats { json } => with_core(config, async |moderator| {
            let stats = moderator
                .learning_stats()
                .await
                .map_err(|e| e.to_string())?;
            Ok(if json {
                serde_json::to_string(&stats).map_err(|e| e.to_string())?
            } else {
                stats_text(&stats)
            })
        }),
        LearnCommand::Rebuild => with_core(config, async |moderator| {
            let started = Instant::now();
            let entries = moderator
                .rebuild_learning()
                .await
                .map_err(|e| e.to_string())?;
            let millis = started.elapsed().as_millis();
            let digest = moderator
                .learning_digest()
                .await
                .map_err(|e| e.to_string())?;
            let stats = moderator
                .learning_stats()
                .await
                .map_err(|e| e.to_string())?;
            Ok(format!(
                "rebuilt from the seed and {entries} ledger entries in {millis} ms\n\
                 model digest {digest}\n{}",
                stats_text(&stats)
            ))
        }),
    }
}

/// Opens the core over the configured database and runs `f` on a runtime
/// of its own.
fn with_core(
    config: &Config,
    f: impl AsyncFnOnce(&Moderator) -> Result<String, String>,
) -> Result<String, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async {
        // On the runtime: a PostgreSQL store starts its watcher on it.
        let core = startup::offline(config).map_err(|e| {
            format!("cannot open the database (is the service still running?): {e}")
        })?;
        let out = f(&core.moderator).await;
        core.close()
            .await
            .map_err(|e| format!("final flush: {e}"))?;
        out
    })
}

fn read_labeled(file: &Path) -> Result<Vec<LabeledComment>, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    parse_jsonl(&text).map_err(|e| format!("{}:{e}", file.display()))
}

fn stats_text(s: &LearningStats) -> String {
    let agreement = match s.agreement.rate {
        Some(rate) => format!(
            "{} of the last {} author decisions ({:.3})",
            s.agreement.agreed, s.agreement.decisions, rate
        ),
        None => "no author decision yet".to_owned(),
    };
    format!(
        "learned rule: {}\n\
         learned: {} spam, {} ham (of which trained from files: {} spam, {} ham)\n\
         seed: {} spam, {} ham\n\
         files spam on its own: {}\n\
         model: {} features of at most {}, {} KiB\n\
         agreed with the author: {agreement}\n",
        if s.enabled {
            "on"
        } else {
            "off (no `learned` rule)"
        },
        s.learned.spam,
        s.learned.ham,
        s.trained.spam,
        s.trained.ham,
        s.seed.spam,
        s.seed.ham,
        if s.bins_on_its_own {
            "yes"
        } else {
            "no (it holds until 20 spam and 20 ham are learned)"
        },
        s.model.features,
        s.model.cap,
        s.model.bytes / 1024,
    )
}

/// `learn replay`.
fn replay_command(
    file: &Path,
    rules_dir: &Path,
    seed: Option<u64>,
    json: bool,
) -> Result<String, String> {
    let rules = RuleSet::load_dir(rules_dir).map_err(|e| e.to_string())?;
    let mut comments = read_labeled(file)?;
    if let Some(seed) = seed {
        shuffle(&mut comments, seed);
    }
    let extractor = Extractor::new(&HashKey::new(REPLAY_KEY));
    let report = Report::of(&filter::replay(&rules, &extractor, &comments));
    let spam = comments.iter().filter(|c| c.label == Label::Spam).count();
    let skipped = rules.request_rules();
    if json {
        let mut value = serde_json::to_value(&report).map_err(|e| e.to_string())?;
        if let Some(obj) = value.as_object_mut() {
            obj.insert("file".into(), json!(file.display().to_string()));
            obj.insert("seed".into(), json!(seed));
            obj.insert("total".into(), json!(comments.len()));
            obj.insert("skipped".into(), json!(skipped));
            obj.insert("learned_rule".into(), json!(rules.learned().is_some()));
        }
        return Ok(value.to_string());
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "replay of {}: {} comments ({spam} spam, {} ham), {}",
        file.display(),
        comments.len(),
        comments.len() - spam,
        match seed {
            Some(seed) => format!("shuffled with seed {seed}"),
            None => "in file order".to_owned(),
        }
    );
    let _ = writeln!(
        out,
        "from the rules in {} and the seed model ({} comments){}; each label learned as the author's decision",
        rules_dir.display(),
        seed::comments().len(),
        if rules.learned().is_some() {
            ""
        } else {
            ", but these rules have no `learned` rule"
        }
    );
    if !skipped.is_empty() {
        let _ = writeln!(
            out,
            "skipped offline (need a request): {}",
            skipped.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "{:<8} {:>9}   flagged P     R    F1    spam P     R    F1   ham binned",
        "", "decisions"
    );
    let row = |out: &mut String, name: &str, f: &Figures| {
        let c = |c: &Confusion| format!("{:.3} {:.3} {:.3}", c.precision, c.recall, c.f1);
        let _ = writeln!(
            out,
            "{name:<8} {:>9}   {}   {}   {:>10}",
            f.decisions,
            c(&f.flagged),
            c(&f.spam),
            f.ham_binned
        );
    };
    row(&mut out, "all", &report.all);
    for w in &report.windows {
        row(&mut out, &w.name, &w.figures);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crate_path(rel: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
    }

    /// Issue 11: prequential flagged F1 >= 0.93 on the YouTube development
    /// corpus from the shipped rules and seed, and not one ham binned.
    #[test]
    fn the_replay_of_the_dev_corpus_meets_the_target() {
        let corpus = crate_path("../shared/corpus/comments-dev.jsonl");
        if !corpus.exists() {
            println!("note: {} is absent; not checked", corpus.display());
            return;
        }
        let out = replay_command(&corpus, &crate_path("rules"), Some(1), true).expect("replay");
        let v: serde_json::Value = serde_json::from_str(&out).expect("json");
        assert!(v["flagged"]["f1"].as_f64().expect("f1") >= 0.93, "{out}");
        assert_eq!(v["ham_binned"], 0, "{out}");
    }

    #[test]
    fn replay_reports_windows_and_names_a_bad_line() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("c.jsonl");
        let mut lines = String::new();
        for i in 0..160 {
            let (label, text) = if i % 2 == 0 {
                (
                    "spam",
                    format!("cheap pills online {i} buy now https://pills{i}.test"),
                )
            } else {
                (
                    "ham",
                    format!("Thank you for this post about grief, day {i}."),
                )
            };
            lines.push_str(&json!({"label": label, "comment": text}).to_string());
            lines.push('\n');
        }
        std::fs::write(&file, &lines).expect("write");
        let out = replay_command(&file, &crate_path("rules"), None, true).expect("replay");
        let v: serde_json::Value = serde_json::from_str(&out).expect("json");
        assert_eq!(v["decisions"], 160, "{out}");
        let names: Vec<&str> = v["windows"]
            .as_array()
            .expect("windows")
            .iter()
            .filter_map(|w| w["name"].as_str())
            .collect();
        assert_eq!(names, ["1-50", "51-150", "151-"]);
        for key in ["tp", "fp", "fn", "tn", "precision", "recall"] {
            assert!(
                v["flagged"].get(key).is_some() && v["spam"].get(key).is_some(),
                "{key}"
            );
        }
        let text = replay_command(&file, &crate_path("rules"), Some(3), false).expect("replay");
        assert!(
            text.contains("shuffled with seed 3") && text.contains("151-"),
            "{text}"
        );

        std::fs::write(
            &file,
            "{\"label\":\"spam\",\"comment\":\"x\"}\n{\"label\":\"maybe\"}\n",
        )
        .expect("write");
        let err = replay_command(&file, &crate_path("rules"), None, false).expect_err("bad line");
        assert!(err.contains("c.jsonl:line 2"), "{err}");
    }
}

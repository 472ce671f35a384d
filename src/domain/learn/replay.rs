//! The honest measure of a learning filter: prequential (test-then-train)
//! replay. Each labeled comment is first judged by the model as it stands,
//! then learned as the author's decision, so every prediction is made on a
//! comment the model has not seen, exactly as in service.
//!
//! Also the labeled-comment file format shared by the seed, the fixtures
//! and the development corpora (JSON Lines with `label` and `comment` or
//! `text`), and a seeded shuffle that stays the same across platforms and
//! crate versions (so a `--seed` reported in BENCHMARKS.md reproduces).

use serde::Serialize;
use serde_json::Value;

use super::{Comment, Experience, Extractor, Features, Label, Learner, Scored, email_domain};

/// One labeled comment of a JSON Lines file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabeledComment {
    /// The line's `id`, or `line N`.
    pub id: String,
    /// The label.
    pub label: Label,
    /// `kind`, `""` when absent.
    pub kind: String,
    /// `author`, `""` when absent.
    pub author: String,
    /// `email`, `""` when absent.
    pub email: String,
    /// `url`, `""` when absent.
    pub url: String,
    /// `comment` (or `text`).
    pub comment: String,
}

impl LabeledComment {
    /// The features of this comment.
    pub fn features(&self, extractor: &Extractor) -> Features {
        let domain = email_domain(&self.email).unwrap_or_default();
        extractor.extract(&Comment {
            author: &self.author,
            email_domain: &domain,
            url: &self.url,
            text: &self.comment,
        })
    }
}

/// A line of a labeled file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {problem}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub problem: String,
}

/// Parses labeled JSON Lines; blank lines are skipped.
///
/// # Errors
/// The first line that is not a JSON object with a `label` of `spam` or
/// `ham` and a string `comment` (or `text`).
pub fn parse_jsonl(text: &str) -> Result<Vec<LabeledComment>, ParseError> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |problem: String| ParseError {
            line: n + 1,
            problem,
        };
        let value: Value =
            serde_json::from_str(line).map_err(|e| bad(format!("invalid json: {e}")))?;
        let obj = value
            .as_object()
            .ok_or_else(|| bad("not a json object".into()))?;
        let field = |k: &str| {
            obj.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let comment = obj
            .get("comment")
            .or_else(|| obj.get("text"))
            .and_then(Value::as_str)
            .ok_or_else(|| bad("missing string `comment` (or `text`)".into()))?;
        let label = match obj.get("label").and_then(Value::as_str) {
            Some("spam") => Label::Spam,
            Some("ham") => Label::Ham,
            _ => return Err(bad("`label` must be \"spam\" or \"ham\"".into())),
        };
        let id = obj
            .get("id")
            .and_then(Value::as_str)
            .map_or_else(|| format!("line {}", n + 1), str::to_owned);
        out.push(LabeledComment {
            id,
            label,
            kind: field("kind"),
            author: field("author"),
            email: field("email"),
            url: field("url"),
            comment: comment.to_owned(),
        });
    }
    Ok(out)
}

/// Shuffles in place with a fixed seed (Fisher-Yates over SplitMix64):
/// the same seed gives the same order everywhere, forever.
pub fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    for i in (1..items.len()).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

/// Confusion counts and rates for one notion of "positive", in the shape of
/// `moderato rules eval --json` plus F1.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Confusion {
    /// Spam predicted positive.
    pub tp: usize,
    /// Ham predicted positive.
    pub fp: usize,
    /// Spam predicted negative.
    pub r#fn: usize,
    /// Ham predicted negative.
    pub tn: usize,
    /// tp / (tp + fp); 1 when nothing was predicted positive.
    pub precision: f64,
    /// tp / (tp + fn); 1 when there is no spam.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
}

impl Confusion {
    /// Rates from counts.
    pub fn from_counts(tp: usize, fp: usize, r#fn: usize, tn: usize) -> Self {
        let ratio = |a: usize, b: usize| {
            if a + b == 0 {
                1.0
            } else {
                a as f64 / (a + b) as f64
            }
        };
        let precision = ratio(tp, fp);
        let recall = ratio(tp, r#fn);
        let f1 = if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        Confusion {
            tp,
            fp,
            r#fn,
            tn,
            precision,
            recall,
            f1,
        }
    }

    /// The counts of both, rates recomputed (micro-average).
    pub fn merge(&self, other: &Confusion) -> Self {
        Confusion::from_counts(
            self.tp + other.tp,
            self.fp + other.fp,
            self.r#fn + other.r#fn,
            self.tn + other.tn,
        )
    }

    fn of<'a>(outcomes: impl Iterator<Item = &'a Outcome>, positive: fn(&Outcome) -> bool) -> Self {
        let [mut tp, mut fp, mut r#fn, mut tn] = [0; 4];
        for o in outcomes {
            match (o.spam, positive(o)) {
                (true, true) => tp += 1,
                (false, true) => fp += 1,
                (true, false) => r#fn += 1,
                (false, false) => tn += 1,
            }
        }
        Confusion::from_counts(tp, fp, r#fn, tn)
    }
}

/// What the filter did with one comment before learning its label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// The label is spam.
    pub spam: bool,
    /// Held or filed as spam.
    pub flagged: bool,
    /// Filed as spam.
    pub binned: bool,
}

/// Figures over a run of decisions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    /// Decisions counted.
    pub decisions: usize,
    /// Positive = held or filed as spam.
    pub flagged: Confusion,
    /// Positive = filed as spam.
    pub spam: Confusion,
    /// Ham filed as spam.
    pub ham_binned: usize,
}

impl Figures {
    /// The figures of both runs together.
    pub fn merge(&self, other: &Figures) -> Self {
        Figures {
            decisions: self.decisions + other.decisions,
            flagged: self.flagged.merge(&other.flagged),
            spam: self.spam.merge(&other.spam),
            ham_binned: self.ham_binned + other.ham_binned,
        }
    }

    /// The figures of a run of outcomes.
    pub fn of(outcomes: &[Outcome]) -> Self {
        Figures {
            decisions: outcomes.len(),
            flagged: Confusion::of(outcomes.iter(), |o| o.flagged),
            spam: Confusion::of(outcomes.iter(), |o| o.binned),
            ham_binned: outcomes.iter().filter(|o| o.binned && !o.spam).count(),
        }
    }
}

/// A replay's result: the whole run and its windows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Over every decision.
    #[serde(flatten)]
    pub all: Figures,
    /// Decisions 1-50, 51-150 and after 150 (those that exist).
    pub windows: Vec<Window>,
}

/// Figures over decisions `first..=last` (1-based).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Window {
    /// `1-50`, `51-150`, `151-`.
    pub name: String,
    /// Its figures.
    #[serde(flatten)]
    pub figures: Figures,
}

/// The windows of a report: first decisions, the learning stretch, and
/// the steady state after 150.
const WINDOWS: [(usize, Option<usize>); 3] = [(1, Some(50)), (51, Some(150)), (151, None)];

impl Report {
    /// The report of a run.
    pub fn of(outcomes: &[Outcome]) -> Self {
        let windows = WINDOWS
            .iter()
            .filter(|(first, _)| *first <= outcomes.len())
            .map(|&(first, last)| {
                let end = last.unwrap_or(outcomes.len()).min(outcomes.len());
                Window {
                    name: match last {
                        Some(last) => format!("{first}-{last}"),
                        None => format!("{first}-"),
                    },
                    figures: Figures::of(&outcomes[first - 1..end]),
                }
            })
            .collect();
        Report {
            all: Figures::of(outcomes),
            windows,
        }
    }

    /// Several runs (shuffled with different seeds) pooled window by window.
    pub fn pooled(reports: &[Report]) -> Option<Report> {
        let (first, rest) = reports.split_first()?;
        let mut out = first.clone();
        for r in rest {
            out.all = out.all.merge(&r.all);
            for w in &r.windows {
                match out.windows.iter_mut().find(|o| o.name == w.name) {
                    Some(o) => o.figures = o.figures.merge(&w.figures),
                    None => out.windows.push(w.clone()),
                }
            }
        }
        Some(out)
    }
}

/// Replays `stream` through `model`: for each comment, `judge` turns the
/// model's score (and the author decisions learned so far) into flagged /
/// binned, then the label is learned as an author decision.
pub fn prequential<L: Learner + ?Sized>(
    model: &mut L,
    extractor: &Extractor,
    stream: &[LabeledComment],
    mut judge: impl FnMut(&LabeledComment, &Scored, Experience) -> (bool, bool),
) -> Vec<Outcome> {
    let mut experience = Experience::default();
    let mut outcomes = Vec::with_capacity(stream.len());
    for comment in stream {
        let features = comment.features(extractor);
        let scored = model.score(&features);
        let (flagged, binned) = judge(comment, &scored, experience);
        outcomes.push(Outcome {
            spam: comment.label == Label::Spam,
            flagged: flagged || binned,
            binned,
        });
        model.learn(features.keys(), comment.label);
        match comment.label {
            Label::Spam => experience.spam += 1,
            Label::Ham => experience.ham += 1,
        }
    }
    outcomes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_names_the_bad_line() {
        let text =
            "{\"label\":\"spam\",\"text\":\"x\"}\n\n{\"label\":\"maybe\",\"comment\":\"y\"}\n";
        let err = parse_jsonl(text).expect_err("bad label");
        assert_eq!(err.line, 3);
        assert!(err.problem.contains("label"));
        let ok = parse_jsonl("{\"label\":\"ham\",\"comment\":\"hi\",\"id\":\"a\"}").expect("valid");
        assert_eq!((ok[0].id.as_str(), ok[0].label), ("a", Label::Ham));
    }

    #[test]
    fn shuffle_is_a_fixed_permutation() {
        let mut a: Vec<u32> = (0..50).collect();
        let mut b = a.clone();
        shuffle(&mut a, 7);
        shuffle(&mut b, 7);
        assert_eq!(a, b);
        assert_ne!(a, (0..50).collect::<Vec<_>>());
        a.sort_unstable();
        assert_eq!(a, (0..50).collect::<Vec<_>>());
    }

    #[test]
    fn windows_split_the_run() {
        let o = |spam, flagged| Outcome {
            spam,
            flagged,
            binned: false,
        };
        let outcomes: Vec<Outcome> = (0..200).map(|i| o(i % 2 == 0, i < 100)).collect();
        let r = Report::of(&outcomes);
        let names: Vec<&str> = r.windows.iter().map(|w| w.name.as_str()).collect();
        assert_eq!(names, ["1-50", "51-150", "151-"]);
        assert_eq!(r.windows[2].figures.decisions, 50);
        assert_eq!(r.windows[0].figures.flagged.recall, 1.0);
        assert_eq!(r.windows[2].figures.flagged.recall, 0.0);
    }
}

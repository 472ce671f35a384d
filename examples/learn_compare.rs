//! Compares the learning filter's methods by measurement (issue 11), for
//! BENCHMARKS.md "Learning filter: choosing the method".
//!
//! Run: `cargo run --release --example learn_compare -- FILE... [--seed N]...
//! [--train FILE]... [--folds K] [--rules DIR] [--rf-s S] [--rf-min-strength M] [--misses]`
//!
//! For every FILE of labeled comments (JSON Lines) and every method
//! (Robinson-Fisher, naive Bayes, logistic regression) it prints markdown
//! tables of:
//! - prequential (test-then-train) replay from an empty model and, with
//!   `--train`, from a model trained on those files (a train file equal to
//!   FILE is left out): in file order, and shuffled with each `--seed`
//!   (pooled). The classifier alone: flagged at p >= 0.5, spam at p >= 0.9;
//! - with `--folds K`, K-fold within FILE: train on K-1 folds, score the
//!   held fold without learning it (what the seed alone knows);
//! - with `--rules DIR`, the same replay with the learned score added to
//!   the rules' score through the proposed mapping (gate and hard signals
//!   included), next to the rules alone;
//! - calibration: how many ham and spam fell in each probability band
//!   (pooled shuffled replays from the seed), the figures behind the mapping;
//! - exactness: learn FILE with every third label flipped, change those
//!   decisions (unlearn, learn), and compare with a rebuild from the final
//!   ledger in reverse order: the largest probability difference;
//! - with `--misses`, every comment the shipped method (with the rules,
//!   given `--rules`) got wrong in the file-order replay, with its clues;
//! - mean time to score and to learn one comment, and the table's heap size
//!   (a rough guide: the criterion bench `learn` is the measurement).

use std::path::{Path, PathBuf};
use std::time::Instant;

use moderato::domain::learn::replay::{self, Figures, LabeledComment, Outcome, Report};
use moderato::domain::learn::verdict::Mapping;
use moderato::domain::learn::{
    DEFAULT_BUCKET_BITS, Extractor, HashKey, Label, Learner, Logistic, NaiveBayes, Params,
    RobinsonFisher, Scored,
};
use moderato::domain::rules::{Action, RuleSet, Subject};

const METHODS: [&str; 3] = ["robinson-fisher", "naive-bayes", "logistic-adagrad"];
const HOLD_P: f64 = 0.5;
const SPAM_P: f64 = 0.9;
/// Rules that are spam whatever the learned rule says.
const HARD_RULES: [&str; 3] = ["honeypot", "bbcode-link", "link-list"];

fn model(name: &str) -> Box<dyn Learner> {
    match name {
        "naive-bayes" => Box::new(NaiveBayes::new(DEFAULT_BUCKET_BITS)),
        "logistic-adagrad" => Box::new(Logistic::new(DEFAULT_BUCKET_BITS)),
        _ => Box::new(RobinsonFisher::with_params(
            DEFAULT_BUCKET_BITS,
            RF_PARAMS.get().copied().unwrap_or_default(),
        )),
    }
}

/// Robinson-Fisher constants, `--rf-s` and `--rf-min-strength` (for the sweep).
static RF_PARAMS: std::sync::OnceLock<Params> = std::sync::OnceLock::new();

struct Args {
    files: Vec<PathBuf>,
    train: Vec<PathBuf>,
    seeds: Vec<u64>,
    folds: usize,
    rules: Option<PathBuf>,
    rf: Params,
    misses: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        files: Vec::new(),
        train: Vec::new(),
        seeds: Vec::new(),
        folds: 0,
        rules: None,
        rf: Params::default(),
        misses: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--seed" => args.seeds.push(
                value("--seed")?
                    .parse()
                    .map_err(|e| format!("--seed: {e}"))?,
            ),
            "--train" => args.train.push(value("--train")?.into()),
            "--folds" => {
                args.folds = value("--folds")?
                    .parse()
                    .map_err(|e| format!("--folds: {e}"))?
            }
            "--rules" => args.rules = Some(value("--rules")?.into()),
            "--misses" => args.misses = true,
            "--rf-s" => {
                args.rf.strength = value("--rf-s")?
                    .parse()
                    .map_err(|e| format!("--rf-s: {e}"))?
            }
            "--rf-min-strength" => {
                args.rf.min_strength = value("--rf-min-strength")?
                    .parse()
                    .map_err(|e| format!("--rf-min-strength: {e}"))?;
            }
            flag if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
            file => args.files.push(file.into()),
        }
    }
    if args.files.is_empty() {
        return Err("usage: learn_compare FILE... [--seed N]... [--train FILE]... [--folds K] [--rules DIR]".into());
    }
    Ok(args)
}

fn load(path: &Path) -> Result<Vec<LabeledComment>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    replay::parse_jsonl(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn main() {
    if let Err(e) = run() {
        eprintln!("learn_compare: {e}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    let _ = RF_PARAMS.set(args.rf);
    let ex = Extractor::new(&HashKey::new(*b"learn-compare-k!"));
    let rules = match &args.rules {
        Some(dir) => Some(RuleSet::load_dir(dir).map_err(|e| e.to_string())?),
        None => None,
    };
    for file in &args.files {
        let comments = load(file)?;
        let mut seed = Vec::new();
        for t in args.train.iter().filter(|t| !same_file(t, file)) {
            seed.extend(load(t)?);
        }
        let spam = comments.iter().filter(|c| c.label == Label::Spam).count();
        println!(
            "\n## {} ({} comments: {spam} spam, {} ham)\n",
            file.display(),
            comments.len(),
            comments.len() - spam
        );
        let starts: Vec<(&str, &[LabeledComment])> = if seed.is_empty() {
            vec![("empty", &[])]
        } else {
            vec![("empty", &[]), ("seed", &seed)]
        };
        replay_table(&ex, &comments, &starts, &args.seeds);
        if args.folds >= 2 {
            folds_table(&ex, &comments, &seed, args.folds);
        }
        if let Some(rules) = &rules {
            combined_table(
                &ex,
                rules,
                &comments,
                starts.last().map_or(&[][..], |s| s.1),
                &args.seeds,
            );
        }
        calibration_table(
            &ex,
            &comments,
            starts.last().map_or(&[][..], |s| s.1),
            &args.seeds,
        );
        exactness_table(&ex, &comments, &seed);
        if args.misses {
            let start = starts.last().map_or(&[][..], |s| s.1);
            misses(&ex, rules.as_ref(), &comments, start);
        }
    }
    Ok(())
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

fn trained(name: &str, ex: &Extractor, seed: &[LabeledComment]) -> Box<dyn Learner> {
    let mut m = model(name);
    for c in seed {
        m.learn(c.features(ex).keys(), c.label);
    }
    m
}

/// The orders a file is replayed in: as written, and each seed's shuffle.
fn orders(comments: &[LabeledComment], seeds: &[u64]) -> Vec<(String, Vec<LabeledComment>)> {
    let mut out = vec![("file".to_owned(), comments.to_vec())];
    if !seeds.is_empty() {
        for &s in seeds {
            let mut shuffled = comments.to_vec();
            replay::shuffle(&mut shuffled, s);
            out.push((format!("seed {s}"), shuffled));
        }
    }
    out
}

fn alone(_: &LabeledComment, s: &Scored, _: moderato::domain::learn::Experience) -> (bool, bool) {
    (s.probability >= HOLD_P, s.probability >= SPAM_P)
}

fn replay_with(
    name: &str,
    ex: &Extractor,
    seed: &[LabeledComment],
    stream: &[LabeledComment],
    judge: &mut dyn FnMut(
        &LabeledComment,
        &Scored,
        moderato::domain::learn::Experience,
    ) -> (bool, bool),
) -> (Report, f64, f64, usize) {
    let mut m = trained(name, ex, seed);
    let started = Instant::now();
    let outcomes: Vec<Outcome> = replay::prequential(m.as_mut(), ex, stream, judge);
    let per_comment = started.elapsed().as_secs_f64() * 1e6 / stream.len().max(1) as f64;
    // Time the parts once more on the finished model (extraction included).
    let started = Instant::now();
    for c in stream {
        std::hint::black_box(m.score(&c.features(ex)));
    }
    let score_us = started.elapsed().as_secs_f64() * 1e6 / stream.len().max(1) as f64;
    (
        Report::of(&outcomes),
        score_us,
        (per_comment - score_us).max(0.0),
        m.heap_bytes(),
    )
}

fn row(method: &str, start: &str, order: &str, r: &Report) -> String {
    let f = &r.all;
    let w = |name: &str| {
        r.windows
            .iter()
            .find(|w| w.name == name)
            .map_or("-".to_owned(), |w| format!("{:.3}", w.figures.flagged.f1))
    };
    format!(
        "| {method} | {start} | {order} | {:.3} / {:.3} / **{:.3}** | {:.3} / {:.3} / {:.3} | {} | {} | {} | {} |",
        f.flagged.precision,
        f.flagged.recall,
        f.flagged.f1,
        f.spam.precision,
        f.spam.recall,
        f.spam.f1,
        f.ham_binned,
        w("1-50"),
        w("51-150"),
        w("151-")
    )
}

fn replay_table(
    ex: &Extractor,
    comments: &[LabeledComment],
    starts: &[(&str, &[LabeledComment])],
    seeds: &[u64],
) {
    println!(
        "Prequential replay, classifier alone (flagged: p >= {HOLD_P}, spam: p >= {SPAM_P}); shuffled rows pool every seed.\n"
    );
    println!(
        "| method | start | order | flagged P / R / F1 | spam P / R / F1 | ham binned | flagged F1 1-50 | 51-150 | 151- |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut speed = Vec::new();
    for name in METHODS {
        for (start, seed) in starts {
            let mut shuffled = Vec::new();
            for (order, stream) in orders(comments, seeds) {
                let (report, score_us, learn_us, bytes) =
                    replay_with(name, ex, seed, &stream, &mut alone);
                if order == "file" {
                    println!("{}", row(name, start, "file", &report));
                    speed.push((name, *start, score_us, learn_us, bytes));
                } else {
                    shuffled.push(report);
                }
            }
            if let Some(pooled) = Report::pooled(&shuffled) {
                println!(
                    "{}",
                    row(
                        name,
                        start,
                        &format!("shuffled x{}", shuffled.len()),
                        &pooled
                    )
                );
            }
        }
    }
    println!(
        "\n| method | start | score µs/comment (with extraction) | learn µs/comment | table heap after the run |"
    );
    println!("|---|---|---|---|---|");
    for (name, start, score, learn, bytes) in speed {
        println!(
            "| {name} | {start} | {score:.1} | {learn:.1} | {} KiB |",
            bytes / 1024
        );
    }
    println!();
}

fn folds_table(ex: &Extractor, comments: &[LabeledComment], seed: &[LabeledComment], k: usize) {
    println!(
        "{k}-fold within the file (shuffled with seed 1): train on {} folds{}, score the held fold without learning it.\n",
        k - 1,
        if seed.is_empty() {
            ""
        } else {
            " plus the other train files"
        }
    );
    println!("| method | flagged P / R / F1 | spam P / R / F1 | ham binned |");
    println!("|---|---|---|---|");
    let mut shuffled = comments.to_vec();
    replay::shuffle(&mut shuffled, 1);
    for name in METHODS {
        let mut outcomes = Vec::new();
        for fold in 0..k {
            let (test, train): (Vec<_>, Vec<_>) = shuffled
                .iter()
                .enumerate()
                .partition(|(i, _)| i % k == fold);
            let train: Vec<LabeledComment> = seed
                .iter()
                .cloned()
                .chain(train.into_iter().map(|(_, c)| c.clone()))
                .collect();
            let m = trained(name, ex, &train);
            for (_, c) in test {
                let p = m.score(&c.features(ex)).probability;
                outcomes.push(Outcome {
                    spam: c.label == Label::Spam,
                    flagged: p >= HOLD_P,
                    binned: p >= SPAM_P,
                });
            }
        }
        let f = Figures::of(&outcomes);
        println!(
            "| {name} | {:.3} / {:.3} / **{:.3}** | {:.3} / {:.3} / {:.3} | {} |",
            f.flagged.precision,
            f.flagged.recall,
            f.flagged.f1,
            f.spam.precision,
            f.spam.recall,
            f.spam.f1,
            f.ham_binned
        );
    }
    println!();
}

fn combined_table(
    ex: &Extractor,
    rules: &RuleSet,
    comments: &[LabeledComment],
    seed: &[LabeledComment],
    seeds: &[u64],
) {
    let mapping = Mapping::default();
    println!(
        "Rules combined with the learned score (mapping: >= {} -> +{} once trusted, else +{}; >= {} -> +{}; >= {} -> +{}; < {} -> -{} unless a hard signal hit; below certainty never past spam - 1), start: {}.\n",
        mapping.spam_from,
        mapping.spam,
        mapping.hold,
        mapping.hold_from,
        mapping.hold,
        mapping.nudge_from,
        mapping.nudge,
        mapping.relief_below,
        mapping.relief,
        if seed.is_empty() { "empty" } else { "seed" }
    );
    println!(
        "| method | start | order | flagged P / R / F1 | spam P / R / F1 | ham binned | flagged F1 1-50 | 51-150 | 151- |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let verdicts = |c: &LabeledComment| {
        rules.evaluate(&Subject {
            author: &c.author,
            email: c.email.trim(),
            url: &c.url,
            comment: &c.comment,
            page: "",
            request: None,
        })
    };
    for (order, stream) in orders(comments, &seeds[..seeds.len().min(1)]) {
        let outcomes: Vec<Outcome> = stream
            .iter()
            .map(|c| {
                let v = verdicts(c);
                Outcome {
                    spam: c.label == Label::Spam,
                    flagged: v.action != Action::Accept,
                    binned: v.action == Action::Spam,
                }
            })
            .collect();
        println!(
            "{}",
            row("rules alone", "-", &order, &Report::of(&outcomes))
        );
    }
    for name in METHODS {
        let mut shuffled = Vec::new();
        for (order, stream) in orders(comments, seeds) {
            let mut judge = |c: &LabeledComment, s: &Scored, exp| {
                let v = verdicts(c);
                let hard = v.hits.iter().any(|h| HARD_RULES.contains(&h.rule.as_str()));
                let score = v.score + mapping.score(v.score, s.probability, exp, hard);
                let action = rules.action_for(score);
                (action != Action::Accept, action == Action::Spam)
            };
            let (report, ..) = replay_with(name, ex, seed, &stream, &mut judge);
            if order == "file" {
                println!(
                    "{}",
                    row(
                        &format!("rules + {name}"),
                        if seed.is_empty() { "empty" } else { "seed" },
                        "file",
                        &report
                    )
                );
            } else {
                shuffled.push(report);
            }
        }
        if let Some(pooled) = Report::pooled(&shuffled) {
            let start = if seed.is_empty() { "empty" } else { "seed" };
            println!(
                "{}",
                row(
                    &format!("rules + {name}"),
                    start,
                    &format!("shuffled x{}", shuffled.len()),
                    &pooled
                )
            );
        }
    }
    println!();
}

const BANDS: [f64; 8] = [0.0, 0.05, 0.2, 0.5, 0.6, 0.9, 0.99, 1.000_001];

fn calibration_table(
    ex: &Extractor,
    comments: &[LabeledComment],
    seed: &[LabeledComment],
    seeds: &[u64],
) {
    println!(
        "Calibration: ham / spam per probability band, prequential, file order and every shuffle pooled, start: {}.\n",
        if seed.is_empty() { "empty" } else { "seed" }
    );
    let header: Vec<String> = BANDS
        .windows(2)
        .map(|b| format!("[{:.2}, {:.2})", b[0], b[1].min(1.0)))
        .collect();
    println!("| method | {} |", header.join(" | "));
    println!("|---|{}", "---|".repeat(header.len()));
    for name in METHODS {
        let mut bands = vec![[0usize; 2]; BANDS.len() - 1];
        for (_, stream) in orders(comments, seeds) {
            let mut judge = |c: &LabeledComment, s: &Scored, _| {
                let band = BANDS
                    .windows(2)
                    .position(|b| s.probability >= b[0] && s.probability < b[1])
                    .unwrap_or(0);
                bands[band][c.label.index_for_table()] += 1;
                (false, false)
            };
            replay_with(name, ex, seed, &stream, &mut judge);
        }
        let cells: Vec<String> = bands.iter().map(|[h, s]| format!("{h} / {s}")).collect();
        println!("| {name} | {} |", cells.join(" | "));
    }
    println!();
}

trait TableIndex {
    fn index_for_table(self) -> usize;
}

impl TableIndex for Label {
    /// Ham first, as the calibration cells read "ham / spam".
    fn index_for_table(self) -> usize {
        match self {
            Label::Ham => 0,
            Label::Spam => 1,
        }
    }
}

fn exactness_table(ex: &Extractor, comments: &[LabeledComment], seed: &[LabeledComment]) {
    println!(
        "Exactness: every third decision learned with the wrong label, then changed (unlearn, learn); rebuilt from seed + final ledger in reverse order.\n"
    );
    println!("| method | exact by design | max abs(p incremental - p rebuilt) over the file |");
    println!("|---|---|---|");
    let keys: Vec<(Vec<u64>, Label)> = comments
        .iter()
        .map(|c| (c.features(ex).keys().to_vec(), c.label))
        .collect();
    let flip = |l: Label| {
        if l == Label::Spam {
            Label::Ham
        } else {
            Label::Spam
        }
    };
    for name in METHODS {
        let mut incremental = trained(name, ex, seed);
        for (i, (k, l)) in keys.iter().enumerate() {
            incremental.learn(k, if i % 3 == 0 { flip(*l) } else { *l });
        }
        for (i, (k, l)) in keys.iter().enumerate() {
            if i % 3 == 0 {
                let _ = incremental.unlearn(k, flip(*l));
                incremental.learn(k, *l);
            }
        }
        let mut rebuilt = trained(name, ex, seed);
        for (k, l) in keys.iter().rev() {
            rebuilt.learn(k, *l);
        }
        let drift = comments
            .iter()
            .map(|c| {
                let f = c.features(ex);
                (incremental.score(&f).probability - rebuilt.score(&f).probability).abs()
            })
            .fold(0.0, f64::max);
        println!(
            "| {name} | {} | {drift:.6} |",
            if incremental.exact() { "yes" } else { "no" }
        );
    }
    println!();
}

fn misses(
    ex: &Extractor,
    rules: Option<&RuleSet>,
    comments: &[LabeledComment],
    seed: &[LabeledComment],
) {
    println!(
        "Misses of robinson-fisher{} (file order, start: {}):\n",
        if rules.is_some() { " + rules" } else { "" },
        if seed.is_empty() { "empty" } else { "seed" }
    );
    let mapping = Mapping::default();
    let mut m = trained("robinson-fisher", ex, seed);
    let mut exp = moderato::domain::learn::Experience::default();
    for c in comments {
        let f = c.features(ex);
        let s = m.score(&f);
        let (flagged, hits) = match rules {
            Some(rules) => {
                let v = rules.evaluate(&Subject {
                    author: &c.author,
                    email: c.email.trim(),
                    url: &c.url,
                    comment: &c.comment,
                    page: "",
                    request: None,
                });
                let hard = v.hits.iter().any(|h| HARD_RULES.contains(&h.rule.as_str()));
                let score = v.score + mapping.score(v.score, s.probability, exp, hard);
                let names: Vec<String> = v.hits.iter().map(|h| h.rule.clone()).collect();
                (
                    rules.action_for(score) != Action::Accept,
                    format!("rules {} {names:?}", v.score),
                )
            }
            None => (s.probability >= HOLD_P, String::new()),
        };
        if flagged != (c.label == Label::Spam) {
            let text: String = c.comment.chars().take(110).collect();
            println!(
                "- {} {} [{}] {} {} | {}",
                c.id,
                c.label.as_str(),
                c.kind,
                s.explain(&f).hit_text(),
                hits,
                text.replace('\n', " ")
            );
        }
        m.learn(f.keys(), c.label);
        match c.label {
            Label::Spam => exp.spam += 1,
            Label::Ham => exp.ham += 1,
        }
    }
    println!();
}

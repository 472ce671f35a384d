//! The learning filter (issue 11): a statistical classifier that learns
//! from the author's decisions, on the author's machine, and says why.
//!
//! Pure like the rules engine: no I/O, no clock, no global state. The
//! caller owns the secret [`HashKey`], the ledger of decisions and the
//! persisted model; this module turns a comment into hashed
//! [`Features`] ([`features`]), learns and unlearns them exactly
//! ([`Model`], a Robinson-Fisher classifier over a bounded [`Counts`]
//! table), scores a comment into a [`Learned`] verdict with the features
//! that weighed most, maps it to a rule score ([`verdict`]), and measures
//! a filter the honest way, test-then-train ([`replay`]). [`Filter`] is
//! the model as the service runs it (trained on the compiled-in [`seed`],
//! then on the author's decisions, recorded in the [`ledger`]), and
//! [`filter::apply_rule`] adds the `learned` rule's hit to the other rules'
//! verdict: the service, `learn replay` and `rules eval` all judge through it.
//!
//! The model holds only bucket numbers (the top bits of keyed hashes) and
//! counts, so it is derived data: seed + ledger, rebuilt bit for bit from
//! them. The other classifiers ([`NaiveBayes`], [`Logistic`]) are kept for
//! the measured comparison (`examples/learn_compare.rs`, BENCHMARKS.md).

mod bayes;
mod counts;
mod feature_set;
pub mod features;
pub mod filter;
pub mod ledger;
mod logistic;
pub mod replay;
pub mod seed;
#[cfg(test)]
mod tests;
mod tokens;
pub mod verdict;

use serde::{Deserialize, Serialize};

pub use bayes::{NaiveBayes, Params, RobinsonFisher};
pub use counts::{Counts, DEFAULT_BUCKET_BITS, MAX_BUCKET_BITS, UnlearnError};
pub use features::{Comment, Extractor, Features, HashKey, email_domain};
pub use filter::Filter;
pub use logistic::Logistic;
pub use verdict::{Experience, Learned};

/// The classifier that ships: Robinson-Fisher (chosen by measurement, see
/// BENCHMARKS.md "Learning filter: choosing the method").
pub type Model = RobinsonFisher;

/// What a decision teaches: `spam` (the author marked it spam) or `ham`
/// (the author approved it). Rejecting as off-topic teaches nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Label {
    /// Unwanted, machine-made or commercial.
    Spam,
    /// What a reader wrote.
    Ham,
}

impl Label {
    /// Position in `[spam, ham]` arrays.
    pub(crate) fn index(self) -> usize {
        match self {
            Label::Spam => 0,
            Label::Ham => 1,
        }
    }

    /// The label's name as written in files: `spam` or `ham`.
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Spam => "spam",
            Label::Ham => "ham",
        }
    }
}

/// A classifier over hashed features. Implemented by the shipped [`Model`]
/// and by the alternatives it was compared with.
pub trait Learner {
    /// A short name for tables.
    fn name(&self) -> &'static str;

    /// True when [`Learner::unlearn`] exactly undoes [`Learner::learn`] and
    /// the model is independent of the order of decisions.
    fn exact(&self) -> bool;

    /// Learns one comment's keys ([`Features::keys`]) with a label.
    fn learn(&mut self, keys: &[u64], label: Label);

    /// Unlearns a comment learned before with the same keys and label.
    ///
    /// # Errors
    /// [`UnlearnError`] when that decision was never learned; nothing
    /// changes then.
    fn unlearn(&mut self, keys: &[u64], label: Label) -> Result<(), UnlearnError>;

    /// Scores a comment: the spam probability and the weighing features.
    fn score(&self, features: &Features) -> Scored;

    /// Approximate heap bytes of the model's table.
    fn heap_bytes(&self) -> usize;
}

/// How many clues a verdict names.
pub const CLUES_SHOWN: usize = 3;

/// One feature's weight in a verdict.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Clue {
    /// The feature key (explained by the comment's [`Features`]).
    pub key: u64,
    /// Its model bucket.
    pub bucket: u32,
    /// Its weight: a spam probability (Robinson-Fisher) or log-odds
    /// (naive Bayes, logistic regression).
    pub weight: f64,
}

/// A classifier's raw answer: probability and the strongest clues toward
/// it (at most [`CLUES_SHOWN`], strongest first).
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// Spam probability in [0, 1].
    pub probability: f64,
    /// The features that pushed hardest toward the verdict.
    pub clues: Vec<Clue>,
}

impl Scored {
    /// Keeps the clues that pull the way the verdict went (above `neutral`
    /// for spam, below for ham), strongest first.
    pub(crate) fn new(probability: f64, mut clues: Vec<Clue>, neutral: f64) -> Self {
        let spam = probability >= 0.5;
        clues.retain(|c| (c.weight > neutral) == spam && c.weight != neutral);
        clues.sort_unstable_by(|a, b| {
            let order = if spam {
                b.weight.total_cmp(&a.weight)
            } else {
                a.weight.total_cmp(&b.weight)
            };
            order.then(a.bucket.cmp(&b.bucket))
        });
        clues.truncate(CLUES_SHOWN);
        Scored { probability, clues }
    }

    /// The verdict with its clues in words, for this comment's features.
    pub fn explain(&self, features: &Features) -> Learned {
        Learned {
            probability: self.probability,
            clues: self
                .clues
                .iter()
                .filter_map(|c| features.explain(c.key))
                .collect(),
        }
    }
}

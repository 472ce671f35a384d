//! The two count-based classifiers, both scoring from one [`Counts`] table:
//! Robinson-Fisher (Graham-style per-feature probabilities, Robinson's
//! smoothing and Fisher's chi-square combining, as in SpamBayes and
//! bogofilter) and a binarized multinomial naive Bayes.
//!
//! Both learn and unlearn exactly (integer counts), so either one keeps the
//! model equal to seed + ledger.

use super::counts::{Counts, UnlearnError, distinct_buckets};
use super::{Clue, Features, Label, Learner, Scored};

/// Robinson's `x`: the spam probability of a feature seen in no comment.
const PRIOR: f64 = 0.5;

/// The tunable constants of Robinson-Fisher scoring.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    /// Robinson's `s`: how many comments' worth of weight the prior has
    /// against a feature's own counts (SpamBayes' `unknown_word_strength`).
    pub strength: f64,
    /// Features whose probability lies closer to 0.5 than this say too
    /// little to be counted (SpamBayes' `minimum_prob_strength`).
    pub min_strength: f64,
    /// At most this many of the strongest features are combined
    /// (SpamBayes' `max_discriminators`).
    pub max_clues: usize,
}

impl Default for Params {
    /// SpamBayes' defaults, but bogofilter's `s` = 1: in the sweep of
    /// BENCHMARKS.md it binned a third as many ham for the same recall.
    fn default() -> Self {
        Params {
            strength: 1.0,
            min_strength: 0.1,
            max_clues: 150,
        }
    }
}

/// Robinson-Fisher over a count table.
#[derive(Debug, Clone, PartialEq)]
pub struct RobinsonFisher {
    /// The counts scored from: the part to persist.
    pub counts: Counts,
    /// How the counts are scored (not persisted: code, not data).
    pub params: Params,
}

impl RobinsonFisher {
    /// An empty model keeping `bits` key bits.
    pub fn new(bits: u8) -> Self {
        Self::with_params(bits, Params::default())
    }

    /// An empty model with other scoring constants (for comparisons).
    pub fn with_params(bits: u8, params: Params) -> Self {
        RobinsonFisher {
            counts: Counts::new(bits),
            params,
        }
    }

    /// Robinson's smoothed spam probability of one bucket, `None` when it
    /// was never seen.
    fn probability(&self, bucket: u32) -> Option<f64> {
        let [spam, ham] = self.counts.get(bucket);
        let n = f64::from(spam + ham);
        if n == 0.0 {
            return None;
        }
        let [spam_docs, ham_docs] = self.counts.docs();
        let ratio = |count: u32, docs: u32| {
            if docs == 0 {
                0.0
            } else {
                f64::from(count) / f64::from(docs)
            }
        };
        let (s, h) = (ratio(spam, spam_docs), ratio(ham, ham_docs));
        let p = if s + h == 0.0 { PRIOR } else { s / (s + h) };
        let strength = self.params.strength;
        Some((strength * PRIOR + n * p) / (strength + n))
    }
}

impl Learner for RobinsonFisher {
    fn name(&self) -> &'static str {
        "robinson-fisher"
    }

    fn exact(&self) -> bool {
        true
    }

    fn learn(&mut self, keys: &[u64], label: Label) {
        self.counts.learn(keys, label);
    }

    fn unlearn(&mut self, keys: &[u64], label: Label) -> Result<(), UnlearnError> {
        self.counts.unlearn(keys, label)
    }

    fn score(&self, features: &Features) -> Scored {
        let mut clues: Vec<Clue> = distinct_buckets(self.counts.bits(), features.keys())
            .into_iter()
            .filter_map(|(bucket, key)| {
                let f = self.probability(bucket)?;
                ((f - 0.5).abs() >= self.params.min_strength).then_some(Clue {
                    key,
                    bucket,
                    weight: f,
                })
            })
            .collect();
        if clues.len() > self.params.max_clues {
            clues.sort_unstable_by(|a, b| {
                let (sa, sb) = ((a.weight - 0.5).abs(), (b.weight - 0.5).abs());
                sb.total_cmp(&sa).then(a.bucket.cmp(&b.bucket))
            });
            clues.truncate(self.params.max_clues);
        }
        Scored::new(chi_combine(&clues), clues, 0.5)
    }

    fn heap_bytes(&self) -> usize {
        self.counts.heap_bytes()
    }
}

/// Fisher's method as Robinson applied it: the chi-square probability that
/// the spam-side and the ham-side evidence arose by chance, folded into one
/// indicator in [0, 1] (0.5 = no evidence either way).
fn chi_combine(clues: &[Clue]) -> f64 {
    if clues.is_empty() {
        return 0.5;
    }
    let (ln_ham, ln_spam) = clues.iter().fold((0.0, 0.0), |(h, s), c| {
        (h + c.weight.ln(), s + (1.0 - c.weight).ln())
    });
    let dof = 2 * clues.len();
    let spam = 1.0 - chi2_q(-2.0 * ln_spam, dof);
    let ham = 1.0 - chi2_q(-2.0 * ln_ham, dof);
    ((spam - ham + 1.0) / 2.0).clamp(0.0, 1.0)
}

/// The upper tail of the chi-square distribution with an even number of
/// degrees of freedom: P(X >= x2).
fn chi2_q(x2: f64, dof: usize) -> f64 {
    let m = x2 / 2.0;
    let mut term = (-m).exp();
    let mut sum = term;
    for i in 1..dof / 2 {
        term *= m / i as f64;
        sum += term;
    }
    sum.min(1.0)
}

/// Laplace smoothing of the multinomial model.
const ALPHA: f64 = 1.0;

/// Binarized multinomial naive Bayes: each distinct feature of a comment
/// counts once; P(feature | label) is its share of that label's feature
/// occurrences, Laplace-smoothed over the buckets in use. Features never
/// seen are left out rather than smoothed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NaiveBayes {
    /// The counts scored from.
    pub counts: Counts,
}

impl NaiveBayes {
    /// An empty model keeping `bits` key bits.
    pub fn new(bits: u8) -> Self {
        NaiveBayes {
            counts: Counts::new(bits),
        }
    }
}

impl Learner for NaiveBayes {
    fn name(&self) -> &'static str {
        "naive-bayes"
    }

    fn exact(&self) -> bool {
        true
    }

    fn learn(&mut self, keys: &[u64], label: Label) {
        self.counts.learn(keys, label);
    }

    fn unlearn(&mut self, keys: &[u64], label: Label) -> Result<(), UnlearnError> {
        self.counts.unlearn(keys, label)
    }

    fn score(&self, features: &Features) -> Scored {
        let [spam_docs, ham_docs] = self.counts.docs();
        let [spam_total, ham_total] = self.counts.occurrences();
        let vocabulary = self.counts.len().max(1) as f64;
        let spam_norm = (spam_total as f64 + ALPHA * vocabulary).ln();
        let ham_norm = (ham_total as f64 + ALPHA * vocabulary).ln();
        let prior = ((f64::from(spam_docs) + 1.0) / (f64::from(ham_docs) + 1.0)).ln();
        let clues: Vec<Clue> = distinct_buckets(self.counts.bits(), features.keys())
            .into_iter()
            .filter_map(|(bucket, key)| {
                let [spam, ham] = self.counts.get(bucket);
                if spam + ham == 0 {
                    return None;
                }
                let weight = ((f64::from(spam) + ALPHA).ln() - spam_norm)
                    - ((f64::from(ham) + ALPHA).ln() - ham_norm);
                Some(Clue {
                    key,
                    bucket,
                    weight,
                })
            })
            .collect();
        let logit = prior + clues.iter().map(|c| c.weight).sum::<f64>();
        Scored::new(sigmoid(logit), clues, 0.0)
    }

    fn heap_bytes(&self) -> usize {
        self.counts.heap_bytes()
    }
}

/// The logistic function, safe for any input.
pub(super) fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z.clamp(-40.0, 40.0)).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chi2_q_matches_known_values() {
        // P(X >= 2) with 2 dof is e^-1; with 4 dof, e^-1 * (1 + 1).
        assert!((chi2_q(2.0, 2) - (-1.0f64).exp()).abs() < 1e-12);
        assert!((chi2_q(2.0, 4) - 2.0 * (-1.0f64).exp()).abs() < 1e-12);
        assert_eq!(chi2_q(0.0, 10), 1.0);
    }

    #[test]
    fn combining_is_symmetric() {
        let clue = |w| Clue {
            key: 0,
            bucket: 0,
            weight: w,
        };
        let spam = chi_combine(&[clue(0.99), clue(0.95)]);
        let ham = chi_combine(&[clue(0.01), clue(0.05)]);
        assert!(spam > 0.9 && ham < 0.1);
        assert!((spam + ham - 1.0).abs() < 1e-9);
        assert_eq!(chi_combine(&[]), 0.5);
    }
}

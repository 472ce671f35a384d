//! Online logistic regression over hashed features, as Vowpal Wabbit does
//! it: one weight per bucket, a per-weight adaptive learning rate
//! (AdaGrad), features scaled so a comment's length does not set its
//! confidence.
//!
//! Kept for the comparison in BENCHMARKS.md. It cannot unlearn exactly: a
//! gradient step depends on every weight at the time it was taken, so
//! removing one decision means replaying all later ones. [`Logistic::unlearn`]
//! takes the reverse step, an approximation whose drift from a rebuild the
//! comparison measures.

use std::collections::HashMap;

use super::bayes::sigmoid;
use super::counts::{BucketHasher, UnlearnError, distinct_buckets, map_heap_bytes};
use super::{Clue, Features, Label, Learner, Scored};

/// AdaGrad's base learning rate.
const RATE: f64 = 0.5;

/// The bias weight lives in a bucket no feature reaches (buckets are below
/// `2^bits <= 2^24`).
const BIAS: u32 = u32::MAX;

/// Weight and squared-gradient sum of one bucket.
type Slot = [f32; 2];

/// Online logistic regression; see the module documentation.
#[derive(Debug, Clone, PartialEq)]
pub struct Logistic {
    bits: u8,
    weights: HashMap<u32, Slot, BucketHasher>,
}

impl Logistic {
    /// An empty model keeping `bits` key bits.
    pub fn new(bits: u8) -> Self {
        Logistic {
            bits: bits.clamp(1, super::counts::MAX_BUCKET_BITS),
            weights: HashMap::with_hasher(BucketHasher),
        }
    }

    fn buckets(&self, keys: &[u64]) -> Vec<(u32, u64)> {
        distinct_buckets(self.bits, keys)
    }

    /// The margin of a comment and the scale of each of its features.
    fn margin(&self, buckets: &[(u32, u64)]) -> (f64, f64) {
        let scale = 1.0 / (buckets.len().max(1) as f64).sqrt();
        let weight = |b: &u32| f64::from(self.weights.get(b).map_or(0.0, |s| s[0]));
        let z = weight(&BIAS) + buckets.iter().map(|(b, _)| weight(b) * scale).sum::<f64>();
        (z, scale)
    }

    /// One AdaGrad step towards `target` (1 = spam); `sign` -1 reverses it.
    fn step(&mut self, keys: &[u64], label: Label, sign: f64) {
        let buckets = self.buckets(keys);
        let (z, scale) = self.margin(&buckets);
        let target = if label == Label::Spam { 1.0 } else { 0.0 };
        let gradient = sigmoid(z) - target;
        let all = buckets
            .iter()
            .map(|(b, _)| (*b, scale))
            .chain([(BIAS, 1.0)]);
        for (bucket, x) in all {
            let slot = self.weights.entry(bucket).or_insert([0.0, 0.0]);
            let g = gradient * x;
            if sign > 0.0 {
                slot[1] += (g * g) as f32;
            }
            let rate = RATE / (f64::from(slot[1]).sqrt() + 1e-6);
            slot[0] -= (sign * rate * g) as f32;
        }
    }
}

impl Learner for Logistic {
    fn name(&self) -> &'static str {
        "logistic-adagrad"
    }

    fn exact(&self) -> bool {
        false
    }

    fn learn(&mut self, keys: &[u64], label: Label) {
        self.step(keys, label, 1.0);
    }

    /// Approximate: the reverse of a step taken now, not of the one taken
    /// when the decision was learned.
    fn unlearn(&mut self, keys: &[u64], label: Label) -> Result<(), UnlearnError> {
        self.step(keys, label, -1.0);
        Ok(())
    }

    fn score(&self, features: &Features) -> Scored {
        let buckets = self.buckets(features.keys());
        let (z, scale) = self.margin(&buckets);
        let clues = buckets
            .iter()
            .filter_map(|&(bucket, key)| {
                let w = f64::from(self.weights.get(&bucket)?[0]);
                Some(Clue {
                    key,
                    bucket,
                    weight: w * scale,
                })
            })
            .collect();
        Scored::new(sigmoid(z), clues, 0.0)
    }

    fn heap_bytes(&self) -> usize {
        map_heap_bytes::<Slot>(self.weights.capacity())
    }
}

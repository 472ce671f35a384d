//! The count table the Bayesian models score from: per hashed feature
//! bucket, how many learned spam and ham comments held it.
//!
//! Counts are integers, so learning and unlearning are exact inverses and
//! the table after any sequence of learns and unlearns equals the table
//! built from the remaining decisions alone, in any order: rebuilding from
//! the ledger gives the same model bit for bit. A bucket whose counts fall
//! to zero is removed, and the serialized form lists buckets in order, so
//! equal tables also serialize to equal bytes.
//!
//! Memory is bounded by construction: a feature key is cut to its top
//! `bits` bits, so the table never holds more than `2^bits` buckets
//! (the default, 2^20, is 1,048,576), however many distinct words arrive.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

use serde::{Deserialize, Serialize};

use super::Label;

/// The default number of key bits kept: 2^20 buckets at most.
pub const DEFAULT_BUCKET_BITS: u8 = 20;

/// The widest table allowed (2^24 buckets; a larger cap would let one
/// model outgrow the memory a small server has).
pub const MAX_BUCKET_BITS: u8 = 24;

/// Spam and ham counts of one bucket.
pub(super) type Pair = [u32; 2];

/// Learned comments per bucket; see the module documentation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "Stored", try_from = "Stored")]
pub struct Counts {
    bits: u8,
    docs: Pair,
    /// Sum of the bucket counts per label (the multinomial model needs it).
    occurrences: [u64; 2],
    table: HashMap<u32, Pair, BucketHasher>,
}

/// Why a decision cannot be unlearned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnlearnError {
    /// The model holds fewer comments of that label, or a feature of the
    /// comment was never learned with it: the decision was not learned (a
    /// ledger out of step with the model). Nothing was changed.
    #[error("this decision was never learned with label {0:?}")]
    NotLearned(Label),
}

impl Counts {
    /// An empty table keeping `bits` key bits (clamped to 1..=24).
    pub fn new(bits: u8) -> Self {
        Counts {
            bits: bits.clamp(1, MAX_BUCKET_BITS),
            docs: [0, 0],
            occurrences: [0, 0],
            table: HashMap::with_hasher(BucketHasher),
        }
    }

    /// The key bits kept.
    pub fn bits(&self) -> u8 {
        self.bits
    }

    /// The distinct buckets of a comment's keys, sorted.
    fn buckets(&self, keys: &[u64]) -> Vec<u32> {
        distinct_buckets(self.bits, keys)
            .into_iter()
            .map(|(b, _)| b)
            .collect()
    }

    /// Learns one comment.
    pub fn learn(&mut self, keys: &[u64], label: Label) {
        let l = label.index();
        self.docs[l] = self.docs[l].saturating_add(1);
        let buckets = self.buckets(keys);
        self.occurrences[l] += buckets.len() as u64;
        for bucket in buckets {
            let counts = self.table.entry(bucket).or_insert([0, 0]);
            counts[l] = counts[l].saturating_add(1);
        }
    }

    /// Unlearns one comment learned before with the same keys and label.
    ///
    /// # Errors
    /// [`UnlearnError::NotLearned`] when the table cannot hold that decision;
    /// the table is then unchanged.
    pub fn unlearn(&mut self, keys: &[u64], label: Label) -> Result<(), UnlearnError> {
        let l = label.index();
        let buckets = self.buckets(keys);
        let learned = self.docs[l] > 0
            && buckets
                .iter()
                .all(|b| self.table.get(b).is_some_and(|c| c[l] > 0));
        if !learned {
            return Err(UnlearnError::NotLearned(label));
        }
        self.docs[l] -= 1;
        self.occurrences[l] -= buckets.len() as u64;
        for bucket in buckets {
            if let Some(counts) = self.table.get_mut(&bucket) {
                counts[l] -= 1;
                if *counts == [0, 0] {
                    self.table.remove(&bucket);
                }
            }
        }
        Ok(())
    }

    /// Spam and ham counts of a bucket.
    pub(super) fn get(&self, bucket: u32) -> Pair {
        self.table.get(&bucket).copied().unwrap_or([0, 0])
    }

    /// Learned comments per label: `[spam, ham]`.
    pub fn docs(&self) -> Pair {
        self.docs
    }

    /// Sum of bucket counts per label: `[spam, ham]`.
    pub(super) fn occurrences(&self) -> [u64; 2] {
        self.occurrences
    }

    /// Buckets in use.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// True when nothing was learned.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty() && self.docs == [0, 0]
    }

    /// The most buckets the table can hold: `2^bits`.
    pub fn capacity_cap(&self) -> usize {
        1 << self.bits
    }

    /// Bytes the table occupies in memory (entries, control bytes and spare
    /// capacity of the hash map), for `learn stats` and the benchmarks.
    pub fn heap_bytes(&self) -> usize {
        map_heap_bytes::<Pair>(self.table.capacity())
    }
}

/// The bucket of a feature key: its top `bits` bits.
pub(super) fn bucket_of(bits: u8, key: u64) -> u32 {
    (key >> (64 - u32::from(bits))) as u32
}

/// The distinct buckets of a comment's keys, sorted, each with the first
/// key that fell into it: two keys sharing a bucket count once, in learning
/// as in scoring, and the first one explains it.
pub(super) fn distinct_buckets(bits: u8, keys: &[u64]) -> Vec<(u32, u64)> {
    let mut pairs: Vec<(u32, u64)> = keys.iter().map(|&k| (bucket_of(bits, k), k)).collect();
    pairs.sort_unstable();
    pairs.dedup_by_key(|p| p.0);
    pairs
}

/// Heap bytes of a `HashMap<u32, V>` of that capacity: hashbrown allocates
/// a power of two of slots (8/7 of the capacity), each an entry and one
/// control byte.
pub(super) fn map_heap_bytes<V>(capacity: usize) -> usize {
    let slot = std::mem::size_of::<(u32, V)>() + 1;
    (capacity * 8 / 7).next_power_of_two().max(4) * slot
}

/// The serialized form: sorted `(bucket, spam, ham)` rows, hashes and
/// counts only.
#[derive(Serialize, Deserialize)]
struct Stored {
    bits: u8,
    spam: u32,
    ham: u32,
    buckets: Vec<(u32, u32, u32)>,
}

impl From<Counts> for Stored {
    fn from(c: Counts) -> Self {
        let mut buckets: Vec<(u32, u32, u32)> =
            c.table.iter().map(|(&b, &[s, h])| (b, s, h)).collect();
        buckets.sort_unstable();
        Stored {
            bits: c.bits,
            spam: c.docs[0],
            ham: c.docs[1],
            buckets,
        }
    }
}

impl TryFrom<Stored> for Counts {
    type Error = String;

    /// Checks what a damaged or foreign file could break: the width, bucket
    /// ranges, order, and counts no larger than the comments learned.
    fn try_from(s: Stored) -> Result<Self, String> {
        if !(1..=MAX_BUCKET_BITS).contains(&s.bits) {
            return Err(format!("bits: {} is outside 1..={MAX_BUCKET_BITS}", s.bits));
        }
        let mut counts = Counts::new(s.bits);
        counts.docs = [s.spam, s.ham];
        counts.table.reserve(s.buckets.len());
        let mut last: Option<u32> = None;
        for (i, &(bucket, spam, ham)) in s.buckets.iter().enumerate() {
            let problem = if u64::from(bucket) >= 1u64 << s.bits {
                Some("bucket out of range")
            } else if last.is_some_and(|l| l >= bucket) {
                Some("buckets not in increasing order")
            } else if spam == 0 && ham == 0 {
                Some("empty bucket")
            } else if spam > s.spam || ham > s.ham {
                Some("count above the number of learned comments")
            } else {
                None
            };
            if let Some(problem) = problem {
                return Err(format!("buckets[{i}]: {problem}"));
            }
            last = Some(bucket);
            counts.occurrences[0] += u64::from(spam);
            counts.occurrences[1] += u64::from(ham);
            counts.table.insert(bucket, [spam, ham]);
        }
        Ok(counts)
    }
}

/// Buckets are already uniform hash bits; one multiply spreads them over
/// the hash map's control bits, far cheaper than SipHash on the hot path.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct BucketHasher;

impl BuildHasher for BucketHasher {
    type Hasher = BucketState;

    fn build_hasher(&self) -> BucketState {
        BucketState(0)
    }
}

/// The state of [`BucketHasher`].
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct BucketState(u64);

impl Hasher for BucketState {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8 | u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

//! The ledger of what the model learned: one entry per decision (the
//! comment, the reader's email key, the label, the hashed features, whether
//! it came from a file), never the text. The model is the seed plus these
//! entries; the store keeps them, in the same transaction as the decision.

use super::{Features, Label};
use crate::domain::CommentId;
use crate::domain::privacy::EmailKey;

/// One learned decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The comment decided (for a comment taught from a file that is not
    /// stored, an id derived from its email key and text, so teaching the
    /// same file twice replaces rather than doubles).
    pub comment: CommentId,
    /// The keyed hash of the reader's email: erasing the reader removes the
    /// entry.
    pub email: EmailKey,
    /// What the decision taught.
    pub label: Label,
    /// The top 32 bits of each feature key, sorted and distinct. Every
    /// bucket width up to 32 bits is rebuilt from them (the model keeps at
    /// most 24), at half the size of whole keys. Hashes only: no word,
    /// domain or name.
    pub keys: Vec<u32>,
    /// Taught from a file (`moderato learn train`, an import), not decided
    /// in moderato.
    pub trained: bool,
    /// When it was decided (ms since the epoch).
    pub decided_at: i64,
    /// The learned rule's spam probability when the comment arrived (or,
    /// when it arrived without one, just before this decision): how often
    /// the filter agreed with the author is counted from it. `None` when
    /// nothing scored it (taught from a file).
    pub probability: Option<f32>,
}

impl Entry {
    /// The keys as the model takes them.
    pub fn model_keys(&self) -> Vec<u64> {
        self.keys.iter().map(|&k| u64::from(k) << 32).collect()
    }

    /// The stored form of a comment's feature keys.
    pub fn keys_of(features: &Features) -> Vec<u32> {
        let mut keys: Vec<u32> = features.keys().iter().map(|&k| (k >> 32) as u32).collect();
        keys.dedup();
        keys
    }

    /// Whether the learned verdict (spam from p = 0.5) agreed with the
    /// label; `None` without a probability.
    pub fn agreed(&self) -> Option<bool> {
        self.probability
            .map(|p| (p >= 0.5) == (self.label == Label::Spam))
    }
}

//! The learning filter in service (issue 11). The model lives in memory:
//! built from the seed and the store's ledger when first needed (the
//! service does it before it listens), and kept in step with the ledger by
//! every step that changes it: a decision (`spam` teaches spam, `approve`
//! ham, `reject` nothing; a changed decision unlearns the old label), an
//! erasure, teaching from a file or an import. It is never stored: it is a
//! cache of seed + ledger, and a start rebuilds it.
//!
//! The ledger and the model change under one turn ([`Learning::turn`]), so
//! the model applies the ledger's changes in the order the store made them
//! and a load never sees half a change.

use std::collections::BTreeMap;
use std::sync::{PoisonError, RwLock};
use std::time::Instant;

use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

use super::{Error, Moderator};
use crate::domain::comment::{Comment, CommentId, Decision, now_millis};
use crate::domain::learn::filter::{Filter, apply_rule};
use crate::domain::learn::ledger::Entry;
use crate::domain::learn::replay::LabeledComment;
use crate::domain::learn::{self, Experience, Extractor, Features, Label, Learner, email_domain};
use crate::domain::ports::{Store, StoreError};
use crate::domain::privacy::{EmailKey, Privacy};
use crate::domain::rules::{RuleSet, Subject, Verdict, normalize};

/// The author's decisions the agreement figure looks at.
pub const AGREEMENT_WINDOW: usize = 200;

/// Author decisions kept in memory for the agreement figure: more than the
/// window, so that erasures and changed decisions leave it full.
const AGREEMENT_KEPT: usize = 1_000;

/// Ledger entries read or written at a time.
const LEDGER_BATCH: usize = 1_024;

/// What a decision teaches: `spam` spam, `approve` ham, `reject` (off-topic,
/// not spam) nothing.
pub fn teaches(decision: Decision) -> Option<Label> {
    match decision {
        Decision::Spam => Some(Label::Spam),
        Decision::Approve => Some(Label::Ham),
        Decision::Reject => None,
    }
}

/// The model and what it is made of.
#[derive(Debug)]
struct State {
    filter: Filter,
    /// The seed's comments.
    seed: Experience,
    /// Ledger entries taught from files (part of the filter's experience).
    trained: Experience,
    /// The latest author decisions, by time: whether the learned verdict
    /// agreed with each.
    recent: BTreeMap<(i64, CommentId), bool>,
}

impl State {
    fn seeded(extractor: &Extractor) -> State {
        let filter = Filter::seeded(extractor);
        let [spam, ham] = filter.model().counts.docs();
        State {
            filter,
            seed: Experience { spam, ham },
            trained: Experience::default(),
            recent: BTreeMap::new(),
        }
    }

    fn learn(&mut self, entry: &Entry) {
        self.filter.learn(&entry.model_keys(), entry.label);
        if entry.trained {
            *count(&mut self.trained, entry.label) += 1;
        } else if let Some(agreed) = entry.agreed() {
            self.recent
                .insert((entry.decided_at, entry.comment), agreed);
            while self.recent.len() > AGREEMENT_KEPT {
                self.recent.pop_first();
            }
        }
    }

    fn unlearn(&mut self, entry: &Entry) -> Result<(), learn::UnlearnError> {
        self.filter.unlearn(&entry.model_keys(), entry.label)?;
        if entry.trained {
            let n = count(&mut self.trained, entry.label);
            *n = n.saturating_sub(1);
        } else {
            self.recent.remove(&(entry.decided_at, entry.comment));
        }
        Ok(())
    }
}

fn count(experience: &mut Experience, label: Label) -> &mut u32 {
    match label {
        Label::Spam => &mut experience.spam,
        Label::Ham => &mut experience.ham,
    }
}

/// The learning filter of a [`Moderator`].
#[derive(Debug)]
pub struct Learning {
    extractor: Extractor,
    /// `None` until loaded, and again after a failed step (the next use
    /// loads it anew).
    state: RwLock<Option<State>>,
    /// Held while the ledger and the model change together.
    turn: Mutex<()>,
}

impl Learning {
    /// A filter hashing under this instance's feature key; nothing loaded.
    pub fn new(privacy: &Privacy) -> Learning {
        Learning {
            extractor: Extractor::new(&privacy.feature_key()),
            state: RwLock::new(None),
            turn: Mutex::new(()),
        }
    }

    fn with_state<R>(&self, f: impl FnOnce(&State) -> R) -> Option<R> {
        // A poisoned lock holds a complete state: each change is applied
        // whole or dropped (see `apply`).
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        state.as_ref().map(f)
    }

    fn is_loaded(&self) -> bool {
        self.with_state(|_| ()).is_some()
    }

    /// Builds the model from the seed and every ledger entry, unless it is
    /// loaded. Returns how many entries were read (0 when already loaded).
    async fn ensure_loaded(&self, store: &dyn Store) -> Result<usize, StoreError> {
        if self.is_loaded() {
            return Ok(0);
        }
        let _turn = self.turn.lock().await;
        if self.is_loaded() {
            return Ok(0);
        }
        self.load(store).await
    }

    /// Builds the model anew; the caller holds the turn.
    async fn load(&self, store: &dyn Store) -> Result<usize, StoreError> {
        let started = Instant::now();
        let mut state = State::seeded(&self.extractor);
        let mut after = None;
        let mut entries = 0;
        loop {
            let batch = store.ledger_after(after, LEDGER_BATCH).await?;
            let Some(last) = batch.last() else { break };
            after = Some((last.email, last.comment));
            entries += batch.len();
            for entry in &batch {
                state.learn(entry);
            }
        }
        *self.state.write().unwrap_or_else(PoisonError::into_inner) = Some(state);
        tracing::info!(
            decisions = entries,
            millis = started.elapsed().as_millis() as u64,
            "learning filter loaded: seed + ledger"
        );
        Ok(entries)
    }

    /// Applies one ledger change to the model: `unlearned` out, `learned`
    /// in. A model out of step with the ledger (an entry it never learned)
    /// is dropped, to be rebuilt at its next use.
    fn apply(&self, changes: &[(Option<&Entry>, Option<&Entry>)]) {
        let mut guard = self.state.write().unwrap_or_else(PoisonError::into_inner);
        let Some(state) = guard.as_mut() else {
            // Not loaded: the next load reads the ledger, change included.
            return;
        };
        for (unlearned, learned) in changes {
            if let Some(old) = unlearned
                && let Err(e) = state.unlearn(old)
            {
                tracing::error!(error = %e, comment_id = %old.comment, "the learning model was out of step with its ledger; it is rebuilt at its next use");
                *guard = None;
                return;
            }
            if let Some(new) = learned {
                state.learn(new);
            }
        }
    }
}

/// What the learning filter holds, for `GET /admin/learning` and
/// `moderato learn stats`.
#[derive(Debug, Clone, Serialize)]
pub struct LearningStats {
    /// Whether the rules in force have a `learned` rule (without one the
    /// filter still learns, but judges nothing).
    pub enabled: bool,
    /// Decisions learned: every ledger entry.
    pub learned: Experience,
    /// Of which taught from a file (`learn train`, imports).
    pub trained: Experience,
    /// The comments of the shipped seed.
    pub seed: Experience,
    /// Whether it may file spam on its own: 20 spam and 20 ham learned.
    pub bins_on_its_own: bool,
    /// The model's size.
    pub model: ModelSize,
    /// How often the learned verdict agreed with the author.
    pub agreement: Agreement,
}

/// The model's size in memory.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ModelSize {
    /// Feature buckets in use.
    pub features: usize,
    /// The most it can hold.
    pub cap: usize,
    /// Bytes of its table.
    pub bytes: usize,
}

/// Agreement of the learned verdict (spam from p = 0.5, as the comment
/// arrived) with the author, over the latest decisions.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Agreement {
    /// Author decisions counted (at most [`AGREEMENT_WINDOW`]).
    pub decisions: usize,
    /// Of which the learned verdict agreed.
    pub agreed: usize,
    /// `agreed / decisions`; `null` before the first decision.
    pub rate: Option<f64>,
}

/// What teaching from a file did.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Taught {
    /// Entries written, per label.
    pub learned: Experience,
    /// Of which replaced an entry taught before (the same comment).
    pub replaced: usize,
}

impl Moderator {
    /// Builds the learning model from the seed and the ledger, if it is not
    /// built yet (the service calls it before it listens; otherwise the
    /// first comment or decision does). How many ledger entries it read.
    ///
    /// # Errors
    /// A fault of the store.
    pub async fn load_learning(&self) -> Result<usize, Error> {
        Ok(self.learning.ensure_loaded(&*self.store).await?)
    }

    /// Builds the learning model anew from the seed and the ledger, as a
    /// start does (`moderato learn rebuild`). How many entries it read.
    ///
    /// # Errors
    /// A fault of the store; the model in force stays.
    pub async fn rebuild_learning(&self) -> Result<usize, Error> {
        let _turn = self.learning.turn.lock().await;
        Ok(self.learning.load(&*self.store).await?)
    }

    /// The rules' verdict on a comment offline (no request: the rules that
    /// need one are skipped), the learned rule included: what
    /// `POST /admin/rules/test` shows.
    pub async fn try_rules(&self, subject: &Subject<'_>) -> Verdict {
        let rules = self.rules();
        let mut verdict = rules.evaluate(subject);
        let domain = email_domain(subject.email).unwrap_or_default();
        let comment = learn::Comment {
            author: subject.author,
            email_domain: &domain,
            url: subject.url,
            text: subject.comment,
        };
        self.add_learned_verdict(&rules, &mut verdict, &comment)
            .await;
        verdict
    }

    /// Adds the learned rule's hit to an arriving comment's verdict, after
    /// the other rules. Without a model (it cannot be loaded: logged) the
    /// verdict stays the rules' own.
    pub(super) async fn add_learned_verdict(
        &self,
        rules: &RuleSet,
        verdict: &mut Verdict,
        comment: &learn::Comment<'_>,
    ) {
        if rules.learned().is_none() {
            return;
        }
        if let Err(e) = self.learning.ensure_loaded(&*self.store).await {
            tracing::error!(error = %e, "the learning model cannot be loaded; the learned rule is skipped");
            return;
        }
        let features = self.learning.extractor.extract(comment);
        if let Some((learned, experience)) = self
            .learning
            .with_state(|s| (s.filter.verdict(&features), s.filter.experience()))
        {
            apply_rule(rules, verdict, learned, experience);
        }
    }

    /// Runs `change` (a store write that returns the ledger changes it
    /// made) in the learning turn, then applies those changes to the model.
    pub(super) async fn in_learning_turn<T>(
        &self,
        change: impl AsyncFnOnce() -> Result<(T, Vec<(Option<Entry>, Option<Entry>)>), Error>,
    ) -> Result<T, Error> {
        if let Err(e) = self.learning.ensure_loaded(&*self.store).await {
            // The ledger is written all the same: the next load reads it.
            tracing::error!(error = %e, "the learning model cannot be loaded");
        }
        let _turn = self.learning.turn.lock().await;
        let (out, changes) = change().await?;
        let pairs: Vec<(Option<&Entry>, Option<&Entry>)> = changes
            .iter()
            .map(|(old, new)| (old.as_ref(), new.as_ref()))
            .collect();
        self.learning.apply(&pairs);
        Ok(out)
    }

    /// The ledger entry of an author's decision on a stored comment.
    pub(super) fn entry_for(&self, comment: &Comment, label: Label) -> Entry {
        let features = self.features_of(comment);
        let arrived = comment
            .hits
            .iter()
            .find_map(|h| h.learned.as_ref())
            .map(|l| l.probability);
        let probability = arrived.or_else(|| {
            self.learning
                .with_state(|s| s.filter.model().score(&features).probability)
        });
        Entry {
            comment: comment.id,
            email: comment.email_key(),
            label,
            keys: Entry::keys_of(&features),
            trained: false,
            decided_at: now_millis(),
            probability: probability.map(|p| p as f32),
        }
    }

    /// A stored comment's features; its email is decrypted for its domain.
    fn features_of(&self, comment: &Comment) -> Features {
        let domain = if comment.has_email() {
            match self.privacy.decrypt_email(&comment.email_sealed) {
                Ok(email) => email_domain(&email),
                Err(e) => {
                    tracing::error!(comment_id = %comment.id, error = %e, "email cannot be decrypted; learned without its domain");
                    None
                }
            }
        } else {
            None
        };
        self.learning.extractor.extract(&learn::Comment {
            author: &comment.author,
            email_domain: domain.as_deref().unwrap_or(""),
            url: comment.url.as_deref().unwrap_or(""),
            text: &comment.text,
        })
    }

    /// Removes a reader's ledger entries and unlearns them (erasure). How
    /// many.
    pub(super) async fn forget_learned(&self, email: EmailKey) -> Result<usize, Error> {
        self.in_learning_turn(async || {
            let forgotten = self.store.forget_reader(email).await?;
            let n = forgotten.len();
            Ok((n, forgotten.into_iter().map(|e| (Some(e), None)).collect()))
        })
        .await
    }

    /// Teaches labeled comments from a file (`moderato learn train`, an old
    /// spam folder or an export): each becomes a ledger entry marked as
    /// trained, with an id derived from its email key and text, so teaching
    /// the same file twice replaces what it taught. They count as the
    /// author's decisions.
    ///
    /// # Errors
    /// A fault of the store; the batches stored before it stay taught.
    pub async fn train(&self, comments: &[LabeledComment]) -> Result<Taught, Error> {
        let now = now_millis();
        let entries: Vec<Entry> = comments
            .iter()
            .map(|c| {
                let email = self.privacy.email_key(&c.email);
                let print = self.privacy.text_fingerprint(&[
                    b"learn-train",
                    &email.0,
                    normalize(&c.comment).as_bytes(),
                ]);
                let id = CommentId::from_bytes(&print[..16]).expect("16 bytes are a comment id");
                Entry {
                    comment: id,
                    email,
                    label: c.label,
                    keys: Entry::keys_of(&c.features(&self.learning.extractor)),
                    trained: true,
                    decided_at: now,
                    probability: None,
                }
            })
            .collect();
        self.teach(entries).await
    }

    /// Teaches imported comments' labels as the author's decisions
    /// (`moderato import --learn`): one ledger entry each, marked as
    /// trained, under the comment's own id, so importing twice teaches
    /// once. The author's own replies teach nothing.
    ///
    /// # Errors
    /// A fault of the store; the batches stored before it stay taught.
    pub async fn teach_imported(&self, comments: &[(&Comment, Label)]) -> Result<Taught, Error> {
        let entries = comments
            .iter()
            .filter(|(c, _)| !c.by_author)
            .map(|(c, label)| Entry {
                trained: true,
                probability: None,
                ..self.entry_for(c, *label)
            })
            .collect();
        self.teach(entries).await
    }

    async fn teach(&self, entries: Vec<Entry>) -> Result<Taught, Error> {
        let mut taught = Taught::default();
        for batch in entries.chunks(LEDGER_BATCH) {
            let replaced = self
                .in_learning_turn(async || {
                    let replaced = self.store.put_ledger(batch).await?;
                    let n = replaced.iter().flatten().count();
                    let changes = replaced
                        .into_iter()
                        .zip(batch.iter().cloned())
                        .map(|(old, new)| (old, Some(new)))
                        .collect();
                    Ok((n, changes))
                })
                .await?;
            taught.replaced += replaced;
            for entry in batch {
                *count(&mut taught.learned, entry.label) += 1;
            }
        }
        Ok(taught)
    }

    /// What the learning filter holds.
    ///
    /// # Errors
    /// A fault of the store while loading the model.
    pub async fn learning_stats(&self) -> Result<LearningStats, Error> {
        self.load_learning().await?;
        let enabled = self.rules().learned().is_some();
        self.learning
            .with_state(|s| {
                let counts = &s.filter.model().counts;
                let recent: Vec<bool> = s
                    .recent
                    .values()
                    .rev()
                    .take(AGREEMENT_WINDOW)
                    .copied()
                    .collect();
                let agreed = recent.iter().filter(|a| **a).count();
                let learned = s.filter.experience();
                LearningStats {
                    enabled,
                    learned,
                    trained: s.trained,
                    seed: s.seed,
                    bins_on_its_own: learned.trusted(),
                    model: ModelSize {
                        features: counts.len(),
                        cap: counts.capacity_cap(),
                        bytes: s.filter.model().heap_bytes(),
                    },
                    agreement: Agreement {
                        decisions: recent.len(),
                        agreed,
                        rate: (!recent.is_empty()).then(|| agreed as f64 / recent.len() as f64),
                    },
                }
            })
            .ok_or_else(|| {
                Error::Store(StoreError::Backend(
                    "the learning model is not loaded".into(),
                ))
            })
    }

    /// A digest of the model (SHA-256 of its counts in their stored,
    /// sorted form, hex): two models with equal digests are equal. For
    /// `moderato learn rebuild` and the tests that compare a rebuilt model
    /// with the one learned step by step.
    ///
    /// # Errors
    /// A fault of the store while loading the model.
    pub async fn learning_digest(&self) -> Result<String, Error> {
        self.load_learning().await?;
        self.learning
            .with_state(|s| {
                let bytes = serde_json::to_vec(&s.filter.model().counts).unwrap_or_default();
                hex::encode(Sha256::digest(&bytes))
            })
            .ok_or_else(|| {
                Error::Store(StoreError::Backend(
                    "the learning model is not loaded".into(),
                ))
            })
    }
}

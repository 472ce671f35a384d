//! The learning filter as the service runs it: the model trained on the
//! seed plus what the author taught, how many of the author's decisions it
//! holds (for the 20/20 gate), and the learned rule applied after the other
//! rules. The service, `moderato learn replay` and `moderato rules eval`
//! all judge through [`apply_rule`], so a measured verdict is a served one.

use super::replay::{LabeledComment, Outcome, prequential};
use super::verdict::Mapping;
use super::{
    DEFAULT_BUCKET_BITS, Experience, Extractor, Features, Label, Learned, Learner, Model,
    UnlearnError, seed,
};
use crate::domain::comment::{Action, Hit};
use crate::domain::rules::{RuleSet, Subject, Verdict};

/// A model and the decisions it learned beyond the seed.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    model: Model,
    experience: Experience,
}

impl Filter {
    /// The model trained on the shipped seed alone, hashed by `extractor`.
    pub fn seeded(extractor: &Extractor) -> Filter {
        let mut model = Model::new(DEFAULT_BUCKET_BITS);
        for comment in seed::comments() {
            model.learn(comment.features(extractor).keys(), comment.label);
        }
        Filter {
            model,
            experience: Experience::default(),
        }
    }

    /// The model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The decisions learned beyond the seed.
    pub fn experience(&self) -> Experience {
        self.experience
    }

    /// Learns one decision.
    pub fn learn(&mut self, keys: &[u64], label: Label) {
        self.model.learn(keys, label);
        *self.count(label) += 1;
    }

    /// Unlearns a decision learned before.
    ///
    /// # Errors
    /// [`UnlearnError`] when it was not learned; nothing changes then.
    pub fn unlearn(&mut self, keys: &[u64], label: Label) -> Result<(), UnlearnError> {
        if *self.count(label) == 0 {
            return Err(UnlearnError::NotLearned(label));
        }
        self.model.unlearn(keys, label)?;
        *self.count(label) -= 1;
        Ok(())
    }

    fn count(&mut self, label: Label) -> &mut u32 {
        match label {
            Label::Spam => &mut self.experience.spam,
            Label::Ham => &mut self.experience.ham,
        }
    }

    /// The model's verdict on a comment, its clues in words.
    pub fn verdict(&self, features: &Features) -> Learned {
        self.model.score(features).explain(features)
    }
}

/// Adds the learned rule's hit to `verdict`, after every other rule: the
/// points the mapping gives `learned` for this rule set's thresholds and
/// the author's `experience`, never lowering a comment that one of the
/// rule's `never_lowers` rules hit. Nothing when the rules have no enabled
/// learned rule.
pub fn apply_rule(
    rules: &RuleSet,
    verdict: &mut Verdict,
    learned: Learned,
    experience: Experience,
) {
    let Some((name, spec)) = rules.learned() else {
        return;
    };
    let mapping = Mapping::of_rule(spec, rules.thresholds());
    let hard = verdict
        .hits
        .iter()
        .any(|h| spec.never_lowers.contains(&h.rule));
    let points = mapping.score(verdict.score, learned.probability, experience, hard);
    verdict.score = verdict.score.saturating_add(points);
    verdict.hits.push(Hit {
        rule: name.to_owned(),
        score: points,
        learned: Some(learned),
    });
    verdict.action = rules.action_for(verdict.score);
}

/// The replay of `moderato learn replay`: from `rules` (offline: the rules
/// that need a request are skipped, as in `rules eval`) and the seeded
/// model, each comment is judged as the service would, then its label is
/// learned as the author's decision.
pub fn replay(rules: &RuleSet, extractor: &Extractor, stream: &[LabeledComment]) -> Vec<Outcome> {
    let mut filter = Filter::seeded(extractor);
    prequential(
        &mut filter.model,
        extractor,
        stream,
        |comment, scored, experience| {
            let mut verdict = offline_verdict(rules, comment);
            let learned = Learned {
                probability: scored.probability,
                clues: Vec::new(),
            };
            apply_rule(rules, &mut verdict, learned, experience);
            (
                verdict.action != Action::Accept,
                verdict.action == Action::Spam,
            )
        },
    )
}

/// What the rules alone say about a labeled comment, offline.
pub fn offline_verdict(rules: &RuleSet, comment: &LabeledComment) -> Verdict {
    rules.evaluate(&Subject {
        author: &comment.author,
        email: comment.email.trim(),
        url: &comment.url,
        comment: &comment.comment,
        page: "",
        request: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped_rules() -> RuleSet {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        RuleSet::load_dir(&dir).expect("the shipped rules load")
    }

    fn judged(rules: &RuleSet, text: &str, p: f64, experience: Experience) -> Verdict {
        let mut verdict = rules.evaluate(&Subject {
            author: "",
            email: "",
            url: "",
            comment: text,
            page: "/",
            request: None,
        });
        let learned = Learned {
            probability: p,
            clues: vec!["\"x\"".into()],
        };
        apply_rule(rules, &mut verdict, learned, experience);
        verdict
    }

    #[test]
    fn a_hard_signal_is_never_lowered_into_an_accept() {
        let rules = shipped_rules();
        let bbcode = judged(
            &rules,
            "[url=https://x.test]hello[/url]",
            0.0,
            Experience::default(),
        );
        assert_ne!(bbcode.action, Action::Accept, "{bbcode:?}");
        let hit = bbcode.hits.last().expect("the learned hit");
        assert_eq!((hit.rule.as_str(), hit.score), ("learned", 0));
        // Without one, a confident ham is relieved.
        let plain = judged(&rules, "see https://x.test", 0.0, Experience::default());
        assert!(plain.hits.last().is_some_and(|h| h.score < 0), "{plain:?}");
    }

    #[test]
    fn it_bins_on_its_own_only_after_twenty_and_twenty() {
        let rules = shipped_rules();
        let text = "I wrote a long comment about my week.";
        let early = Experience { spam: 19, ham: 400 };
        assert_eq!(judged(&rules, text, 1.0, early).action, Action::Hold);
        let trusted = Experience { spam: 20, ham: 20 };
        assert_eq!(judged(&rules, text, 1.0, trusted).action, Action::Spam);
        assert_eq!(judged(&rules, text, 0.95, trusted).action, Action::Hold);
    }

    #[test]
    fn learning_counts_the_authors_decisions_and_unlearns_exactly() {
        let extractor = Extractor::new(&super::super::HashKey::new(*b"filter-test-key!"));
        let seeded = Filter::seeded(&extractor);
        let mut filter = seeded.clone();
        let keys = [1u64 << 40, 7u64 << 50];
        filter.learn(&keys, Label::Spam);
        assert_eq!(filter.experience(), Experience { spam: 1, ham: 0 });
        assert!(filter.unlearn(&keys, Label::Ham).is_err());
        filter.unlearn(&keys, Label::Spam).expect("learned");
        assert_eq!(filter, seeded);
    }
}

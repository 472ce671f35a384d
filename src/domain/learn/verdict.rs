//! What the learned rule tells the rules engine and the author: the
//! probability, the features that weighed most, and the score it adds.
//!
//! The mapping from probability to score is measured, not guessed
//! (BENCHMARKS.md, "Learning filter: choosing the method"). Two limits hold
//! whatever the probability: the learned rule never lowers the score of a
//! comment a hard signal (honeypot, BBCode, link list) hit, so it cannot
//! turn such spam into an accept; and until the author has decided at least
//! [`MIN_AUTHOR_DECISIONS`] spam and as many ham comments, it may hold a
//! comment but never file one as spam on its own.

use serde::{Deserialize, Serialize};

use crate::domain::rules::{LearnedSpec, Thresholds};

/// Author decisions of each label needed before the learned rule may reach
/// the spam threshold on its own.
pub const MIN_AUTHOR_DECISIONS: u32 = 20;

/// A learned verdict in words, as stored with the comment and shown to the
/// author. Holds no email domain: its feature explains itself as
/// `email domain`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Learned {
    /// Spam probability in [0, 1].
    pub probability: f64,
    /// The features that weighed most toward the verdict, strongest first
    /// (`"sugar"`, `link to discreet-encounters.test`).
    pub clues: Vec<String>,
}

impl Learned {
    /// The rule hit text: `learned 0.97: "sugar", "tonight", link to x.test`.
    pub fn hit_text(&self) -> String {
        let p = format!("learned {:.2}", self.probability);
        if self.clues.is_empty() {
            p
        } else {
            format!("{p}: {}", self.clues.join(", "))
        }
    }
}

/// How many of the author's own decisions the model has learned (the seed
/// does not count).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Experience {
    /// Comments the author marked as spam.
    pub spam: u32,
    /// Comments the author approved.
    pub ham: u32,
}

impl Experience {
    /// True once the learned rule may file spam on its own.
    pub fn trusted(self) -> bool {
        self.spam >= MIN_AUTHOR_DECISIONS && self.ham >= MIN_AUTHOR_DECISIONS
    }
}

/// Scores of the learned rule, for thresholds hold = 5 and spam = 10.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mapping {
    /// From this probability the rule files spam on its own (score `spam`).
    pub spam_from: f64,
    /// From this probability it holds on its own (score `hold`).
    pub hold_from: f64,
    /// From this probability it adds `nudge`: one weak rule more holds.
    pub nudge_from: f64,
    /// Up to this probability it subtracts `relief` (a confident ham).
    pub relief_below: f64,
    /// The hold threshold of the rules.
    pub hold: i32,
    /// The spam threshold of the rules.
    pub spam: i32,
    /// Added between `nudge_from` and `hold_from`.
    pub nudge: i32,
    /// Subtracted below `relief_below`.
    pub relief: i32,
}

impl Default for Mapping {
    /// The proposed mapping, for the default thresholds (5 and 10).
    fn default() -> Self {
        Mapping {
            spam_from: 0.99,
            hold_from: 0.90,
            nudge_from: 0.60,
            relief_below: 0.05,
            hold: 5,
            spam: 10,
            nudge: 3,
            relief: 3,
        }
    }
}

impl Mapping {
    /// The mapping a `learned` rule's settings give under `thresholds`: it
    /// holds with the hold threshold's points and bins with the spam
    /// threshold's.
    pub fn of_rule(spec: &LearnedSpec, thresholds: Thresholds) -> Mapping {
        Mapping {
            spam_from: spec.spam_from,
            hold_from: spec.hold_from,
            nudge_from: spec.nudge_from,
            relief_below: spec.relief_below,
            hold: thresholds.hold,
            spam: thresholds.spam,
            nudge: spec.nudge,
            relief: spec.relief,
        }
    }

    /// The score the learned rule adds to `rules_score` (the sum of the
    /// other rules) for a spam probability.
    ///
    /// - From `spam_from`, once the author is [`Experience::trusted`], it
    ///   adds `spam`: confident enough to file spam on its own. Before
    ///   that it adds `hold`.
    /// - From `hold_from` it adds `hold`: held on its own.
    /// - From `nudge_from` it adds `nudge`: one weak signal more holds.
    /// - Below `relief_below` it subtracts `relief` (a confident ham
    ///   outweighs a lone link or drug name), unless `hard_signal`: a
    ///   honeypot, BBCode or link-list rule hit, which it never lowers.
    ///
    /// Below `spam_from` (or before trust) the learned rule may hold but
    /// never files spam itself: it stops one point short of the spam
    /// threshold unless the other rules reach it alone. The measured ham
    /// the filter wrongly binned were all of this kind (a held comment
    /// tipped over by a probability of 0.83-0.95).
    pub fn score(
        &self,
        rules_score: i32,
        probability: f64,
        experience: Experience,
        hard_signal: bool,
    ) -> i32 {
        if probability >= self.spam_from && experience.trusted() {
            return self.spam;
        }
        let learned = if probability >= self.hold_from || probability >= self.spam_from {
            self.hold
        } else if probability >= self.nudge_from {
            self.nudge
        } else if probability < self.relief_below && !hard_signal {
            -self.relief
        } else {
            0
        };
        if learned > 0 && rules_score < self.spam {
            learned.min(self.spam - 1 - rules_score).max(0)
        } else {
            learned
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_bins_alone_before_twenty_and_twenty() {
        let m = Mapping::default();
        let new = Experience { spam: 19, ham: 500 };
        let old = Experience { spam: 20, ham: 20 };
        assert_eq!(m.score(0, 1.0, new, false), m.hold);
        for rules in -5..m.spam {
            assert!(
                rules + m.score(rules, 1.0, new, false) < m.spam,
                "rules {rules}"
            );
        }
        assert_eq!(m.score(0, 1.0, old, false), m.spam);
    }

    #[test]
    fn below_certainty_it_holds_but_never_bins() {
        let m = Mapping::default();
        let old = Experience {
            spam: 500,
            ham: 500,
        };
        assert_eq!(m.score(0, 0.95, old, false), m.hold);
        assert_eq!(m.score(7, 0.95, old, false), 2);
        assert_eq!(m.score(9, 0.7, old, false), 0);
        // The rules alone still bin.
        assert_eq!(m.score(12, 0.7, old, false), m.nudge);
    }

    #[test]
    fn never_lowers_a_hard_signal() {
        let m = Mapping::default();
        assert!(m.score(5, 0.0, Experience::default(), false) < 0);
        assert_eq!(m.score(5, 0.0, Experience::default(), true), 0);
    }

    #[test]
    fn the_rule_defaults_are_the_measured_mapping() {
        let m = Mapping::of_rule(&LearnedSpec::default(), Thresholds::default());
        assert_eq!(m, Mapping::default());
    }

    #[test]
    fn hit_text_names_the_clues() {
        let l = Learned {
            probability: 0.968,
            clues: vec!["\"sugar\"".into(), "link to x.test".into()],
        };
        assert_eq!(l.hit_text(), "learned 0.97: \"sugar\", link to x.test");
    }
}

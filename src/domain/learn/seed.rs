//! The seed: what the model knows before the author has made a single
//! decision. It is the labeled blog comments committed in the repository
//! (`corpus/blog-seed.jsonl` and `tests/fixtures/blog-comments.jsonl`),
//! compiled into the binary so that `cargo run` works anywhere, and
//! trained at every start under the instance's own hash key: no binary
//! model is shipped, and the seed is reproducible from text.

use super::replay::{LabeledComment, parse_jsonl};

/// The seed comments written for the learning filter (corpus/README.md).
const BLOG_SEED: &str = include_str!("../../../corpus/blog-seed.jsonl");

/// The blog fixtures the rules were written against, part of the seed too.
const BLOG_FIXTURES: &str = include_str!("../../../tests/fixtures/blog-comments.jsonl");

/// The seed's labeled comments, in file order.
pub fn comments() -> Vec<LabeledComment> {
    let mut all = Vec::new();
    for text in [BLOG_SEED, BLOG_FIXTURES] {
        // Compiled in and checked by `the_seed_parses_and_has_both_labels`:
        // a seed that does not parse cannot be built into a binary.
        all.extend(parse_jsonl(text).expect("the compiled-in seed parses"));
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::learn::Label;

    #[test]
    fn the_seed_parses_and_has_both_labels() {
        let seed = comments();
        let spam = seed.iter().filter(|c| c.label == Label::Spam).count();
        assert!(seed.len() >= 350, "{} comments", seed.len());
        assert!(spam >= 100 && seed.len() - spam >= 100, "{spam} spam");
    }
}

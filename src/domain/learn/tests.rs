//! The learning filter's promises: exact unlearning, rebuild equal to the
//! incremental path, no plain text in a model, bounded memory, no email
//! domain in an explanation, and evasive spellings mapped onto the plain one.

use super::replay::{LabeledComment, parse_jsonl};
use super::*;

const SEED: &str = include_str!("../../../corpus/blog-seed.jsonl");
const FIXTURES: &str = include_str!("../../../tests/fixtures/blog-comments.jsonl");

fn extractor() -> Extractor {
    Extractor::new(&HashKey::new(*b"0123456789abcdef"))
}

fn corpus() -> Vec<LabeledComment> {
    let mut all = parse_jsonl(SEED).expect("the seed parses");
    all.extend(parse_jsonl(FIXTURES).expect("the fixtures parse"));
    all
}

fn features_of(text: &str) -> Features {
    extractor().extract(&Comment {
        author: "",
        email_domain: "",
        url: "",
        text,
    })
}

fn train(model: &mut Model, ex: &Extractor, comments: &[LabeledComment]) {
    for c in comments {
        model.learn(c.features(ex).keys(), c.label);
    }
}

#[test]
fn learning_then_unlearning_restores_the_exact_model() {
    let ex = extractor();
    let corpus = corpus();
    let mut model = Model::new(DEFAULT_BUCKET_BITS);
    train(&mut model, &ex, &corpus[..200]);
    let before = model.clone();
    let before_bytes = serde_json::to_vec(&model.counts).expect("serializes");
    for c in &corpus[200..] {
        let keys = c.features(&ex);
        model.learn(keys.keys(), c.label);
        assert_ne!(model, before);
        model.unlearn(keys.keys(), c.label).expect("just learned");
        assert_eq!(model, before, "{}", c.id);
    }
    assert_eq!(
        serde_json::to_vec(&model.counts).expect("serializes"),
        before_bytes
    );
}

#[test]
fn unlearning_what_was_never_learned_changes_nothing() {
    let ex = extractor();
    let corpus = corpus();
    let mut model = Model::new(DEFAULT_BUCKET_BITS);
    train(&mut model, &ex, &corpus[..20]);
    let before = model.clone();
    let stranger = features_of("a sentence this model has never seen: zebra quokka");
    assert!(model.unlearn(stranger.keys(), Label::Spam).is_err());
    assert_eq!(model, before);
}

#[test]
fn rebuilding_from_the_ledger_equals_the_incremental_model() {
    let ex = extractor();
    let corpus = corpus();
    let (seed, decisions) = corpus.split_at(150);
    // Incremental: decisions arrive; every fifth is changed later (approve
    // then spam, or the reverse), every seventh reader is erased.
    let mut incremental = Model::new(DEFAULT_BUCKET_BITS);
    train(&mut incremental, &ex, seed);
    let mut ledger: Vec<(Vec<u64>, Label)> = Vec::new();
    for c in decisions {
        let keys = c.features(&ex).keys().to_vec();
        let first = match c.label {
            Label::Spam => Label::Ham,
            Label::Ham => Label::Spam,
        };
        incremental.learn(&keys, first);
        ledger.push((keys, first));
    }
    for (i, (keys, label)) in ledger.iter_mut().enumerate() {
        if i % 5 == 0 {
            incremental.unlearn(keys, *label).expect("in the ledger");
            *label = decisions[i].label;
            incremental.learn(keys, *label);
        }
    }
    let mut kept = Vec::new();
    for (i, (keys, label)) in ledger.into_iter().enumerate() {
        if i % 7 == 3 {
            incremental.unlearn(&keys, label).expect("in the ledger");
        } else {
            kept.push((keys, label));
        }
    }
    // Rebuild: seed, then the ledger as it stands, in reverse order.
    let mut rebuilt = Model::new(DEFAULT_BUCKET_BITS);
    train(&mut rebuilt, &ex, seed);
    for (keys, label) in kept.iter().rev() {
        rebuilt.learn(keys, *label);
    }
    assert_eq!(rebuilt, incremental);
    assert_eq!(
        serde_json::to_vec(&rebuilt.counts).expect("serializes"),
        serde_json::to_vec(&incremental.counts).expect("serializes"),
    );
}

#[test]
fn the_serialized_model_holds_no_plain_token() {
    let ex = extractor();
    let corpus = corpus();
    let mut model = Model::new(DEFAULT_BUCKET_BITS);
    train(&mut model, &ex, &corpus);
    let json = serde_json::to_string(&model.counts).expect("serializes");
    let round: Counts = serde_json::from_str(&json).expect("round-trips");
    assert_eq!(round, model.counts);
    // Apart from its four field names the file is numbers only.
    let json = ["\"bits\"", "\"spam\"", "\"ham\"", "\"buckets\""]
        .iter()
        .fold(json, |j, name| j.replace(name, ""));
    assert!(
        json.chars().all(|c| "0123456789[]{},:".contains(c)),
        "{}",
        &json[..80]
    );
    let mut searched = 0;
    for c in &corpus {
        let domain = email_domain(&c.email).unwrap_or_default();
        let text = format!("{} {} {} {}", c.author, c.url, c.comment, domain);
        let normalized = crate::domain::rules::normalize(&text);
        for token in normalized.split(|ch: char| !ch.is_alphanumeric() && ch != '.' && ch != '-') {
            // Digits alone are counts in any model file; everything else
            // the model could leak has a letter.
            if token.chars().count() >= 3 && token.chars().any(char::is_alphabetic) {
                searched += 1;
                assert!(
                    !json.contains(token),
                    "{token:?} of {} is in the model",
                    c.id
                );
            }
        }
        if !domain.is_empty() {
            assert!(
                !json.contains(&domain),
                "email domain {domain} is in the model"
            );
        }
    }
    assert!(searched > 5_000, "searched only {searched} tokens");
}

#[test]
fn the_bucket_cap_holds_under_a_flood_of_distinct_tokens() {
    let ex = extractor();
    let mut model = Model::new(12);
    for batch in 0..200 {
        let text: String = (0..100).map(|i| format!("w{batch}x{i}q ")).collect();
        model.learn(features_of(&text).keys(), Label::Spam);
        let _ = &ex;
    }
    assert_eq!(model.counts.capacity_cap(), 4096);
    assert!(model.counts.len() <= 4096, "{} buckets", model.counts.len());
    // One giant comment is cut at the per-comment cap.
    let flood: String = (0..50_000).map(|i| format!("tok{i}z ")).collect();
    assert!(features_of(&flood).keys().len() <= features::MAX_FEATURES_PER_COMMENT);
}

#[test]
fn explanations_never_name_the_email_domain() {
    let ex = extractor();
    let corpus = corpus();
    let mut model = Model::new(DEFAULT_BUCKET_BITS);
    train(&mut model, &ex, &corpus);
    for domain in ["quickmail.test", "hidden-reader.example", "flirtmail.test"] {
        let comment = Comment {
            author: "Reader",
            email_domain: domain,
            url: "",
            text: "hot singles tonight, sugar daddy allowance, message me",
        };
        let features = ex.extract(&comment);
        let shown: Vec<String> = features
            .keys()
            .iter()
            .filter_map(|&k| features.explain(k))
            .collect();
        assert!(shown.iter().any(|s| s == "email domain"), "{shown:?}");
        for s in &shown {
            assert!(!s.contains(domain), "{s} names {domain}");
        }
        let learned = model.score(&features).explain(&features);
        assert!(
            !serde_json::to_string(&learned)
                .expect("json")
                .contains(domain)
        );
        assert!(!learned.hit_text().contains(domain));
        assert!(!format!("{features:?}").contains(domain));
    }
}

#[test]
fn evasive_spellings_share_the_plain_features() {
    let plain = features_of("buy viagra and cialis now");
    let word = |f: &Features, w: &str| {
        f.keys()
            .iter()
            .copied()
            .find(|&k| f.explain(k).as_deref() == Some(&format!("\"{w}\"")))
    };
    let viagra = word(&plain, "viagra").expect("plain word");
    let cialis = word(&plain, "cialis").expect("plain word");
    let evasions = [
        "buy v.i.a.g.r.a and c.i.a.l.i.s now",
        "buy v i a g r a and c-i-a-l-i-s now",
        "buy viаgrа and сiаlis now",
        "buy via\u{200B}gra and ci\u{200D}alis now",
        "buy v&#105;agra and c&#x69;alis now",
        "buy ｖｉａｇｒａ and ｃｉａｌｉｓ now",
        "buy v1agra and c1al1s now",
    ];
    for text in evasions {
        let f = features_of(text);
        assert!(f.keys().contains(&viagra), "{text}: no \"viagra\"");
        assert!(f.keys().contains(&cialis), "{text}: no \"cialis\"");
    }
}

#[test]
fn a_learned_spam_kind_scores_higher_and_is_explained() {
    let ex = extractor();
    let corpus = corpus();
    let mut model = Model::new(DEFAULT_BUCKET_BITS);
    train(&mut model, &ex, &corpus);
    let sugar = Comment {
        author: "Sugar Daddy Tom",
        email_domain: "richmail.test",
        url: "",
        text: "Looking for a sugar baby tonight, $3000 weekly allowance. Chat at https://spoil-me.discreet-encounters.test",
    };
    let f = ex.extract(&sugar);
    let learned = model.score(&f).explain(&f);
    assert!(learned.probability > 0.9, "{learned:?}");
    assert_eq!(learned.clues.len(), CLUES_SHOWN);
    let grief = ex.extract(&Comment {
        author: "Ann",
        email_domain: "example.org",
        url: "",
        text: "My mother died in March and I still can't listen to her voicemails. Thank you for this post.",
    });
    assert!(model.score(&grief).probability < 0.1);
}

#[test]
fn only_an_invisible_character_inside_a_word_is_an_evasion() {
    let evasive = |text: &str| {
        let f = features_of(text);
        f.keys()
            .iter()
            .any(|&k| f.explain(k).as_deref() == Some("invisible characters"))
    };
    assert!(evasive("cheap via\u{200B}gra here"));
    assert!(evasive("ca\u{AD}\u{200C}sino"));
    assert!(!evasive("nice song\u{FEFF}"), "a trailing byte-order mark");
    assert!(!evasive("\u{FEFF}hello there"));
    assert!(
        !evasive("word \u{200B} word"),
        "between words, not inside one"
    );
}

//! Learning filter speed and memory (issue 11 targets): scoring a 1 KB
//! comment adds < 30 µs, one decision's update < 200 µs, and the model's
//! memory stays bounded (a cap on buckets, resident size at 100,000
//! decisions).
//!
//! Run: `cargo bench --bench learn`. Before the criterion benchmarks it
//! learns 100,000 synthetic decisions (the committed seed comments, each
//! with fresh words, numbers and a host of its own, so the vocabulary keeps
//! growing as a real blog's does) and prints buckets used, the table's heap
//! size, the serialized size and the process's resident memory; then it
//! floods the model with distinct words until every bucket is taken (the
//! cap) and prints the same again.

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group};
use moderato::domain::learn::replay::{LabeledComment, parse_jsonl};
use moderato::domain::learn::{
    Comment, DEFAULT_BUCKET_BITS, Extractor, HashKey, Label, Learner, Model, email_domain,
};

const SEED: &str = include_str!("../corpus/blog-seed.jsonl");
const FIXTURES: &str = include_str!("../tests/fixtures/blog-comments.jsonl");

fn corpus() -> Vec<LabeledComment> {
    let mut all = parse_jsonl(SEED).expect("the seed parses");
    all.extend(parse_jsonl(FIXTURES).expect("the fixtures parse"));
    all
}

fn extractor() -> Extractor {
    Extractor::new(&HashKey::new(*b"bench-learn-key!"))
}

/// A ~1 KB reader comment with a link, an entity and a drug name.
fn comment_1kb() -> String {
    let base = "I lost my mother in March and your post about anticipatory grief put words to \
                things I could not say. The months of hospital visits, the guilt when I felt \
                relief, the anger at the doctors &amp; at myself. My therapist suggested \
                journaling, and I started on sertraline, which helped a little. For anyone \
                reading this at 3am: https://crisis-line.example.org is there, and so are we. ";
    let mut text = String::new();
    while text.len() < 1024 {
        text.push_str(base);
    }
    text.truncate(1024);
    text
}

fn trained(ex: &Extractor, comments: &[LabeledComment]) -> Model {
    let mut model = Model::new(DEFAULT_BUCKET_BITS);
    for c in comments {
        model.learn(c.features(ex).keys(), c.label);
    }
    model
}

fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse().ok())
        })
        .unwrap_or(0)
}

/// A made-up word from a counter: distinct for every `n`.
fn fresh_word(mut n: u64) -> String {
    const SYLLABLES: [&str; 16] = [
        "ka", "lo", "mi", "ren", "tu", "sa", "vo", "ne", "di", "pra", "gle", "shu", "orn", "bel",
        "xi", "zo",
    ];
    let mut w = String::new();
    loop {
        w.push_str(SYLLABLES[(n % 16) as usize]);
        n /= 16;
        if n == 0 {
            return w;
        }
    }
}

/// Decision `i` of the synthetic stream: a corpus comment plus three new
/// words, a number and, every fourth time, a link to a new host.
fn synthetic(corpus: &[LabeledComment], i: u64) -> LabeledComment {
    let mut c = corpus[(i % corpus.len() as u64) as usize].clone();
    let words: Vec<String> = (0..3).map(|k| fresh_word(i * 3 + k)).collect();
    c.comment = format!(
        "{} {} {} {} {}",
        c.comment,
        words[0],
        words[1],
        words[2],
        i % 997
    );
    if i.is_multiple_of(4) {
        c.comment.push_str(&format!(
            " https://{}.example.net/p",
            fresh_word(i + 7_000_000)
        ));
    }
    c
}

fn memory_report() {
    const DECISIONS: u64 = 100_000;
    let ex = extractor();
    let corpus = corpus();
    let rss_start = resident_kib();
    let mut model = trained(&ex, &corpus);
    let started = Instant::now();
    for i in 0..DECISIONS {
        let c = synthetic(&corpus, i);
        model.learn(c.features(&ex).keys(), c.label);
    }
    let per_decision = started.elapsed().as_secs_f64() * 1e6 / DECISIONS as f64;
    let rss_full = resident_kib();
    let json = serde_json::to_vec(&model.counts).expect("serializes");
    println!(
        "after seed + {DECISIONS} decisions: {} of {} buckets, table heap {} KiB, serialized {} KiB (JSON), \
         resident {} KiB (+{} KiB), {:.1} µs per decision (extract + learn)",
        model.counts.len(),
        model.counts.capacity_cap(),
        model.heap_bytes() / 1024,
        json.len() / 1024,
        rss_full,
        rss_full.saturating_sub(rss_start),
        per_decision
    );
    // The worst case: a flood of distinct tokens until every bucket is used.
    let mut n = 0u64;
    while model.counts.len() < model.counts.capacity_cap() && n < 20_000 {
        let text: String = (0..1_000)
            .map(|k| fresh_word(n * 1_000 + k + 1_000_000_000) + " ")
            .collect();
        model.learn(features_of(&ex, &text).keys(), Label::Spam);
        n += 1;
    }
    let rss_flood = resident_kib();
    println!(
        "after {n} more comments of 1,000 distinct made-up words each: {} of {} buckets, table heap {} KiB, resident {} KiB",
        model.counts.len(),
        model.counts.capacity_cap(),
        model.heap_bytes() / 1024,
        rss_flood
    );
}

fn features_of(ex: &Extractor, text: &str) -> moderato::domain::learn::Features {
    ex.extract(&Comment {
        author: "",
        email_domain: "",
        url: "",
        text,
    })
}

fn bench_learn(c: &mut Criterion) {
    let ex = extractor();
    let corpus = corpus();
    let seed_model = trained(&ex, &corpus);
    let mut big_model = seed_model.clone();
    for i in 0..100_000 {
        let s = synthetic(&corpus, i);
        big_model.learn(s.features(&ex).keys(), s.label);
    }
    let text = comment_1kb();
    let domain = email_domain("reader@example.org").unwrap_or_default();
    let comment = Comment {
        author: "Maya K.",
        email_domain: &domain,
        url: "https://mayawrites.example.com",
        text: &text,
    };
    let features = ex.extract(&comment);

    c.bench_function("learn: extract features of a 1 KB comment", |b| {
        b.iter(|| ex.extract(black_box(&comment)))
    });
    for (name, model) in [("seed", &seed_model), ("seed + 100k", &big_model)] {
        c.bench_function(
            &format!("learn: score a 1 KB comment, {name} model (extract + score + explain)"),
            |b| {
                b.iter(|| {
                    let f = ex.extract(black_box(&comment));
                    model.score(&f).explain(&f)
                })
            },
        );
        // Learning on a working copy: the same comment again and again only
        // raises counts, so the copy stays the size of `model`.
        let mut m = model.clone();
        c.bench_function(
            &format!("learn: one decision on a 1 KB comment, {name} model (extract + learn)"),
            |b| b.iter(|| m.learn(ex.extract(black_box(&comment)).keys(), Label::Spam)),
        );
        let mut m = model.clone();
        m.learn(features.keys(), Label::Ham);
        c.bench_function(&format!("learn: two changed decisions, {name} model (ham to spam and back, keys from the ledger)"), |b| {
            b.iter(|| {
                m.unlearn(black_box(features.keys()), Label::Ham).expect("learned");
                m.learn(features.keys(), Label::Spam);
                m.unlearn(features.keys(), Label::Spam).expect("learned");
                m.learn(features.keys(), Label::Ham);
            })
        });
    }
}

criterion_group!(benches, bench_learn);

fn main() {
    memory_report();
    benches();
    Criterion::default().configure_from_args().final_summary();
}

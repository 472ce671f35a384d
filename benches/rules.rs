//! Rules engine speed (issue 3 targets): the default rules on a 1 KB comment
//! under 20 µs (median), and 1,000 generated rules under 200 µs.
//!
//! Run with `cargo bench --bench rules`.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, criterion_group, criterion_main};
use moderato::domain::rules::{RuleSet, Subject};

/// A realistic ~1 KB reader comment, with a link and an entity.
fn comment_1kb() -> String {
    let base = "I lost my mother in March and your post about anticipatory grief put words to \
                things I could not say. The months of hospital visits, the guilt when I felt \
                relief, the anger at the doctors &amp; at myself. My therapist suggested \
                journaling, and I started on sertraline, which helped a little. For anyone \
                reading this at 3am: https://988lifeline.org is there, and so are we. ";
    let mut text = String::new();
    while text.len() < 1024 {
        text.push_str(base);
    }
    text.truncate(1024);
    text
}

/// 1,000 rules: 400 words rules, 400 regex rules, 100 domains, 100 others.
fn generated_rules() -> String {
    let mut toml = String::from("[thresholds]\nhold = 5\nspam = 10\n");
    for i in 0..400 {
        toml.push_str(&format!(
            "[[rule]]\nname = \"words-{i}\"\nkind = \"words\"\nwords = [\"spamword{i}\", \"bad phrase {i}\"]\nscore = 1\n"
        ));
    }
    for i in 0..400 {
        toml.push_str(&format!(
            "[[rule]]\nname = \"regex-{i}\"\nkind = \"regex\"\npattern = '\\bpromo{i} (code|deal)s?\\b'\nscore = 1\n"
        ));
    }
    for i in 0..100 {
        toml.push_str(&format!(
            "[[rule]]\nname = \"domains-{i}\"\nkind = \"domains\"\ndomains = [\"spam{i}.example\"]\nscore = 1\n"
        ));
    }
    for i in 0..100 {
        let rule = match i % 4 {
            0 => format!("kind = \"links\"\nmax = {}", i % 7),
            1 => "kind = \"caps\"\nratio = 0.8\nmin_letters = 20".to_owned(),
            2 => "kind = \"link_only\"".to_owned(),
            _ => "kind = \"regex\"\nfields = [\"author\", \"url\"]\npattern = 'shop|store'"
                .to_owned(),
        };
        toml.push_str(&format!(
            "[[rule]]\nname = \"other-{i}\"\n{rule}\nscore = 1\n"
        ));
    }
    toml
}

fn bench(c: &mut Criterion) {
    let comment = comment_1kb();
    let subject = Subject {
        author: "Grieving Reader",
        email: "reader@example.com",
        url: "",
        comment: &comment,
        page: "/blog/anticipatory-grief/",
        request: None,
    };
    let defaults = RuleSet::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("rules"))
        .expect("default rules load");
    c.bench_function("default rules, 1 KB comment", |b| {
        b.iter(|| defaults.evaluate(black_box(&subject)))
    });

    let generated = RuleSet::from_sources(
        Path::new("."),
        &[(PathBuf::from("generated.toml"), generated_rules())],
    )
    .expect("generated rules load");
    c.bench_function("1000 generated rules, 1 KB comment", |b| {
        b.iter(|| generated.evaluate(black_box(&subject)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);

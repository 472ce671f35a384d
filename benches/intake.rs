//! Criterion benchmarks of the write path without HTTP: sanitizing a 1 KB
//! and a 10 KB comment, and the whole intake of one comment (validate,
//! sanitize, encrypt, store durably) on a real sled database on disk.
//!
//! Run: `cargo bench --bench intake`

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use moderato::config::Config;
use moderato::domain::moderation::ClientInfo;
use moderato::domain::sanitize::Sanitizer;
use moderato::domain::{FieldValue, Fields};
use moderato::startup;

/// A comment of about `bytes` bytes with the markup readers really use.
fn comment_of(bytes: usize) -> String {
    let paragraph = "I lost my father in spring and reading this <em>helped</em>. \
        The part about <a href=\"https://example.org/grief\">anticipatory grief</a> \
        is exactly what I could not name.\nThank you & take care <3\n\n";
    paragraph.repeat(bytes / paragraph.len() + 1)[..bytes].to_owned()
}

fn sanitize(c: &mut Criterion) {
    let sanitizer = Sanitizer::new();
    for (name, size) in [("sanitize 1 KB", 1024), ("sanitize 10 KB", 10 * 1024)] {
        let text = comment_of(size);
        c.bench_function(name, |b| b.iter(|| sanitizer.clean(black_box(&text))));
    }
}

fn intake(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = Config {
        rules_dir: std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules"),
        data_dir: dir.path().to_owned(),
        admin_token: Some("bench-admin-token-0123".into()),
        // Tens of thousands of iterations: the queue cap must not answer 503.
        max_pending: u64::MAX,
        ..Config::default()
    };
    let moderator = startup::build(config).expect("open").state.moderator;
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let mut fields = Fields::new();
    for (name, value) in [
        ("page", "/blog/grief/"),
        ("author", "Ann"),
        ("email", "ann@example.org"),
        ("url", "https://ann.example.org"),
    ] {
        fields.insert(name.into(), FieldValue::Text(value.into()));
    }
    let text = comment_of(1024);
    let client = ClientInfo {
        ip: Some("203.0.113.9".parse().expect("ip")),
        user_agent: Some("Mozilla/5.0".into()),
    };
    // Every comment differs (the store refuses the same commenter's same
    // text on a page); building the fields is setup, not measured.
    let mut n = 0u64;
    c.bench_function("intake 1 KB comment (durable)", |b| {
        b.iter_batched(
            || {
                n += 1;
                let mut fields = fields.clone();
                fields.insert("comment".into(), FieldValue::Text(format!("{text} #{n}")));
                fields
            },
            |fields| {
                runtime
                    .block_on(moderator.submit(&fields, &client))
                    .expect("stored")
            },
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, sanitize, intake);
criterion_main!(benches);

//! Criterion benchmarks of the read path: a page of 100 approved comments,
//! built from the store (what a cache miss costs) and served through the
//! routes (a cache hit, and a 304 for `If-None-Match`).
//!
//! Run: `cargo bench --bench read`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use moderato::config::Config;
use moderato::domain::moderation::ClientInfo;
use moderato::domain::{Decision, FieldValue, Fields, PublicComment, Via};
use moderato::{http, startup};

const PAGE: &str = "/blog/grief/";

fn read(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = Config {
        data_dir: dir.path().to_owned(),
        admin_token: Some("bench-admin-token-0123".into()),
        rate_limits_enabled: false,
        ..Config::default()
    };
    let state = startup::build(config).expect("open").state;
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        for n in 0..100 {
            let mut fields = Fields::new();
            for (name, value) in [
                ("page", PAGE.to_owned()),
                ("author", format!("Reader {n}")),
                ("email", format!("reader{n}@example.org")),
                (
                    "comment",
                    format!("Thank you, this <em>helped</em> me through week {n} of a hard year."),
                ),
            ] {
                fields.insert(name.into(), FieldValue::Text(value));
            }
            let received = state
                .moderator
                .submit(&fields, &ClientInfo::default())
                .await
                .expect("stored");
            state
                .moderator
                .decide(received.comment.id, Decision::Approve, Via::Admin)
                .await
                .expect("approved");
        }
    });
    let store = state.store().clone();
    assert_eq!(
        runtime
            .block_on(store.approved_for_page(PAGE))
            .expect("list")
            .len(),
        100
    );

    c.bench_function("page of 100: store + JSON (cache miss)", |b| {
        b.iter(|| {
            let comments: Vec<PublicComment> = runtime
                .block_on(store.approved_for_page(black_box(PAGE)))
                .expect("list")
                .iter()
                .map(PublicComment::from)
                .collect();
            serde_json::to_vec(&comments).expect("json")
        })
    });

    let routes = http::routes(state.clone());
    let path = format!("/api/comments?page={PAGE}");
    let first = runtime.block_on(warp::test::request().path(&path).reply(&routes));
    let etag = first.headers()["etag"].to_str().expect("etag").to_owned();
    c.bench_function("GET page of 100 via routes (cache hit)", |b| {
        b.iter(|| runtime.block_on(warp::test::request().path(&path).reply(&routes)))
    });
    c.bench_function("GET page of 100 with If-None-Match (304)", |b| {
        b.iter(|| {
            runtime.block_on(
                warp::test::request()
                    .path(&path)
                    .header("if-none-match", &etag)
                    .reply(&routes),
            )
        })
    });
}

criterion_group!(benches, read);
criterion_main!(benches);

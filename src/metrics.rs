//! `GET /metrics`: counters in the Prometheus text format, behind the admin
//! token.
//!
//! Everything is a preallocated atomic: recording a request costs a few
//! relaxed increments and no lock. Labels come from fixed lists (routes
//! are templates such as `/admin/comments/{id}`), never from ids, query
//! strings or anything else a client chooses, so the output stays small.
//! (About 300 lines: a metrics crate would bring a registry and a global
//! recorder for what a few arrays of atomics do here.)
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `moderato_comments_received_total` | counter | `action` (accept, hold, spam, none), `status` |
//! | `moderato_queue_comments` | gauge | `status` |
//! | `moderato_rate_limited_total` | counter | `kind` |
//! | `moderato_http_request_duration_seconds` | histogram | `route`, `method` |
//! | `moderato_http_responses_total` | counter | `route`, `code` (2xx..5xx) |
//! | `moderato_rules_reloads_total` | counter | `outcome` (ok, error) |
//! | `moderato_database_size_bytes` | gauge | |
//! | `moderato_store_flush_requests_total` / `_flushes_total` | counter | |
//! | `moderato_page_cache_requests_total` | counter | `result` (hit, miss) |
//! | `moderato_page_cache_entries` / `_bytes` | gauge | |

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use warp::Filter;
use warp::http::{HeaderValue, StatusCode, header};
use warp::reply::{Reply, Response};

use crate::domain::Status;
use crate::error::ApiError;
use crate::domain::rules::Action;
use crate::state::AppState;

/// Route templates used as labels; the last one takes everything else.
pub const ROUTES: [&str; 17] = [
    "/healthz",
    "/api/comments",
    "/api/comments/{id}",
    "/api/counts",
    "/api/form-token",
    "/embed.js",
    "/metrics",
    "/admin",
    "/admin/comments",
    "/admin/comments/{id}",
    "/admin/comments/{id}/{action}",
    "/admin/rules",
    "/admin/rules/reload",
    "/admin/rules/test",
    "/admin/other",
    "/api/other",
    "other",
];

const METHODS: [&str; 5] = ["GET", "POST", "DELETE", "OPTIONS", "other"];

/// Upper bounds of the latency buckets, in microseconds.
const BUCKETS_US: [u64; 15] = [
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 2_500_000, 10_000_000,
];

const ACTIONS: [&str; 4] = ["accept", "hold", "spam", "none"];

/// The route template of a request path (without its query string).
pub fn route_label(path: &str) -> &'static str {
    let path = path.strip_suffix('/').unwrap_or(path);
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let index = match segments.as_slice() {
        ["healthz"] => 0,
        ["api", "comments"] => 1,
        ["api", "comments", _] => 2,
        ["api", "counts"] => 3,
        ["api", "form-token"] => 4,
        ["embed.js"] => 5,
        ["metrics"] => 6,
        ["admin"] => 7,
        ["admin", "comments"] => 8,
        ["admin", "comments", _] => 9,
        ["admin", "comments", _, _] => 10,
        ["admin", "rules"] => 11,
        ["admin", "rules", "reload"] => 12,
        ["admin", "rules", "test"] => 13,
        ["admin", ..] => 14,
        ["api", ..] => 15,
        _ => 16,
    };
    ROUTES[index]
}

fn method_index(method: &str) -> usize {
    METHODS
        .iter()
        .position(|m| *m == method)
        .unwrap_or(METHODS.len() - 1)
}

#[derive(Debug, Default)]
struct Histogram {
    /// Non-cumulative counts per bucket, then one for +Inf.
    buckets: [AtomicU64; BUCKETS_US.len() + 1],
    sum_us: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    fn observe(&self, us: u64) {
        let bucket = BUCKETS_US
            .iter()
            .position(|bound| us <= *bound)
            .unwrap_or(BUCKETS_US.len());
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(us, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }
}

/// The service's counters; shared as `Arc<Metrics>` in `AppState`.
#[derive(Debug)]
pub struct Metrics {
    /// [action][status]
    received: [[AtomicU64; 4]; 4],
    rate_limited: Mutex<BTreeMap<&'static str, u64>>,
    /// [route * METHODS.len() + method]
    latency: Box<[Histogram]>,
    /// [route * 5 + class], class 0 = 1xx .. 4 = 5xx
    responses: Box<[AtomicU64]>,
    reloads_ok: AtomicU64,
    reloads_failed: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            received: Default::default(),
            rate_limited: Mutex::default(),
            latency: (0..ROUTES.len() * METHODS.len())
                .map(|_| Histogram::default())
                .collect(),
            responses: (0..ROUTES.len() * 5).map(|_| AtomicU64::new(0)).collect(),
            reloads_ok: AtomicU64::new(0),
            reloads_failed: AtomicU64::new(0),
        }
    }
}

impl Metrics {
    /// A comment was stored with this verdict and status.
    pub fn comment_received(&self, action: Option<Action>, status: Status) {
        let action = match action {
            Some(Action::Accept) => 0,
            Some(Action::Hold) => 1,
            Some(Action::Spam) => 2,
            None => 3,
        };
        self.received[action][status.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// A request was answered 429 by the limiter named `kind` (a fixed
    /// name such as `post`, `read`, `admin_auth`: never client data).
    pub fn rate_limited(&self, kind: &'static str) {
        *self
            .rate_limited
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(kind)
            .or_default() += 1;
    }

    /// A rules reload succeeded (`ok`) or failed.
    pub fn rules_reloaded(&self, ok: bool) {
        let counter = if ok {
            &self.reloads_ok
        } else {
            &self.reloads_failed
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A request to `route` ended with `status` after `elapsed`.
    pub fn request(&self, route: &'static str, method: &str, status: u16, elapsed: Duration) {
        let route = ROUTES.iter().position(|r| *r == route).unwrap_or(0);
        let us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.latency[route * METHODS.len() + method_index(method)].observe(us);
        let class = usize::from((status / 100).clamp(1, 5) - 1);
        self.responses[route * 5 + class].fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition of these counters and of the state's
    /// gauges.
    pub fn render(&self, state: &AppState) -> String {
        let mut out = String::with_capacity(4096);
        let statuses = Status::ALL;

        header(
            &mut out,
            "moderato_comments_received_total",
            "counter",
            "Comments stored, by the rules' action and the status given.",
        );
        for (a, action) in ACTIONS.iter().enumerate() {
            for status in statuses {
                let n = self.received[a][status.index()].load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "moderato_comments_received_total{{action=\"{action}\",status=\"{status}\"}} {n}"
                );
            }
        }

        header(
            &mut out,
            "moderato_queue_comments",
            "gauge",
            "Comments stored now, by status.",
        );
        for status in statuses {
            let n = state.store.status_count(status);
            let _ = writeln!(out, "moderato_queue_comments{{status=\"{status}\"}} {n}");
        }

        header(
            &mut out,
            "moderato_rate_limited_total",
            "counter",
            "Requests answered 429, by limiter.",
        );
        for (kind, n) in self
            .rate_limited
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            let _ = writeln!(out, "moderato_rate_limited_total{{kind=\"{kind}\"}} {n}");
        }

        header(
            &mut out,
            "moderato_http_request_duration_seconds",
            "histogram",
            "Time from request to response, by route template and method.",
        );
        for (r, route) in ROUTES.iter().enumerate() {
            for (m, method) in METHODS.iter().enumerate() {
                let h = &self.latency[r * METHODS.len() + m];
                let count = h.count.load(Ordering::Relaxed);
                if count == 0 {
                    continue;
                }
                let labels = format!("route=\"{route}\",method=\"{method}\"");
                let mut cumulative = 0;
                for (b, bound) in BUCKETS_US.iter().enumerate() {
                    cumulative += h.buckets[b].load(Ordering::Relaxed);
                    let le = *bound as f64 / 1e6;
                    let _ = writeln!(
                        out,
                        "moderato_http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {cumulative}"
                    );
                }
                let _ = writeln!(
                    out,
                    "moderato_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {count}"
                );
                let sum = h.sum_us.load(Ordering::Relaxed) as f64 / 1e6;
                let _ = writeln!(
                    out,
                    "moderato_http_request_duration_seconds_sum{{{labels}}} {sum}"
                );
                let _ = writeln!(
                    out,
                    "moderato_http_request_duration_seconds_count{{{labels}}} {count}"
                );
            }
        }

        header(
            &mut out,
            "moderato_http_responses_total",
            "counter",
            "Responses by route template and status class.",
        );
        for (r, route) in ROUTES.iter().enumerate() {
            for class in 0..5 {
                let n = self.responses[r * 5 + class].load(Ordering::Relaxed);
                if n > 0 {
                    let _ = writeln!(
                        out,
                        "moderato_http_responses_total{{route=\"{route}\",code=\"{}xx\"}} {n}",
                        class + 1
                    );
                }
            }
        }

        header(
            &mut out,
            "moderato_rules_reloads_total",
            "counter",
            "Spam rule reloads, by outcome (an error keeps the previous rules).",
        );
        let _ = writeln!(
            out,
            "moderato_rules_reloads_total{{outcome=\"ok\"}} {}",
            self.reloads_ok.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "moderato_rules_reloads_total{{outcome=\"error\"}} {}",
            self.reloads_failed.load(Ordering::Relaxed)
        );

        header(
            &mut out,
            "moderato_database_size_bytes",
            "gauge",
            "Size of the sled database on disk.",
        );
        match state.store.size_on_disk() {
            Ok(bytes) => {
                let _ = writeln!(out, "moderato_database_size_bytes {bytes}");
            }
            Err(e) => tracing::warn!(error = %e, "cannot measure the database size"),
        }

        let (requests, flushes) = state.store.commit_stats();
        header(
            &mut out,
            "moderato_store_flush_requests_total",
            "counter",
            "Writes that waited for the disk (each got its answer after its flush).",
        );
        let _ = writeln!(out, "moderato_store_flush_requests_total {requests}");
        header(
            &mut out,
            "moderato_store_flushes_total",
            "counter",
            "Flushes (fsyncs) done: group commit shares one among many writes.",
        );
        let _ = writeln!(out, "moderato_store_flushes_total {flushes}");

        let cache = state.page_cache.stats();
        header(
            &mut out,
            "moderato_page_cache_requests_total",
            "counter",
            "Public page reads, served from memory (hit) or rebuilt (miss).",
        );
        let _ = writeln!(
            out,
            "moderato_page_cache_requests_total{{result=\"hit\"}} {}",
            cache.hits
        );
        let _ = writeln!(
            out,
            "moderato_page_cache_requests_total{{result=\"miss\"}} {}",
            cache.misses
        );
        header(
            &mut out,
            "moderato_page_cache_entries",
            "gauge",
            "Pages held in the read cache.",
        );
        let _ = writeln!(out, "moderato_page_cache_entries {}", cache.entries);
        header(
            &mut out,
            "moderato_page_cache_bytes",
            "gauge",
            "Bytes of JSON held in the read cache.",
        );
        let _ = writeln!(out, "moderato_page_cache_bytes {}", cache.bytes);
        out
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// `GET /metrics`, behind the admin token.
pub fn routes(
    state: AppState,
) -> impl Filter<Extract = (impl warp::Reply,), Error = warp::Rejection> + Clone {
    warp::path!("metrics")
        .and(warp::get())
        .and(warp::header::optional::<String>("authorization"))
        .and_then(move |authorization: Option<String>| {
            let state = state.clone();
            async move {
                if state.admin_token.verify(authorization.as_deref()) {
                    Ok(metrics_get(&state))
                } else {
                    Err(warp::reject::custom(ApiError::Unauthorized))
                }
            }
        })
}

/// GET /metrics
///
/// 200 with the Prometheus text format; 401 without the admin token.
fn metrics_get(state: &AppState) -> Response {
    let mut response = Response::new(state.metrics.render(state).into());
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_templates_without_ids_or_queries() {
        let cases = [
            ("/healthz", "/healthz"),
            ("/api/comments", "/api/comments"),
            (
                "/api/comments/01HZX0000000000000000000",
                "/api/comments/{id}",
            ),
            (
                "/admin/comments/01HZX/approve",
                "/admin/comments/{id}/{action}",
            ),
            ("/admin/comments/01HZX", "/admin/comments/{id}"),
            ("/admin/", "/admin"),
            ("/admin/x/y/z", "/admin/other"),
            ("/wp-login.php", "other"),
            ("/metrics", "/metrics"),
        ];
        for (path, route) in cases {
            assert_eq!(route_label(path), route, "{path}");
        }
    }

    #[test]
    fn histograms_are_cumulative_and_count_everything() {
        let metrics = Metrics::default();
        metrics.request("/healthz", "GET", 200, Duration::from_micros(50));
        metrics.request("/healthz", "GET", 200, Duration::from_millis(3));
        metrics.request("/healthz", "GET", 503, Duration::from_secs(60));
        let h = &metrics.latency[0];
        assert_eq!(h.count.load(Ordering::Relaxed), 3);
        assert_eq!(h.buckets[0].load(Ordering::Relaxed), 1);
        assert_eq!(h.buckets[BUCKETS_US.len()].load(Ordering::Relaxed), 1);
        assert_eq!(metrics.responses[1].load(Ordering::Relaxed), 2);
        assert_eq!(metrics.responses[4].load(Ordering::Relaxed), 1);
    }
}

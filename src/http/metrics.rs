//! `GET /metrics`: counters in the Prometheus text format, behind the
//! admin guard (the admin token, or the metrics token that opens nothing
//! else).
//!
//! Everything is an atomic: recording a request costs a few relaxed
//! increments and a read lock. Route labels are the templates each route
//! names where it is defined ([`super::endpoint`]: `/admin/comments/{id}`),
//! a fixed set written in the code, never ids, query strings or anything
//! else a client chooses, so the output stays small; a request no route
//! took is counted under `/api/other`, `/admin/other` or `other`. (About
//! 400 lines: a metrics crate would bring a registry and a global recorder
//! for what a few arrays of atomics do here.)
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
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use warp::Filter;
use warp::http::{HeaderValue, header};
use warp::reply::{Reply, Response};

use super::auth::{Scope, guard};
use super::cache::Stats as CacheStats;
use super::{AppState, endpoint, with_state};
use crate::domain::Status;
use crate::domain::comment::Action;
use crate::domain::ports::StoreStats;

/// The route template of a response, set by [`super::endpoint`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteLabel(pub &'static str);

const METHODS: [&str; 6] = ["GET", "POST", "PUT", "DELETE", "OPTIONS", "other"];

/// Upper bounds of the latency buckets, in microseconds.
const BUCKETS_US: [u64; 15] = [
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 2_500_000, 10_000_000,
];

const ACTIONS: [&str; 4] = ["accept", "hold", "spam", "none"];

/// The label of a request that no route took: by area only, so that a
/// scan of random paths adds no label.
pub fn unmatched(path: &str) -> &'static str {
    if path == "/api" || path.starts_with("/api/") {
        "/api/other"
    } else if path == "/admin" || path.starts_with("/admin/") {
        "/admin/other"
    } else {
        "other"
    }
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

/// Latency and responses of one route.
#[derive(Debug, Default)]
struct RouteStats {
    /// Per method.
    latency: [Histogram; METHODS.len()],
    /// Per status class, 0 = 1xx .. 4 = 5xx.
    responses: [AtomicU64; 5],
}

/// The service's counters; shared as `Arc<Metrics>` in `AppState`.
#[derive(Debug, Default)]
pub struct Metrics {
    /// [action][status]
    received: [[AtomicU64; 4]; 4],
    rate_limited: Mutex<BTreeMap<&'static str, u64>>,
    /// By route template; routes appear on their first request.
    routes: RwLock<BTreeMap<&'static str, Arc<RouteStats>>>,
    reloads_ok: AtomicU64,
    reloads_failed: AtomicU64,
}

/// The gauges of the rest of the service, read when `/metrics` is asked.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gauges {
    /// Comments per status, in [`Status::ALL`] order.
    pub queue: [u64; 4],
    /// The store's figures.
    pub store: StoreStats,
    /// The page cache's figures.
    pub cache: CacheStats,
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
        let stats = self.route(route);
        let us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        stats.latency[method_index(method)].observe(us);
        let class = usize::from((status / 100).clamp(1, 5) - 1);
        stats.responses[class].fetch_add(1, Ordering::Relaxed);
    }

    fn route(&self, route: &'static str) -> Arc<RouteStats> {
        if let Some(stats) = self
            .routes
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(route)
        {
            return stats.clone();
        }
        self.routes
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(route)
            .or_default()
            .clone()
    }

    /// The Prometheus text exposition of these counters and of `gauges`.
    pub fn render(&self, gauges: &Gauges) -> String {
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
            let n = gauges.queue[status.index()];
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
        let routes = self
            .routes
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for (route, stats) in &routes {
            for (m, method) in METHODS.iter().enumerate() {
                let h = &stats.latency[m];
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
        for (route, stats) in &routes {
            for class in 0..5 {
                let n = stats.responses[class].load(Ordering::Relaxed);
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
        if let Some(bytes) = gauges.store.size_on_disk {
            let _ = writeln!(out, "moderato_database_size_bytes {bytes}");
        }

        let (requests, flushes) = (gauges.store.flush_requests, gauges.store.flushes);
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

        let cache = gauges.cache;
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

/// `GET /metrics`, behind the admin guard.
pub fn routes(state: AppState) -> warp::filters::BoxedFilter<(Response,)> {
    endpoint(
        warp::http::Method::GET,
        "/metrics",
        warp::path!("metrics")
            .and(warp::get())
            .and(guard(state.clone(), Scope::Metrics))
            .and(with_state(state))
            .map(|state: AppState| metrics_get(&state)),
    )
}

/// GET /metrics
///
/// 200 with the Prometheus text format; 401 without the admin or metrics
/// token; 429 while the address is locked out for guessing.
fn metrics_get(state: &AppState) -> Response {
    let store = state.store();
    let gauges = Gauges {
        queue: Status::ALL.map(|status| store.status_count(status)),
        store: store.stats(),
        cache: state.page_cache.stats(),
    };
    let mut response = Response::new(state.metrics.render(&gauges).into());
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
    fn requests_no_route_took_are_counted_by_area() {
        let cases = [
            ("/api/nothing/here", "/api/other"),
            ("/admin/x/y/z", "/admin/other"),
            ("/wp-login.php", "other"),
            ("/apify", "other"),
        ];
        for (path, label) in cases {
            assert_eq!(unmatched(path), label, "{path}");
        }
    }

    #[test]
    fn histograms_are_cumulative_and_count_everything() {
        let metrics = Metrics::default();
        metrics.request("/healthz", "GET", 200, Duration::from_micros(50));
        metrics.request("/healthz", "GET", 200, Duration::from_millis(3));
        metrics.request("/healthz", "GET", 503, Duration::from_secs(60));
        let stats = metrics.route("/healthz");
        let h = &stats.latency[method_index("GET")];
        assert_eq!(h.count.load(Ordering::Relaxed), 3);
        assert_eq!(h.buckets[0].load(Ordering::Relaxed), 1);
        assert_eq!(h.buckets[BUCKETS_US.len()].load(Ordering::Relaxed), 1);
        assert_eq!(stats.responses[1].load(Ordering::Relaxed), 2);
        assert_eq!(stats.responses[4].load(Ordering::Relaxed), 1);
        let text = metrics.render(&Gauges::default());
        assert!(
            text.contains("moderato_http_responses_total{route=\"/healthz\",code=\"2xx\"} 2"),
            "{text}"
        );
    }
}

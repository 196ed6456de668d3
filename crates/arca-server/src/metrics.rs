//! `GET /metrics`: what an operator's Prometheus scrapes, in its text exposition format.
//!
//! Requests are counted by method, route template (`/api/2.0/mlflow/registered-models/get`, not
//! the concrete path, so that label values stay few) and status, with a latency histogram per
//! route. Artifact bytes in and out, the database pools and process facts come beside them.
//! Hand-written: a few counters behind one mutex cost less than an exporter crate, and the
//! format is small and stable.

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
struct Latency {
    /// Cumulative counts are computed when rendering; these are per bucket.
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct Requests {
    /// (method, route, status) → count
    counts: BTreeMap<(String, String, u16), u64>,
    /// (method, route) → latency
    latency: BTreeMap<(String, String), Latency>,
}

/// The server's counters; cheap to clone (shared).
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    started: Instant,
    requests: Mutex<Requests>,
    artifact_bytes_in: AtomicU64,
    artifact_bytes_out: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            inner: Arc::new(Inner {
                started: Instant::now(),
                requests: Mutex::default(),
                artifact_bytes_in: AtomicU64::new(0),
                artifact_bytes_out: AtomicU64::new(0),
            }),
        }
    }
}

impl Metrics {
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut requests = self
            .inner
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        *requests
            .counts
            .entry((method.to_owned(), route.to_owned(), status))
            .or_default() += 1;
        let latency = requests
            .latency
            .entry((method.to_owned(), route.to_owned()))
            .or_default();
        latency.count += 1;
        latency.sum += seconds;
        if let Some(i) = BUCKETS.iter().position(|le| seconds <= *le) {
            latency.buckets[i] += 1;
        }
    }

    pub fn artifact_bytes_in(&self, n: u64) {
        self.inner.artifact_bytes_in.fetch_add(n, Ordering::Relaxed);
    }

    pub fn artifact_bytes_out(&self, n: u64) {
        self.inner
            .artifact_bytes_out
            .fetch_add(n, Ordering::Relaxed);
    }

    /// The exposition text, with the store's own figures appended.
    pub fn render(
        &self,
        store: &arca_store::MetadataStore,
        artifacts: &arca_artifacts::ArtifactStore,
    ) -> String {
        let mut out = String::new();
        {
            let requests = self
                .inner
                .requests
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            out.push_str(
                "# HELP arca_http_requests_total HTTP requests answered, by route template and status.\n\
                 # TYPE arca_http_requests_total counter\n",
            );
            for ((method, route, status), n) in &requests.counts {
                let _ = writeln!(
                    out,
                    "arca_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {n}",
                    label(method),
                    label(route)
                );
            }
            out.push_str(
                "# HELP arca_http_request_duration_seconds Time from request to response head.\n\
                 # TYPE arca_http_request_duration_seconds histogram\n",
            );
            for ((method, route), l) in &requests.latency {
                let labels = format!("method=\"{}\",route=\"{}\"", label(method), label(route));
                let mut cumulative = 0;
                for (le, n) in BUCKETS.iter().zip(l.buckets) {
                    cumulative += n;
                    let _ = writeln!(
                        out,
                        "arca_http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {cumulative}"
                    );
                }
                let _ = writeln!(
                    out,
                    "arca_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}\n\
                     arca_http_request_duration_seconds_sum{{{labels}}} {}\n\
                     arca_http_request_duration_seconds_count{{{labels}}} {}",
                    l.count, l.sum, l.count
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP arca_artifact_bytes_total Bytes of artifact content received and sent.\n\
             # TYPE arca_artifact_bytes_total counter\n\
             arca_artifact_bytes_total{{direction=\"in\"}} {}\n\
             arca_artifact_bytes_total{{direction=\"out\"}} {}",
            self.inner.artifact_bytes_in.load(Ordering::Relaxed),
            self.inner.artifact_bytes_out.load(Ordering::Relaxed)
        );
        let checks = artifacts.download_checks();
        let _ = writeln!(
            out,
            "# HELP arca_artifact_downloads_checked_total Downloads checked against their recorded SHA-256: hashed while streaming, or trusted (verified before, unchanged since).\n\
             # TYPE arca_artifact_downloads_checked_total counter\n\
             arca_artifact_downloads_checked_total{{check=\"hashed\"}} {}\n\
             arca_artifact_downloads_checked_total{{check=\"trusted\"}} {}",
            checks.hashed, checks.trusted
        );
        let writes = store.write_stats();
        let _ = writeln!(
            out,
            "# HELP arca_write_batches_total Transactions that committed store writes (SQLite: one per group commit).\n\
             # TYPE arca_write_batches_total counter\n\
             arca_write_batches_total {}\n\
             # HELP arca_writes_total Store writes run in those transactions.\n\
             # TYPE arca_writes_total counter\n\
             arca_writes_total {}\n\
             # HELP arca_write_batch_largest The most writes one transaction held.\n\
             # TYPE arca_write_batch_largest gauge\n\
             arca_write_batch_largest {}\n\
             # HELP arca_commit_seconds_total Time spent in COMMIT (mostly fsync on SQLite).\n\
             # TYPE arca_commit_seconds_total counter\n\
             arca_commit_seconds_total {}",
            writes.batches,
            writes.writes,
            writes.largest_batch,
            writes.commit_time.as_secs_f64()
        );
        out.push_str(
            "# HELP arca_db_pool_connections Database connections by pool and state.\n\
             # TYPE arca_db_pool_connections gauge\n",
        );
        for pool in store.pool_stats() {
            let _ = writeln!(
                out,
                "arca_db_pool_connections{{pool=\"{}\",state=\"idle\"}} {}\n\
                 arca_db_pool_connections{{pool=\"{}\",state=\"in_use\"}} {}\n\
                 arca_db_pool_max_connections{{pool=\"{}\"}} {}",
                pool.name,
                pool.idle,
                pool.name,
                pool.size.saturating_sub(pool.idle),
                pool.name,
                pool.max
            );
        }
        let _ = writeln!(
            out,
            "# HELP arca_uptime_seconds Seconds since the server started.\n\
             # TYPE arca_uptime_seconds gauge\n\
             arca_uptime_seconds {:.3}",
            self.inner.started.elapsed().as_secs_f64()
        );
        out
    }
}

/// Label values are quoted strings: backslash, quote and newline escaped.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Counts every routed request under its route template (layered on the routes, where
/// `MatchedPath` is known); a request no route matched counts as `unmatched`.
pub(crate) async fn record(State(metrics): State<Metrics>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_owned();
    let response = next.run(req).await;
    metrics.observe(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

pub(crate) async fn serve(State(app): State<crate::AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        app.metrics.render(&app.metadata, &app.artifacts),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_buckets_are_cumulative() {
        let m = Metrics::default();
        m.observe("GET", "/a", 200, 0.0004);
        m.observe("GET", "/a", 200, 0.003);
        m.observe("GET", "/a", 404, 20.0);
        let requests = m.inner.requests.lock().unwrap();
        let l = &requests.latency[&("GET".to_owned(), "/a".to_owned())];
        assert_eq!(l.count, 3);
        assert_eq!(l.buckets[0], 1);
        assert_eq!(l.buckets[3], 1, "0.003 falls in the 0.005 bucket");
        assert_eq!(l.buckets.iter().sum::<u64>(), 2, "20 s is only in +Inf");
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}

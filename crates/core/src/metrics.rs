//! [`Metrics`]: the process's counters, gauges and histograms, rendered in the Prometheus text
//! exposition format (version 0.0.4) for `GET /metrics`.
//!
//! One registry per process, shared by the API (requests by route and status) and the engine
//! (runs, records, batches, retries, claims). Series are keyed by name and labels; every name is
//! declared once in [`FAMILIES`] with its type and help text, so the output is stable and a typo
//! cannot invent a series. Recording takes a short lock: it happens per request, per batch and
//! per run, never per record.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// Runs finished, by `outcome` and `reason_code` (counter).
pub const RUNS_FINISHED: &str = "ingestion_runs_finished_total";
/// Records Algolia accepted (counter).
pub const RECORDS_PUSHED: &str = "ingestion_records_pushed_total";
/// Records rejected or left unsent (counter).
pub const RECORDS_REJECTED: &str = "ingestion_records_rejected_total";
/// Batches Algolia accepted (counter).
pub const BATCHES: &str = "ingestion_batches_total";
/// Bytes of the batch bodies Algolia accepted (counter).
pub const BATCH_BYTES: &str = "ingestion_batch_bytes_total";
/// Algolia calls retried, by `reason` (counter).
pub const RETRIES: &str = "ingestion_algolia_retries_total";
/// Runs waiting in `created` (gauge, sampled when rendered).
pub const QUEUE_DEPTH: &str = "ingestion_queue_depth";
/// Runs this process is executing (gauge).
pub const RUNS_IN_PROGRESS: &str = "ingestion_runs_in_progress";
/// Time a claim query took, in seconds (histogram).
pub const CLAIM_SECONDS: &str = "ingestion_claim_duration_seconds";
/// Leases lost by this process's workers (counter).
pub const LEASES_LOST: &str = "ingestion_leases_lost_total";
/// Schedule fires that created a run, by `status` (`created` or `skipped`) (counter).
pub const SCHEDULE_FIRES: &str = "ingestion_schedule_fires_total";
/// API requests, by `route` (the matched pattern) and `status` (counter).
pub const API_REQUESTS: &str = "ingestion_api_requests_total";
/// Calls allowed on the wire at once toward an Algolia application, by `app_id` (gauge).
pub const CONCURRENCY_WINDOW: &str = "ingestion_algolia_concurrency_window";
/// The baseline round-trip time of a batch call to an Algolia application, in seconds, by
/// `app_id` (gauge).
pub const ALGOLIA_RTT: &str = "ingestion_algolia_rtt_seconds";
/// Times the concurrency window of an application shrank, by `app_id` and `reason`
/// (`rate_limited`, `server_error`, `rtt`) (counter).
pub const CONCURRENCY_DECREASES: &str = "ingestion_algolia_concurrency_decreases_total";

/// History deleted by retention, by `kind` (`runs`, `events`) (counter).
pub const HISTORY_DELETED: &str = "ingestion_history_deleted_total";

/// How a family is exposed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up.
    Counter,
    /// Goes up and down.
    Gauge,
    /// Observations in buckets.
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// Every family: name, kind, help.
pub const FAMILIES: &[(&str, Kind, &str)] = &[
    (
        RUNS_FINISHED,
        Kind::Counter,
        "Runs finished, by outcome and reason code.",
    ),
    (RECORDS_PUSHED, Kind::Counter, "Records Algolia accepted."),
    (
        RECORDS_REJECTED,
        Kind::Counter,
        "Records rejected or left unsent.",
    ),
    (BATCHES, Kind::Counter, "Batches Algolia accepted."),
    (
        BATCH_BYTES,
        Kind::Counter,
        "Bytes of the batch bodies Algolia accepted.",
    ),
    (RETRIES, Kind::Counter, "Algolia calls retried, by reason."),
    (QUEUE_DEPTH, Kind::Gauge, "Runs waiting in created."),
    (
        RUNS_IN_PROGRESS,
        Kind::Gauge,
        "Runs this process is executing.",
    ),
    (
        CLAIM_SECONDS,
        Kind::Histogram,
        "Time a claim took, in seconds.",
    ),
    (
        LEASES_LOST,
        Kind::Counter,
        "Leases lost by this process's workers.",
    ),
    (
        SCHEDULE_FIRES,
        Kind::Counter,
        "Schedule fires, by the status of the run they created.",
    ),
    (
        API_REQUESTS,
        Kind::Counter,
        "API requests, by route and status.",
    ),
    (
        HISTORY_DELETED,
        Kind::Counter,
        "History deleted by retention, by kind (runs, events).",
    ),
    (
        CONCURRENCY_WINDOW,
        Kind::Gauge,
        "Calls allowed on the wire at once toward an Algolia application.",
    ),
    (
        ALGOLIA_RTT,
        Kind::Gauge,
        "Baseline round-trip time of a batch call to an Algolia application, in seconds.",
    ),
    (
        CONCURRENCY_DECREASES,
        Kind::Counter,
        "Times the concurrency window of an Algolia application shrank, by reason.",
    ),
];

/// Histogram bucket bounds, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

type Labels = Vec<(&'static str, String)>;

#[derive(Debug, Default, Clone)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Debug, Default)]
struct State {
    values: BTreeMap<(&'static str, Labels), f64>,
    histograms: BTreeMap<(&'static str, Labels), Histogram>,
}

/// The registry: see the [module documentation](self).
#[derive(Debug, Default)]
pub struct Metrics {
    state: Mutex<State>,
}

fn labels(pairs: &[(&'static str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
}

impl Metrics {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Adds `by` to a counter.
    pub fn add(&self, name: &'static str, pairs: &[(&'static str, &str)], by: u64) {
        self.with(|s| *s.values.entry((name, labels(pairs))).or_default() += by as f64);
    }

    /// Adds one to a counter.
    pub fn inc(&self, name: &'static str, pairs: &[(&'static str, &str)]) {
        self.add(name, pairs, 1);
    }

    /// Sets a gauge.
    pub fn set(&self, name: &'static str, pairs: &[(&'static str, &str)], value: f64) {
        self.with(|s| {
            s.values.insert((name, labels(pairs)), value);
        });
    }

    /// Adds `delta` (possibly negative) to a gauge.
    pub fn shift(&self, name: &'static str, pairs: &[(&'static str, &str)], delta: f64) {
        self.with(|s| *s.values.entry((name, labels(pairs))).or_default() += delta);
    }

    /// Records one observation of a duration in a histogram.
    pub fn observe(&self, name: &'static str, pairs: &[(&'static str, &str)], value: Duration) {
        let seconds = value.as_secs_f64();
        self.with(|s| {
            let h = s.histograms.entry((name, labels(pairs))).or_default();
            for (bucket, bound) in h.buckets.iter_mut().zip(BUCKETS) {
                if seconds <= bound {
                    *bucket += 1;
                }
            }
            h.count += 1;
            h.sum += seconds;
        });
    }

    /// The current value of a counter or gauge (0 when never set): for tests.
    pub fn value(&self, name: &'static str, pairs: &[(&'static str, &str)]) -> f64 {
        self.with(|s| {
            s.values
                .get(&(name, labels(pairs)))
                .copied()
                .unwrap_or_default()
        })
    }

    /// Every family in the text exposition format.
    pub fn render(&self) -> String {
        let state = self.with(|s| (s.values.clone(), s.histograms.clone()));
        let (values, histograms) = state;
        let mut out = String::new();
        for (name, kind, help) in FAMILIES {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {}", kind.as_str());
            for ((_, series), value) in values.iter().filter(|((f, _), _)| f == name) {
                let _ = writeln!(out, "{name}{} {value}", render_labels(series, None));
            }
            for ((family, series), h) in &histograms {
                if family != name {
                    continue;
                }
                for (count, bound) in h.buckets.iter().zip(BUCKETS) {
                    let le = bound.to_string();
                    let _ = writeln!(
                        out,
                        "{name}_bucket{} {count}",
                        render_labels(series, Some(&le))
                    );
                }
                let all = render_labels(series, Some("+Inf"));
                let plain = render_labels(series, None);
                let _ = writeln!(out, "{name}_bucket{all} {}", h.count);
                let _ = writeln!(out, "{name}_sum{plain} {}", h.sum);
                let _ = writeln!(out, "{name}_count{plain} {}", h.count);
            }
        }
        out
    }
}

fn render_labels(series: &Labels, le: Option<&str>) -> String {
    let mut parts: Vec<String> = series
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect();
    if let Some(le) = le {
        parts.push(format!("le=\"{le}\""));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The `reason` label of a retried call, from the transport's description of the attempt
/// (`429 from host`, `503 Service Unavailable from host`, `timeout after ...`, a network error).
pub fn retry_reason(description: &str) -> &'static str {
    if description.starts_with("429") {
        "rate_limited"
    } else if description.starts_with("timeout") {
        "timeout"
    } else if description.starts_with('5') {
        "server_error"
    } else {
        "network"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_text_format() {
        let m = Metrics::new();
        m.inc(
            RUNS_FINISHED,
            &[("outcome", "success"), ("reason_code", "ok")],
        );
        m.add(RECORDS_PUSHED, &[], 41);
        m.inc(RECORDS_PUSHED, &[]);
        m.inc(
            API_REQUESTS,
            &[("route", "/1/tasks/{taskID}"), ("status", "200")],
        );
        m.set(QUEUE_DEPTH, &[], 3.0);
        m.observe(CLAIM_SECONDS, &[], Duration::from_millis(3));
        let text = m.render();
        assert!(
            text.contains("# TYPE ingestion_runs_finished_total counter"),
            "{text}"
        );
        assert!(
            text.contains(
                "ingestion_runs_finished_total{outcome=\"success\",reason_code=\"ok\"} 1\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("ingestion_records_pushed_total 42\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "ingestion_api_requests_total{route=\"/1/tasks/{taskID}\",status=\"200\"} 1"
            ),
            "{text}"
        );
        assert!(text.contains("ingestion_queue_depth 3\n"), "{text}");
        assert!(
            text.contains("ingestion_claim_duration_seconds_bucket{le=\"0.0025\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("ingestion_claim_duration_seconds_bucket{le=\"0.005\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("ingestion_claim_duration_seconds_count 1\n"),
            "{text}"
        );
        assert_eq!(m.value(RECORDS_PUSHED, &[]), 42.0);
    }

    #[test]
    fn retry_reasons() {
        assert_eq!(retry_reason("429 from a:1"), "rate_limited");
        assert_eq!(
            retry_reason("503 Service Unavailable from a"),
            "server_error"
        );
        assert_eq!(retry_reason("timeout after 2s on a"), "timeout");
        assert_eq!(retry_reason("connection refused (a)"), "network");
    }
}

//! The pace of the fake: a latency every call waits before it is answered, and a limit on the
//! writes (indexing jobs: batches, copies and moves, index deletions, settings) in progress at
//! once beyond which a write is answered 429 `Too many jobs` (after the same latency, and without
//! being applied). Reads (task polls, settings, records) are never refused. Both apply in memory and over HTTP, and can be changed
//! while the fake runs ([`super::FakeAlgolia::set_pace`], or `PUT /testkit/pace` over HTTP).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::lock;

/// The message of a call refused by the concurrency limit (Algolia's).
pub const TOO_MANY_JOBS: &str = "Too many jobs";

/// How fast the fake answers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pace {
    /// How long every call waits before it is answered.
    pub latency: Duration,
    /// Writes in progress at once beyond which a write is answered 429; none when `None`.
    pub concurrency_limit: Option<usize>,
}

/// [`Pace`] as JSON (`PUT /testkit/pace`), with the counters when read.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PaceBody {
    #[serde(rename = "latencyMs", default)]
    pub latency_ms: u64,
    #[serde(rename = "concurrencyLimit", default)]
    pub concurrency_limit: Option<usize>,
    #[serde(rename = "peakConcurrency", default, skip_deserializing)]
    pub peak_concurrency: usize,
    #[serde(rename = "throttledCalls", default, skip_deserializing)]
    pub throttled_calls: u64,
}

impl PaceBody {
    pub(crate) fn pace(&self) -> Pace {
        Pace {
            latency: Duration::from_millis(self.latency_ms),
            concurrency_limit: self.concurrency_limit.filter(|&n| n > 0),
        }
    }
}

/// The pace and what it counted.
#[derive(Debug, Default)]
pub(crate) struct Gate {
    pace: Mutex<Pace>,
    active: AtomicUsize,
    peak: AtomicUsize,
    throttled: AtomicU64,
}

/// A call let in: a write counts as in progress until dropped.
#[derive(Debug)]
pub(crate) struct Admitted<'a> {
    /// The gate to leave, for a write let in.
    gate: Option<&'a Gate>,
    throttled: bool,
    /// How long to wait before answering.
    pub latency: Duration,
}

impl Admitted<'_> {
    /// Whether the call is refused with a 429.
    pub(crate) fn throttled(&self) -> bool {
        self.throttled
    }
}

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        if let Some(gate) = self.gate {
            gate.active.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

impl Gate {
    pub(crate) fn new(pace: Pace) -> Self {
        Self {
            pace: Mutex::new(pace),
            ..Self::default()
        }
    }

    pub(crate) fn pace(&self) -> Pace {
        *lock(&self.pace)
    }

    pub(crate) fn set_pace(&self, pace: Pace) {
        *lock(&self.pace) = pace;
    }

    /// The most writes that were in progress at once.
    pub(crate) fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }

    /// Writes refused by the concurrency limit.
    pub(crate) fn throttled(&self) -> u64 {
        self.throttled.load(Ordering::SeqCst)
    }

    /// Lets a call in; a write is refused when the writes in progress are at the limit.
    pub(crate) fn enter(&self, write: bool) -> Admitted<'_> {
        let pace = self.pace();
        if !write {
            return Admitted {
                gate: None,
                throttled: false,
                latency: pace.latency,
            };
        }
        let active = self.active.fetch_add(1, Ordering::SeqCst) + 1;
        if pace.concurrency_limit.is_some_and(|limit| active > limit) {
            self.active.fetch_sub(1, Ordering::SeqCst);
            self.throttled.fetch_add(1, Ordering::SeqCst);
            return Admitted {
                gate: None,
                throttled: true,
                latency: pace.latency,
            };
        }
        self.peak.fetch_max(active, Ordering::SeqCst);
        Admitted {
            gate: Some(self),
            throttled: false,
            latency: pace.latency,
        }
    }

    pub(crate) fn body(&self) -> PaceBody {
        let pace = self.pace();
        PaceBody {
            latency_ms: pace.latency.as_millis() as u64,
            concurrency_limit: pace.concurrency_limit,
            peak_concurrency: self.peak(),
            throttled_calls: self.throttled(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_beyond_the_limit_are_refused_and_counted() {
        let gate = Gate::new(Pace {
            latency: Duration::from_millis(5),
            concurrency_limit: Some(2),
        });
        let a = gate.enter(true);
        let b = gate.enter(true);
        let c = gate.enter(true);
        assert!(!a.throttled() && !b.throttled());
        assert!(c.throttled());
        assert_eq!(c.latency, Duration::from_millis(5));
        // Reads are never refused nor counted.
        let read = gate.enter(false);
        assert!(!read.throttled());
        drop((a, c, read));
        assert!(!gate.enter(true).throttled());
        assert_eq!((gate.peak(), gate.throttled()), (2, 1));
        let body = gate.body();
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"latencyMs":5,"concurrencyLimit":2,"peakConcurrency":2,"throttledCalls":1}"#
        );
        let set: PaceBody =
            serde_json::from_str(r#"{"latencyMs":20,"concurrencyLimit":0}"#).unwrap();
        assert_eq!(
            set.pace(),
            Pace {
                latency: Duration::from_millis(20),
                concurrency_limit: None
            }
        );
    }
}

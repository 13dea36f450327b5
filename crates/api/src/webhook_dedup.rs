//! Webhook deliveries seen recently, so a redelivered event does not run twice.
//!
//! Senders redeliver (BigCommerce retries a callback for up to 48 hours, and delivers some twice:
//! `connector-apis.md` §2.8 says to de-duplicate on the payload's `hash`). A payload carrying a
//! string `hash` is remembered with the run it created; the same hash for the same task within
//! the window answers that run again instead of creating another. Memory is bounded: past the
//! capacity, the oldest deliveries are forgotten first. The memory is per process.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ingest_model::RunResponse;

/// How long a delivery is remembered (BigCommerce's retries span 48 hours).
pub const WINDOW: Duration = Duration::from_secs(48 * 3600);
/// Deliveries remembered at most.
pub const CAPACITY: usize = 10_000;

type Key = (String, String, String);

/// Recent deliveries by (application, task, hash).
#[derive(Debug, Default)]
pub struct Deliveries {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    runs: HashMap<Key, (RunResponse, Instant)>,
    order: VecDeque<(Key, Instant)>,
}

impl Deliveries {
    /// The run a delivery with `hash` for `task` already created, if it is recent.
    pub fn seen(&self, app: &str, task: &str, hash: &str, now: Instant) -> Option<RunResponse> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.expire(now);
        let key = (app.to_owned(), task.to_owned(), hash.to_owned());
        inner.runs.get(&key).map(|(run, _)| run.clone())
    }

    /// Remembers that the delivery `hash` for `task` created `run`.
    pub fn remember(&self, app: &str, task: &str, hash: &str, run: RunResponse, now: Instant) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let key = (app.to_owned(), task.to_owned(), hash.to_owned());
        inner.order.push_back((key.clone(), now));
        inner.runs.insert(key, (run, now));
        while inner.runs.len() > CAPACITY {
            let Some((oldest, at)) = inner.order.pop_front() else {
                break;
            };
            if inner.runs.get(&oldest).is_some_and(|(_, seen)| *seen == at) {
                inner.runs.remove(&oldest);
            }
        }
    }
}

impl Inner {
    fn expire(&mut self, now: Instant) {
        while let Some((key, at)) = self.order.front() {
            if now.saturating_duration_since(*at) < WINDOW {
                break;
            }
            if self.runs.get(key).is_some_and(|(_, seen)| seen == at) {
                self.runs.remove(key);
            }
            self.order.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(id: &str) -> RunResponse {
        RunResponse {
            run_id: id.into(),
            created_at: "2026-11-29T00:00:00Z".into(),
        }
    }

    #[test]
    fn a_redelivery_answers_the_first_run_within_the_window() {
        let deliveries = Deliveries::default();
        let t0 = Instant::now();
        assert_eq!(deliveries.seen("A", "t", "h1", t0), None);
        deliveries.remember("A", "t", "h1", run("r1"), t0);
        assert_eq!(deliveries.seen("A", "t", "h1", t0), Some(run("r1")));
        assert_eq!(deliveries.seen("A", "other-task", "h1", t0), None);
        assert_eq!(deliveries.seen("B", "t", "h1", t0), None);
        assert_eq!(deliveries.seen("A", "t", "h1", t0 + WINDOW), None);
    }

    #[test]
    fn memory_is_bounded() {
        let deliveries = Deliveries::default();
        let t0 = Instant::now();
        for i in 0..CAPACITY + 5 {
            deliveries.remember("A", "t", &i.to_string(), run("r"), t0);
        }
        assert_eq!(deliveries.seen("A", "t", "0", t0), None);
        assert!(
            deliveries
                .seen("A", "t", &(CAPACITY + 4).to_string(), t0)
                .is_some()
        );
        assert_eq!(deliveries.inner.lock().unwrap().runs.len(), CAPACITY);
    }
}

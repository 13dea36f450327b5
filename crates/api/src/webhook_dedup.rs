//! Webhook deliveries seen recently, so a redelivered event does not run twice.
//!
//! Senders redeliver (BigCommerce retries a callback for up to 48 hours, and delivers some twice:
//! `docs/connectors.md` §2.8 says to de-duplicate on the payload's `hash`). A payload carrying a
//! string `hash` is remembered with the run it created; the same hash for the same task within
//! the window answers that run again instead of creating another.
//!
//! Memory is bounded whatever senders send: an entry keeps a SHA-256 digest of (application,
//! task, hash), never the hash itself (which may be as long as a request body), and the run it
//! created (two short strings); past [`CAPACITY`] entries the oldest are forgotten first, and
//! expired ones go as new ones arrive, in amortised O(1). The memory is per process.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ingest_model::RunResponse;
use sha2::{Digest, Sha256};

/// How long a delivery is remembered (BigCommerce's retries span 48 hours).
pub const WINDOW: Duration = Duration::from_secs(48 * 3600);
/// Deliveries remembered at most.
pub const CAPACITY: usize = 10_000;

/// A delivery's identity: the digest of its application, task and hash.
type Key = [u8; 32];

fn key(app: &str, task: &str, hash: &str) -> Key {
    let mut digest = Sha256::new();
    // Length-prefixed, so ("ab", "c") and ("a", "bc") differ.
    for part in [app, task, hash] {
        digest.update((part.len() as u64).to_le_bytes());
        digest.update(part.as_bytes());
    }
    digest.finalize().into()
}

/// Recent deliveries by (application, task, hash).
#[derive(Debug, Default)]
pub struct Deliveries {
    inner: Mutex<Inner>,
}

/// The deliveries, and their keys in the order they were remembered. An entry of `order` stands
/// for the delivery only while its sequence number is the one in `runs` (a delivery remembered
/// again gets a new one).
#[derive(Debug, Default)]
struct Inner {
    runs: HashMap<Key, (RunResponse, u64)>,
    order: VecDeque<(Key, Instant, u64)>,
    next: u64,
}

impl Deliveries {
    /// The run a delivery with `hash` for `task` already created, if it is recent.
    pub fn seen(&self, app: &str, task: &str, hash: &str, now: Instant) -> Option<RunResponse> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.expire(now);
        inner
            .runs
            .get(&key(app, task, hash))
            .map(|(run, _)| run.clone())
    }

    /// Remembers that the delivery `hash` for `task` created `run`.
    pub fn remember(&self, app: &str, task: &str, hash: &str, run: RunResponse, now: Instant) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.expire(now);
        let key = key(app, task, hash);
        let seq = inner.next;
        inner.next += 1;
        inner.order.push_back((key, now, seq));
        inner.runs.insert(key, (run, seq));
        while inner.runs.len() > CAPACITY || inner.order.len() > 2 * CAPACITY {
            if !inner.forget_oldest() {
                break;
            }
        }
    }
}

impl Inner {
    fn expire(&mut self, now: Instant) {
        while let Some((_, at, _)) = self.order.front() {
            if now.saturating_duration_since(*at) < WINDOW {
                break;
            }
            self.forget_oldest();
        }
    }

    /// Drops the oldest entry of `order` (and its delivery, if the entry still stands for it);
    /// `false` when there is none.
    fn forget_oldest(&mut self) -> bool {
        let Some((key, _, seq)) = self.order.pop_front() else {
            return false;
        };
        if self
            .runs
            .get(&key)
            .is_some_and(|(_, current)| *current == seq)
        {
            self.runs.remove(&key);
        }
        true
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

    #[test]
    fn a_long_hash_is_kept_as_a_digest() {
        let deliveries = Deliveries::default();
        let t0 = Instant::now();
        let long = "h".repeat(1 << 20);
        deliveries.remember("A", "t", &long, run("r1"), t0);
        assert_eq!(deliveries.seen("A", "t", &long, t0), Some(run("r1")));
        assert_eq!(deliveries.seen("A", "t", &long[1..], t0), None);
        // Only the digest is stored: 32 bytes per entry, whatever the hash's length.
        let inner = deliveries.inner.lock().unwrap();
        assert_eq!(inner.runs.keys().map(|k| k.len()).sum::<usize>(), 32);
    }

    #[test]
    fn parts_are_not_confused() {
        assert_ne!(key("ab", "c", "d"), key("a", "bc", "d"));
        assert_ne!(key("a", "b", "cd"), key("a", "bc", "d"));
    }

    #[test]
    fn the_same_delivery_remembered_again_keeps_the_order_bounded() {
        let deliveries = Deliveries::default();
        let t0 = Instant::now();
        for _ in 0..5 * CAPACITY {
            deliveries.remember("A", "t", "same", run("r"), t0);
        }
        let inner = deliveries.inner.lock().unwrap();
        assert_eq!(inner.runs.len(), 1);
        assert!(inner.order.len() <= 2 * CAPACITY);
    }
}

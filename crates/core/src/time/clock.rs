//! [`Clock`]: where the API and the engine read the wall-clock time they write into the store.
//! Durations (leases, heartbeats, poll intervals) use `tokio::time`; only timestamps come from
//! here, so tests drive them with a [`ManualClock`] (feature `testkit`).

#[cfg(any(test, feature = "testkit"))]
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::Timestamp;

/// The current time, as the API and the engine write it.
pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    /// Now.
    fn now(&self) -> Timestamp;
}

/// The system's clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let seconds = i64::try_from(since.as_secs()).unwrap_or(i64::MAX);
        Timestamp::from_unix(seconds, since.subsec_nanos())
    }
}

/// A clock that only moves when told: for tests.
#[cfg(any(test, feature = "testkit"))]
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<Timestamp>,
}

#[cfg(any(test, feature = "testkit"))]
impl ManualClock {
    /// A clock showing `start`.
    pub fn new(start: Timestamp) -> Self {
        Self {
            now: Mutex::new(start),
        }
    }

    /// Sets the time.
    pub fn set(&self, to: Timestamp) {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner) = to;
    }

    /// Moves the time forward by `by`.
    pub fn advance(&self, by: Duration) -> Timestamp {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now = add(*now, by);
        *now
    }
}

#[cfg(any(test, feature = "testkit"))]
impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// `t + by`.
pub fn add(t: Timestamp, by: Duration) -> Timestamp {
    let nanos = u64::from(t.nanos()) + u64::from(by.subsec_nanos());
    let seconds = t
        .unix_seconds()
        .saturating_add(i64::try_from(by.as_secs()).unwrap_or(i64::MAX))
        .saturating_add(i64::try_from(nanos / 1_000_000_000).unwrap_or(0));
    Timestamp::from_unix(seconds, (nanos % 1_000_000_000) as u32)
}

/// `t - by`.
pub fn sub(t: Timestamp, by: Duration) -> Timestamp {
    let total = i128::from(t.unix_seconds()) * 1_000_000_000 + i128::from(t.nanos())
        - i128::try_from(by.as_nanos()).unwrap_or(i128::MAX);
    let seconds = total.div_euclid(1_000_000_000);
    let nanos = total.rem_euclid(1_000_000_000);
    Timestamp::from_unix(
        i64::try_from(seconds).unwrap_or(i64::MIN),
        u32::try_from(nanos).unwrap_or(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic() {
        let t = Timestamp::from_unix(100, 900_000_000);
        assert_eq!(
            add(t, Duration::from_millis(200)),
            Timestamp::from_unix(101, 100_000_000)
        );
        assert_eq!(
            sub(t, Duration::from_millis(1000)),
            Timestamp::from_unix(99, 900_000_000)
        );
        assert_eq!(
            sub(t, Duration::from_millis(950)),
            Timestamp::from_unix(99, 950_000_000)
        );
        let clock = ManualClock::new(t);
        clock.advance(Duration::from_secs(60));
        assert_eq!(clock.now(), Timestamp::from_unix(160, 900_000_000));
    }
}

//! Wall-clock time: [`Timestamp`] (an instant in UTC, RFC 3339 in and out) and [`Clock`] (where
//! the API and the engine read "now", so tests can drive it).

mod clock;
mod rfc3339;

#[cfg(any(test, feature = "testkit"))]
pub use clock::ManualClock;
pub use clock::{Clock, SystemClock, add, sub};
pub use rfc3339::{InvalidTimestamp, Timestamp};

//! The engine's vocabulary, free of HTTP and storage.
//!
//! A source produces a [`RecordStream`]: a stream of [`Record`]s, each one JSON object serialized
//! **once** into [`bytes::Bytes`]. Problems with a single record travel in the same stream as
//! [`SourceItemError::Rejected`] (the stream goes on); a fatal problem with the source arrives as
//! [`SourceItemError::Fatal`] and ends it.
//!
//! The [`Batcher`] packs records into the exact request bodies of Algolia's
//! `POST /1/indexes/{index}/batch`, closing a batch at a record count or a byte size, whichever
//! comes first, and rejecting any record larger than the per-record limit. [`retry`] classifies
//! HTTP outcomes for every client of the engine (sources and the Algolia transport alike), and
//! [`Secret`] keeps credentials out of `Debug` output. [`metrics::Metrics`] is the process's
//! Prometheus registry, shared by the API and the engine. [`time`] holds [`Timestamp`] and the
//! [`time::Clock`] both read the wall clock through.

// A failed unwrap is a failed test; outside tests, every error is handled.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod batch;
pub mod exclude;
pub mod metrics;
mod record;
pub mod retry;
mod secret;
pub mod text;
pub mod time;

pub use batch::{
    Batch, BatchAction, BatchEntry, BatchLimits, BatchLimitsError, Batcher, PushOutcome,
    too_big_reason,
};
pub use record::{
    HttpRefusal, Position, Record, RecordRejection, RecordStream, SourceError, SourceItemError,
    SourceResult,
};
pub use secret::Secret;
pub use time::{InvalidTimestamp, Timestamp};

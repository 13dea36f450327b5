//! The Algolia side of the ingestion engine.
//!
//! Records leave the engine here. The model, from the wire up:
//!
//! - **transport**: one shared HTTP client over a list of hosts, with the official clients' retry
//!   strategy (hosts marked down or timed out for two minutes, timeouts growing with retries,
//!   `429` waiting for `Retry-After`) and one pure classification of each attempt
//!   ([`ingest_core::retry::classify`]);
//! - **[`IndexingApi`]**: the few calls the pusher needs (batch, copy/move, task status, delete
//!   index), made over the transport by [`HttpIndexingApi`] or in memory by the `testkit` fake;
//! - **[`ConcurrencyWindow`]**: how many calls are on the wire toward one application, adapted
//!   to its answers (additive increase while the round-trip time stays near its baseline,
//!   multiplicative decrease on 429, 5xx, timeouts or a rising RTT), one per application and
//!   process ([`ConcurrencyWindows`]), shared by every run that writes to it;
//! - **[`Pusher`]**: a record stream in, batches out, as many in flight as the window allows:
//!   `replace` writes a temporary index and moves it onto the destination only when the run
//!   succeeded; `save` sends partial updates; both report through a [`RunRecorder`] and end
//!   with a [`RunSummary`];
//! - **[`InsightsSender`]**: the `insights` destination: records that are Insights events, sent
//!   to `POST /1/events` in requests of up to 1000 over a transport on the Insights hosts,
//!   reporting and summarized the same way.

// A failed unwrap is a failed test; outside tests, every error is handled.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod api;
mod concurrency;
mod credentials;
mod error;
mod hosts;
mod http_api;
mod insights;
mod pusher;
#[cfg(feature = "testkit")]
pub mod testkit;
mod transport;

pub use api::{
    BatchResponse, IndexingApi, Operation, Scope, TaskId, TaskStatus, WaitPolicy, wait_task,
};
pub use concurrency::{
    ConcurrencyWindow, ConcurrencyWindows, Decrease, Pacer, Permit, Signal, Totals, Unpaced,
    WindowSettings, WindowSnapshot,
};
pub use credentials::{AlgoliaCredentials, attempt_suffix, temporary_index};
pub use error::AlgoliaError;
pub use hosts::CallKind;
pub use http_api::{BrowsePage, HttpIndexingApi};
pub use insights::{
    EVENTS_PATH, InsightsSender, InsightsSettings, MAX_EVENTS_PER_REQUEST, MAX_OBJECT_IDS,
};
pub use pusher::{
    MAX_LISTED_REJECTIONS, PushMode, PushPlan, PushSettings, Pusher, RejectionSummary, RunSummary,
    SentRun,
};
pub use transport::{Compression, Request, Response, Transport, TransportSettings};

//! The worker engine: executes the runs the control plane queues.
//!
//! # The model
//!
//! The API only writes runs in `created`. Everything else happens here:
//!
//! - **[`Workers`]** claim runs from the store ([`ingest_store::Store::claim_next_run`]: on
//!   PostgreSQL `FOR UPDATE SKIP LOCKED`, so any number of worker processes share one queue). A
//!   claim gives a **lease** (30 s by default) and a lease token; a heartbeat extends it (every
//!   10 s). Every change to the run (events, progress, finish, release) names the token, so a
//!   worker that lost its lease changes nothing.
//! - The **[`reaper`]** (every 5 s) returns runs whose lease expired to the queue with their
//!   attempt count, and fails them after 3 attempts: a crashed worker's run is back in the
//!   queue about 35 s after its last heartbeat (lease 30 s + reaper 5 s). The next attempt of a
//!   `replace` run deletes the temporary index the dead attempt wrote (it is named after the run
//!   ID), so it is never moved into production.
//! - **[`Engine::execute`]** runs one claimed run: source → [`ingest_algolia::Pusher`] →
//!   [`StoreRecorder`], through a [`FencedApi`] that sends nothing to Algolia once the lease is
//!   no longer known to hold (see [`fence`]). It finishes the run with `outcome`, `reasonCode`
//!   and `reason` (`docs/api.md` C11–C14), which also counts towards auto-disable.
//! - The **[`Scheduler`]** fires cron schedules exactly once across replicas (a conditional
//!   update of `nextRun`), with at most one catch-up run after downtime.
//!
//! Wall-clock time comes from an [`ingest_core::time::Clock`] (tests use its `ManualClock`); durations from
//! `tokio::time`. Metrics go to an [`ingest_core::metrics::Metrics`] registry.

// A failed unwrap is a failed test; outside tests, every error is handled.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod abandoned;
pub mod algolia_index;
mod execute;
pub mod fence;
mod load;
mod pushes;
mod recorder;
mod retention;
mod scheduler;
pub mod transformation;
mod worker;

pub use execute::{
    Ending, Engine, EngineSettings, Pass, StreamHook, TransformSettings, action_type, index_name,
    passes, send_insights, trigger, window,
};
pub use fence::{FencedApi, Lease};
pub use pushes::{PushApplySettings, apply_pushes_until};
pub use recorder::StoreRecorder;
pub use retention::{MAX_STEPS_PER_SWEEP, Retention, RetentionSettings};
pub use scheduler::{Scheduler, SchedulerSettings};
pub use worker::{WorkerSettings, Workers, default_owner, reaper, run_claimed};

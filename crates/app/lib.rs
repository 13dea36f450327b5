//! The `ingestion` binaries: settings, task files, and what `run-task` needs around the pusher.
//!
//! A run reads a source's [`RecordStream`](ingest_core::RecordStream) and hands it to the
//! [`Pusher`](ingest_algolia::Pusher), which batches the records and sends them to an
//! [`IndexingApi`](ingest_algolia::IndexingApi): Algolia over HTTP, or for
//! `run-task --dry-run` a [`DryRunApi`](dry_run::DryRunApi) writing batch bodies to a file. The
//! run reports through a [`LogRecorder`](run_log::LogRecorder) and ends with a
//! [`RunSummary`](ingest_algolia::RunSummary).
//!
//! `ingestion serve` and `ingestion worker` run the [`process`] roles (API, scheduler, workers)
//! over a store; `run-task --task-id` executes one stored task through the same engine.

// A failed unwrap is a failed test; outside tests, every error is handled.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod dry_run;
pub mod process;
pub mod progress;
pub mod run_log;
pub mod settings;
pub mod task_file;
pub mod telemetry;

//! The `ingestion` binaries: settings, task files, and the run driver they share.
//!
//! A run reads a source's [`RecordStream`](ingest_core::RecordStream), packs the records into
//! batch bodies with the [`Batcher`](ingest_core::Batcher) and hands each closed batch to a
//! [`BatchSink`](pipeline::BatchSink): for `run-task --dry-run`, a file of batch bodies. The
//! [`RunSummary`](pipeline::RunSummary) it returns holds the counts and the outcome, with the
//! names the API uses for runs.

pub mod dry_run;
pub mod pipeline;
pub mod progress;
pub mod settings;
pub mod task_file;

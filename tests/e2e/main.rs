//! End-to-end tests of the binaries: the real `run-task` against a real HTTP server on 127.0.0.1,
//! and the real `ingestion serve`.

mod bench_engine;
mod bigquery;
mod commerce;
mod console;
mod engine;
mod fleet;
mod hostile_peers;
mod insights;
mod push;
mod run_task;
mod serve;
mod support;
mod workers;

//! The dry-run destination: an [`IndexingApi`] that writes every batch body it is given to a
//! file, one JSON body per line, and answers every other call as Algolia would for an index that
//! applies everything at once. Runs go through the same pusher as real ones.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use ingest_algolia::{AlgoliaError, BatchResponse, IndexingApi, Operation, TaskId, TaskStatus};

/// Writes batch bodies to a file, one per line. Use it with one batch in flight so the lines
/// keep the batches' order.
#[derive(Debug)]
pub struct DryRunApi {
    out: Mutex<BufWriter<File>>,
    path: String,
    tasks: AtomicU64,
}

impl DryRunApi {
    /// Creates (or truncates) the file.
    pub fn create(path: &Path) -> Result<Self, String> {
        let shown = path.display().to_string();
        let file = File::create(path).map_err(|error| format!("cannot create {shown}: {error}"))?;
        Ok(Self {
            out: Mutex::new(BufWriter::with_capacity(1 << 20, file)),
            path: shown,
            tasks: AtomicU64::new(0),
        })
    }

    /// Flushes everything to disk.
    pub fn close(&self) -> Result<(), String> {
        let mut out = self
            .out
            .lock()
            .map_err(|_| self.failed("a writer panicked"))?;
        out.flush().map_err(|error| self.failed(error))
    }

    fn failed(&self, error: impl std::fmt::Display) -> String {
        format!("writing {} failed: {error}", self.path)
    }

    fn next_task(&self) -> TaskId {
        self.tasks.fetch_add(1, Ordering::Relaxed) + 1
    }
}

impl IndexingApi for DryRunApi {
    async fn batch(
        &self,
        _index: &str,
        body: Bytes,
        _idempotent: bool,
    ) -> Result<BatchResponse, AlgoliaError> {
        let written = match self.out.lock() {
            Ok(mut out) => out.write_all(&body).and_then(|()| out.write_all(b"\n")),
            Err(_) => Err(std::io::Error::other("a writer panicked")),
        };
        written.map_err(|error| AlgoliaError::Config(self.failed(error)))?;
        Ok(BatchResponse {
            task_id: self.next_task(),
            retries: Vec::new(),
        })
    }

    async fn operation(
        &self,
        _index: &str,
        _operation: &Operation,
    ) -> Result<TaskId, AlgoliaError> {
        Ok(self.next_task())
    }

    async fn task_status(
        &self,
        _index: &str,
        _task_id: TaskId,
    ) -> Result<TaskStatus, AlgoliaError> {
        Ok(TaskStatus::Published)
    }

    async fn delete_index(&self, _index: &str) -> Result<TaskId, AlgoliaError> {
        Ok(self.next_task())
    }
}

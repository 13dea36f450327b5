//! The dry-run sink: every batch body that would be sent, one JSON body per line.

use std::path::Path;

use ingest_core::Batch;
use tokio::fs::File;
use tokio::io::{AsyncWriteExt, BufWriter};

use crate::pipeline::BatchSink;

/// Writes batch bodies to a file, one per line.
#[derive(Debug)]
pub struct DryRunFile {
    out: BufWriter<File>,
    path: String,
}

impl DryRunFile {
    /// Creates (or truncates) the file.
    pub async fn create(path: &Path) -> Result<Self, String> {
        let shown = path.display().to_string();
        let file = File::create(path)
            .await
            .map_err(|error| format!("cannot create {shown}: {error}"))?;
        Ok(Self {
            out: BufWriter::with_capacity(1 << 20, file),
            path: shown,
        })
    }

    /// Flushes everything to disk.
    pub async fn close(mut self) -> Result<(), String> {
        self.out
            .flush()
            .await
            .map_err(|error| format!("writing {} failed: {error}", self.path))
    }
}

impl BatchSink for DryRunFile {
    async fn send(&mut self, batch: Batch) -> Result<(), String> {
        let written = async {
            self.out.write_all(&batch.body).await?;
            self.out.write_all(b"\n").await
        };
        written
            .await
            .map_err(|error| format!("writing {} failed: {error}", self.path))
    }
}

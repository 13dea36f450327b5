//! One run: a record stream through the batcher into a sink, counted into a [`RunSummary`].

use std::time::Instant;

use futures::StreamExt;
use ingest_core::{Batch, Batcher, PushOutcome, RecordRejection, RecordStream, SourceItemError};
use ingest_model::{RunOutcome, RunReasonCode};
use serde::Serialize;

use crate::progress::Progress;

/// Where closed batches go.
pub trait BatchSink {
    /// Takes one batch; an error ends the run.
    fn send(
        &mut self,
        batch: Batch,
    ) -> impl std::future::Future<Output = Result<(), String>> + Send;
}

/// At most this many rejections are listed in a summary.
pub const MAX_LISTED_REJECTIONS: usize = 100;

/// One rejected record, as the summary lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RejectionSummary {
    /// Where it was (`row 42`, `element 3`, `line 7`).
    pub position: String,
    /// Its objectID, when known.
    #[serde(rename = "objectID")]
    pub object_id: Option<String>,
    /// Why it was rejected.
    pub reason: String,
}

impl From<RecordRejection> for RejectionSummary {
    fn from(rejection: RecordRejection) -> Self {
        Self {
            position: rejection.position.to_string(),
            object_id: rejection.object_id.map(|id| id.to_string()),
            reason: rejection.reason,
        }
    }
}

/// What a run did, with the API's names where they overlap.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    /// `success` or `failure`.
    pub outcome: RunOutcome,
    /// `ok`, `no_events`, `too_many_errors` or `critical`.
    #[serde(rename = "reasonCode")]
    pub reason_code: RunReasonCode,
    /// A sentence a user can act on.
    pub reason: String,
    /// Records the source produced, rejected ones included.
    #[serde(rename = "recordsRead")]
    pub records_read: u64,
    /// Records written to batches.
    #[serde(rename = "recordsPushed")]
    pub records_pushed: u64,
    /// Records rejected (by the source or for their size).
    #[serde(rename = "recordsRejected")]
    pub records_rejected: u64,
    /// Batches sent.
    pub batches: u64,
    /// Bytes of batch bodies sent.
    pub bytes: u64,
    /// Wall time of the run.
    #[serde(rename = "durationMs")]
    pub duration_ms: u64,
    /// The first rejections.
    pub rejections: Vec<RejectionSummary>,
}

#[derive(Default)]
struct Counts {
    read: u64,
    pushed: u64,
    rejected: u64,
    batches: u64,
    bytes: u64,
    rejections: Vec<RejectionSummary>,
}

impl Counts {
    fn reject(&mut self, rejection: RecordRejection) {
        self.rejected += 1;
        if self.rejections.len() < MAX_LISTED_REJECTIONS {
            self.rejections.push(rejection.into());
        }
    }

    async fn send<S: BatchSink>(&mut self, sink: &mut S, batch: Batch) -> Result<(), String> {
        let (records, bytes) = (batch.len() as u64, batch.body.len() as u64);
        sink.send(batch).await?;
        self.pushed += records;
        self.batches += 1;
        self.bytes += bytes;
        Ok(())
    }
}

/// Runs `records` through `batcher` into `sink` and judges the outcome against
/// `failure_threshold` (the percentage of rejected records tolerated).
pub async fn run<S: BatchSink>(
    mut records: RecordStream,
    mut batcher: Batcher,
    sink: &mut S,
    failure_threshold: u8,
    progress: &mut Progress,
) -> RunSummary {
    let started = Instant::now();
    let mut counts = Counts::default();
    let mut failure: Option<String> = None;
    while let Some(item) = records.next().await {
        counts.read += 1;
        match item {
            Ok(record) => {
                let object_id = record.object_id.clone();
                match batcher.push(record) {
                    PushOutcome::Buffered => {}
                    PushOutcome::Closed(batch) => {
                        if let Err(error) = counts.send(sink, batch).await {
                            failure = Some(error);
                            break;
                        }
                        progress.update(counts.read, counts.bytes);
                    }
                    PushOutcome::TooBig { size, limit } => counts.reject(RecordRejection {
                        position: ingest_core::Position::Record(counts.read),
                        object_id,
                        reason: ingest_core::too_big_reason(size, limit),
                    }),
                }
            }
            Err(SourceItemError::Rejected(rejection)) => counts.reject(rejection),
            Err(SourceItemError::Fatal(error)) => {
                counts.read -= 1;
                failure = Some(error.message().to_owned());
                break;
            }
        }
    }
    // Records already read are never lost: the open batch is sent even after a source failure.
    if let Some(batch) = batcher.finish()
        && let Err(error) = counts.send(sink, batch).await
    {
        failure.get_or_insert(error);
    }
    progress.finish(counts.read, counts.bytes);
    judge(counts, failure, failure_threshold, started)
}

fn judge(counts: Counts, failure: Option<String>, threshold: u8, started: Instant) -> RunSummary {
    let (outcome, reason_code, reason) = if let Some(reason) = failure {
        (RunOutcome::Failure, RunReasonCode::Critical, reason)
    } else if counts.read == 0 {
        (
            RunOutcome::Success,
            RunReasonCode::NoEvents,
            "the source yielded no records; nothing was pushed".to_owned(),
        )
    } else if counts.rejected * 100 > u64::from(threshold) * counts.read {
        (
            RunOutcome::Failure,
            RunReasonCode::TooManyErrors,
            format!(
                "{} of {} records were rejected ({:.1}%), more than the task's failureThreshold of {threshold}%",
                counts.rejected,
                counts.read,
                counts.rejected as f64 * 100.0 / counts.read as f64
            ),
        )
    } else {
        (
            RunOutcome::Success,
            RunReasonCode::Ok,
            format!(
                "{} records pushed in {} batch(es), {} rejected",
                counts.pushed, counts.batches, counts.rejected
            ),
        )
    };
    RunSummary {
        outcome,
        reason_code,
        reason,
        records_read: counts.read,
        records_pushed: counts.pushed,
        records_rejected: counts.rejected,
        batches: counts.batches,
        bytes: counts.bytes,
        duration_ms: started.elapsed().as_millis() as u64,
        rejections: counts.rejections,
    }
}

#[cfg(test)]
mod tests;

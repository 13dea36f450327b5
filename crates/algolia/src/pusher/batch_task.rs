//! Sending one batch: retries are the transport's; a record Algolia refuses by position is
//! taken out and the rest of the batch is sent again. The batch holds a permit of the window
//! until it ends, and tells the window how each call went.

use std::sync::Arc;

use bytes::Bytes;
use ingest_core::{Batch, BatchLimits, Batcher, Position, PushOutcome, Record, RecordRejection};

use crate::AlgoliaError;
use crate::api::{IndexingApi, TaskId};
use crate::concurrency::Permit;

/// How one batch ended.
#[derive(Debug)]
pub(crate) struct BatchDone {
    /// The batch's number in the run, from 1.
    pub number: u64,
    /// Records in the batch as it was closed.
    pub closed_with: usize,
    /// Records in the body Algolia accepted (0 when it failed or every record was refused).
    pub accepted: usize,
    /// Bytes of that body.
    pub bytes: usize,
    /// The task to wait for, when a body was accepted.
    pub task_id: Option<TaskId>,
    /// Why earlier attempts were retried.
    pub retries: Vec<String>,
    /// Records Algolia refused.
    pub rejections: Vec<RecordRejection>,
    /// The error that failed the batch.
    pub error: Option<AlgoliaError>,
}

/// Sends `batch` to `index` under `permit`.
pub(crate) async fn send_batch<A: IndexingApi>(
    api: Arc<A>,
    index: Arc<str>,
    number: u64,
    batch: Batch,
    permit: Permit,
) -> BatchDone {
    let mut done = BatchDone {
        number,
        closed_with: batch.len(),
        accepted: 0,
        bytes: 0,
        task_id: None,
        retries: Vec::new(),
        rejections: Vec::new(),
        error: None,
    };
    // Where each entry of the current body was in the batch as closed.
    let mut places: Vec<usize> = (0..batch.len()).collect();
    let mut batch = batch;
    loop {
        let idempotent = batch.all_have_object_ids();
        match api
            .batch_paced(&index, batch.body.clone(), idempotent, &permit)
            .await
        {
            Ok(response) => {
                done.retries.extend(response.retries);
                done.accepted = batch.len();
                done.bytes = batch.body.len();
                done.task_id = Some(response.task_id);
                return done;
            }
            Err(AlgoliaError::Api {
                status: 400,
                message,
                ..
            }) if named_position(&message).is_some_and(|at| at < batch.len()) => {
                let at = named_position(&message).unwrap_or_default();
                done.rejections.push(RecordRejection {
                    position: Position::Batch {
                        batch: number,
                        entry: places[at] as u64,
                    },
                    object_id: batch.entries[at].object_id.clone(),
                    reason: format!("algolia refused the record: {message}"),
                });
                places.remove(at);
                match without(&batch, at) {
                    Some(rest) => batch = rest,
                    None => return done,
                }
            }
            Err(error) => {
                done.error = Some(error);
                return done;
            }
        }
    }
}

/// The record position a 400 message names (`Record at the position 3 objectID=…`).
pub(crate) fn named_position(message: &str) -> Option<usize> {
    let start = message.find("position ")? + "position ".len();
    let digits: &str = &message[start..];
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end].parse().ok()
}

/// `batch` without entry `at`; `None` when nothing is left.
fn without(batch: &Batch, at: usize) -> Option<Batch> {
    let remaining = batch.len().checked_sub(1).filter(|&n| n > 0)?;
    let limits = BatchLimits::new(remaining, usize::MAX / 2, usize::MAX / 4).ok()?;
    let mut batcher = Batcher::new(batch.action, limits);
    for (i, entry) in batch.entries.iter().enumerate() {
        if i == at {
            continue;
        }
        let json: Bytes = batch.body.slice(entry.json.clone());
        match batcher.push(Record::new(entry.object_id.clone(), json)) {
            PushOutcome::Buffered => {}
            // Limits sized to the batch: it never closes early nor refuses a record.
            PushOutcome::Closed(_) | PushOutcome::TooBig { .. } => return None,
        }
    }
    batcher.finish()
}

#[cfg(test)]
mod tests {
    use ingest_core::BatchAction;

    use super::*;

    #[test]
    fn finds_the_position_algolia_names() {
        let message = "Record at the position 12 objectID=a b is too big size=120000/100000 bytes.";
        assert_eq!(named_position(message), Some(12));
        assert_eq!(named_position("Record is too big"), None);
        assert_eq!(named_position("position x"), None);
    }

    #[test]
    fn a_batch_without_one_record_is_the_same_batch_minus_it() {
        let limits = BatchLimits::new(10, 10_000, 1000).unwrap();
        let mut batcher = Batcher::new(BatchAction::AddObject, limits);
        for i in 0..3 {
            let json = Bytes::from(format!(r#"{{"objectID":"{i}"}}"#));
            assert_eq!(
                batcher.push(Record::new(Some(i.to_string().into()), json)),
                PushOutcome::Buffered
            );
        }
        let batch = batcher.finish().unwrap();
        let rest = without(&batch, 1).unwrap();
        assert_eq!(
            rest.body,
            r#"{"requests":[{"action":"addObject","body":{"objectID":"0"}},{"action":"addObject","body":{"objectID":"2"}}]}"#
        );
        assert_eq!(rest.entries[1].object_id.as_deref(), Some("2"));
        let one = without(&rest, 0).unwrap();
        assert!(without(&one, 0).is_none());
    }
}

use bytes::Bytes;
use futures::stream::{self, StreamExt};
use ingest_core::{BatchAction, BatchLimits, Position, Record, SourceError, SourceResult};

use super::*;

#[derive(Default)]
struct Memory(Vec<Batch>);

impl BatchSink for Memory {
    async fn send(&mut self, batch: Batch) -> Result<(), String> {
        self.0.push(batch);
        Ok(())
    }
}

fn record(i: u32) -> SourceResult {
    Ok(Record::new(
        Some(i.to_string().into()),
        Bytes::from(format!(r#"{{"objectID":"{i}"}}"#)),
    ))
}

fn rejected(row: u64) -> SourceResult {
    Err(SourceItemError::Rejected(RecordRejection {
        position: Position::Row(row),
        object_id: None,
        reason: "bad".into(),
    }))
}

async fn run_items(items: Vec<SourceResult>, threshold: u8) -> (RunSummary, Memory) {
    let limits = BatchLimits::new(2, 10_000, 1000).unwrap();
    let mut sink = Memory::default();
    let summary = run(
        stream::iter(items).boxed(),
        Batcher::new(BatchAction::AddObject, limits),
        &mut sink,
        threshold,
        &mut Progress::new(false),
    )
    .await;
    (summary, sink)
}

#[tokio::test]
async fn counts_every_record() {
    let (summary, sink) = run_items(vec![record(1), rejected(3), record(2), record(3)], 50).await;
    assert_eq!(summary.outcome, RunOutcome::Success);
    assert_eq!(summary.reason_code, RunReasonCode::Ok);
    assert_eq!(
        (
            summary.records_read,
            summary.records_pushed,
            summary.records_rejected
        ),
        (4, 3, 1)
    );
    assert_eq!(summary.batches, 2);
    assert_eq!(sink.0.iter().map(Batch::len).collect::<Vec<_>>(), [2, 1]);
    assert_eq!(
        summary.bytes,
        sink.0.iter().map(|b| b.body.len() as u64).sum::<u64>()
    );
    assert_eq!(summary.rejections[0].position, "row 3");
}

#[tokio::test]
async fn too_many_rejections_fail_the_run() {
    let (summary, _) = run_items(vec![record(1), rejected(3)], 0).await;
    assert_eq!(summary.outcome, RunOutcome::Failure);
    assert_eq!(summary.reason_code, RunReasonCode::TooManyErrors);
    assert!(
        summary
            .reason
            .contains("1 of 2 records were rejected (50.0%)"),
        "{}",
        summary.reason
    );
    let (summary, _) = run_items(vec![record(1), rejected(3)], 50).await;
    assert_eq!(summary.outcome, RunOutcome::Success);
}

#[tokio::test]
async fn an_empty_source_has_no_events() {
    let (summary, sink) = run_items(vec![], 0).await;
    assert_eq!(summary.reason_code, RunReasonCode::NoEvents);
    assert!(sink.0.is_empty());
}

#[tokio::test]
async fn a_fatal_error_ends_the_run_without_losing_records() {
    let fatal = Err(SourceItemError::Fatal(SourceError::new(
        "GET x answered 500",
    )));
    let (summary, sink) = run_items(vec![record(1), fatal, record(2)], 0).await;
    assert_eq!(summary.outcome, RunOutcome::Failure);
    assert_eq!(summary.reason_code, RunReasonCode::Critical);
    assert_eq!(summary.reason, "GET x answered 500");
    assert_eq!((summary.records_read, summary.records_pushed), (1, 1));
    assert_eq!(sink.0.len(), 1);
}

#[tokio::test]
async fn only_the_first_hundred_rejections_are_listed() {
    let items = (0..150).map(rejected).collect();
    let (summary, _) = run_items(items, 100).await;
    assert_eq!(summary.records_rejected, 150);
    assert_eq!(summary.rejections.len(), MAX_LISTED_REJECTIONS);
}

#[tokio::test]
async fn a_record_over_the_batcher_limit_is_rejected_not_sent() {
    let big = Ok(Record::new(
        Some("big".into()),
        Bytes::from(format!(
            r#"{{"objectID":"big","text":"{}"}}"#,
            "x".repeat(2000)
        )),
    ));
    let (summary, sink) = run_items(vec![record(1), big], 100).await;
    assert_eq!(
        (
            summary.records_read,
            summary.records_pushed,
            summary.records_rejected
        ),
        (2, 1, 1)
    );
    assert_eq!(summary.rejections[0].position, "record 2");
    assert_eq!(summary.rejections[0].object_id.as_deref(), Some("big"));
    assert!(
        summary.rejections[0]
            .reason
            .starts_with("record is too big")
    );
    assert_eq!(sink.0.iter().map(Batch::len).sum::<usize>(), 1);
}

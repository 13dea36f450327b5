//! `replace`: the official sequence, streamed, and production safe from every failure.

use super::*;

#[tokio::test]
async fn replace_follows_the_official_sequence() {
    let fake = FakeAlgolia::new();
    seed_production(&fake);
    let (summary, recorder) =
        push(&fake, &plan(PushMode::Replace, 0), settings(3), records(10)).await;
    assert_eq!(summary.outcome, RunOutcome::Success, "{summary:?}");
    assert_eq!(summary.reason_code, RunReasonCode::Ok);
    assert_eq!(
        (
            summary.records_read,
            summary.records_pushed,
            summary.batches
        ),
        (10, 10, 4)
    );

    let writes: Vec<CallKind> = kinds(&fake)
        .into_iter()
        .filter(|kind| *kind != CallKind::Task)
        .collect();
    assert_eq!(
        writes,
        [
            CallKind::Copy,
            CallKind::Batch,
            CallKind::Batch,
            CallKind::Batch,
            CallKind::Batch,
            CallKind::Copy,
            CallKind::Move
        ]
    );
    let batches = fake.calls_of(CallKind::Batch);
    assert!(batches.iter().all(|c| c.index.as_deref() == Some(TMP)));
    assert_eq!(batches.iter().map(|c| c.records).sum::<usize>(), 10);
    // Every batch task and both copies were waited for before the move, the move after it.
    let calls = fake.calls();
    let moved_at = calls.iter().position(|c| c.kind == CallKind::Move).unwrap();
    let waited: Vec<_> = calls[..moved_at]
        .iter()
        .filter(|c| c.kind == CallKind::Task)
        .filter_map(|c| c.task_id)
        .collect();
    for write in calls[..moved_at].iter().filter(|c| c.kind.writes()) {
        assert!(
            waited.contains(&write.task_id.unwrap()),
            "{write:?} not waited for"
        );
    }
    let move_task = calls[moved_at].task_id.unwrap();
    assert!(
        calls[moved_at..]
            .iter()
            .any(|c| c.kind == CallKind::Task && c.task_id == Some(move_task))
    );

    // The old record is gone, the new ones are there; settings, synonyms and rules survived.
    let records = fake.records("products");
    assert_eq!(records.len(), 10);
    assert_eq!(
        records["p3"],
        json!({"objectID": "p3", "name": "product 3", "price": 3})
    );
    assert_eq!(
        fake.settings("products").unwrap()["searchableAttributes"],
        json!(["name"])
    );
    assert_eq!(fake.synonyms("products").len(), 1);
    assert_eq!(fake.rules("products").len(), 1);
    assert!(!fake.has_index(TMP));

    let messages = log_messages(&recorder);
    assert!(
        messages[0].starts_with("temporary index `products_tmp_123456` created"),
        "{messages:?}"
    );
    assert!(
        messages.last().unwrap().contains("moved onto `products`"),
        "{messages:?}"
    );
    let batch_events: Vec<_> = recorder
        .events()
        .into_iter()
        .filter(|e| e.event_type == EventType::Record && e.status == EventStatus::Succeeded)
        .collect();
    assert_eq!(batch_events.len(), 4);
    assert_eq!(batch_events.iter().map(|e| e.batch_size).sum::<u64>(), 10);
    assert!(
        batch_events
            .iter()
            .all(|e| e.data["index"] == TMP && e.data["taskID"].is_u64())
    );
    let progress = recorder.last_progress();
    assert_eq!(
        (
            progress.expected_nb_of_events,
            progress.received_nb_of_events
        ),
        (4, 4)
    );
}

#[tokio::test]
async fn an_empty_source_never_touches_the_index() {
    let fake = FakeAlgolia::new();
    seed_production(&fake);
    let (summary, _) = push(&fake, &plan(PushMode::Replace, 0), settings(3), vec![]).await;
    assert_eq!(summary.outcome, RunOutcome::Success);
    assert_eq!(summary.reason_code, RunReasonCode::NoEvents);
    assert!(fake.calls().is_empty(), "{:?}", fake.calls());
    assert_eq!(fake.record_count("products"), 1);
}

#[tokio::test]
async fn every_record_rejected_leaves_the_index_as_it_was() {
    let fake = FakeAlgolia::new();
    seed_production(&fake);
    let rejected = |row| {
        Err(SourceItemError::Rejected(RecordRejection {
            position: Position::Row(row),
            object_id: None,
            reason: "bad".into(),
        }))
    };
    let (summary, _) = push(
        &fake,
        &plan(PushMode::Replace, 100),
        settings(3),
        vec![rejected(2), rejected(3)],
    )
    .await;
    assert_eq!(summary.reason_code, RunReasonCode::NoEvents, "{summary:?}");
    assert_eq!(fake.records("products")["old"]["name"], "before");
    assert!(fake.calls().is_empty());
}

/// Fails the `nth` call of `kind` with `fault`, runs a replace, and checks the production index
/// is untouched and no temporary index is left.
async fn replace_failing_at(
    kind: CallKind,
    nth: u64,
    fault: Fault,
) -> (RunSummary, FakeAlgolia, MemoryRecorder) {
    let fake = FakeAlgolia::new();
    seed_production(&fake);
    fake.set_faults(Faults::new().on(kind, When::Nth(nth), fault));
    let (summary, recorder) =
        push(&fake, &plan(PushMode::Replace, 0), settings(3), records(10)).await;
    assert_eq!(
        summary.outcome,
        RunOutcome::Failure,
        "{kind:?}: {summary:?}"
    );
    assert_eq!(summary.reason_code, RunReasonCode::Critical);
    assert_eq!(
        summary.records_read,
        summary.records_pushed + summary.records_rejected,
        "{summary:?}"
    );
    assert_eq!(
        fake.records("products").len(),
        1,
        "{kind:?}: production changed"
    );
    assert_eq!(fake.records("products")["old"]["name"], "before");
    assert_eq!(
        fake.settings("products").unwrap()["searchableAttributes"],
        json!(["name"])
    );
    assert!(
        !fake.has_index(TMP),
        "{kind:?}: temporary index left behind"
    );
    assert!(
        fake.calls()
            .iter()
            .all(|c| c.kind != CallKind::Move || !c.succeeded())
    );
    (summary, fake, recorder)
}

#[tokio::test]
async fn a_failure_at_any_step_deletes_the_temporary_index() {
    let forbidden = Fault::status(403, "Method not allowed with this API key");
    let (summary, fake, recorder) = replace_failing_at(CallKind::Copy, 1, forbidden.clone()).await;
    assert!(
        summary
            .reason
            .contains("could not create the temporary index"),
        "{}",
        summary.reason
    );
    assert!(
        summary
            .reason
            .contains("Method not allowed with this API key"),
        "{}",
        summary.reason
    );
    assert!(fake.calls_of(CallKind::Batch).is_empty());
    assert!(log_messages(&recorder).iter().all(|m| !m.contains("moved")));

    let (summary, fake, recorder) =
        replace_failing_at(CallKind::Batch, 3, Fault::status(400, "Invalid body")).await;
    assert!(
        summary.reason.contains("Invalid body"),
        "{}",
        summary.reason
    );
    assert_eq!(fake.calls_of(CallKind::DeleteIndex).len(), 1);
    assert!(
        log_messages(&recorder)
            .last()
            .unwrap()
            .contains("temporary index `products_tmp_123456` deleted")
    );

    replace_failing_at(CallKind::Copy, 2, forbidden.clone()).await;
    replace_failing_at(CallKind::Move, 1, forbidden).await;
    let (summary, _, _) =
        replace_failing_at(CallKind::Task, 2, Fault::status(404, "Task not found")).await;
    assert!(
        summary.reason.contains("Task not found"),
        "{}",
        summary.reason
    );
}

#[tokio::test]
async fn a_source_failure_deletes_the_temporary_index() {
    let fake = FakeAlgolia::new();
    seed_production(&fake);
    let mut items = records(7);
    items.push(Err(SourceItemError::Fatal(SourceError::new(
        "reading the body broke off",
    ))));
    let (summary, _) = push(&fake, &plan(PushMode::Replace, 0), settings(3), items).await;
    assert_eq!(summary.reason_code, RunReasonCode::Critical);
    assert!(
        summary.reason.starts_with("reading the body broke off"),
        "{}",
        summary.reason
    );
    assert_eq!(summary.records_read, 7);
    assert_eq!(
        summary.records_read,
        summary.records_pushed + summary.records_rejected
    );
    assert_eq!(fake.records("products").len(), 1);
    assert!(!fake.has_index(TMP));
}

#[tokio::test]
async fn too_many_rejections_never_move() {
    let fake = FakeAlgolia::new();
    seed_production(&fake);
    let mut items = records(9);
    items.push(Err(SourceItemError::Rejected(RecordRejection {
        position: Position::Row(11),
        object_id: Some("p9".into()),
        reason: "failed to parse `price` as float".into(),
    })));
    let (summary, _) = push(
        &fake,
        &plan(PushMode::Replace, 5),
        settings(3),
        items.clone(),
    )
    .await;
    assert_eq!(summary.outcome, RunOutcome::Failure);
    assert_eq!(summary.reason_code, RunReasonCode::TooManyErrors);
    assert_eq!(fake.records("products").len(), 1);
    assert!(!fake.has_index(TMP));
    assert!(fake.calls_of(CallKind::Move).is_empty());

    let (summary, recorder) = push(&fake, &plan(PushMode::Replace, 10), settings(3), items).await;
    assert_eq!(summary.reason_code, RunReasonCode::Ok, "{summary:?}");
    assert_eq!(fake.records("products").len(), 9);
    let failed: Vec<_> = recorder
        .events()
        .into_iter()
        .filter(|e| e.event_type == EventType::Record && e.status == EventStatus::Failed)
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].data["position"], "row 11");
    assert_eq!(failed[0].data["objectID"], "p9");
}

#[tokio::test]
async fn a_record_algolia_finds_too_big_is_rejected_and_the_rest_delivered() {
    let fake = FakeAlgolia::builder().record_size_limit(200).build();
    let mut items = records(5);
    let big = format!(r#"{{"objectID":"big","text":"{}"}}"#, "x".repeat(300));
    items.insert(2, Ok(Record::new(Some("big".into()), Bytes::from(big))));
    let (summary, recorder) = push(&fake, &plan(PushMode::Replace, 50), settings(10), items).await;
    assert_eq!(summary.reason_code, RunReasonCode::Ok, "{summary:?}");
    assert_eq!(
        (
            summary.records_read,
            summary.records_pushed,
            summary.records_rejected
        ),
        (6, 5, 1)
    );
    assert_eq!(summary.rejections[0].object_id.as_deref(), Some("big"));
    assert_eq!(summary.rejections[0].position, "batch 1 record 2");
    assert!(
        summary.rejections[0].reason.contains("is too big"),
        "{:?}",
        summary.rejections
    );
    let records = fake.records("products");
    assert_eq!(records.len(), 5);
    assert!(!records.contains_key("big"));
    let failed = recorder
        .events()
        .into_iter()
        .find(|e| e.status == EventStatus::Failed)
        .unwrap();
    assert_eq!(failed.data["objectID"], "big");
}

//! `save`: partial updates, deletions in order, bounded events.

use super::*;

#[tokio::test]
async fn save_updates_attributes_and_creates_missing_records() {
    let fake = FakeAlgolia::new();
    fake.set_records(
        "products",
        [
            json!({"objectID": "p1", "name": "old name", "stock": 4}),
            json!({"objectID": "keep", "name": "k"}),
        ],
    );
    let items = vec![
        record(1),
        record(2),
        Ok(Record::new(
            None,
            Bytes::from_static(br#"{"name":"no id"}"#),
        )),
    ];
    let (summary, _) = push(&fake, &plan(PushMode::Save, 50), settings(10), items).await;
    assert_eq!(summary.reason_code, RunReasonCode::Ok, "{summary:?}");
    assert_eq!((summary.records_pushed, summary.records_rejected), (2, 1));
    assert!(summary.rejections[0].reason.contains("uniqueIDColumn"));
    let records = fake.records("products");
    assert_eq!(
        records["p1"],
        json!({"objectID": "p1", "name": "product 1", "price": 1, "stock": 4})
    );
    assert_eq!(records["p2"]["name"], "product 2");
    assert_eq!(records["keep"]["name"], "k");
    assert!(
        fake.calls()
            .iter()
            .all(|c| !matches!(c.kind, CallKind::Copy | CallKind::Move))
    );
    assert!(
        fake.index_names()
            .iter()
            .all(|name| !name.contains("_tmp_"))
    );
}

#[tokio::test]
async fn events_of_a_large_run_are_bounded() {
    let fake = FakeAlgolia::new();
    let rejected = (0..50).map(|row| {
        Err(SourceItemError::Rejected(RecordRejection {
            position: Position::Row(row + 2),
            object_id: None,
            reason: "bad".into(),
        }))
    });
    let items: Vec<SourceResult> = records(50).into_iter().chain(rejected).collect();
    let settings = PushSettings {
        max_rejection_events: 10,
        ..settings(100)
    };
    let (summary, recorder) = push(&fake, &plan(PushMode::Save, 60), settings, items).await;
    assert_eq!(summary.records_rejected, 50);
    let events = recorder.events();
    let failed = events
        .iter()
        .filter(|e| e.status == EventStatus::Failed)
        .count();
    assert_eq!(failed, 10);
    assert!(
        log_messages(&recorder)
            .iter()
            .any(|m| m.starts_with("40 more rejected records"))
    );
    let _: Value = json!(summary.rejections.len());
}

#[tokio::test]
async fn save_deletes_records_in_order_with_updates() {
    let fake = FakeAlgolia::new();
    fake.set_records(
        "products",
        [
            json!({"objectID": "p1", "name": "x"}),
            json!({"objectID": "gone", "name": "y"}),
        ],
    );
    let items = vec![
        record(1),
        Ok(Record::deletion("gone".into())),
        Ok(Record::deletion("never-existed".into())),
        record(2),
    ];
    let (summary, _) = push(&fake, &plan(PushMode::Save, 0), settings(10), items).await;
    assert_eq!(summary.reason_code, RunReasonCode::Ok, "{summary:?}");
    assert_eq!((summary.records_pushed, summary.batches), (4, 3));
    let records = fake.records("products");
    assert_eq!(records.keys().collect::<Vec<_>>(), ["p1", "p2"]);
    let batches = fake.calls_of(CallKind::Batch);
    assert_eq!(
        batches.iter().map(|c| c.records).collect::<Vec<_>>(),
        [1, 2, 1]
    );

    let (summary, _) = push(
        &fake,
        &plan(PushMode::Replace, 0),
        settings(10),
        vec![record(1), Ok(Record::deletion("p2".into()))],
    )
    .await;
    assert_eq!(summary.reason_code, RunReasonCode::TooManyErrors);
    assert!(summary.rejections[0].reason.contains("deletion"));
}

#[tokio::test]
async fn partial_no_create_updates_only_records_that_exist() {
    let fake = FakeAlgolia::new();
    fake.set_records(
        "products",
        [json!({"objectID": "p1", "name": "old name", "stock": 4})],
    );
    let plan = plan(PushMode::PartialNoCreate, 0);
    let (summary, _) = push(&fake, &plan, settings(10), vec![record(1), record(2)]).await;
    assert_eq!(summary.reason_code, RunReasonCode::Ok, "{summary:?}");
    let records = fake.records("products");
    // p1 merged (its `stock` kept), p2 never created: partialUpdateObjectNoCreate.
    assert_eq!(
        records["p1"],
        json!({"objectID": "p1", "name": "product 1", "price": 1, "stock": 4})
    );
    assert_eq!(records.len(), 1, "{records:?}");
    assert!(fake.index_names().iter().all(|n| !n.contains("_tmp_")));
}

#[tokio::test]
async fn append_adds_whole_records_to_the_live_index() {
    let fake = FakeAlgolia::new();
    fake.set_records(
        "products",
        [
            json!({"objectID": "p1", "name": "old name", "stock": 4}),
            json!({"objectID": "kept", "name": "k"}),
        ],
    );
    let items = vec![
        record(1),
        Ok(Record::new(
            None,
            Bytes::from_static(br#"{"name":"no id"}"#),
        )),
    ];
    let (summary, _) = push(&fake, &plan(PushMode::Append, 0), settings(10), items).await;
    assert_eq!(summary.reason_code, RunReasonCode::Ok, "{summary:?}");
    assert_eq!((summary.records_pushed, summary.records_rejected), (2, 0));
    let records = fake.records("products");
    // addObject replaces p1 whole (no `stock` left), keeps the rest, and gives the record
    // without an objectID one of its own.
    assert_eq!(
        records["p1"],
        json!({"objectID": "p1", "name": "product 1", "price": 1})
    );
    assert_eq!(records["kept"]["name"], "k");
    assert_eq!(records.len(), 3, "{records:?}");
    // Never a temporary index, never a copy or move.
    assert!(fake.index_names().iter().all(|n| !n.contains("_tmp_")));
    assert!(
        fake.calls()
            .iter()
            .all(|c| !matches!(c.kind, CallKind::Copy | CallKind::Move))
    );
}

#[test]
fn modes_follow_the_task_action() {
    use ingest_model::ActionType as A;
    assert_eq!(PushMode::of(A::Replace, false), PushMode::Replace);
    assert_eq!(PushMode::of(A::Replace, true), PushMode::Save);
    assert_eq!(PushMode::of(A::Save, false), PushMode::Save);
    assert_eq!(PushMode::of(A::Partial, false), PushMode::Save);
    assert_eq!(
        PushMode::of(A::PartialNoCreate, true),
        PushMode::PartialNoCreate
    );
    assert_eq!(PushMode::of(A::Append, false), PushMode::Append);
}

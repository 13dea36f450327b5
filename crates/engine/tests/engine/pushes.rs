//! Stored pushes applied by the engine (docs/api.md D4): in order, through the destination's
//! `attributesToExclude`, one event each, failures per record, leases taken over, idle runs
//! finished.

use std::time::Duration;

use ingest_engine::{PushApplySettings, apply_pushes_until};
use ingest_model::{EventStatus, RunOutcome, RunStatus, RunType, Task};
use ingest_store::{AcceptedPush, NewPush, StoreError};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::harness::{APP, Harness};

ingest_store::both_backends!(
    pushes_are_applied_in_order_with_one_event_each,
    a_claim_of_many_pushes_keeps_their_order_and_their_own_outcomes,
    refused_records_fail_their_push_with_the_object_id,
    a_lost_lease_is_taken_over_and_the_push_applied_once,
    idle_push_runs_finish_with_their_outcome,
    pushes_of_a_deleted_task_fail_with_a_reason,
);

async fn push_task(h: &Harness, index: &str, destination: Value) -> Task {
    let mut destination = destination;
    destination["indexName"] = json!(index);
    h.task_with(
        json!({"type": "push", "name": "pushed"}),
        destination,
        "search",
        "save",
        json!({"type": "onDemand"}),
    )
    .await
}

async fn accept(
    h: &Harness,
    task: &Task,
    index: &str,
    action: &str,
    records: Value,
) -> AcceptedPush {
    let count = records.as_array().map_or(0, Vec::len) as u64;
    h.store
        .accept_push(
            APP,
            &NewPush {
                task_id: &task.task_id,
                index,
                action,
                records: &records.to_string(),
                record_count: count,
            },
            h.now(),
        )
        .await
        .unwrap()
}

fn settings() -> PushApplySettings {
    PushApplySettings {
        appliers: 2,
        lease: Duration::from_secs(60),
        max_records_per_claim: 3,
        run_idle: Duration::from_secs(600),
        run_max_age: Duration::from_secs(86_400),
        poll: Duration::from_millis(20),
    }
}

/// Runs appliers until every push of `accepted` has its event, then stops them.
async fn apply_all(h: &Harness, accepted: &[&AcceptedPush]) -> Vec<ingest_model::Event> {
    apply_all_with(h, settings(), accepted).await
}

async fn apply_all_with(
    h: &Harness,
    settings: PushApplySettings,
    accepted: &[&AcceptedPush],
) -> Vec<ingest_model::Event> {
    let (stop, stopped) = oneshot::channel::<()>();
    let appliers = tokio::spawn(apply_pushes_until(h.engine(), settings, async {
        let _ = stopped.await;
    }));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut events = Vec::new();
    for push in accepted {
        loop {
            match h.store.get_event(APP, &push.run_id, &push.event_id).await {
                Ok(event) => {
                    events.push(event);
                    break;
                }
                Err(StoreError::NotFound { .. }) => {
                    assert!(
                        tokio::time::Instant::now() < deadline,
                        "push {} never applied",
                        push.event_id
                    );
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err(error) => panic!("{error}"),
            }
        }
    }
    let _ = stop.send(());
    appliers.await.unwrap();
    events
}

async fn pushes_are_applied_in_order_with_one_event_each(h: &Harness) {
    let task = push_task(h, "pushed", json!({"attributesToExclude": ["secret"]})).await;
    h.fake
        .set_records("pushed", [json!({"objectID": "old", "v": 0})]);
    let first = accept(
        h,
        &task,
        "pushed",
        "addObject",
        json!([{"objectID": "a", "v": 1, "secret": "x"}, {"objectID": "b", "v": 1}]),
    )
    .await;
    let second = accept(
        h,
        &task,
        "pushed",
        "partialUpdateObject",
        json!([{"objectID": "a", "v": 2}]),
    )
    .await;
    let third = accept(
        h,
        &task,
        "pushed",
        "deleteObject",
        json!([{"objectID": "b"}, {"objectID": "old"}]),
    )
    .await;
    // One open run collects them all, and no event exists before a push is applied.
    assert_eq!(first.run_id, second.run_id);
    assert_eq!(first.run_id, third.run_id);
    assert!(matches!(
        h.store.get_event(APP, &first.run_id, &first.event_id).await,
        Err(StoreError::NotFound { .. })
    ));
    let run = h.store.get_run(APP, &first.run_id).await.unwrap();
    assert_eq!(
        (run.status, run.run_type),
        (RunStatus::Started, RunType::Push)
    );

    let events = apply_all(h, &[&first, &second, &third]).await;
    for (event, records) in events.iter().zip([2, 1, 2]) {
        assert_eq!(event.status, EventStatus::Succeeded, "{event:?}");
        assert_eq!(event.batch_size, records);
    }
    let records = h.fake.records("pushed");
    assert_eq!(records.keys().collect::<Vec<_>>(), ["a"], "{records:?}");
    // The update after the add is applied after it; excluded attributes never reach Algolia.
    assert_eq!(records["a"], json!({"objectID": "a", "v": 2}));
    // Pushes never go through a temporary index.
    assert!(h.fake.index_names().iter().all(|n| !n.contains("_tmp_")));
}

/// One claim takes every push below: each is sent after the one before it was accepted, its
/// wait overlapping the next ones, and each keeps its own event.
async fn a_claim_of_many_pushes_keeps_their_order_and_their_own_outcomes(h: &Harness) {
    let task = push_task(h, "many", json!({})).await;
    let huge = "x".repeat(200_000);
    let mut accepted = Vec::new();
    for n in 0..20 {
        accepted.push(
            accept(
                h,
                &task,
                "many",
                "addObject",
                json!([{"objectID": "a", "n": n}, {"objectID": format!("k{n}")}]),
            )
            .await,
        );
    }
    accepted.push(accept(h, &task, "many", "clear", json!([])).await);
    accepted.push(
        accept(
            h,
            &task,
            "many",
            "addObject",
            json!([{"objectID": "big", "blob": huge}, {"objectID": "a", "n": 99}]),
        )
        .await,
    );
    for n in 100..105 {
        accepted.push(
            accept(
                h,
                &task,
                "many",
                "partialUpdateObject",
                json!([{"objectID": "a", "n": n}]),
            )
            .await,
        );
    }
    let settings = PushApplySettings {
        appliers: 1,
        max_records_per_claim: 10_000,
        ..settings()
    };
    let refs: Vec<_> = accepted.iter().collect();
    let events = apply_all_with(h, settings, &refs).await;
    let statuses: Vec<_> = events.iter().map(|e| e.status).collect();
    let mut expected = vec![EventStatus::Succeeded; 27];
    expected[21] = EventStatus::Failed;
    assert_eq!(statuses, expected);
    let failed = events[21].data.as_ref().unwrap();
    assert_eq!(failed["failures"][0]["objectID"], "big", "{failed:?}");
    // The clear came after the twenty adds and before the rest; the updates in their order.
    let records = h.fake.records("many");
    assert_eq!(records.keys().collect::<Vec<_>>(), ["a"], "{records:?}");
    assert_eq!(records["a"], json!({"objectID": "a", "n": 104}));
    assert_eq!(
        h.store
            .get_run(APP, &accepted[0].run_id)
            .await
            .unwrap()
            .status,
        RunStatus::Started
    );
}

async fn refused_records_fail_their_push_with_the_object_id(h: &Harness) {
    let task = push_task(h, "big", json!({})).await;
    let huge = "x".repeat(200_000);
    let pushed = accept(
        h,
        &task,
        "big",
        "addObject",
        json!([{"objectID": "fine"}, {"objectID": "too-big", "blob": huge}]),
    )
    .await;
    let [event] = apply_all(h, &[&pushed]).await.try_into().unwrap();
    assert_eq!(event.status, EventStatus::Failed);
    let data = event.data.unwrap();
    assert_eq!(data["failedRecords"], 1, "{data:?}");
    assert_eq!(data["failures"][0]["objectID"], "too-big", "{data:?}");
    assert!(h.fake.record("big", "fine").is_some());
    assert!(h.fake.record("big", "too-big").is_none());
}

async fn a_lost_lease_is_taken_over_and_the_push_applied_once(h: &Harness) {
    let task = push_task(h, "leased", json!({})).await;
    let pushed = accept(h, &task, "leased", "addObject", json!([{"objectID": "a"}])).await;
    // A worker claims the push and dies: nobody else can take the group while the lease holds.
    let dead = h
        .store
        .claim_pushes(Duration::from_secs(60), 100, h.now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(dead.pushes[0].id, pushed.event_id);
    assert!(
        h.store
            .claim_pushes(Duration::from_secs(60), 100, h.now())
            .await
            .unwrap()
            .is_none()
    );
    h.clock.advance(Duration::from_secs(61));
    let [event] = apply_all(h, &[&pushed]).await.try_into().unwrap();
    assert_eq!(event.status, EventStatus::Succeeded);
    assert_eq!(h.fake.record_count("leased"), 1);
    // The dead worker's late completion changes nothing.
    let late = h
        .store
        .complete_push(
            APP,
            &dead.pushes[0],
            &dead.lease_token,
            &ingest_store::PushResult {
                status: EventStatus::Failed,
                data: Default::default(),
            },
            h.now(),
        )
        .await;
    assert!(
        matches!(late, Err(StoreError::LeaseLost { .. })),
        "{late:?}"
    );
    let event = h
        .store
        .get_event(APP, &pushed.run_id, &pushed.event_id)
        .await
        .unwrap();
    assert_eq!(event.status, EventStatus::Succeeded);
}

async fn idle_push_runs_finish_with_their_outcome(h: &Harness) {
    let task = push_task(h, "idle", json!({})).await;
    let good = accept(h, &task, "idle", "addObject", json!([{"objectID": "a"}])).await;
    apply_all(h, &[&good]).await;
    let idle = Duration::from_secs(600);
    let age = Duration::from_secs(86_400);
    assert!(
        h.store
            .finish_idle_push_runs(idle, age, h.now())
            .await
            .unwrap()
            .is_empty(),
        "not idle yet"
    );
    h.clock.advance(Duration::from_secs(601));
    let finished = h
        .store
        .finish_idle_push_runs(idle, age, h.now())
        .await
        .unwrap();
    assert_eq!(finished.len(), 1);
    assert_eq!(finished[0].run_id, good.run_id);
    assert_eq!(finished[0].outcome, Some(RunOutcome::Success));
    // The next push opens a new run.
    let next = accept(h, &task, "idle", "addObject", json!([{"objectID": "b"}])).await;
    assert_ne!(next.run_id, good.run_id);
}

async fn pushes_of_a_deleted_task_fail_with_a_reason(h: &Harness) {
    let task = push_task(h, "gone", json!({})).await;
    let pushed = accept(h, &task, "gone", "addObject", json!([{"objectID": "a"}])).await;
    h.store
        .delete_task(APP, &task.task_id, h.now())
        .await
        .unwrap();
    let [event] = apply_all(h, &[&pushed]).await.try_into().unwrap();
    assert_eq!(event.status, EventStatus::Failed);
    let message = event.data.unwrap()["message"].as_str().unwrap().to_owned();
    assert!(message.contains("was deleted"), "{message}");
    assert_eq!(h.fake.record_count("gone"), 0);
}

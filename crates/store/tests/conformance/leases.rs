//! The worker operations beyond claim/heartbeat/finish: claiming one given run, releasing a lease
//! on shutdown, the trigger payload of subscription runs, the requeue log, and the queue depth.

use std::time::Duration;

use ingest_model::{EventType, RunStatus, TriggerPayload};
use ingest_store::{EventQuery, StoreError};
use serde_json::json;

use crate::fixtures::*;
use crate::harness::Harness;

ingest_store::both_backends!(
    claim_one_given_run,
    release_returns_the_run_at_once,
    trigger_payload_reaches_the_worker,
    requeue_says_so_in_a_log_event,
    queue_depth_counts_created_runs,
);

const LEASE: Duration = Duration::from_secs(30);

async fn log_messages(h: &Harness, run_id: &str) -> Vec<String> {
    let events = h
        .store
        .list_events(APP, run_id, &EventQuery::default())
        .await
        .unwrap();
    events
        .items
        .iter()
        .filter(|e| e.event_type == EventType::Log)
        .filter_map(|e| e.data.as_ref()?.get("message")?.as_str().map(str::to_owned))
        .collect()
}

async fn claim_one_given_run(h: &Harness) {
    let task = create_task(h, APP).await;
    let other = create_task(h, APP).await;
    let _older = h
        .store
        .create_run(APP, &other.task_id, h.now())
        .await
        .unwrap();
    let wanted = h
        .store
        .create_run(APP, &task.task_id, h.now())
        .await
        .unwrap();
    let claimed = h
        .store
        .claim_run(&wanted.run_id, "cli", LEASE, h.now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.run.run_id, wanted.run_id);
    assert_eq!(claimed.attempt, 1);
    assert_eq!(claimed.trigger_payload, None);
    // Not `created` any more: nothing to claim.
    assert!(
        h.store
            .claim_run(&wanted.run_id, "cli", LEASE, h.now())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        h.store
            .claim_run("no-such-run", "cli", LEASE, h.now())
            .await
            .unwrap()
            .is_none()
    );
}

async fn release_returns_the_run_at_once(h: &Harness) {
    let task = create_task(h, APP).await;
    let run = h
        .store
        .create_run(APP, &task.task_id, h.now())
        .await
        .unwrap();
    let first = h
        .store
        .claim_next_run("w1", LEASE, h.now())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(
        h.store.release_run(&run.run_id, "wrong", h.now()).await,
        Err(StoreError::LeaseLost { .. })
    ));
    h.store
        .release_run(&run.run_id, &first.lease_token, h.now())
        .await
        .unwrap();
    let queued = h.store.get_run(APP, &run.run_id).await.unwrap();
    assert_eq!(queued.status, RunStatus::Created);
    assert_eq!(queued.started_at, None);
    // The old token is dead; another worker claims at once, without waiting for the lease.
    assert!(matches!(
        h.store
            .heartbeat(&run.run_id, &first.lease_token, LEASE, h.now())
            .await,
        Err(StoreError::LeaseLost { .. })
    ));
    let second = h
        .store
        .claim_next_run("w2", LEASE, h.now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.run.run_id, run.run_id);
    assert_eq!(second.attempt, 2);
    let logs = log_messages(h, &run.run_id).await;
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert!(logs[0].contains("returned to the queue"), "{logs:?}");
}

async fn trigger_payload_reaches_the_worker(h: &Harness) {
    let task = create_task(h, APP).await;
    let event = json!({"scope": "store/product/updated", "nested": {"x": [1, 2.5, null]}});
    let payload = TriggerPayload::from_value(event).unwrap();
    let run = h
        .store
        .create_triggered_run(APP, &task.task_id, &payload, h.now())
        .await
        .unwrap();
    assert_eq!(run.status, RunStatus::Created);
    let claimed = h
        .store
        .claim_next_run("w1", LEASE, h.now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.run.run_id, run.run_id);
    assert_eq!(claimed.trigger_payload.as_ref(), Some(&payload));
    assert_not_found(
        h.store
            .create_triggered_run(OTHER_APP, &task.task_id, &payload, h.now())
            .await,
    );
}

async fn requeue_says_so_in_a_log_event(h: &Harness) {
    let task = create_task(h, APP).await;
    let run = h
        .store
        .create_run(APP, &task.task_id, h.now())
        .await
        .unwrap();
    h.store
        .claim_next_run("w1", LEASE, h.now())
        .await
        .unwrap()
        .unwrap();
    let report = h.store.requeue_expired(h.advance(60), 2).await.unwrap();
    assert_eq!(report.requeued, std::slice::from_ref(&run.run_id));
    let logs = log_messages(h, &run.run_id).await;
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert!(logs[0].contains("attempt 2"), "{logs:?}");
    h.store
        .claim_next_run("w2", LEASE, h.now())
        .await
        .unwrap()
        .unwrap();
    let report = h.store.requeue_expired(h.advance(60), 2).await.unwrap();
    assert_eq!(report.failed, std::slice::from_ref(&run.run_id));
    let logs = log_messages(h, &run.run_id).await;
    assert_eq!(logs.len(), 2, "{logs:?}");
    assert!(logs.iter().any(|m| m.contains("abandoned")), "{logs:?}");
}

async fn queue_depth_counts_created_runs(h: &Harness) {
    assert_eq!(h.store.queue_depth().await.unwrap(), 0);
    let task = create_task(h, APP).await;
    let other = create_task(h, OTHER_APP).await;
    for _ in 0..3 {
        h.store
            .create_run(APP, &task.task_id, h.now())
            .await
            .unwrap();
    }
    h.store
        .create_run(OTHER_APP, &other.task_id, h.now())
        .await
        .unwrap();
    assert_eq!(h.store.queue_depth().await.unwrap(), 4);
    h.store
        .claim_next_run("w1", LEASE, h.now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(h.store.queue_depth().await.unwrap(), 3);
}

//! The worker and scheduler side: claims with leases, fencing by token, requeue of abandoned
//! runs, auto-disable, schedules fired once, and concurrency.

use std::collections::HashSet;
use std::time::Duration;

use ingest_model::{
    EventStatus, EventType, RunOutcome, RunProgress, RunReasonCode, RunStatus, Trigger,
};
use ingest_store::{
    AUTO_DISABLE_AFTER, AuthenticationQuery, EventQuery, NewEvent, RunFinish, SecretKey, Store,
    StoreError,
};
use serde_json::json;

use crate::fixtures::*;
use crate::harness::Harness;

ingest_store::both_backends!(
    claim_heartbeat_finish,
    stale_tokens_change_nothing,
    requeue_expired_leases,
    one_started_run_per_task,
    auto_disable_after_failures,
    critical_threshold_disables_sooner_with_blocking,
    schedules_fire_once,
    concurrent_claims_never_share_a_run,
    concurrent_creates_get_distinct_ids,
    queued_runs_wake_workers,
    claims_take_turns_across_applications,
);

const LEASE: Duration = Duration::from_secs(30);

fn finish(outcome: RunOutcome) -> RunFinish {
    RunFinish {
        outcome,
        reason_code: match outcome {
            RunOutcome::Success => RunReasonCode::Ok,
            RunOutcome::Failure => RunReasonCode::Critical,
        },
        reason: (outcome == RunOutcome::Failure).then(|| "the source answered 500".to_owned()),
        progress: None,
    }
}

fn log_event(at: ingest_store::Timestamp) -> NewEvent {
    NewEvent {
        parent_id: None,
        status: EventStatus::Succeeded,
        event_type: EventType::Record,
        data: None,
        batch_size: 10,
        published_at: at,
    }
}

async fn claim_heartbeat_finish(h: &Harness) {
    assert!(
        h.store
            .claim_next_run("w1", LEASE, h.now())
            .await
            .unwrap()
            .is_none()
    );
    let task = create_task(h, APP).await;
    let run = h
        .store
        .create_run(APP, &task.task_id, h.now())
        .await
        .unwrap();
    let at = h.now();
    let claimed = h
        .store
        .claim_next_run("w1", LEASE, at)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.run.run_id, run.run_id);
    assert_eq!(claimed.run.status, RunStatus::Started);
    assert_eq!(claimed.run.started_at.as_deref(), Some(&*at.to_rfc3339()));
    assert_eq!(claimed.attempt, 1);
    assert_eq!(claimed.task.task_id, task.task_id);
    assert_eq!(
        claimed.lease_expires_at,
        ingest_store::Timestamp::from_unix(at.unix_seconds() + 30, 0)
    );
    let task_now = h.store.get_task(APP, &task.task_id).await.unwrap();
    assert_eq!(
        task_now.trigger,
        Trigger::OnDemand {
            last_run: Some(at.to_rfc3339())
        },
        "lastRun is set when a run starts"
    );
    assert!(
        h.store
            .claim_next_run("w2", LEASE, h.now())
            .await
            .unwrap()
            .is_none()
    );

    let beat = h.now();
    let expiry = h
        .store
        .heartbeat(&run.run_id, &claimed.lease_token, LEASE, beat)
        .await
        .unwrap();
    assert_eq!(expiry.unix_seconds(), beat.unix_seconds() + 30);

    let progress = RunProgress {
        expected_nb_of_events: 0,
        received_nb_of_events: 1,
    };
    let events = h
        .store
        .record_events(
            &run.run_id,
            &claimed.lease_token,
            &[log_event(h.now())],
            Some(progress),
            h.now(),
        )
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    let mid = h.store.get_run(APP, &run.run_id).await.unwrap();
    assert_eq!(mid.progress, Some(progress));

    let mut done = finish(RunOutcome::Success);
    done.progress = Some(RunProgress {
        expected_nb_of_events: 1,
        received_nb_of_events: 1,
    });
    let end = h.now();
    let finished = h
        .store
        .finish_run(&run.run_id, &claimed.lease_token, &done, end)
        .await
        .unwrap();
    assert!(!finished.task_disabled);
    let run = finished.run;
    assert_eq!(run.status, RunStatus::Finished);
    assert_eq!(run.outcome, Some(RunOutcome::Success));
    assert_eq!(run.reason_code, Some(RunReasonCode::Ok));
    assert_eq!(run.finished_at.as_deref(), Some(&*end.to_rfc3339()));
    assert_eq!(run.progress, done.progress);
    assert_eq!(h.store.get_run(APP, &run.run_id).await.unwrap(), run);
    let listed = h
        .store
        .list_events(APP, &run.run_id, &EventQuery::default())
        .await
        .unwrap();
    assert_eq!(listed.items, events);
    assert!(
        h.store
            .claim_next_run("w1", LEASE, h.now())
            .await
            .unwrap()
            .is_none()
    );
}

#[track_caller]
fn assert_lease_lost<T: std::fmt::Debug>(result: Result<T, StoreError>) {
    assert!(
        matches!(result, Err(StoreError::LeaseLost { .. })),
        "expected lease lost, got {result:?}"
    );
}

async fn stale_tokens_change_nothing(h: &Harness) {
    let task = create_task(h, APP).await;
    let run = h
        .store
        .create_run(APP, &task.task_id, h.now())
        .await
        .unwrap();
    let claimed = h
        .store
        .claim_next_run("w1", LEASE, h.now())
        .await
        .unwrap()
        .unwrap();
    let before = h.store.get_run(APP, &run.run_id).await.unwrap();
    let wrong = "00000000-0000-4000-8000-000000000000";
    assert_lease_lost(h.store.heartbeat(&run.run_id, wrong, LEASE, h.now()).await);
    assert_lease_lost(
        h.store
            .record_events(&run.run_id, wrong, &[log_event(h.now())], None, h.now())
            .await,
    );
    assert_lease_lost(
        h.store
            .finish_run(&run.run_id, wrong, &finish(RunOutcome::Failure), h.now())
            .await,
    );
    assert_eq!(h.store.get_run(APP, &run.run_id).await.unwrap(), before);
    assert_eq!(h.count_rows("events").await, 0);

    // After the real finish, the (once valid) token is stale too.
    h.store
        .finish_run(
            &run.run_id,
            &claimed.lease_token,
            &finish(RunOutcome::Success),
            h.now(),
        )
        .await
        .unwrap();
    let finished = h.store.get_run(APP, &run.run_id).await.unwrap();
    assert_lease_lost(
        h.store
            .heartbeat(&run.run_id, &claimed.lease_token, LEASE, h.now())
            .await,
    );
    assert_lease_lost(
        h.store
            .finish_run(
                &run.run_id,
                &claimed.lease_token,
                &finish(RunOutcome::Failure),
                h.now(),
            )
            .await,
    );
    assert_eq!(h.store.get_run(APP, &run.run_id).await.unwrap(), finished);
    assert_lease_lost(h.store.heartbeat("nope", wrong, LEASE, h.now()).await);
}

async fn requeue_expired_leases(h: &Harness) {
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
    // Not expired yet: nothing moves.
    let report = h.store.requeue_expired(h.now(), 2).await.unwrap();
    assert!(report.requeued.is_empty() && report.failed.is_empty());

    let later = h.advance(60);
    let report = h.store.requeue_expired(later, 2).await.unwrap();
    assert_eq!(report.requeued, std::slice::from_ref(&run.run_id));
    assert!(report.failed.is_empty());
    let queued = h.store.get_run(APP, &run.run_id).await.unwrap();
    assert_eq!(queued.status, RunStatus::Created);
    assert_eq!(queued.started_at, None);
    // The first worker's token is dead.
    assert_lease_lost(
        h.store
            .heartbeat(&run.run_id, &first.lease_token, LEASE, h.now())
            .await,
    );

    let second = h
        .store
        .claim_next_run("w2", LEASE, h.now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.run.run_id, run.run_id);
    assert_eq!(second.attempt, 2);
    assert_ne!(second.lease_token, first.lease_token);
    // A heartbeat keeps it alive past the original expiry.
    h.advance(20);
    h.store
        .heartbeat(&run.run_id, &second.lease_token, LEASE, h.now())
        .await
        .unwrap();
    let report = h.store.requeue_expired(h.advance(20), 2).await.unwrap();
    assert!(report.requeued.is_empty() && report.failed.is_empty());

    // Out of attempts: failed.
    let report = h.store.requeue_expired(h.advance(60), 2).await.unwrap();
    assert_eq!(report.failed, std::slice::from_ref(&run.run_id));
    assert_eq!(report.failed_apps, [APP]);
    let failed = h.store.get_run(APP, &run.run_id).await.unwrap();
    assert_eq!(failed.status, RunStatus::Finished);
    assert_eq!(failed.outcome, Some(RunOutcome::Failure));
    assert_eq!(failed.reason_code, Some(RunReasonCode::Internal));
    assert!(failed.reason.is_some());
    assert_lease_lost(
        h.store
            .finish_run(
                &run.run_id,
                &second.lease_token,
                &finish(RunOutcome::Success),
                h.now(),
            )
            .await,
    );
}

async fn one_started_run_per_task(h: &Harness) {
    let task = create_task(h, APP).await;
    let other = create_task(h, APP).await;
    let r1 = h
        .store
        .create_run(APP, &task.task_id, h.now())
        .await
        .unwrap();
    let r2 = h
        .store
        .create_run(APP, &task.task_id, h.now())
        .await
        .unwrap();
    let r3 = h
        .store
        .create_run(APP, &other.task_id, h.now())
        .await
        .unwrap();
    let c1 = h
        .store
        .claim_next_run("w", LEASE, h.now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c1.run.run_id, r1.run_id);
    // r2 waits for r1; r3 (another task) goes first.
    let c3 = h
        .store
        .claim_next_run("w", LEASE, h.now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c3.run.run_id, r3.run_id);
    assert!(
        h.store
            .claim_next_run("w", LEASE, h.now())
            .await
            .unwrap()
            .is_none()
    );
    h.store
        .finish_run(
            &r1.run_id,
            &c1.lease_token,
            &finish(RunOutcome::Success),
            h.now(),
        )
        .await
        .unwrap();
    let c2 = h
        .store
        .claim_next_run("w", LEASE, h.now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c2.run.run_id, r2.run_id);
    // A deleted task's queued runs are skipped, never claimed.
    let gone = create_task(h, APP).await;
    let r4 = h
        .store
        .create_run(APP, &gone.task_id, h.now())
        .await
        .unwrap();
    h.store
        .delete_task(APP, &gone.task_id, h.now())
        .await
        .unwrap();
    assert!(
        h.store
            .claim_next_run("w", LEASE, h.now())
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        h.store.get_run(APP, &r4.run_id).await.unwrap().status,
        RunStatus::Skipped
    );
}

async fn auto_disable_after_failures(h: &Harness) {
    let task = create_task(h, APP).await;
    let run_once = async |outcome| {
        h.store
            .create_run(APP, &task.task_id, h.now())
            .await
            .unwrap();
        let c = h
            .store
            .claim_next_run("w", LEASE, h.now())
            .await
            .unwrap()
            .unwrap();
        h.store
            .finish_run(&c.run.run_id, &c.lease_token, &finish(outcome), h.now())
            .await
            .unwrap()
    };
    // A success in between resets the count.
    for _ in 0..AUTO_DISABLE_AFTER - 1 {
        assert!(!run_once(RunOutcome::Failure).await.task_disabled);
    }
    assert!(!run_once(RunOutcome::Success).await.task_disabled);
    for _ in 0..AUTO_DISABLE_AFTER - 1 {
        assert!(!run_once(RunOutcome::Failure).await.task_disabled);
    }
    assert!(h.store.get_task(APP, &task.task_id).await.unwrap().enabled);
    let last = run_once(RunOutcome::Failure).await;
    assert!(last.task_disabled);
    assert!(!h.store.get_task(APP, &task.task_id).await.unwrap().enabled);
    let events = h
        .store
        .list_events(APP, &last.run.run_id, &EventQuery::default())
        .await
        .unwrap();
    assert_eq!(events.items.len(), 1);
    assert_eq!(events.items[0].event_type, EventType::Log);
    // Disabled tasks still run manually; enabling starts a fresh count.
    assert!(!run_once(RunOutcome::Failure).await.task_disabled);
    h.store
        .set_task_enabled(APP, &task.task_id, true, h.now())
        .await
        .unwrap();
    assert!(!run_once(RunOutcome::Failure).await.task_disabled);
    assert!(h.store.get_task(APP, &task.task_id).await.unwrap().enabled);
}

async fn critical_threshold_disables_sooner_with_blocking(h: &Harness) {
    let source = create_source(h, APP, "s").await;
    let dest = create_destination(h, APP, "d").await;
    let mut body: ingest_model::TaskCreate = parse(json!({
        "sourceID": source.source_id, "destinationID": dest.destination_id,
        "trigger": {"type": "onDemand"}, "action": "replace"
    }));
    body.options.policies = Some(ingest_model::Policies {
        critical_threshold: Some(2),
    });
    let task = h
        .store
        .create_task(APP, &body, None, h.now())
        .await
        .unwrap();
    let fail_once = async || {
        h.store
            .create_run(APP, &task.task_id, h.now())
            .await
            .unwrap();
        let c = h
            .store
            .claim_next_run("w", LEASE, h.now())
            .await
            .unwrap()
            .unwrap();
        h.store
            .finish_run(
                &c.run.run_id,
                &c.lease_token,
                &finish(RunOutcome::Failure),
                h.now(),
            )
            .await
            .unwrap()
    };
    let first = fail_once().await;
    assert!(!first.task_disabled);
    assert_eq!(first.run.reason_code, Some(RunReasonCode::Critical));
    let second = fail_once().await;
    assert!(second.task_disabled);
    assert!(!h.store.get_task(APP, &task.task_id).await.unwrap().enabled);
    // The run that disabled the task says so, and keeps its own reason after it.
    assert_eq!(second.run.reason_code, Some(RunReasonCode::Blocking));
    assert_eq!(
        second.run.reason.as_deref(),
        Some("task disabled after 2 failed runs in a row: the source answered 500")
    );
    assert_eq!(
        h.store.get_run(APP, &second.run.run_id).await.unwrap(),
        second.run
    );
}

async fn schedules_fire_once(h: &Harness) {
    let source = create_source(h, APP, "s").await;
    let dest = create_destination(h, APP, "d").await;
    let first_fire = ts("2024-01-01T01:00:00Z");
    let body = parse(json!({
        "sourceID": source.source_id, "destinationID": dest.destination_id,
        "trigger": {"type": "schedule", "cron": "0 * * * *"}, "action": "replace"
    }));
    let task = h
        .store
        .create_task(APP, &body, Some(first_fire), h.now())
        .await
        .unwrap();
    let disabled = h
        .store
        .create_task(
            APP,
            &parse(json!({
                "sourceID": source.source_id, "destinationID": dest.destination_id,
                "trigger": {"type": "schedule", "cron": "0 * * * *"}, "action": "replace",
                "enabled": false
            })),
            Some(first_fire),
            h.now(),
        )
        .await
        .unwrap();
    assert!(
        h.store
            .due_schedules(ts("2024-01-01T00:59:59Z"), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let due = h.store.due_schedules(first_fire, 10).await.unwrap();
    assert_eq!(
        due.len(),
        1,
        "disabled task {} is not due",
        disabled.task_id
    );
    assert_eq!((due[0].app_id.as_str(), due[0].next_run), (APP, first_fire));
    assert_eq!(due[0].task.task_id, task.task_id);

    // Two replicas fire the same schedule: one run.
    let next = ts("2024-01-01T02:00:00Z");
    let (a, b) = futures::join!(
        h.store
            .fire_schedule(APP, &task.task_id, first_fire, next, first_fire),
        h.store
            .fire_schedule(APP, &task.task_id, first_fire, next, first_fire),
    );
    let fired: Vec<_> = [a.unwrap(), b.unwrap()].into_iter().flatten().collect();
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].status, RunStatus::Created);
    assert!(
        h.store
            .due_schedules(first_fire, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // The next fire while that run is still queued: skipped, with a reason.
    let after = ts("2024-01-01T03:00:00Z");
    let skipped = h
        .store
        .fire_schedule(APP, &task.task_id, next, after, next)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(skipped.status, RunStatus::Skipped);
    assert!(skipped.reason.is_some() && skipped.reason_code.is_none());
    assert!(
        h.store
            .fire_schedule(APP, &task.task_id, next, after, next)
            .await
            .unwrap()
            .is_none()
    );
    let Trigger::Schedule { next_run, .. } =
        h.store.get_task(APP, &task.task_id).await.unwrap().trigger
    else {
        panic!()
    };
    assert_eq!(next_run, "2024-01-01T03:00:00.000Z");
}

async fn concurrent_claims_never_share_a_run(h: &Harness) {
    let mut expected = HashSet::new();
    for _ in 0..12 {
        let task = create_task(h, APP).await;
        let run = h
            .store
            .create_run(APP, &task.task_id, h.now())
            .await
            .unwrap();
        expected.insert(run.run_id);
    }
    let now = h.now();
    let workers = (0..6).map(|w| {
        let store: Store = h.store.clone();
        tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(c) = store
                .claim_next_run(&format!("w{w}"), LEASE, now)
                .await
                .unwrap()
            {
                mine.push(c.run.run_id);
            }
            mine
        })
    });
    let claimed: Vec<String> = futures::future::join_all(workers)
        .await
        .into_iter()
        .flat_map(|r| r.unwrap())
        .collect();
    let unique: HashSet<_> = claimed.iter().cloned().collect();
    assert_eq!(claimed.len(), unique.len(), "a run was claimed twice");
    assert_eq!(unique, expected);
}

async fn concurrent_creates_get_distinct_ids(h: &Harness) {
    let now = h.now();
    let creates = (0..50).map(|i| {
        let store: Store = h.store.clone();
        tokio::spawn(async move {
            store
                .create_authentication(APP, &basic(&format!("a{i}"), "pw"), now)
                .await
                .unwrap()
                .authentication_id
        })
    });
    let ids: Vec<String> = futures::future::join_all(creates)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    let unique: HashSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), 50);
    let list = h
        .store
        .list_authentications(
            APP,
            &AuthenticationQuery {
                page: ingest_store::PageRequest {
                    page: 1,
                    items_per_page: 100,
                },
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(list.pagination.nb_items, 50);
}

/// Waits for `receiver` to see a change, or panics naming `what`.
async fn woken(receiver: &mut tokio::sync::watch::Receiver<u64>, seconds: u64, what: &str) {
    let changed = tokio::time::timeout(Duration::from_secs(seconds), receiver.changed()).await;
    assert!(matches!(changed, Ok(Ok(()))), "{what}: no wake-up");
    receiver.borrow_and_update();
}

async fn queued_runs_wake_workers(h: &Harness) {
    let task = create_task(h, APP).await;
    let mut here = h.store.queued_runs();
    // On PostgreSQL a second handle stands for another process: it hears of runs by NOTIFY.
    let other = h.reopen(SecretKey::generate().unwrap()).await;
    let mut there = other.queued_runs();
    if h.is_postgres() {
        // The listener bumps once when it starts listening.
        woken(&mut there, 10, "the listener starts").await;
    }
    here.borrow_and_update();
    let run = h
        .store
        .create_run(APP, &task.task_id, h.now())
        .await
        .unwrap();
    woken(&mut here, 1, "a created run").await;
    if h.is_postgres() {
        woken(&mut there, 10, "a run created by another process").await;
    }
    let claimed = h
        .store
        .claim_next_run("w1", LEASE, h.now())
        .await
        .unwrap()
        .unwrap();
    h.store
        .release_run(&run.run_id, &claimed.lease_token, h.now())
        .await
        .unwrap();
    woken(&mut here, 1, "a released run").await;
    h.store
        .claim_next_run("w1", LEASE, h.now())
        .await
        .unwrap()
        .unwrap();
    let later = h.advance(60);
    h.store.requeue_expired(later, 5).await.unwrap();
    woken(&mut here, 1, "a requeued run").await;
    // A claim queues nothing: no wake-up. (Checked on SQLite only: on PostgreSQL, the echo of
    // the earlier notifications may arrive at any time.)
    if h.is_postgres() {
        return;
    }
    h.store
        .claim_next_run("w1", LEASE, h.now())
        .await
        .unwrap()
        .unwrap();
    let quiet = tokio::time::timeout(Duration::from_millis(200), here.changed()).await;
    assert!(quiet.is_err(), "a claim woke the workers");
}

/// One application queuing 200 runs does not hold another's single run behind them: the
/// application claimed least recently goes first, whether the first's runs are still running or
/// already finished.
async fn claims_take_turns_across_applications(h: &Harness) {
    let mut queued = Vec::new();
    for _ in 0..200 {
        let task = create_task(h, APP).await;
        let run = h
            .store
            .create_run(APP, &task.task_id, h.now())
            .await
            .unwrap();
        queued.push(run.run_id);
    }
    let claim = || async {
        h.store
            .claim_next_run("w", LEASE, h.now())
            .await
            .unwrap()
            .unwrap()
    };
    // A's oldest run first, then B's single run, queued after all of A's.
    let first = claim().await;
    assert_eq!(first.run.run_id, queued[0]);
    let other = create_task(h, OTHER_APP).await;
    let b = h
        .store
        .create_run(OTHER_APP, &other.task_id, h.now())
        .await
        .unwrap();
    let second = claim().await;
    assert_eq!(
        second.run.run_id, b.run_id,
        "B's run starts before A's second"
    );
    // Then A again, in order; a new run of B gets the next turn.
    assert_eq!(claim().await.run.run_id, queued[1]);
    let again = h
        .store
        .create_run(OTHER_APP, &other.task_id, h.now())
        .await
        .unwrap();
    // B's task still has a started run: A goes on until it is finished.
    assert_eq!(claim().await.run.run_id, queued[2]);
    h.store
        .finish_run(
            &second.run.run_id,
            &second.lease_token,
            &finish(RunOutcome::Success),
            h.now(),
        )
        .await
        .unwrap();
    assert_eq!(claim().await.run.run_id, again.run_id);
    assert_eq!(claim().await.run.run_id, queued[3]);
}

//! History retention and the run counters behind `nbItems` (docs/api.md C21).

use ingest_model::{EventStatus, EventType, RunStatus, RunType};
use ingest_store::{NewEvent, NewPush, RunQuery, Timestamp};
use serde_json::json;

use crate::fixtures::*;
use crate::harness::Harness;

ingest_store::both_backends!(
    old_finished_runs_go_with_their_events_and_the_rest_stays,
    a_finished_run_with_a_waiting_push_is_kept,
    run_counters_match_the_rows,
    freed_pages_go_back_to_the_file_system,
);

const DAY: i64 = 86_400;

/// Appends `n` events to run `run_id`.
async fn add_events(h: &Harness, run_id: &str, n: usize) {
    let events: Vec<NewEvent> = (0..n)
        .map(|i| NewEvent {
            parent_id: None,
            status: EventStatus::Succeeded,
            event_type: EventType::Record,
            data: Some(
                json!({"batch": i, "padding": "x".repeat(400)})
                    .as_object()
                    .cloned()
                    .unwrap(),
            ),
            batch_size: 1,
            published_at: h.now(),
        })
        .collect();
    h.store.insert_events(APP, run_id, &events).await.unwrap();
}

/// Purges in steps of `batch` until a step finds fewer candidates; returns (runs, events).
async fn purge_all(h: &Harness, before: Timestamp, batch: u32) -> (u64, u64) {
    let (mut runs, mut events) = (0, 0);
    loop {
        let step = h.store.purge_history(before, batch).await.unwrap();
        runs += step.runs;
        events += step.events;
        if step.candidates < u64::from(batch) {
            return (runs, events);
        }
    }
}

async fn old_finished_runs_go_with_their_events_and_the_rest_stays(h: &Harness) {
    let task = create_task(h, APP).await.task_id;
    let old = run_in(h, &task, RunStatus::Finished).await;
    add_events(h, &old, 25).await;
    let old_too = run_in(h, &task, RunStatus::Finished).await;
    // A queued run of a deleted task is skipped: finished, with no events.
    let doomed = create_task(h, APP).await.task_id;
    let skipped = h.store.create_run(APP, &doomed, h.now()).await.unwrap();
    h.store.delete_task(APP, &doomed, h.now()).await.unwrap();
    // Old but never finished: a started run and a queued one.
    let started = h.store.create_run(APP, &task, h.now()).await.unwrap();
    h.store
        .claim_next_run("w", std::time::Duration::from_secs(30), h.now())
        .await
        .unwrap()
        .expect("a run to claim");
    let queued = h.store.create_run(APP, &task, h.now()).await.unwrap();
    add_events(h, &queued.run_id, 3).await;

    let now = h.advance(31 * DAY);
    let recent = create_task(h, APP).await.task_id;
    let recent = run_in(h, &recent, RunStatus::Finished).await;
    add_events(h, &recent, 4).await;
    let cutoff = Timestamp::from_unix(now.unix_seconds() - 30 * DAY, 0);

    let (runs, events) = purge_all(h, cutoff, 10).await;
    assert_eq!(
        (runs, events),
        (3, 25),
        "two finished runs and a skipped one"
    );
    for gone in [&old, &old_too, &skipped.run_id] {
        assert_not_found(h.store.get_run(APP, gone).await);
    }
    assert_eq!(
        h.store.get_run(APP, &started.run_id).await.unwrap().status,
        RunStatus::Started
    );
    assert_eq!(
        h.store.get_run(APP, &queued.run_id).await.unwrap().status,
        RunStatus::Created
    );
    assert_eq!(h.count_rows("events").await, 3 + 4, "the kept runs' events");
    let listed = h.store.list_runs(APP, &RunQuery::default()).await.unwrap();
    assert_eq!(listed.pagination.nb_items, 3);

    // Nothing else is old enough; a later cutoff takes the recent run too.
    assert_eq!(purge_all(h, cutoff, 10).await, (0, 0));
    assert_eq!(purge_all(h, h.advance(DAY), 1).await, (1, 4));
    assert_not_found(h.store.get_run(APP, &recent).await);
}

async fn a_finished_run_with_a_waiting_push_is_kept(h: &Harness) {
    let task = create_task(h, APP).await.task_id;
    let push = NewPush {
        task_id: &task,
        index: "products",
        action: "addObject",
        records: r#"[{"objectID":"1"}]"#,
        record_count: 1,
    };
    let accepted = h.store.accept_push(APP, &push, h.now()).await.unwrap();
    // Not a state the workers leave (a push run finishes once its pushes are applied): the
    // purge must still never take a run from under a push.
    h.execute_raw(
        "UPDATE runs SET status = 'finished', finished_at = 0",
        "UPDATE runs SET status = 'finished', finished_at = 0",
    )
    .await;
    let now = h.advance(31 * DAY);
    assert_eq!(purge_all(h, now, 10).await, (0, 0));
    h.store.get_run(APP, &accepted.run_id).await.unwrap();
    assert_eq!(h.count_rows("pushes").await, 1);
}

/// Every filter's `nbItems` from the counters equals a count of the rows (a date window makes
/// the store count rows), before and after a purge.
async fn run_counters_match_the_rows(h: &Harness) {
    let t1 = create_task(h, APP).await.task_id;
    let t2 = create_task(h, APP).await.task_id;
    run_in(h, &t1, RunStatus::Finished).await;
    run_in(h, &t2, RunStatus::Finished).await;
    h.store.create_run(APP, &t1, h.now()).await.unwrap();
    h.store
        .claim_next_run("w", std::time::Duration::from_secs(30), h.now())
        .await
        .unwrap()
        .expect("a run to claim");
    h.store.create_run(APP, &t2, h.now()).await.unwrap();
    h.store.create_run(APP, &t2, h.now()).await.unwrap();
    h.store.delete_task(APP, &t2, h.now()).await.unwrap();
    h.advance(31 * DAY);
    let t3 = create_task(h, APP).await.task_id;
    let recent = run_in(h, &t3, RunStatus::Finished).await;
    let other = create_task(h, OTHER_APP).await.task_id;
    h.store
        .create_run(OTHER_APP, &other, h.now())
        .await
        .unwrap();

    assert_counters_match(h, &t1, &t2, 6).await;
    let cutoff = Timestamp::from_unix(h.now().unix_seconds() - DAY, 0);
    assert_eq!(purge_all(h, cutoff, 2).await, (4, 0));
    h.store.get_run(APP, &recent).await.unwrap();
    assert_counters_match(h, &t1, &t2, 2).await;
}

async fn assert_counters_match(h: &Harness, t1: &str, t2: &str, total: u64) {
    let mut queries = vec![RunQuery::default()];
    for task in [t1, t2] {
        queries.push(RunQuery {
            task_id: Some(task.to_owned()),
            ..RunQuery::default()
        });
    }
    for status in [
        RunStatus::Created,
        RunStatus::Started,
        RunStatus::Finished,
        RunStatus::Skipped,
    ] {
        queries.push(RunQuery {
            statuses: vec![status],
            task_id: Some(t1.to_owned()),
            ..RunQuery::default()
        });
        queries.push(RunQuery {
            statuses: vec![status, RunStatus::Finished],
            types: vec![RunType::Reindex],
            ..RunQuery::default()
        });
    }
    for query in queries {
        let counted = h.store.list_runs(APP, &query).await.unwrap();
        let windowed = RunQuery {
            start_date: Some(Timestamp::from_unix(0, 0)),
            ..query.clone()
        };
        let rows = h.store.list_runs(APP, &windowed).await.unwrap();
        assert_eq!(
            counted.pagination.nb_items, rows.pagination.nb_items,
            "{query:?}"
        );
        assert_eq!(counted.items, rows.items, "{query:?}");
    }
    let all = h.store.list_runs(APP, &RunQuery::default()).await.unwrap();
    assert_eq!(all.pagination.nb_items, total);
}

async fn freed_pages_go_back_to_the_file_system(h: &Harness) {
    let task = create_task(h, APP).await.task_id;
    for _ in 0..4 {
        let run = run_in(h, &task, RunStatus::Finished).await;
        add_events(h, &run, 500).await;
    }
    let now = h.advance(31 * DAY);
    assert_eq!(purge_all(h, now, 100).await, (4, 2000));
    let Some(before) = h.store.file_pages().await.unwrap() else {
        assert!(h.is_postgres());
        assert_eq!(h.store.release_free_pages(1000).await.unwrap(), 0);
        return;
    };
    assert!(before.free > 100, "the deletes freed pages: {before:?}");
    let released = h.store.release_free_pages(u32::MAX).await.unwrap();
    let after = h.store.file_pages().await.unwrap().unwrap();
    assert_eq!(after.free, 0, "{after:?}");
    assert_eq!(released, before.total - after.total);
    assert!(released >= before.free, "{before:?} → {after:?}");
}

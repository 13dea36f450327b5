//! Runs executed by in-process workers: success with events, the retried attempt of a replace
//! run, unsupported destinations, source outages and auto-disable, graceful shutdown, and
//! subscription runs limited to objectIDs.

use std::time::Duration;

use ingest_core::metrics;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::StreamExt;
use ingest_engine::Workers;
use ingest_model::{
    ActionType, EventStatus, EventType, RunOutcome, RunReasonCode, RunStatus, TaskOptionsUpdate,
    TaskUpdate, TriggerPayload,
};
use ingest_store::RunQuery;
use serde_json::json;
use tokio::sync::oneshot;

use crate::harness::{APP, Harness, events, work_until_finished, work_until_finished_with};

ingest_store::both_backends!(
    on_demand_run_succeeds_with_events,
    a_retried_replace_deletes_the_dead_attempts_index,
    an_abandoned_replace_leaves_no_temporary_index,
    unsupported_destinations_fail_with_a_reason,
    five_failures_disable_the_task,
    shutdown_releases_the_lease,
    subscription_runs_are_limited_to_object_ids,
    append_and_subscription_actions_reach_the_live_index,
    excluded_attributes_never_reach_the_index,
    an_event_run_never_replaces_the_index,
    a_panicking_run_fails_and_the_worker_goes_on,
    a_run_past_max_run_fails,
    text_from_outside_is_sanitized_before_it_is_stored,
);

fn messages(events: &[ingest_model::Event]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.event_type == EventType::Log)
        .filter_map(|e| e.data.as_ref()?.get("message")?.as_str().map(str::to_owned))
        .collect()
}

fn temporary_indices(h: &Harness) -> Vec<String> {
    h.fake
        .index_names()
        .into_iter()
        .filter(|name| name.contains("_tmp_"))
        .collect()
}

async fn on_demand_run_succeeds_with_events(h: &Harness) {
    let task = h
        .task(
            "/products.csv",
            "products",
            "replace",
            json!({"type": "onDemand"}),
        )
        .await;
    let run = h
        .store
        .create_run(APP, &task.task_id, h.now())
        .await
        .unwrap();
    let [run] = work_until_finished(h, &[&run.run_id])
        .await
        .try_into()
        .unwrap();
    assert_eq!(run.outcome, Some(RunOutcome::Success), "{run:?}");
    assert_eq!(run.reason_code, Some(RunReasonCode::Ok));
    assert!(
        run.reason.as_deref().unwrap().contains("25 records pushed"),
        "{run:?}"
    );
    assert!(run.started_at.is_some() && run.finished_at.is_some());
    let progress = run.progress.unwrap();
    assert_eq!(progress.expected_nb_of_events, 1);
    assert_eq!(progress.received_nb_of_events, 1);
    assert_eq!(h.fake.record_count("products"), 25);
    assert_eq!(
        h.fake.record("products", "7").unwrap(),
        json!({"objectID": "7", "id": "7", "name": "product 7", "price": 7.5})
    );
    assert!(temporary_indices(h).is_empty());
    let events = events(h, &run.run_id).await;
    let fetch = events
        .iter()
        .filter(|e| e.event_type == EventType::Fetch)
        .count();
    assert!(fetch >= 1, "{events:?}");
    let batch = events
        .iter()
        .find(|e| e.event_type == EventType::Record && e.status == EventStatus::Succeeded)
        .unwrap();
    assert_eq!(batch.batch_size, 25);
    assert!(
        messages(&events)
            .iter()
            .any(|m| m.contains("temporary index"))
    );
    let task = h.store.get_task(APP, &task.task_id).await.unwrap();
    assert!(matches!(
        task.trigger,
        ingest_model::Trigger::OnDemand { last_run: Some(_) }
    ));
    assert_eq!(
        h.metrics.value(
            metrics::RUNS_FINISHED,
            &[("outcome", "success"), ("reason_code", "ok")]
        ),
        1.0
    );
    assert_eq!(h.metrics.value(metrics::RECORDS_PUSHED, &[]), 25.0);
    // The application's concurrency window, in the metrics and in the run's events.
    let app = [("app_id", h.fake.app_id())];
    assert_eq!(h.metrics.value(metrics::CONCURRENCY_WINDOW, &app), 4.0);
    assert!(h.metrics.value(metrics::ALGOLIA_RTT, &app) > 0.0);
    let messages = messages(&events);
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("concurrency toward Algolia: window of 4")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("concurrency toward Algolia at the end: window of 4")),
        "{messages:?}"
    );
}

async fn a_retried_replace_deletes_the_dead_attempts_index(h: &Harness) {
    let task = h
        .task(
            "/products.csv",
            "products",
            "replace",
            json!({"type": "onDemand"}),
        )
        .await;
    h.fake
        .set_records("products", [json!({"objectID": "old", "v": 1})]);
    let run = h
        .store
        .create_run(APP, &task.task_id, h.now())
        .await
        .unwrap();
    // A worker claims it, writes part of the temporary index, and dies.
    let dead = h
        .store
        .claim_next_run("dead", Duration::from_secs(30), h.now())
        .await
        .unwrap()
        .unwrap();
    let temporary = format!("products_tmp_{}_1", run.run_id);
    h.fake
        .set_records(&temporary, [json!({"objectID": "stale", "v": 0})]);
    h.clock.advance(Duration::from_secs(60));
    let report = h.store.requeue_expired(h.now(), 3).await.unwrap();
    assert_eq!(report.requeued, std::slice::from_ref(&run.run_id));
    let [run] = work_until_finished(h, &[&run.run_id])
        .await
        .try_into()
        .unwrap();
    assert_eq!(run.outcome, Some(RunOutcome::Success), "{run:?}");
    assert_eq!(h.fake.record_count("products"), 25);
    assert!(h.fake.record("products", "stale").is_none());
    assert!(h.fake.record("products", "old").is_none());
    assert!(temporary_indices(h).is_empty());
    let messages = messages(&events(h, &run.run_id).await);
    assert!(
        messages
            .iter()
            .any(|m| m.contains("lease of attempt 1 expired")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("attempts 1 to 1 deleted")
                && m.contains(&format!("`products_tmp_{}_2`", run.run_id))),
        "{messages:?}"
    );
    // The dead worker's token changes nothing.
    assert!(
        h.store
            .heartbeat(
                &run.run_id,
                &dead.lease_token,
                Duration::from_secs(30),
                h.now()
            )
            .await
            .is_err()
    );
}

async fn an_abandoned_replace_leaves_no_temporary_index(h: &Harness) {
    let task = h
        .task(
            "/products.csv",
            "products",
            "replace",
            json!({"type": "onDemand"}),
        )
        .await;
    h.fake
        .set_records("products", [json!({"objectID": "old", "v": 1})]);
    let run = h
        .store
        .create_run(APP, &task.task_id, h.now())
        .await
        .unwrap();
    // Every attempt's worker dies after writing part of its temporary index.
    for attempt in 1..=3 {
        h.store
            .claim_next_run("dead", Duration::from_secs(30), h.now())
            .await
            .unwrap()
            .unwrap();
        let temporary = format!("products_tmp_{}_{attempt}", run.run_id);
        h.fake
            .set_records(&temporary, [json!({"objectID": "stale", "v": 0})]);
        h.clock.advance(Duration::from_secs(60));
        h.store.requeue_expired(h.now(), 3).await.unwrap();
    }
    let failed = h.store.get_run(APP, &run.run_id).await.unwrap();
    assert_eq!(failed.outcome, Some(RunOutcome::Failure), "{failed:?}");
    // The reaper hands the run to the engine, which deletes what the attempts left.
    h.engine().clean_up_abandoned(APP, &run.run_id, 3).await;
    assert!(
        temporary_indices(h).is_empty(),
        "{:?}",
        temporary_indices(h)
    );
    assert_eq!(h.fake.record_count("products"), 1, "production untouched");
    let messages = messages(&events(h, &run.run_id).await);
    assert!(
        messages
            .iter()
            .any(|m| m.contains(&format!("`products_tmp_{}_3`", run.run_id))
                && m.contains("deleted")),
        "{messages:?}"
    );
}

async fn unsupported_destinations_fail_with_a_reason(h: &Harness) {
    let insights = h
        .task_to(
            "/products.csv",
            json!({"indexName": "events"}),
            "insights",
            "save",
            json!({"type": "onDemand"}),
        )
        .await;
    let flow = h
        .task_to(
            "/products.csv",
            json!({"indexName": "x"}),
            "flow",
            "save",
            json!({"type": "onDemand"}),
        )
        .await;
    let a = h
        .store
        .create_run(APP, &insights.task_id, h.now())
        .await
        .unwrap();
    let b = h
        .store
        .create_run(APP, &flow.task_id, h.now())
        .await
        .unwrap();
    let runs = work_until_finished(h, &[&a.run_id, &b.run_id]).await;
    // Product rows are not Insights events: each is rejected before anything is sent.
    assert_eq!(runs[0].outcome, Some(RunOutcome::Failure));
    assert_eq!(runs[0].reason_code, Some(RunReasonCode::TooManyErrors));
    assert!(
        runs[0].reason.as_deref().unwrap().contains("rejected"),
        "{:?}",
        runs[0].reason
    );
    assert!(
        runs[1]
            .reason
            .as_deref()
            .unwrap()
            .contains("`flow` destinations are not supported")
    );
    assert!(h.fake.index_names().is_empty());
}

async fn five_failures_disable_the_task(h: &Harness) {
    let task = h
        .task(
            "/down.csv",
            "products",
            "replace",
            json!({"type": "onDemand"}),
        )
        .await;
    for i in 1..=5 {
        let run = h
            .store
            .create_run(APP, &task.task_id, h.now())
            .await
            .unwrap();
        let [run] = work_until_finished(h, &[&run.run_id])
            .await
            .try_into()
            .unwrap();
        assert_eq!(run.outcome, Some(RunOutcome::Failure));
        // The run that disables the task says so (`blocking`), its own reason after.
        let code = if i < 5 {
            RunReasonCode::Critical
        } else {
            RunReasonCode::Blocking
        };
        assert_eq!(run.reason_code, Some(code));
        assert!(run.reason.as_deref().unwrap().contains("500"), "{run:?}");
        let enabled = h.store.get_task(APP, &task.task_id).await.unwrap().enabled;
        assert_eq!(enabled, i < 5, "after {i} failures");
        if i == 5 {
            let messages = messages(&events(h, &run.run_id).await);
            assert!(
                messages.iter().any(|m| m.contains("task disabled")),
                "{messages:?}"
            );
        }
    }
    assert!(h.fake.index_names().is_empty());
}

async fn shutdown_releases_the_lease(h: &Harness) {
    let task = h
        .task(
            "/slow.csv",
            "products",
            "replace",
            json!({"type": "onDemand"}),
        )
        .await;
    let run = h
        .store
        .create_run(APP, &task.task_id, h.now())
        .await
        .unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let workers = Workers::new(h.engine(), h.worker_settings());
    let handle = tokio::spawn(workers.run(async {
        let _ = stopped.await;
    }));
    loop {
        let current = h.store.get_run(APP, &run.run_id).await.unwrap();
        if current.status == RunStatus::Started {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let asked = tokio::time::Instant::now();
    let _ = stop.send(());
    handle.await.unwrap();
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "shutdown took {:?}",
        asked.elapsed()
    );
    let released = h.store.get_run(APP, &run.run_id).await.unwrap();
    assert_eq!(released.status, RunStatus::Created, "{released:?}");
    let messages = messages(&events(h, &run.run_id).await);
    assert!(
        messages.iter().any(|m| m.contains("returned to the queue")),
        "{messages:?}"
    );
    assert!(temporary_indices(h).is_empty());
    // Another worker takes it at once.
    let claimed = h
        .store
        .claim_next_run("next", Duration::from_secs(30), h.now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.run.run_id, run.run_id);
    assert_eq!(claimed.attempt, 2);
}

async fn subscription_runs_are_limited_to_object_ids(h: &Harness) {
    let task = h
        .task(
            "/products.csv",
            "products",
            "save",
            json!({"type": "subscription"}),
        )
        .await;
    let run = h
        .store
        .create_triggered_run(
            APP,
            &task.task_id,
            &TriggerPayload::ObjectIds(vec!["3".into(), "7".into(), "999".into()]),
            h.now(),
        )
        .await
        .unwrap();
    let [run] = work_until_finished(h, &[&run.run_id])
        .await
        .try_into()
        .unwrap();
    assert_eq!(run.outcome, Some(RunOutcome::Success), "{run:?}");
    let ids: Vec<String> = h.fake.records("products").into_keys().collect();
    assert_eq!(ids, ["3", "7"]);
    let messages = messages(&events(h, &run.run_id).await);
    assert!(
        messages
            .iter()
            .any(|m| m.contains("3 objectID(s): 2 found")),
        "{messages:?}"
    );
    let runs = h.store.list_runs(APP, &RunQuery::default()).await.unwrap();
    assert_eq!(runs.items.len(), 1);
}

async fn append_and_subscription_actions_reach_the_live_index(h: &Harness) {
    // `append`: whole records added to the live index, what was there stays, no temporary index.
    let append = h
        .task(
            "/products.csv",
            "appended",
            "append",
            json!({"type": "onDemand"}),
        )
        .await;
    h.fake
        .set_records("appended", [json!({"objectID": "kept", "v": 1})]);
    let run = h
        .store
        .create_run(APP, &append.task_id, h.now())
        .await
        .unwrap();
    let [run] = work_until_finished(h, &[&run.run_id])
        .await
        .try_into()
        .unwrap();
    assert_eq!(run.outcome, Some(RunOutcome::Success), "{run:?}");
    assert_eq!(h.fake.record_count("appended"), 26);
    assert!(h.fake.record("appended", "kept").is_some());
    assert!(temporary_indices(h).is_empty());

    // A subscription run uses the task's `subscriptionAction`: `partialNoCreate` updates the
    // objects that exist and creates none.
    let task = h
        .task(
            "/products.csv",
            "products",
            "replace",
            json!({"type": "subscription"}),
        )
        .await;
    let update = TaskUpdate {
        options: TaskOptionsUpdate {
            subscription_action: Some(ActionType::PartialNoCreate),
            ..TaskOptionsUpdate::default()
        },
        ..TaskUpdate::default()
    };
    h.store
        .update_task(APP, &task.task_id, &update, None, h.now())
        .await
        .unwrap();
    h.fake
        .set_records("products", [json!({"objectID": "3", "old": true})]);
    let run = h
        .store
        .create_triggered_run(
            APP,
            &task.task_id,
            &TriggerPayload::ObjectIds(vec!["3".into(), "7".into()]),
            h.now(),
        )
        .await
        .unwrap();
    let [run] = work_until_finished(h, &[&run.run_id])
        .await
        .try_into()
        .unwrap();
    assert_eq!(run.outcome, Some(RunOutcome::Success), "{run:?}");
    let records = h.fake.records("products");
    assert_eq!(records.keys().collect::<Vec<_>>(), ["3"], "{records:?}");
    assert_eq!(
        records["3"]["old"], true,
        "a partial update keeps other attributes"
    );
    assert!(records["3"].get("name").is_some(), "{records:?}");
}

async fn excluded_attributes_never_reach_the_index(h: &Harness) {
    let task = h
        .task_to(
            "/products.csv",
            json!({"indexName": "trimmed", "attributesToExclude": ["price", "nothing.here"]}),
            "search",
            "replace",
            json!({"type": "onDemand"}),
        )
        .await;
    let run = h
        .store
        .create_run(APP, &task.task_id, h.now())
        .await
        .unwrap();
    let [run] = work_until_finished(h, &[&run.run_id])
        .await
        .try_into()
        .unwrap();
    assert_eq!(run.outcome, Some(RunOutcome::Success), "{run:?}");
    let records = h.fake.records("trimmed");
    assert_eq!(records.len(), 25);
    for record in records.values() {
        assert!(record.get("price").is_none(), "{record}");
        assert!(record.get("name").is_some(), "{record}");
    }
}

async fn an_event_run_never_replaces_the_index(h: &Harness) {
    // A connector event (a webhook naming one object) on a `replace` task: the run updates what
    // the source yields, it never swaps the whole index for it.
    let task = h
        .task(
            "/products.csv",
            "products",
            "replace",
            json!({"type": "subscription"}),
        )
        .await;
    h.fake
        .set_records("products", [json!({"objectID": "kept", "v": 1})]);
    let event = json!({"scope": "store/product/updated", "data": {"type": "product", "id": 3}});
    let event = TriggerPayload::from_value(event).unwrap();
    let run = h
        .store
        .create_triggered_run(APP, &task.task_id, &event, h.now())
        .await
        .unwrap();
    let [run] = work_until_finished(h, &[&run.run_id])
        .await
        .try_into()
        .unwrap();
    assert_eq!(run.outcome, Some(RunOutcome::Success), "{run:?}");
    assert!(
        h.fake.record("products", "kept").is_some(),
        "the index was replaced"
    );
    assert_eq!(h.fake.record_count("products"), 26);
    assert!(temporary_indices(h).is_empty());
    assert!(
        h.fake
            .calls()
            .iter()
            .all(|c| !matches!(c.kind, ingest_algolia::testkit::CallKind::Move))
    );
}

/// A run whose source panics mid-stream fails with `internal`; the same workers then run the
/// next one to success (its heartbeat did not keep the panicked run's lease alive).
async fn a_panicking_run_fails_and_the_worker_goes_on(h: &Harness) {
    let armed = Arc::new(AtomicBool::new(true));
    let hook_armed = armed.clone();
    let engine = h.engine().with_stream_hook(Arc::new(move |records| {
        if !hook_armed.swap(false, Ordering::SeqCst) {
            return records;
        }
        records
            .enumerate()
            .map(|(i, item)| {
                assert!(i < 5, "planted: the source panics at its sixth record");
                item
            })
            .boxed()
    }));
    let task = h
        .task(
            "/products.csv",
            "products",
            "replace",
            json!({"type": "onDemand"}),
        )
        .await;
    let first = h
        .store
        .create_run(APP, &task.task_id, h.now())
        .await
        .unwrap();
    let second = h
        .store
        .create_run(APP, &task.task_id, h.now())
        .await
        .unwrap();
    let [first, second] = work_until_finished_with(h, engine, &[&first.run_id, &second.run_id])
        .await
        .try_into()
        .unwrap();
    assert!(!armed.load(Ordering::SeqCst));
    assert_eq!(first.outcome, Some(RunOutcome::Failure), "{first:?}");
    assert_eq!(first.reason_code, Some(RunReasonCode::Internal));
    let reason = first.reason.as_deref().unwrap();
    assert!(
        reason.contains("internal error") && reason.contains("planted"),
        "{reason}"
    );
    assert_eq!(second.outcome, Some(RunOutcome::Success), "{second:?}");
    assert_eq!(h.fake.record_count("products"), 25);
    assert!(
        temporary_indices(h).is_empty(),
        "{:?}",
        temporary_indices(h)
    );
}

/// A run still reading after `max_run` fails with a reason naming the setting.
async fn a_run_past_max_run_fails(h: &Harness) {
    let task = h
        .task(
            "/trickle.csv",
            "trickled",
            "replace",
            json!({"type": "onDemand"}),
        )
        .await;
    let run = h
        .store
        .create_run(APP, &task.task_id, h.now())
        .await
        .unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let workers = Workers::new(
        h.engine(),
        ingest_engine::WorkerSettings {
            max_run: Duration::from_millis(300),
            ..h.worker_settings()
        },
    );
    let handle = tokio::spawn(workers.run(async {
        let _ = stopped.await;
    }));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let finished = loop {
        let current = h.store.get_run(APP, &run.run_id).await.unwrap();
        if current.status == RunStatus::Finished {
            break current;
        }
        assert!(tokio::time::Instant::now() < deadline, "{current:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let _ = stop.send(());
    handle.await.unwrap();
    assert_eq!(finished.outcome, Some(RunOutcome::Failure), "{finished:?}");
    assert_eq!(finished.reason_code, Some(RunReasonCode::Critical));
    let reason = finished.reason.as_deref().unwrap();
    assert!(
        reason.contains("300 ms") && reason.contains("worker.max_run_ms"),
        "{reason}"
    );
    assert!(
        temporary_indices(h).is_empty(),
        "{:?}",
        temporary_indices(h)
    );
    assert_eq!(h.fake.record_count("trickled"), 0, "production untouched");
}

/// A rejected record's objectID with a NUL character reaches the run's events sanitized, and
/// the run finishes (before, PostgreSQL refused the event and the finish).
async fn text_from_outside_is_sanitized_before_it_is_stored(h: &Harness) {
    let task = h
        .task("/nul.csv", "nul", "save", json!({"type": "onDemand"}))
        .await;
    let run = h
        .store
        .create_run(APP, &task.task_id, h.now())
        .await
        .unwrap();
    let [run] = work_until_finished(h, &[&run.run_id])
        .await
        .try_into()
        .unwrap();
    assert_eq!(run.outcome, Some(RunOutcome::Failure), "{run:?}");
    assert_eq!(run.reason_code, Some(RunReasonCode::TooManyErrors));
    let events = events(h, &run.run_id).await;
    let rejected = events
        .iter()
        .filter(|e| e.event_type == EventType::Record && e.status == EventStatus::Failed)
        .find_map(|e| {
            e.data
                .as_ref()?
                .get("objectID")?
                .as_str()
                .map(str::to_owned)
        });
    assert_eq!(rejected.as_deref(), Some("a\u{FFFD}b"), "{events:?}");
}

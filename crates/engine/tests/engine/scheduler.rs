//! The scheduler under a driven clock: fires, skips, catch-up, and three replicas over a day.

use std::time::Duration;

use ingest_core::time::Clock as _;
use ingest_engine::{Scheduler, SchedulerSettings};
use ingest_model::{RunStatus, Timestamp, Trigger};
use serde_json::json;

use crate::harness::{APP, Harness, START};

ingest_store::both_backends!(
    a_schedule_fires_at_its_cron_times,
    catch_up_once_after_downtime,
    three_replicas_fire_each_minute_once_over_a_day,
);

fn scheduler(h: &Harness) -> Scheduler {
    Scheduler::new(
        h.store.clone(),
        h.clock.clone(),
        h.metrics.clone(),
        SchedulerSettings::default(),
    )
}

fn at(minutes: i64, seconds: i64) -> Timestamp {
    Timestamp::from_unix(START + minutes * 60 + seconds, 0)
}

fn next_run(task: &ingest_model::Task) -> Option<String> {
    match &task.trigger {
        Trigger::Schedule { next_run, .. } => Some(next_run.clone()),
        _ => None,
    }
}

async fn a_schedule_fires_at_its_cron_times(h: &Harness) {
    let task = h
        .task(
            "/products.csv",
            "products",
            "replace",
            json!({"type": "schedule", "cron": "*/10 * * * *"}),
        )
        .await;
    assert_eq!(next_run(&task).unwrap(), at(10, 0).to_rfc3339());
    let s = scheduler(h);
    h.clock.set(at(9, 59));
    assert!(s.tick().await.unwrap().is_empty());
    h.clock.set(at(10, 0));
    let fired = s.tick().await.unwrap();
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].status, RunStatus::Created);
    assert!(s.tick().await.unwrap().is_empty(), "fired twice");
    let task = h.store.get_task(APP, &task.task_id).await.unwrap();
    assert_eq!(next_run(&task).unwrap(), at(20, 0).to_rfc3339());
    // The first run is still waiting: the next fire is recorded as skipped.
    h.clock.set(at(20, 3));
    let fired = s.tick().await.unwrap();
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].status, RunStatus::Skipped);
    assert!(fired[0].reason.as_deref().unwrap().contains("still active"));
    // A disabled task does not fire.
    h.store
        .set_task_enabled(APP, &task.task_id, false, h.clock.now())
        .await
        .unwrap();
    h.clock.set(at(30, 0));
    assert!(s.tick().await.unwrap().is_empty());
}

async fn catch_up_once_after_downtime(h: &Harness) {
    let task = h
        .task(
            "/products.csv",
            "products",
            "save",
            json!({"type": "schedule", "cron": "0 * * * *"}),
        )
        .await;
    let s = scheduler(h);
    // Down for five hours and a half: one catch-up run, and the next fire is the next hour.
    h.clock.set(at(5 * 60 + 30, 0));
    let fired = s.tick().await.unwrap();
    assert_eq!(fired.len(), 1);
    assert!(s.tick().await.unwrap().is_empty());
    let task = h.store.get_task(APP, &task.task_id).await.unwrap();
    assert_eq!(next_run(&task).unwrap(), at(6 * 60, 0).to_rfc3339());
}

async fn three_replicas_fire_each_minute_once_over_a_day(h: &Harness) {
    h.task(
        "/products.csv",
        "products",
        "replace",
        json!({"type": "schedule", "cron": "* * * * *"}),
    )
    .await;
    let replicas = [scheduler(h), scheduler(h), scheduler(h)];
    let mut total = 0;
    for minute in 1..=24 * 60 {
        h.clock.set(at(minute, 1));
        let (a, b, c) = tokio::join!(replicas[0].tick(), replicas[1].tick(), replicas[2].tick());
        let fired = a.unwrap().len() + b.unwrap().len() + c.unwrap().len();
        assert_eq!(fired, 1, "minute {minute}");
        total += fired;
    }
    assert_eq!(total, 1440);
    let _ = Duration::ZERO;
}

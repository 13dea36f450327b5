//! History retention under a driven clock (docs/api.md C21): a task firing every minute leaves a
//! run per minute; a sweep a month later deletes the finished ones older than the retention
//! period with their events and keeps the rest.

use std::time::Duration;

use ingest_core::metrics;
use ingest_core::time::Clock as _;
use ingest_engine::{Retention, RetentionSettings, Scheduler, SchedulerSettings};
use ingest_model::{EventStatus, EventType, RunStatus, Timestamp};
use ingest_store::{NewEvent, RunQuery};
use serde_json::json;

use crate::harness::{APP, Harness, START};

ingest_store::both_backends!(
    a_sweep_deletes_what_finished_before_the_retention_period,
    zero_days_keeps_everything,
);

const DAY: i64 = 86_400;

fn retention(h: &Harness, days: Option<u64>, batch: u32) -> Retention {
    Retention::new(
        h.store.clone(),
        h.clock.clone(),
        h.metrics.clone(),
        RetentionSettings {
            keep: days.map(|d| Duration::from_secs(d * 86_400)),
            batch,
            interval: Duration::from_secs(60),
        },
    )
}

/// A schedule task firing every minute for `minutes`: its first run stays queued (nothing
/// claims it), each later fire is recorded as a skipped run; every run gets two events.
async fn a_run_per_minute(h: &Harness, minutes: i64) {
    h.task(
        "/products.csv",
        "products",
        "replace",
        json!({"type": "schedule", "cron": "* * * * *"}),
    )
    .await;
    let scheduler = Scheduler::new(
        h.store.clone(),
        h.clock.clone(),
        h.metrics.clone(),
        SchedulerSettings::default(),
    );
    for minute in 1..=minutes {
        h.clock
            .set(Timestamp::from_unix(START + minute * 60 + 1, 0));
        for run in scheduler.tick().await.unwrap() {
            let event = |status| NewEvent {
                parent_id: None,
                status,
                event_type: EventType::Log,
                data: Some(json!({"minute": minute}).as_object().cloned().unwrap()),
                batch_size: 0,
                published_at: h.clock.now(),
            };
            h.store
                .insert_events(
                    APP,
                    &run.run_id,
                    &[event(EventStatus::Succeeded), event(EventStatus::Failed)],
                )
                .await
                .unwrap();
        }
    }
}

async fn a_sweep_deletes_what_finished_before_the_retention_period(h: &Harness) {
    a_run_per_minute(h, 60).await;
    // 30 days and 30 minutes after the first fire: the skipped runs of the first half hour
    // (minutes 2 to 30) are past 30 days.
    h.clock
        .set(Timestamp::from_unix(START + 30 * DAY + 30 * 60 + 30, 0));
    let purged = retention(h, Some(30), 7).sweep().await.unwrap();
    assert_eq!((purged.runs, purged.events), (29, 58));
    assert_eq!(
        h.metrics
            .value(metrics::HISTORY_DELETED, &[("kind", "runs")]),
        29.0
    );
    assert_eq!(
        h.metrics
            .value(metrics::HISTORY_DELETED, &[("kind", "events")]),
        58.0
    );
    let runs = h.store.list_runs(APP, &RunQuery::default()).await.unwrap();
    assert_eq!(runs.pagination.nb_items, 31);
    let queued = h
        .store
        .list_runs(
            APP,
            &RunQuery {
                statuses: vec![RunStatus::Created],
                ..RunQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        queued.pagination.nb_items, 1,
        "the queued run is never deleted"
    );

    // A day later every skipped run is past it; the queued one stays.
    h.clock.set(Timestamp::from_unix(START + 31 * DAY, 0));
    let purged = retention(h, Some(30), 500).sweep().await.unwrap();
    assert_eq!((purged.runs, purged.events), (30, 60));
    let runs = h.store.list_runs(APP, &RunQuery::default()).await.unwrap();
    assert_eq!(runs.pagination.nb_items, 1);
    assert_eq!(runs.items[0].status, RunStatus::Created);
    let events = h
        .store
        .list_events(APP, &runs.items[0].run_id, &Default::default())
        .await
        .unwrap();
    assert_eq!(events.pagination.nb_items, 2);
}

async fn zero_days_keeps_everything(h: &Harness) {
    a_run_per_minute(h, 5).await;
    h.clock.set(Timestamp::from_unix(START + 3650 * DAY, 0));
    let purged = retention(h, None, 500).sweep().await.unwrap();
    assert_eq!((purged.runs, purged.events, purged.candidates), (0, 0, 0));
    let runs = h.store.list_runs(APP, &RunQuery::default()).await.unwrap();
    assert_eq!(runs.pagination.nb_items, 5);
    // One day of retention takes the four skipped runs.
    let purged = retention(h, Some(1), 500).sweep().await.unwrap();
    assert_eq!(purged.runs, 4);
}

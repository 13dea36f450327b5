//! [`Scheduler`]: fires enabled `schedule` tasks at their cron times (UTC).
//!
//! Each tick asks the store for the due schedules and fires each with
//! [`Store::fire_schedule`], a conditional update of `nextRun` (the value read must still be
//! there), so with any number of replicas each fire happens once. The new `nextRun` is the first
//! cron time **after now**, not after the missed one: after downtime a task fires once to catch
//! up, however many times it was missed. A fire while the task's previous run is still active
//! records a `skipped` run (the store decides). `lastRun` is set when a worker starts the run.
//! Time comes from the [`Clock`], so tests drive the scheduler tick by tick.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use ingest_core::metrics::{self, Metrics};
use ingest_model::cron::Schedule;
use ingest_model::{Run, Trigger};
use ingest_store::{Store, StoreResult};

use ingest_core::time::Clock;

/// How the scheduler behaves (`[scheduler]` settings).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchedulerSettings {
    /// How often due schedules are looked for.
    pub tick: Duration,
    /// Schedules fired per tick, at most (the rest wait for the next tick).
    pub batch: u32,
}

impl Default for SchedulerSettings {
    fn default() -> Self {
        Self {
            tick: Duration::from_secs(1),
            batch: 100,
        }
    }
}

/// See the [module documentation](self).
#[derive(Clone)]
pub struct Scheduler {
    store: Store,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    settings: SchedulerSettings,
}

impl Scheduler {
    /// A scheduler over `store`.
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        metrics: Arc<Metrics>,
        settings: SchedulerSettings,
    ) -> Self {
        Self {
            store,
            clock,
            metrics,
            settings,
        }
    }

    /// One tick: fires every due schedule; returns the runs this replica created.
    pub async fn tick(&self) -> StoreResult<Vec<Run>> {
        let now = self.clock.now();
        let due = self.store.due_schedules(now, self.settings.batch).await?;
        let mut fired = Vec::new();
        for schedule in due {
            let Trigger::Schedule { cron, .. } = &schedule.task.trigger else {
                continue;
            };
            let next = match Schedule::parse(cron) {
                Ok(parsed) => parsed.next_after_timestamp(now),
                Err(error) => {
                    tracing::error!(task_id = schedule.task.task_id, %error, "invalid stored cron expression");
                    None
                }
            };
            let Some(next) = next else { continue };
            if let Some(run) = self
                .store
                .fire_schedule(
                    &schedule.app_id,
                    &schedule.task.task_id,
                    schedule.next_run,
                    next,
                    now,
                )
                .await?
            {
                let status = run.status.as_str();
                self.metrics
                    .inc(metrics::SCHEDULE_FIRES, &[("status", status)]);
                tracing::info!(task_id = run.task_id, run_id = run.run_id, status, next_run = %next, "schedule fired");
                fired.push(run);
            }
        }
        Ok(fired)
    }

    /// Ticks every `settings.tick` until `shutdown` resolves.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut ticks = tokio::time::interval(self.settings.tick);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tracing::info!("scheduler started");
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                _ = ticks.tick() => {}
            }
            if let Err(error) = self.tick().await {
                tracing::warn!(%error, "scheduler: the store is unavailable");
            }
        }
        tracing::info!("scheduler stopped");
    }
}

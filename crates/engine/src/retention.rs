//! [`Retention`]: deletes history older than `[retention] days` (`docs/api.md` C21).
//!
//! Each sweep deletes finished and skipped runs whose `finishedAt` is older than the retention
//! period, with their events, in steps of [`Store::purge_history`] (a few rows per transaction,
//! so the API and the workers are never held behind one long lock), and on SQLite hands the
//! freed pages back to the file system after each step. A sweep stops after
//! [`MAX_STEPS_PER_SWEEP`] steps and the next one goes on, so a first sweep over years of
//! history does not hold the scheduler's task for long. Any number of replicas may sweep at once:
//! a row deleted twice is simply not found the second time.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use ingest_core::metrics::{self, Metrics};
use ingest_core::time::{Clock, sub};
use ingest_store::{Purged, Store, StoreResult};

/// Steps of one sweep, at most.
pub const MAX_STEPS_PER_SWEEP: u32 = 100;

/// Free SQLite pages handed back after each step, at most (4 KiB each: 8 MiB).
const PAGES_PER_STEP: u32 = 2_048;

/// How retention behaves (`[retention]` settings).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetentionSettings {
    /// Finished runs older than this are deleted with their events; `None` keeps everything.
    pub keep: Option<Duration>,
    /// Rows deleted per transaction (runs taken per step, events per delete).
    pub batch: u32,
    /// How often a sweep starts.
    pub interval: Duration,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self {
            keep: Some(Duration::from_secs(30 * 86_400)),
            batch: 500,
            interval: Duration::from_secs(300),
        }
    }
}

/// See the [module documentation](self).
#[derive(Clone)]
pub struct Retention {
    store: Store,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    settings: RetentionSettings,
}

impl Retention {
    /// Retention over `store`.
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        metrics: Arc<Metrics>,
        settings: RetentionSettings,
    ) -> Self {
        Self {
            store,
            clock,
            metrics,
            settings,
        }
    }

    /// One sweep; returns what it deleted (`candidates`: runs it found old enough).
    pub async fn sweep(&self) -> StoreResult<Purged> {
        let mut total = Purged::default();
        let Some(keep) = self.settings.keep else {
            return Ok(total);
        };
        let cutoff = sub(self.clock.now(), keep);
        for _ in 0..MAX_STEPS_PER_SWEEP {
            let step = self
                .store
                .purge_history(cutoff, self.settings.batch)
                .await?;
            total.runs += step.runs;
            total.events += step.events;
            total.candidates += step.candidates;
            self.metrics
                .add(metrics::HISTORY_DELETED, &[("kind", "runs")], step.runs);
            self.metrics
                .add(metrics::HISTORY_DELETED, &[("kind", "events")], step.events);
            if step.runs + step.events > 0 {
                self.store.release_free_pages(PAGES_PER_STEP).await?;
            }
            if step.candidates < u64::from(self.settings.batch.max(1)) {
                break;
            }
        }
        Ok(total)
    }

    /// Sweeps every `settings.interval` (the first at once) until `shutdown` resolves.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        if self.settings.keep.is_none() {
            tracing::info!("retention: history is kept without limit");
            return;
        }
        tokio::pin!(shutdown);
        let mut ticks = tokio::time::interval(self.settings.interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                _ = ticks.tick() => {}
            }
            match self.sweep().await {
                Ok(purged) if purged.runs + purged.events > 0 => {
                    tracing::info!(
                        runs = purged.runs,
                        events = purged.events,
                        "retention: old history deleted"
                    );
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "retention: the store is unavailable"),
            }
        }
    }
}

//! [`Workers`]: claim runs, execute them, keep their leases alive, and give them back on
//! shutdown; [`reaper`]: requeue the runs of workers that stopped.
//!
//! A worker process runs up to `concurrency` runs at once. It claims one whenever a slot is free
//! (when the queue is empty, it waits until the store says runs were queued, or `poll` at most;
//! it backs off when the store fails), and gives each claimed run a heartbeat task that extends
//! its lease every `heartbeat`. On shutdown it
//! stops claiming, drains its runs (in-flight batches finish, nothing new starts, each run is
//! released back to the queue so another worker resumes it at once) and returns within
//! `shutdown_grace`; what is still running then is abandoned, and its leases expire.
//!
//! A panic while a run executes (a bug, or a peer's input reaching one) is caught at the run's
//! boundary ([`run_claimed`]): the run finishes `failure` with reason code `internal`, its
//! heartbeat and every task spawned for it stop (they are aborted when their handles drop), and
//! the worker goes on claiming. A panicking run can never hold its lease, and its task, forever.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;

use ingest_core::metrics;
use ingest_store::{ClaimedRun, Store, StoreError};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::execute::{Ending, Engine};
use crate::fence::Lease;
use ingest_core::time::Clock;

/// How workers behave (`[worker]` settings).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerSettings {
    /// Runs executed at once by one process.
    pub concurrency: usize,
    /// How long a claim or heartbeat holds a run.
    pub lease: Duration,
    /// How often a held run's lease is extended.
    pub heartbeat: Duration,
    /// How often expired leases are looked for.
    pub reaper: Duration,
    /// Attempts before an abandoned run fails.
    pub max_attempts: u32,
    /// How long to wait before claiming again when the queue is empty.
    pub poll: Duration,
    /// How long a shutdown may take.
    pub shutdown_grace: Duration,
    /// The longest a run may take: past it the run fails (`worker.max_run_ms`, 6 h).
    pub max_run: Duration,
    /// This worker's name in the store (`lease_owner`).
    pub owner: String,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            concurrency: 4,
            lease: Duration::from_secs(30),
            heartbeat: Duration::from_secs(10),
            reaper: Duration::from_secs(5),
            max_attempts: 3,
            poll: Duration::from_millis(500),
            shutdown_grace: Duration::from_secs(30),
            max_run: Duration::from_secs(6 * 3600),
            owner: default_owner(),
        }
    }
}

/// `hostname-pid-random`: unique per process.
pub fn default_owner() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "worker".to_owned());
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}-{}-{}", std::process::id(), &random[..8])
}

/// A pool of run slots over one [`Engine`]: see the [module documentation](self).
pub struct Workers {
    engine: Engine,
    settings: WorkerSettings,
}

impl Workers {
    /// Workers executing runs with `engine`.
    pub fn new(engine: Engine, settings: WorkerSettings) -> Self {
        Self { engine, settings }
    }

    /// Claims and executes runs until `shutdown` resolves, then drains.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let store = self.engine.store().clone();
        let clock = self.engine.clock().clone();
        let metrics = self.engine.metrics().clone();
        let settings = self.settings;
        let slots = Arc::new(Semaphore::new(settings.concurrency.max(1)));
        let (drain, draining) = watch::channel(false);
        let mut runs = JoinSet::new();
        let mut failures = 0u32;
        tokio::pin!(shutdown);
        tracing::info!(
            owner = settings.owner,
            concurrency = settings.concurrency,
            "worker started"
        );
        let mut queued = store.queued_runs();
        loop {
            let permit = tokio::select! {
                () = &mut shutdown => break,
                Some(_) = runs.join_next(), if !runs.is_empty() => continue,
                permit = slots.clone().acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => break,
                },
            };
            let asked = Instant::now();
            // Runs queued from now on wake this loop, even while the claim below is under way.
            queued.borrow_and_update();
            let claimed = store
                .claim_next_run(&settings.owner, settings.lease, clock.now())
                .await;
            let (wait, wake_on_queue) = match claimed {
                Ok(Some(claimed)) => {
                    failures = 0;
                    metrics.observe(metrics::CLAIM_SECONDS, &[], asked.elapsed());
                    let engine = self.engine.clone();
                    let settings = settings.clone();
                    let draining = draining.clone();
                    runs.spawn(async move {
                        run_claimed(engine, claimed, &settings, asked, draining).await;
                        drop(permit);
                    });
                    continue;
                }
                Ok(None) => {
                    failures = 0;
                    (settings.poll, true)
                }
                Err(error) => {
                    failures = failures.saturating_add(1);
                    tracing::warn!(%error, "cannot claim runs: the store is unavailable; waiting");
                    let backoff = (settings.poll * failures.min(20)).min(Duration::from_secs(10));
                    (backoff, false)
                }
            };
            drop(permit);
            tokio::select! {
                () = &mut shutdown => break,
                () = tokio::time::sleep(wait) => {}
                Ok(()) = queued.changed(), if wake_on_queue => {}
            }
        }
        tracing::info!(
            running = runs.len(),
            "worker stopping: no more claims; draining runs"
        );
        let _ = drain.send(true);
        let drained = tokio::time::timeout(settings.shutdown_grace, async {
            while runs.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                abandoned = runs.len(),
                "shutdown grace period over: abandoning runs (their leases will expire)"
            );
            runs.abort_all();
        }
        tracing::info!("worker stopped");
    }
}

/// Executes one claimed run (claimed at `asked`) with its heartbeat, draining when `draining`
/// turns true: what each worker slot does, and `run-task --task-id`.
pub async fn run_claimed(
    engine: Engine,
    claimed: ClaimedRun,
    settings: &WorkerSettings,
    asked: Instant,
    mut draining: watch::Receiver<bool>,
) -> Ending {
    let lease = Arc::new(Lease::new(
        claimed.run.run_id.clone(),
        claimed.lease_token.clone(),
        settings.lease,
        asked,
    ));
    // Both stop when this function returns or unwinds.
    let _heartbeat = AbortOnDrop(tokio::spawn(heartbeat(
        engine.store().clone(),
        engine.clock().clone(),
        lease.clone(),
        settings.heartbeat,
    )));
    let _watch = {
        let lease = lease.clone();
        AbortOnDrop(tokio::spawn(async move {
            if draining.wait_for(|d| *d).await.is_ok() {
                lease.drain();
            }
        }))
    };
    let execution = AssertUnwindSafe(engine.execute(&claimed, lease.clone())).catch_unwind();
    let executed = tokio::time::timeout(settings.max_run, execution).await;
    match executed {
        Ok(Ok(ending)) => ending,
        Err(_elapsed) => {
            tracing::warn!(
                run_id = claimed.run.run_id,
                max_run_ms = settings.max_run.as_millis(),
                "the run took longer than worker.max_run_ms: it fails"
            );
            let ending = engine.finish_overtime(&lease, settings.max_run).await;
            engine
                .clean_up_abandoned(&claimed.run.app_id, &claimed.run.run_id, claimed.attempt)
                .await;
            ending
        }
        Ok(Err(panic)) => {
            let message = panic_message(panic.as_ref());
            tracing::error!(
                run_id = claimed.run.run_id,
                panic = message,
                "the run panicked: it fails, the worker goes on"
            );
            let ending = engine.finish_after_panic(&lease, &message).await;
            // A `replace` may have left its temporary index: nothing else will delete it.
            engine
                .clean_up_abandoned(&claimed.run.app_id, &claimed.run.run_id, claimed.attempt)
                .await;
            ending
        }
    }
}

/// Aborts a spawned task when dropped (also while unwinding from a panic).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The text of a panic's payload.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

/// Extends the lease every `every` until it is lost.
async fn heartbeat(store: Store, clock: Arc<dyn Clock>, lease: Arc<Lease>, every: Duration) {
    let mut ticks = tokio::time::interval_at(Instant::now() + every, every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let sent = Instant::now();
        match store
            .heartbeat(lease.run_id(), lease.token(), lease.duration(), clock.now())
            .await
        {
            Ok(_) => lease.renewed(sent),
            Err(StoreError::LeaseLost { .. }) => {
                lease.lose();
                return;
            }
            Err(error) => {
                tracing::warn!(%error, run_id = lease.run_id(), "heartbeat failed; retrying")
            }
        }
    }
}

/// Every `settings.reaper`, returns the runs whose lease expired to the queue (or fails them
/// after `max_attempts`), until `shutdown` resolves. With an `engine`, the temporary indices of
/// the runs it fails are deleted ([`Engine::clean_up_abandoned`]).
pub async fn reaper(
    store: Store,
    clock: Arc<dyn Clock>,
    settings: WorkerSettings,
    engine: Option<Engine>,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut ticks = tokio::time::interval(settings.reaper);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = &mut shutdown => return,
            _ = ticks.tick() => {}
        }
        match store
            .requeue_expired(clock.now(), settings.max_attempts)
            .await
        {
            Ok(report) => {
                for run_id in &report.requeued {
                    tracing::warn!(run_id, "lease expired: run returned to the queue");
                }
                for (run_id, app) in report.failed.iter().zip(&report.failed_apps) {
                    tracing::error!(run_id, "lease expired too many times: run failed");
                    if let Some(engine) = &engine {
                        let (engine, app, run_id) = (engine.clone(), app.clone(), run_id.clone());
                        let attempts = settings.max_attempts;
                        tokio::spawn(async move {
                            engine.clean_up_abandoned(&app, &run_id, attempts).await;
                        });
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "reaper: the store is unavailable"),
        }
    }
}

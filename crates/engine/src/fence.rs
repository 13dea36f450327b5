//! Fencing: what a worker may still do with a run it believes it holds.
//!
//! The store fences every write by the lease token, but Algolia knows nothing of leases. So a
//! [`Lease`] also keeps a **local deadline**: the instant (monotonic clock, which keeps running
//! while a process is paused) of the last successful heartbeat plus two thirds of the lease. Past
//! it, or once the store said the token is dead, [`FencedApi`] refuses every write to Algolia
//! without sending it. The store's expiry is the full lease after that heartbeat, so by the time
//! the reaper hands the run to another worker, a worker that was paused (SIGSTOP, a long GC-like
//! stall) can no longer touch the temporary index the next attempt now owns. Right before the
//! `move` that replaces the production index, one more heartbeat proves the lease still holds.
//!
//! A call already on the wire is bounded by the same deadline: the transport may retry a batch
//! for minutes, but once the lease no longer holds, the call is dropped (and fails the attempt)
//! instead of landing later in an index the next attempt may own.
//!
//! Draining (SIGTERM) also goes through the lease: new batches and the final move are refused,
//! calls already on the wire finish, the temporary index may still be deleted, and the worker
//! releases the run instead of finishing it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use ingest_algolia::{
    AlgoliaError, BatchResponse, IndexingApi, Operation, Permit, TaskId, TaskStatus,
};
use ingest_store::{Store, StoreError};
use tokio::sync::Notify;
use tokio::time::Instant;

use ingest_core::time::Clock;

/// A worker's hold on one claimed run: see the [module documentation](self).
#[derive(Debug)]
pub struct Lease {
    run_id: String,
    token: String,
    duration: Duration,
    valid_until: Mutex<Instant>,
    lost: AtomicBool,
    draining: AtomicBool,
    interfered: AtomicBool,
    changed: Notify,
}

impl Lease {
    /// A lease on `run_id` with `token`, renewed (as far as this process knows) at `renewed_at`.
    pub fn new(run_id: String, token: String, duration: Duration, renewed_at: Instant) -> Self {
        Self {
            run_id,
            token,
            duration,
            valid_until: Mutex::new(renewed_at + Self::margin(duration)),
            lost: AtomicBool::new(false),
            draining: AtomicBool::new(false),
            interfered: AtomicBool::new(false),
            changed: Notify::new(),
        }
    }

    fn margin(duration: Duration) -> Duration {
        duration.mul_f64(2.0 / 3.0)
    }

    /// The run.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The token that fences the run's changes in the store.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The lease's length in the store.
    pub fn duration(&self) -> Duration {
        self.duration
    }

    /// A heartbeat sent at `sent_at` succeeded.
    pub fn renewed(&self, sent_at: Instant) {
        let mut until = self
            .valid_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *until = (*until).max(sent_at + Self::margin(self.duration));
    }

    /// The store said the token is dead: nothing more may be changed.
    pub fn lose(&self) {
        if !self.lost.swap(true, Ordering::SeqCst) {
            self.changed.notify_waiters();
        }
    }

    /// Whether the lease is known lost.
    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// Whether writes are still allowed: not lost and within the local deadline.
    pub fn is_valid(&self) -> bool {
        let until = *self
            .valid_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        !self.is_lost() && Instant::now() < until
    }

    /// Runs the store write `write` until it succeeds, the store says the lease is lost, or the
    /// lease's local deadline passes: a store that is unavailable for less than that (a restart,
    /// a failover, a dropped connection) is waited out instead of failing the run or dropping
    /// what it wrote. Other errors are returned at once.
    pub async fn while_held<T, F>(
        &self,
        what: &str,
        mut write: impl FnMut() -> F,
    ) -> Result<T, StoreError>
    where
        F: Future<Output = Result<T, StoreError>>,
    {
        let mut delay = Duration::from_millis(50);
        loop {
            match write().await {
                Err(StoreError::LeaseLost { run_id }) => {
                    self.lose();
                    return Err(StoreError::LeaseLost { run_id });
                }
                Err(StoreError::Unavailable(error)) if self.is_valid() => {
                    tracing::warn!(
                        %error,
                        run_id = self.run_id(),
                        "{what}: the store is unavailable; retrying while the lease holds"
                    );
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(1));
                }
                other => return other,
            }
        }
    }

    /// The worker is shutting down: stop starting work on this run.
    pub fn drain(&self) {
        if !self.draining.swap(true, Ordering::SeqCst) {
            self.changed.notify_waiters();
        }
    }

    /// Whether the worker is shutting down.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// Notes that draining cut the run short (a refused call, a source stopped early): the run
    /// must be released, not finished.
    pub fn mark_interfered(&self) {
        self.interfered.store(true, Ordering::SeqCst);
    }

    /// Whether draining cut the run short.
    pub fn interfered(&self) -> bool {
        self.interfered.load(Ordering::SeqCst)
    }

    /// Resolves once the lease is lost.
    pub async fn lost(&self) {
        loop {
            let notified = self.changed.notified();
            if self.is_lost() {
                return;
            }
            notified.await;
        }
    }

    /// Resolves once writes are no longer allowed: the lease is lost, or its local deadline
    /// passed without a heartbeat moving it.
    pub async fn expired(&self) {
        loop {
            let notified = self.changed.notified();
            if !self.is_valid() {
                return;
            }
            let until = *self
                .valid_until
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            tokio::select! {
                () = notified => {}
                () = tokio::time::sleep_until(until) => {}
            }
        }
    }

    /// Resolves once the worker drains.
    pub async fn drained(&self) {
        loop {
            let notified = self.changed.notified();
            if self.is_draining() {
                return;
            }
            notified.await;
        }
    }
}

/// An [`IndexingApi`] that sends nothing once its [`Lease`] no longer allows it.
pub struct FencedApi<A> {
    inner: Arc<A>,
    lease: Arc<Lease>,
    store: Store,
    clock: Arc<dyn Clock>,
}

impl<A> FencedApi<A> {
    /// `inner`, fenced by `lease`; `store` and `clock` renew the lease before a move.
    pub fn new(inner: Arc<A>, lease: Arc<Lease>, store: Store, clock: Arc<dyn Clock>) -> Self {
        Self {
            inner,
            lease,
            store,
            clock,
        }
    }

    fn refused(&self, call: String, why: &str) -> AlgoliaError {
        AlgoliaError::Api {
            call,
            status: 409,
            message: format!("not sent: {why}"),
        }
    }

    /// Checks a write may go out; `drain_blocks` for the calls draining stops.
    fn check(&self, call: impl FnOnce() -> String, drain_blocks: bool) -> Result<(), AlgoliaError> {
        if !self.lease.is_valid() {
            return Err(self.refused(call(), "this worker no longer holds the run's lease"));
        }
        if drain_blocks && self.lease.is_draining() {
            self.lease.mark_interfered();
            return Err(self.refused(
                call(),
                "the worker is shutting down; the run goes back to the queue",
            ));
        }
        Ok(())
    }

    /// Runs `call` unless the lease stops holding first (see [`within_lease`]).
    async fn bounded<T>(
        &self,
        call: impl FnOnce() -> String,
        future: impl Future<Output = Result<T, AlgoliaError>>,
    ) -> Result<T, AlgoliaError> {
        within_lease(&self.lease, call, future).await
    }

    /// One heartbeat, now: proves the lease still holds before an irreversible call.
    async fn confirm(&self) -> Result<(), AlgoliaError> {
        let lease = &self.lease;
        let mut sent = Instant::now();
        let confirmed = lease
            .while_held("confirming the lease before the move", || {
                sent = Instant::now();
                self.store.heartbeat(
                    lease.run_id(),
                    lease.token(),
                    lease.duration(),
                    self.clock.now(),
                )
            })
            .await;
        match confirmed {
            Ok(_) => {
                lease.renewed(sent);
                Ok(())
            }
            Err(StoreError::LeaseLost { .. }) => {
                Err(self.refused("move".into(), "this worker no longer holds the run's lease"))
            }
            Err(error) => Err(self.refused(
                "move".into(),
                &format!("the lease could not be confirmed: {error}"),
            )),
        }
    }
}

impl<A: IndexingApi + 'static> IndexingApi for FencedApi<A> {
    async fn batch(
        &self,
        index: &str,
        body: Bytes,
        idempotent: bool,
    ) -> Result<BatchResponse, AlgoliaError> {
        self.check(|| format!("batch on `{index}`"), true)?;
        self.bounded(
            || format!("batch on `{index}`"),
            self.inner.batch(index, body, idempotent),
        )
        .await
    }

    async fn batch_paced(
        &self,
        index: &str,
        body: Bytes,
        idempotent: bool,
        permit: &Permit,
    ) -> Result<BatchResponse, AlgoliaError> {
        self.check(|| format!("batch on `{index}`"), true)?;
        self.bounded(
            || format!("batch on `{index}`"),
            self.inner.batch_paced(index, body, idempotent, permit),
        )
        .await
    }

    async fn operation(&self, index: &str, operation: &Operation) -> Result<TaskId, AlgoliaError> {
        self.check(|| format!("operation on `{index}`"), true)?;
        if matches!(operation, Operation::Move { .. }) {
            self.confirm().await?;
            self.check(|| format!("move of `{index}`"), true)?;
        }
        self.bounded(
            || format!("operation on `{index}`"),
            self.inner.operation(index, operation),
        )
        .await
    }

    async fn task_status(&self, index: &str, task_id: TaskId) -> Result<TaskStatus, AlgoliaError> {
        self.inner.task_status(index, task_id).await
    }

    async fn delete_index(&self, index: &str) -> Result<TaskId, AlgoliaError> {
        self.check(|| format!("delete of `{index}`"), false)?;
        self.bounded(
            || format!("delete of `{index}`"),
            self.inner.delete_index(index),
        )
        .await
    }
}

/// `future` (an Algolia call, with its retries), dropped with an error naming `call` if the lease
/// stops holding before it ends.
pub(crate) async fn within_lease<T>(
    lease: &Lease,
    call: impl FnOnce() -> String,
    future: impl Future<Output = Result<T, AlgoliaError>>,
) -> Result<T, AlgoliaError> {
    tokio::select! {
        biased;
        () = lease.expired() => Err(AlgoliaError::Api {
            call: call(),
            status: 409,
            message: "abandoned: this worker no longer holds the run's lease".into(),
        }),
        result = future => result,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(seconds: u64) -> Lease {
        Lease::new(
            "r".into(),
            "t".into(),
            Duration::from_secs(seconds),
            Instant::now(),
        )
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_that_outlives_the_lease_is_dropped() {
        let lease = lease(30);
        let forever = std::future::pending::<Result<(), AlgoliaError>>();
        let started = Instant::now();
        let error = within_lease(&lease, || "batch on `p_tmp`".into(), forever)
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("batch on `p_tmp`"), "{error}");
        assert!(error.contains("no longer holds"), "{error}");
        // Two thirds of the lease: the local deadline, well before the store's expiry.
        assert_eq!(started.elapsed(), Duration::from_secs(20));
    }

    #[tokio::test(start_paused = true)]
    async fn heartbeats_keep_a_long_call_going() {
        let lease = Arc::new(lease(30));
        let renewer = lease.clone();
        let heartbeats = tokio::spawn(async move {
            for _ in 0..6 {
                tokio::time::sleep(Duration::from_secs(10)).await;
                renewer.renewed(Instant::now());
            }
        });
        let slow = async {
            tokio::time::sleep(Duration::from_secs(50)).await;
            Ok::<_, AlgoliaError>(7)
        };
        assert_eq!(
            within_lease(&lease, || "batch".into(), slow).await.unwrap(),
            7
        );
        heartbeats.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_lost_lease_ends_the_call_at_once() {
        let lease = Arc::new(lease(30));
        let loser = lease.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            loser.lose();
        });
        let started = Instant::now();
        let forever = std::future::pending::<Result<(), AlgoliaError>>();
        assert!(
            within_lease(&lease, || "move".into(), forever)
                .await
                .is_err()
        );
        assert_eq!(started.elapsed(), Duration::from_secs(1));
    }
}

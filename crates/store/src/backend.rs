//! What both backends share: the pools and the key ([`Inner`]), and the one implementation of
//! [`Store`] over them (every method delegates to its resource module).

use std::time::Duration;

use async_trait::async_trait;
use ingest_model::{
    Authentication, AuthenticationCreate, AuthenticationUpdate, Destination, DestinationCreate,
    DestinationUpdate, Event, Run, RunProgress, Source, SourceCreate, SourceUpdate, Task,
    TaskCreate, TaskUpdate, Timestamp,
};

use crate::db::Pools;
use crate::signal::QueueSignal;
use crate::{
    AuthenticationQuery, AuthenticationWithSecrets, ClaimedRun, DestinationQuery, DueSchedule,
    EventQuery, FinishedRun, NewEvent, Page, Requeued, RunFinish, RunQuery, SecretKey, SourceQuery,
    Store, StoreResult, TaskQuery, auth, destination, event, run, schedule, signal, source, task,
    worker,
};

/// The state of a store: its connection pools, its secret key and its queue signal.
#[derive(Debug, Clone)]
pub struct Inner {
    pub(crate) pools: Pools,
    pub(crate) key: SecretKey,
    pub(crate) queue: QueueSignal,
}

impl Inner {
    /// Runs may have become claimable: wakes this process's workers and, on PostgreSQL, every
    /// other process's (best effort: workers also poll).
    async fn queued(&self) {
        self.queue.bump();
        if let Pools::Postgres(pool) = &self.pools {
            // Best effort: without it, other processes' workers find the run at their next poll.
            let _ = sqlx::query("SELECT pg_notify($1, '')")
                .bind(signal::CHANNEL)
                .execute(pool)
                .await;
        }
    }
}

pub(crate) mod sealed {
    /// Implemented by the two backends; gives the shared [`Store`](crate::Store) implementation
    /// access to their state.
    pub trait Backend: Send + Sync + 'static {
        /// The pools and key.
        fn inner(&self) -> &super::Inner;
    }
}

#[async_trait]
impl<B: sealed::Backend> Store for B {
    async fn ping(&self) -> StoreResult<()> {
        let mut tx = self.inner().pools.read().await?;
        tx.fetch_count("SELECT CAST(1 AS BIGINT)", Vec::new())
            .await?;
        Ok(())
    }

    async fn create_authentication(
        &self,
        app: &str,
        input: &AuthenticationCreate,
        now: Timestamp,
    ) -> StoreResult<Authentication> {
        auth::create(self.inner(), app, input, now).await
    }

    async fn get_authentication(&self, app: &str, id: &str) -> StoreResult<Authentication> {
        auth::get(self.inner(), app, id).await
    }

    async fn authentication_with_secrets(
        &self,
        app: &str,
        id: &str,
    ) -> StoreResult<AuthenticationWithSecrets> {
        auth::with_secrets(self.inner(), app, id).await
    }

    async fn list_authentications(
        &self,
        app: &str,
        query: &AuthenticationQuery,
    ) -> StoreResult<Page<Authentication>> {
        auth::list(self.inner(), app, query).await
    }

    async fn search_authentications(
        &self,
        app: &str,
        ids: &[String],
    ) -> StoreResult<Vec<Authentication>> {
        auth::search_ids(self.inner(), app, ids).await
    }

    async fn update_authentication(
        &self,
        app: &str,
        id: &str,
        update: &AuthenticationUpdate,
        now: Timestamp,
    ) -> StoreResult<Authentication> {
        auth::update(self.inner(), app, id, update, now).await
    }

    async fn delete_authentication(&self, app: &str, id: &str, now: Timestamp) -> StoreResult<()> {
        auth::delete(self.inner(), app, id, now).await
    }

    async fn create_destination(
        &self,
        app: &str,
        input: &DestinationCreate,
        now: Timestamp,
    ) -> StoreResult<Destination> {
        destination::create(self.inner(), app, input, now).await
    }

    async fn get_destination(&self, app: &str, id: &str) -> StoreResult<Destination> {
        destination::get(self.inner(), app, id).await
    }

    async fn list_destinations(
        &self,
        app: &str,
        query: &DestinationQuery,
    ) -> StoreResult<Page<Destination>> {
        destination::list(self.inner(), app, query).await
    }

    async fn search_destinations(
        &self,
        app: &str,
        ids: &[String],
    ) -> StoreResult<Vec<Destination>> {
        destination::search_ids(self.inner(), app, ids).await
    }

    async fn update_destination(
        &self,
        app: &str,
        id: &str,
        update: &DestinationUpdate,
        now: Timestamp,
    ) -> StoreResult<Destination> {
        destination::update(self.inner(), app, id, update, now).await
    }

    async fn delete_destination(&self, app: &str, id: &str, now: Timestamp) -> StoreResult<()> {
        destination::delete(self.inner(), app, id, now).await
    }

    async fn create_source(
        &self,
        app: &str,
        input: &SourceCreate,
        now: Timestamp,
    ) -> StoreResult<Source> {
        source::create(self.inner(), app, input, now).await
    }

    async fn get_source(&self, app: &str, id: &str) -> StoreResult<Source> {
        source::get(self.inner(), app, id).await
    }

    async fn list_sources(&self, app: &str, query: &SourceQuery) -> StoreResult<Page<Source>> {
        source::list(self.inner(), app, query).await
    }

    async fn search_sources(&self, app: &str, ids: &[String]) -> StoreResult<Vec<Source>> {
        source::search_ids(self.inner(), app, ids).await
    }

    async fn update_source(
        &self,
        app: &str,
        id: &str,
        update: &SourceUpdate,
        now: Timestamp,
    ) -> StoreResult<Source> {
        source::update(self.inner(), app, id, update, now).await
    }

    async fn delete_source(&self, app: &str, id: &str, now: Timestamp) -> StoreResult<()> {
        source::delete(self.inner(), app, id, now).await
    }

    async fn create_task(
        &self,
        app: &str,
        input: &TaskCreate,
        next_run: Option<Timestamp>,
        now: Timestamp,
    ) -> StoreResult<Task> {
        task::create(self.inner(), app, input, next_run, now).await
    }

    async fn get_task(&self, app: &str, id: &str) -> StoreResult<Task> {
        task::get(self.inner(), app, id).await
    }

    async fn list_tasks(&self, app: &str, query: &TaskQuery) -> StoreResult<Page<Task>> {
        task::list(self.inner(), app, query).await
    }

    async fn search_tasks(&self, app: &str, ids: &[String]) -> StoreResult<Vec<Task>> {
        task::search_ids(self.inner(), app, ids).await
    }

    async fn update_task(
        &self,
        app: &str,
        id: &str,
        update: &TaskUpdate,
        next_run: Option<Timestamp>,
        now: Timestamp,
    ) -> StoreResult<Task> {
        task::update(self.inner(), app, id, update, next_run, now).await
    }

    async fn set_task_enabled(
        &self,
        app: &str,
        id: &str,
        enabled: bool,
        now: Timestamp,
    ) -> StoreResult<Task> {
        task::set_enabled(self.inner(), app, id, enabled, now).await
    }

    async fn set_task_run_times(
        &self,
        app: &str,
        id: &str,
        last_run: Option<Timestamp>,
        next_run: Option<Timestamp>,
    ) -> StoreResult<Task> {
        task::set_run_times(self.inner(), app, id, last_run, next_run).await
    }

    async fn delete_task(&self, app: &str, id: &str, now: Timestamp) -> StoreResult<()> {
        task::delete(self.inner(), app, id, now).await
    }

    async fn create_run(&self, app: &str, task_id: &str, now: Timestamp) -> StoreResult<Run> {
        let run = run::create(self.inner(), app, task_id, None, now).await?;
        self.inner().queued().await;
        Ok(run)
    }

    async fn create_triggered_run(
        &self,
        app: &str,
        task_id: &str,
        payload: &serde_json::Value,
        now: Timestamp,
    ) -> StoreResult<Run> {
        let run = run::create(self.inner(), app, task_id, Some(payload), now).await?;
        self.inner().queued().await;
        Ok(run)
    }

    async fn get_run(&self, app: &str, id: &str) -> StoreResult<Run> {
        run::get(self.inner(), app, id).await
    }

    async fn list_runs(&self, app: &str, query: &RunQuery) -> StoreResult<Page<Run>> {
        run::list(self.inner(), app, query).await
    }

    async fn insert_events(
        &self,
        app: &str,
        run_id: &str,
        events: &[NewEvent],
    ) -> StoreResult<Vec<Event>> {
        event::insert(self.inner(), app, run_id, events).await
    }

    async fn get_event(&self, app: &str, run_id: &str, event_id: &str) -> StoreResult<Event> {
        event::get(self.inner(), app, run_id, event_id).await
    }

    async fn list_events(
        &self,
        app: &str,
        run_id: &str,
        query: &EventQuery,
    ) -> StoreResult<Page<Event>> {
        event::list(self.inner(), app, run_id, query).await
    }

    async fn claim_next_run(
        &self,
        owner: &str,
        lease: Duration,
        now: Timestamp,
    ) -> StoreResult<Option<ClaimedRun>> {
        worker::claim(self.inner(), None, owner, lease, now).await
    }

    async fn claim_run(
        &self,
        run_id: &str,
        owner: &str,
        lease: Duration,
        now: Timestamp,
    ) -> StoreResult<Option<ClaimedRun>> {
        worker::claim(self.inner(), Some(run_id), owner, lease, now).await
    }

    async fn release_run(
        &self,
        run_id: &str,
        lease_token: &str,
        now: Timestamp,
    ) -> StoreResult<()> {
        worker::release(self.inner(), run_id, lease_token, now).await?;
        self.inner().queued().await;
        Ok(())
    }

    fn queued_runs(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner().queue.subscribe()
    }

    async fn queue_depth(&self) -> StoreResult<u64> {
        worker::queue_depth(self.inner()).await
    }

    async fn heartbeat(
        &self,
        run_id: &str,
        lease_token: &str,
        lease: Duration,
        now: Timestamp,
    ) -> StoreResult<Timestamp> {
        worker::heartbeat(self.inner(), run_id, lease_token, lease, now).await
    }

    async fn record_events(
        &self,
        run_id: &str,
        lease_token: &str,
        events: &[NewEvent],
        progress: Option<RunProgress>,
        now: Timestamp,
    ) -> StoreResult<Vec<Event>> {
        worker::record_events(self.inner(), run_id, lease_token, events, progress, now).await
    }

    async fn finish_run(
        &self,
        run_id: &str,
        lease_token: &str,
        finish: &RunFinish,
        now: Timestamp,
    ) -> StoreResult<FinishedRun> {
        worker::finish(self.inner(), run_id, lease_token, finish, now).await
    }

    async fn requeue_expired(&self, now: Timestamp, max_attempts: u32) -> StoreResult<Requeued> {
        let report = worker::requeue_expired(self.inner(), now, max_attempts).await?;
        if !report.requeued.is_empty() {
            self.inner().queued().await;
        }
        Ok(report)
    }

    async fn due_schedules(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<DueSchedule>> {
        schedule::due(self.inner(), now, limit).await
    }

    async fn fire_schedule(
        &self,
        app: &str,
        task_id: &str,
        expected_next_run: Timestamp,
        next_run: Timestamp,
        now: Timestamp,
    ) -> StoreResult<Option<Run>> {
        let run =
            schedule::fire(self.inner(), app, task_id, expected_next_run, next_run, now).await?;
        if run.is_some() {
            self.inner().queued().await;
        }
        Ok(run)
    }
}

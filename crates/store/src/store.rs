//! The [`Store`] trait: every operation of the control plane and of the workers.

use std::time::Duration;

use async_trait::async_trait;
use ingest_model::{
    Authentication, AuthenticationCreate, AuthenticationUpdate, Destination, DestinationCreate,
    DestinationUpdate, Event, Run, Source, SourceCreate, SourceUpdate, Task, TaskCreate,
    TaskUpdate, Timestamp,
};

use crate::{
    AuthenticationQuery, AuthenticationWithSecrets, ClaimedRun, DestinationQuery, DueSchedule,
    EventQuery, FinishedRun, NewEvent, Page, Requeued, RunFinish, RunQuery, SourceQuery,
    StoreResult, TaskQuery,
};

/// The storage of the control plane, implemented by [`crate::SqliteStore`] and
/// [`crate::PostgresStore`]; use it as `Arc<dyn Store>`.
///
/// `app` is the application ID (`X-Algolia-Application-Id`): it scopes every resource
/// operation. `now` is the current time, chosen by the caller. Lists validate their paging
/// ([`StoreError::Invalid`](crate::StoreError::Invalid) on `page` 0 or `itemsPerPage` outside
/// 1..=100). Search operations return the live resources among the IDs, in the order asked,
/// each once, skipping unknown IDs.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Checks that the database answers (`SELECT 1`): for readiness probes and start-up.
    /// [`StoreError::Unavailable`](crate::StoreError::Unavailable) when it does not.
    async fn ping(&self) -> StoreResult<()>;

    // ---- authentications ----

    /// Creates an authentication; its secrets are encrypted.
    async fn create_authentication(
        &self,
        app: &str,
        input: &AuthenticationCreate,
        now: Timestamp,
    ) -> StoreResult<Authentication>;

    /// One authentication, secrets absent (`null` in `input`).
    async fn get_authentication(&self, app: &str, id: &str) -> StoreResult<Authentication>;

    /// One authentication with its decrypted credentials, for workers only.
    async fn authentication_with_secrets(
        &self,
        app: &str,
        id: &str,
    ) -> StoreResult<AuthenticationWithSecrets>;

    /// A page of authentications (filters `type`, `platform`).
    async fn list_authentications(
        &self,
        app: &str,
        query: &AuthenticationQuery,
    ) -> StoreResult<Page<Authentication>>;

    /// The live authentications among `ids`.
    async fn search_authentications(
        &self,
        app: &str,
        ids: &[String],
    ) -> StoreResult<Vec<Authentication>>;

    /// Applies a PATCH. The input is resolved against the stored one
    /// ([`AuthenticationUpdate::resolve_input`]): an omitted or `null` secret keeps the stored
    /// value; a type change needs an input ([`StoreError::Invalid`](crate::StoreError::Invalid)
    /// otherwise) and is refused with `InUse` when a live source or destination needs the old
    /// kind.
    async fn update_authentication(
        &self,
        app: &str,
        id: &str,
        update: &AuthenticationUpdate,
        now: Timestamp,
    ) -> StoreResult<Authentication>;

    /// Soft-deletes an authentication; `InUse` while a live source or destination uses it.
    async fn delete_authentication(&self, app: &str, id: &str, now: Timestamp) -> StoreResult<()>;

    // ---- destinations ----

    /// Creates a destination; its `authenticationID`, if any, must be a live `algolia`
    /// authentication (`InvalidReference` otherwise).
    async fn create_destination(
        &self,
        app: &str,
        input: &DestinationCreate,
        now: Timestamp,
    ) -> StoreResult<Destination>;

    /// One destination.
    async fn get_destination(&self, app: &str, id: &str) -> StoreResult<Destination>;

    /// A page of destinations (filters `type`, `authenticationID`).
    async fn list_destinations(
        &self,
        app: &str,
        query: &DestinationQuery,
    ) -> StoreResult<Page<Destination>>;

    /// The live destinations among `ids`.
    async fn search_destinations(&self, app: &str, ids: &[String])
    -> StoreResult<Vec<Destination>>;

    /// Applies a PATCH (same reference rule as create).
    async fn update_destination(
        &self,
        app: &str,
        id: &str,
        update: &DestinationUpdate,
        now: Timestamp,
    ) -> StoreResult<Destination>;

    /// Soft-deletes a destination; `InUse` while a live task uses it.
    async fn delete_destination(&self, app: &str, id: &str, now: Timestamp) -> StoreResult<()>;

    // ---- sources ----

    /// Creates a source; its `authenticationID`, if any, must be a live authentication of the
    /// kind its type needs (commercetools `oauth`, BigCommerce `apiKey`, BigQuery
    /// `googleServiceAccount`; JSON and CSV any kind).
    async fn create_source(
        &self,
        app: &str,
        input: &SourceCreate,
        now: Timestamp,
    ) -> StoreResult<Source>;

    /// One source.
    async fn get_source(&self, app: &str, id: &str) -> StoreResult<Source>;

    /// A page of sources (filters `type`, `authenticationID` with `none`).
    async fn list_sources(&self, app: &str, query: &SourceQuery) -> StoreResult<Page<Source>>;

    /// The live sources among `ids`.
    async fn search_sources(&self, app: &str, ids: &[String]) -> StoreResult<Vec<Source>>;

    /// Applies a PATCH: the input is parsed against the stored type
    /// ([`SourceUpdate::parse_input`]) and merged ([`ingest_model::SourceInput::updated`]).
    /// Refused (`Invalid`, path `input.uniqueIDColumn`) when it would leave a live `save` task
    /// without objectIDs.
    async fn update_source(
        &self,
        app: &str,
        id: &str,
        update: &SourceUpdate,
        now: Timestamp,
    ) -> StoreResult<Source>;

    /// Soft-deletes a source; `InUse` while a live task uses it.
    async fn delete_source(&self, app: &str, id: &str, now: Timestamp) -> StoreResult<()>;

    // ---- tasks ----

    /// Creates a task. `sourceID` and `destinationID` must be live (`InvalidReference`); a
    /// `save` task needs a source that provides objectIDs (`Invalid`, path `action`, Part C 8).
    /// `next_run` is the schedule's next fire time, computed by the caller from the cron
    /// expression: required for a schedule trigger (`Invalid`, path `trigger.cron`, without it),
    /// ignored otherwise.
    async fn create_task(
        &self,
        app: &str,
        input: &TaskCreate,
        next_run: Option<Timestamp>,
        now: Timestamp,
    ) -> StoreResult<Task>;

    /// One task.
    async fn get_task(&self, app: &str, id: &str) -> StoreResult<Task>;

    /// A page of tasks (filters `action`, `enabled`, `sourceID`, `destinationID`,
    /// `triggerType`).
    async fn list_tasks(&self, app: &str, query: &TaskQuery) -> StoreResult<Page<Task>>;

    /// The live tasks among `ids`.
    async fn search_tasks(&self, app: &str, ids: &[String]) -> StoreResult<Vec<Task>>;

    /// Applies a PATCH (same rules as create). `next_run` is required when the update sets a
    /// schedule trigger; a trigger that is not a schedule clears `nextRun`.
    async fn update_task(
        &self,
        app: &str,
        id: &str,
        update: &TaskUpdate,
        next_run: Option<Timestamp>,
        now: Timestamp,
    ) -> StoreResult<Task>;

    /// `PUT /1/tasks/{id}/enable` or `/disable`: sets `enabled`, bumps `updatedAt`. Enabling
    /// resets the count of failed runs in a row.
    async fn set_task_enabled(
        &self,
        app: &str,
        id: &str,
        enabled: bool,
        now: Timestamp,
    ) -> StoreResult<Task>;

    /// Sets a task's `lastRun` and/or `nextRun` (each `None` leaves the value alone), without
    /// touching `updatedAt`: the scheduler's bookkeeping.
    async fn set_task_run_times(
        &self,
        app: &str,
        id: &str,
        last_run: Option<Timestamp>,
        next_run: Option<Timestamp>,
    ) -> StoreResult<Task>;

    /// Soft-deletes a task. Its runs stay; those still `created` become `skipped`.
    async fn delete_task(&self, app: &str, id: &str, now: Timestamp) -> StoreResult<()>;

    // ---- runs and events ----

    /// `POST /1/tasks/{id}/run`: a run in `created`, type `reindex` for `replace` and `update`
    /// for `save`, with the task's `failureThreshold`. Works on disabled tasks.
    async fn create_run(&self, app: &str, task_id: &str, now: Timestamp) -> StoreResult<Run>;

    /// `POST /1/tasks/{id}/webhook`: like [`Store::create_run`], with the payload of the event
    /// that triggered the run, stored with it and handed to the worker that claims it
    /// ([`ClaimedRun::trigger_payload`]).
    async fn create_triggered_run(
        &self,
        app: &str,
        task_id: &str,
        payload: &serde_json::Value,
        now: Timestamp,
    ) -> StoreResult<Run>;

    /// One run.
    async fn get_run(&self, app: &str, id: &str) -> StoreResult<Run>;

    /// A page of runs (filters `status`, `taskID`, creation window).
    async fn list_runs(&self, app: &str, query: &RunQuery) -> StoreResult<Page<Run>>;

    /// Appends events to a run without a lease (tools and tests; workers use
    /// [`Store::record_events`]). `NotFound` when the run is not in `app`.
    async fn insert_events(
        &self,
        app: &str,
        run_id: &str,
        events: &[NewEvent],
    ) -> StoreResult<Vec<Event>>;

    /// One event of a run.
    async fn get_event(&self, app: &str, run_id: &str, event_id: &str) -> StoreResult<Event>;

    /// A page of the events of a run (filters `status`, `type`, publication window); `NotFound`
    /// when the run is not in `app`.
    async fn list_events(
        &self,
        app: &str,
        run_id: &str,
        query: &EventQuery,
    ) -> StoreResult<Page<Event>>;

    // ---- workers (every change fenced by the lease token) ----

    /// Claims the oldest `created` run of a live task that has no `started` run: it becomes
    /// `started` (`startedAt` = now, `attempt` + 1) with a new lease held by `owner` until
    /// `now + lease`; the task's `lastRun` becomes now. `None` when nothing is claimable. Never
    /// hands one run to two callers.
    async fn claim_next_run(
        &self,
        owner: &str,
        lease: Duration,
        now: Timestamp,
    ) -> StoreResult<Option<ClaimedRun>>;

    /// Claims one given run, as [`Store::claim_next_run`] would (`run-task --task-id`): `None`
    /// when it is not `created` or its task already has a `started` run.
    async fn claim_run(
        &self,
        run_id: &str,
        owner: &str,
        lease: Duration,
        now: Timestamp,
    ) -> StoreResult<Option<ClaimedRun>>;

    /// Gives a held run back to the queue at once (a worker shutting down): `created` again,
    /// lease cleared, with a `log` event saying so; the attempt it used still counts.
    /// `LeaseLost` when the token no longer holds it.
    async fn release_run(&self, run_id: &str, lease_token: &str, now: Timestamp)
    -> StoreResult<()>;

    /// How many runs wait in `created`, over every application (the queue depth metric).
    async fn queue_depth(&self) -> StoreResult<u64>;

    /// A receiver whose `changed()` resolves when runs may have become claimable (created,
    /// fired by a schedule, released, requeued), in this process or, on PostgreSQL, in any
    /// process sharing the database: idle workers wait on it between polls.
    fn queued_runs(&self) -> tokio::sync::watch::Receiver<u64>;

    /// Extends the lease to `now + lease`; returns the new expiry. `LeaseLost` when the token no
    /// longer holds the run (nothing changes then).
    async fn heartbeat(
        &self,
        run_id: &str,
        lease_token: &str,
        lease: Duration,
        now: Timestamp,
    ) -> StoreResult<Timestamp>;

    /// Appends events to a run the caller holds, and sets its progress when `progress` is given.
    async fn record_events(
        &self,
        run_id: &str,
        lease_token: &str,
        events: &[NewEvent],
        progress: Option<ingest_model::RunProgress>,
        now: Timestamp,
    ) -> StoreResult<Vec<Event>>;

    /// Finishes a run the caller holds: `finished` with the outcome, lease cleared. A failure
    /// counts towards auto-disable ([`crate::AUTO_DISABLE_AFTER`] in a row disable the task,
    /// with a `log` event); a success resets the count.
    async fn finish_run(
        &self,
        run_id: &str,
        lease_token: &str,
        finish: &RunFinish,
        now: Timestamp,
    ) -> StoreResult<FinishedRun>;

    /// Handles `started` runs whose lease expired before `now`: back to `created` while their
    /// `attempt` is below `max_attempts`, otherwise `finished` with outcome `failure` (reason
    /// code `internal`). Their old tokens are dead either way; a `log` event on each run says
    /// what happened.
    async fn requeue_expired(&self, now: Timestamp, max_attempts: u32) -> StoreResult<Requeued>;

    // ---- scheduler ----

    /// Enabled, live schedule tasks of every application whose `nextRun` is at or before `now`,
    /// oldest first, at most `limit`.
    async fn due_schedules(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<DueSchedule>>;

    /// Fires a due schedule once across replicas: if the task's `nextRun` still equals
    /// `expected_next_run`, sets it to `next_run` and creates a run: `created`, or `skipped`
    /// (with a reason) while a previous run of the task is still `created` or `started`.
    /// `None` when another replica fired it first (or the task changed).
    async fn fire_schedule(
        &self,
        app: &str,
        task_id: &str,
        expected_next_run: Timestamp,
        next_run: Timestamp,
        now: Timestamp,
    ) -> StoreResult<Option<Run>>;
}

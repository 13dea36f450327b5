//! Runs and their events as the API sees them: a run is created by `POST /1/tasks/{id}/run` (or
//! a webhook, or the scheduler), read and listed; events are appended to a run and listed. The
//! workers' side of runs (claims, leases, finishing) is in `workers`.

use ingest_model::{
    ActionType, Event, EventSortKeys, EventStatus, EventType, Order, Run, RunOutcome, RunProgress,
    RunSortKeys, RunStatus, RunType, Task, Timestamp, TriggerPayload,
};
use serde_json::{Map, Value};

use crate::db::{Row, Tx, args, new_id};
use crate::filter::{Count, Where, order_by, page, page_counted};
use crate::query::{Page, PageRequest};
use crate::store::Store;
use crate::tasks::{fetch as fetch_task, task};
use crate::{Resource, StoreError, StoreResult};

/// `GET /1/runs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunQuery {
    /// Paging.
    pub page: PageRequest,
    /// Sort key.
    pub sort: RunSortKeys,
    /// Sort order.
    pub order: Order,
    /// `status` filter.
    pub statuses: Vec<RunStatus>,
    /// `taskID` filter.
    pub task_id: Option<String>,
    /// `type` filter (`docs/api.md` D1).
    pub types: Vec<RunType>,
    /// Only runs created at or after this instant (`startDate`).
    pub start_date: Option<Timestamp>,
    /// Only runs created at or before this instant (`endDate`).
    pub end_date: Option<Timestamp>,
    /// Only runs with one of these outcomes (the console's filter; none: any).
    pub outcomes: Vec<RunOutcome>,
}

impl Default for RunQuery {
    fn default() -> Self {
        Self {
            page: PageRequest::default(),
            sort: RunSortKeys::CreatedAt,
            order: Order::Desc,
            statuses: Vec::new(),
            task_id: None,
            types: Vec::new(),
            start_date: None,
            end_date: None,
            outcomes: Vec::new(),
        }
    }
}

/// `GET /1/runs/{runID}/events`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventQuery {
    /// Paging.
    pub page: PageRequest,
    /// Sort key.
    pub sort: EventSortKeys,
    /// Sort order.
    pub order: Order,
    /// `status` filter.
    pub statuses: Vec<EventStatus>,
    /// `type` filter.
    pub types: Vec<EventType>,
    /// Only events published at or after this instant (`startDate`).
    pub start_date: Option<Timestamp>,
    /// Only events published at or before this instant (`endDate`).
    pub end_date: Option<Timestamp>,
}

impl Default for EventQuery {
    fn default() -> Self {
        Self {
            page: PageRequest::default(),
            sort: EventSortKeys::PublishedAt,
            order: Order::Desc,
            statuses: Vec::new(),
            types: Vec::new(),
            start_date: None,
            end_date: None,
        }
    }
}

/// An event to append to a run (`docs/api.md` C12). The store assigns `eventID`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// `parentID`: the event that caused this one.
    pub parent_id: Option<String>,
    /// `status`.
    pub status: EventStatus,
    /// `type`.
    pub event_type: EventType,
    /// `data`: URL without credentials, bytes, index, reason ... Never a secret.
    pub data: Option<Map<String, Value>>,
    /// `batchSize`: the records the event covers (0 when none).
    pub batch_size: u64,
    /// `publishedAt`.
    pub published_at: Timestamp,
}

impl Store {
    /// `POST /1/tasks/{id}/run`: a run in `created`, type `reindex` for `replace` and `update`
    /// for `save`, with the task's `failureThreshold`. Works on disabled tasks.
    pub async fn create_run(&self, app: &str, task_id: &str, now: Timestamp) -> StoreResult<Run> {
        self.enqueue(app, task_id, None, None, now).await
    }

    /// `POST /2/tasks/{id}/run`: like [`Store::create_run`], keeping `metadata` on the run
    /// (returned as `runMetadata`, `docs/api.md` D2).
    pub async fn create_run_with_metadata(
        &self,
        app: &str,
        task_id: &str,
        metadata: Option<&Map<String, Value>>,
        now: Timestamp,
    ) -> StoreResult<Run> {
        self.enqueue(app, task_id, None, metadata, now).await
    }

    /// `POST /1/tasks/{id}/webhook`: like [`Store::create_run`], with the payload of the event
    /// that triggered the run, stored with it and handed to the worker that claims it
    /// ([`ClaimedRun::trigger_payload`](crate::ClaimedRun::trigger_payload)).
    pub async fn create_triggered_run(
        &self,
        app: &str,
        task_id: &str,
        payload: &TriggerPayload,
        now: Timestamp,
    ) -> StoreResult<Run> {
        self.enqueue(app, task_id, Some(payload), None, now).await
    }

    /// `POST /1/sources/{id}/run` (`docs/api.md` D6): a run of one of the source's tasks, limited
    /// to some objects when `payload` says so, with the request's `runMetadata`.
    pub async fn create_source_run(
        &self,
        app: &str,
        task_id: &str,
        payload: Option<&TriggerPayload>,
        metadata: Option<&Map<String, Value>>,
        now: Timestamp,
    ) -> StoreResult<Run> {
        self.enqueue(app, task_id, payload, metadata, now).await
    }

    /// One run.
    pub async fn get_run(&self, app: &str, id: &str) -> StoreResult<Run> {
        let mut tx = self.pools.read().await?;
        run(&fetch(&mut tx, app, id).await?)
    }

    /// A page of runs (filters `status`, `taskID`, creation window).
    pub async fn list_runs(&self, app: &str, query: &RunQuery) -> StoreResult<Page<Run>> {
        use RunSortKeys as K;
        let mut filter = Where::app(app, false);
        filter.any_of("status", query.statuses.iter().map(|s| s.as_str()));
        filter.any_of("type", query.types.iter().map(|t| t.as_str()));
        filter.any_of("outcome", query.outcomes.iter().map(|o| o.as_str()));
        if let Some(task_id) = &query.task_id {
            filter.eq("task_id", task_id);
        }
        if let Some(start) = query.start_date {
            filter.cmp("created_at", ">=", start);
        }
        if let Some(end) = query.end_date {
            filter.cmp("created_at", "<=", end);
        }
        let sort = match query.sort {
            K::Status => "status",
            K::UpdatedAt => "updated_at",
            K::CreatedAt => "created_at",
        };
        // Without a date window every filter is a column of `run_counts` (docs/api.md C21).
        let count = if query.start_date.is_none()
            && query.end_date.is_none()
            && query.outcomes.is_empty()
        {
            Count::Counters("run_counts")
        } else {
            Count::Rows
        };
        let mut tx = self.pools.read().await?;
        let (rows, pagination) = page_counted(
            &mut tx,
            "runs",
            RUN_COLUMNS,
            filter,
            &order_by(sort, query.order),
            &query.page,
            count,
        )
        .await?;
        let items = rows.iter().map(run).collect::<StoreResult<_>>()?;
        Ok(Page { items, pagination })
    }

    /// Appends events to a run without a lease (tools and tests; workers use
    /// [`Store::record_events`]). `NotFound` when the run is not in `app`.
    pub async fn insert_events(
        &self,
        app: &str,
        run_id: &str,
        events: &[NewEvent],
    ) -> StoreResult<Vec<Event>> {
        let mut tx = self.pools.write().await?;
        fetch(&mut tx, app, run_id).await?;
        let out = append_events(&mut tx, app, run_id, events).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// One event of a run.
    pub async fn get_event(&self, app: &str, run_id: &str, event_id: &str) -> StoreResult<Event> {
        let mut tx = self.pools.read().await?;
        fetch(&mut tx, app, run_id).await?;
        let row = tx
            .fetch_optional(
                &format!(
                    "SELECT {EVENT_COLUMNS} FROM events \
                     WHERE app_id = $1 AND run_id = $2 AND id = $3"
                ),
                args![app, run_id, event_id],
            )
            .await?
            .ok_or_else(|| StoreError::not_found(Resource::Event, event_id))?;
        event(&row)
    }

    /// A page of the events of a run (filters `status`, `type`, publication window); `NotFound`
    /// when the run is not in `app`.
    pub async fn list_events(
        &self,
        app: &str,
        run_id: &str,
        query: &EventQuery,
    ) -> StoreResult<Page<Event>> {
        use EventSortKeys as K;
        let mut tx = self.pools.read().await?;
        fetch(&mut tx, app, run_id).await?;
        let mut filter = Where::app(app, false);
        filter.eq("run_id", run_id);
        filter.any_of("status", query.statuses.iter().map(|s| s.as_str()));
        filter.any_of("type", query.types.iter().map(|t| t.as_str()));
        if let Some(start) = query.start_date {
            filter.cmp("published_at", ">=", start);
        }
        if let Some(end) = query.end_date {
            filter.cmp("published_at", "<=", end);
        }
        let sort = match query.sort {
            K::Status => "status",
            K::Type => "type",
            K::PublishedAt => "published_at",
        };
        let (rows, pagination) = page(
            &mut tx,
            "events",
            EVENT_COLUMNS,
            filter,
            &order_by(sort, query.order),
            &query.page,
        )
        .await?;
        let items = rows.iter().map(event).collect::<StoreResult<_>>()?;
        Ok(Page { items, pagination })
    }

    /// A `created` run of task `task_id`, with the payload that triggered it if any; wakes the
    /// workers.
    async fn enqueue(
        &self,
        app: &str,
        task_id: &str,
        payload: Option<&TriggerPayload>,
        metadata: Option<&Map<String, Value>>,
        now: Timestamp,
    ) -> StoreResult<Run> {
        let mut tx = self.pools.write().await?;
        let lock = tx.for_share();
        let task = task(&fetch_task(&mut tx, app, task_id, lock).await?)?;
        let run = insert_run(&mut tx, app, &task, None, payload, now).await?;
        if let Some(metadata) = metadata {
            tx.execute(
                "UPDATE runs SET run_metadata = $1 WHERE id = $2",
                args![Value::Object(metadata.clone()).to_string(), &run.run_id],
            )
            .await?;
        }
        let run = run_with_metadata(run, metadata);
        tx.commit().await?;
        self.queued().await;
        Ok(run)
    }
}

/// The columns [`run`] reads.
pub(crate) const RUN_COLUMNS: &str = "id, app_id, task_id, status, type, outcome, reason, reason_code, \
     failure_threshold, expected_events, received_events, created_at, updated_at, started_at, \
     finished_at, run_metadata";

fn count(value: Option<i64>) -> u64 {
    value.and_then(|n| u64::try_from(n).ok()).unwrap_or(0)
}

/// A run from its row. `progress` is present once either count was set.
pub(crate) fn run(row: &Row) -> StoreResult<Run> {
    let expected = row.opt_int("expected_events")?;
    let received = row.opt_int("received_events")?;
    let progress = (expected.is_some() || received.is_some()).then(|| RunProgress {
        expected_nb_of_events: count(expected),
        received_nb_of_events: count(received),
    });
    Ok(Run {
        run_id: row.text("id")?,
        app_id: row.text("app_id")?,
        // A `validate` run belongs to no task (`docs/api.md` D6).
        task_id: row.opt_text("task_id")?.unwrap_or_default(),
        status: row.parsed("status")?,
        progress,
        outcome: row.opt_parsed("outcome")?,
        reason: row.opt_text("reason")?,
        reason_code: row.opt_parsed("reason_code")?,
        run_type: row.parsed("type")?,
        failure_threshold: row
            .opt_int("failure_threshold")?
            .and_then(|n| u8::try_from(n).ok()),
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
        started_at: row.opt_time("started_at")?,
        finished_at: row.opt_time("finished_at")?,
        run_metadata: row
            .opt_text("run_metadata")?
            .map(|text| match serde_json::from_str(&text) {
                Ok(Value::Object(map)) => Ok(map),
                _ => Err(StoreError::internal(
                    "a run's metadata is not a JSON object",
                )),
            })
            .transpose()?,
    })
}

/// The columns [`event`] reads.
pub(crate) const EVENT_COLUMNS: &str =
    "id, run_id, parent_id, status, type, data, batch_size, published_at";

/// An event from its row.
pub(crate) fn event(row: &Row) -> StoreResult<Event> {
    let data = match row.opt_text("data")? {
        None => None,
        Some(text) => Some(
            serde_json::from_str(&text)
                .map_err(|_| StoreError::internal("column `data` holds invalid JSON"))?,
        ),
    };
    Ok(Event {
        event_id: row.text("id")?,
        run_id: row.text("run_id")?,
        parent_id: row.opt_text("parent_id")?,
        status: row.parsed("status")?,
        event_type: row.parsed("type")?,
        data,
        batch_size: count(row.opt_int("batch_size")?),
        published_at: row.time("published_at")?,
    })
}

/// A run of `app`, any status.
pub(crate) async fn fetch(tx: &mut Tx, app: &str, id: &str) -> StoreResult<Row> {
    tx.fetch_optional(
        &format!("SELECT {RUN_COLUMNS} FROM runs WHERE app_id = $1 AND id = $2"),
        args![app, id],
    )
    .await?
    .ok_or_else(|| StoreError::not_found(Resource::Run, id))
}

/// The run type of a task's action (`docs/api.md` C11).
fn run_type(action: ActionType) -> RunType {
    match action {
        ActionType::Replace => RunType::Reindex,
        ActionType::Save
        | ActionType::Partial
        | ActionType::PartialNoCreate
        | ActionType::Append => RunType::Update,
    }
}

/// Inserts a run of `task`: `created`, or `skipped` with `reason` (then also finished at `now`),
/// with the payload of the event that triggered it, if any.
pub(crate) async fn insert_run(
    tx: &mut Tx,
    app: &str,
    task: &Task,
    skipped_because: Option<&str>,
    payload: Option<&TriggerPayload>,
    now: Timestamp,
) -> StoreResult<Run> {
    let id = new_id();
    let (status, finished_at) = match skipped_because {
        Some(_) => ("skipped", Some(now)),
        None => ("created", None),
    };
    let payload = payload.map(|p| p.to_value().to_string());
    tx.execute(
        "INSERT INTO runs (id, app_id, task_id, status, type, reason, failure_threshold, \
         created_at, updated_at, finished_at, trigger_payload) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10)",
        args![
            &id,
            app,
            &task.task_id,
            status,
            run_type(task.action).as_str(),
            skipped_because,
            i64::from(task.failure_threshold),
            now,
            finished_at,
            payload
        ],
    )
    .await?;
    run(&fetch(tx, app, &id).await?)
}

/// Appends `events` to run `run_id` of `app` (the run is known to exist).
pub(crate) async fn append_events(
    tx: &mut Tx,
    app: &str,
    run_id: &str,
    events: &[NewEvent],
) -> StoreResult<Vec<Event>> {
    let mut out = Vec::with_capacity(events.len());
    for new in events {
        let id = new_id();
        let data = new
            .data
            .as_ref()
            .map(|d| {
                serde_json::to_string(d)
                    .map_err(|_| StoreError::internal("cannot serialize event data"))
            })
            .transpose()?;
        tx.execute(
            "INSERT INTO events \
             (id, app_id, run_id, parent_id, status, type, data, batch_size, published_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            args![
                &id,
                app,
                run_id,
                new.parent_id.clone(),
                new.status.as_str(),
                new.event_type.as_str(),
                data,
                i64::try_from(new.batch_size).unwrap_or(i64::MAX),
                new.published_at
            ],
        )
        .await?;
        out.push(Event {
            event_id: id,
            run_id: run_id.to_owned(),
            parent_id: new.parent_id.clone(),
            status: new.status,
            event_type: new.event_type,
            data: new.data.clone(),
            batch_size: new.batch_size,
            published_at: new.published_at.to_rfc3339(),
        });
    }
    Ok(out)
}

/// `run` as inserted, with the metadata just stored beside it.
fn run_with_metadata(mut run: Run, metadata: Option<&Map<String, Value>>) -> Run {
    run.run_metadata = metadata.cloned();
    run
}

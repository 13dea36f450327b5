//! Runs as the API sees them: created by `POST /1/tasks/{id}/run`, read and listed.

use ingest_model::{ActionType, Run, RunType, Task, Timestamp};

use crate::backend::Inner;
use crate::db::{Row, Tx, args, new_id};
use crate::filter::{Where, order_by, page};
use crate::rows::{RUN_COLUMNS, run};
use crate::{Page, Resource, RunQuery, StoreError, StoreResult, task};

/// A run of `app`, any status.
pub(crate) async fn fetch(tx: &mut Tx, app: &str, id: &str) -> StoreResult<Row> {
    tx.fetch_optional(
        &format!("SELECT {RUN_COLUMNS} FROM runs WHERE app_id = $1 AND id = $2"),
        args![app, id],
    )
    .await?
    .ok_or_else(|| StoreError::not_found(Resource::Run, id))
}

/// The run type of a task's action (Part C 11).
pub(crate) fn run_type(action: ActionType) -> RunType {
    match action {
        ActionType::Replace => RunType::Reindex,
        ActionType::Save => RunType::Update,
    }
}

/// Inserts a run of `task`: `created`, or `skipped` with `reason` (then also finished at `now`),
/// with the payload of the event that triggered it, if any.
pub(crate) async fn insert(
    tx: &mut Tx,
    app: &str,
    task: &Task,
    skipped_because: Option<&str>,
    payload: Option<&serde_json::Value>,
    now: Timestamp,
) -> StoreResult<Run> {
    let id = new_id();
    let (status, finished_at) = match skipped_because {
        Some(_) => ("skipped", Some(now)),
        None => ("created", None),
    };
    let payload = payload
        .map(|p| {
            serde_json::to_string(p)
                .map_err(|_| StoreError::internal("cannot serialize a trigger payload"))
        })
        .transpose()?;
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

pub(crate) async fn create(
    inner: &Inner,
    app: &str,
    task_id: &str,
    payload: Option<&serde_json::Value>,
    now: Timestamp,
) -> StoreResult<Run> {
    let mut tx = inner.pools.write().await?;
    let lock = tx.for_share();
    let task = crate::rows::task(&task::fetch(&mut tx, app, task_id, lock).await?)?;
    let run = insert(&mut tx, app, &task, None, payload, now).await?;
    tx.commit().await?;
    Ok(run)
}

pub(crate) async fn get(inner: &Inner, app: &str, id: &str) -> StoreResult<Run> {
    let mut tx = inner.pools.read().await?;
    run(&fetch(&mut tx, app, id).await?)
}

pub(crate) async fn list(inner: &Inner, app: &str, query: &RunQuery) -> StoreResult<Page<Run>> {
    use ingest_model::RunSortKeys as K;
    let mut filter = Where::app(app, false);
    filter.any_of("status", query.statuses.iter().map(|s| s.as_str()));
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
    let mut tx = inner.pools.read().await?;
    let (rows, pagination) = page(
        &mut tx,
        "runs",
        RUN_COLUMNS,
        filter,
        &order_by(sort, query.order),
        &query.page,
    )
    .await?;
    let items = rows.iter().map(run).collect::<StoreResult<_>>()?;
    Ok(Page { items, pagination })
}

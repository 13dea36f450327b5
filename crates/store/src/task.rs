//! Tasks: a live source and destination, a trigger and an action.

use ingest_model::{
    ActionType, Task, TaskCreate, TaskCreateTrigger, TaskInput, TaskUpdate, Timestamp,
    ValidationError,
};

use crate::backend::Inner;
use crate::db::{Row, Tx, args, new_id};
use crate::filter::{Where, order_by, page, search};
use crate::rows::{TASK_COLUMNS, task};
use crate::{Page, Resource, StoreError, StoreResult, TaskQuery, destination, source};

pub(crate) async fn fetch(tx: &mut Tx, app: &str, id: &str, lock: &str) -> StoreResult<Row> {
    tx.fetch_optional(
        &format!(
            "SELECT {TASK_COLUMNS} FROM tasks \
             WHERE app_id = $1 AND id = $2 AND deleted_at IS NULL{lock}"
        ),
        args![app, id],
    )
    .await?
    .ok_or_else(|| StoreError::not_found(Resource::Task, id))
}

/// The stored trigger columns (`trigger_type`, `cron`, `next_run`) of a trigger.
fn trigger_columns(
    trigger: &TaskCreateTrigger,
    next_run: Option<Timestamp>,
) -> StoreResult<(&'static str, Option<String>, Option<Timestamp>)> {
    Ok(match trigger {
        TaskCreateTrigger::Schedule { cron } => {
            let next_run = next_run.ok_or_else(|| {
                ValidationError::new(
                    "trigger.cron",
                    "the next run time of the schedule is required",
                )
            })?;
            ("schedule", Some(cron.clone()), Some(next_run))
        }
        other => (other.trigger_type().as_str(), None, None),
    })
}

fn input_json(input: Option<&TaskInput>) -> StoreResult<Option<String>> {
    input
        .map(|i| {
            serde_json::to_string(i).map_err(|_| StoreError::internal("cannot serialize an input"))
        })
        .transpose()
}

pub(crate) async fn create(
    inner: &Inner,
    app: &str,
    input: &TaskCreate,
    next_run: Option<Timestamp>,
    now: Timestamp,
) -> StoreResult<Task> {
    let (trigger_type, cron, next_run) = trigger_columns(&input.trigger, next_run)?;
    let id = new_id();
    let mut tx = inner.pools.write().await?;
    let source = source::reference(&mut tx, app, &input.source_id).await?;
    if input.action == ActionType::Save && !source.input.provides_object_ids() {
        return Err(ValidationError::new(
            "action",
            format!(
                "`save` needs records with an objectID: set `uniqueIDColumn` on source `{}`",
                source.source_id
            ),
        )
        .into());
    }
    destination::check_reference(&mut tx, app, &input.destination_id).await?;
    tx.execute(
        "INSERT INTO tasks (id, app_id, source_id, destination_id, trigger_type, cron, action, \
         enabled, input, failure_threshold, next_run, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
        args![
            &id,
            app,
            &input.source_id,
            &input.destination_id,
            trigger_type,
            cron,
            input.action.as_str(),
            input.enabled,
            input_json(input.input.as_ref())?,
            i64::from(input.failure_threshold),
            next_run,
            now
        ],
    )
    .await?;
    let row = fetch(&mut tx, app, &id, "").await?;
    tx.commit().await?;
    task(&row)
}

pub(crate) async fn get(inner: &Inner, app: &str, id: &str) -> StoreResult<Task> {
    let mut tx = inner.pools.read().await?;
    task(&fetch(&mut tx, app, id, "").await?)
}

pub(crate) async fn list(inner: &Inner, app: &str, query: &TaskQuery) -> StoreResult<Page<Task>> {
    use ingest_model::TaskSortKeys as K;
    let mut filter = Where::app(app, true);
    filter.any_of("action", query.actions.iter().map(|a| a.as_str()));
    if let Some(enabled) = query.enabled {
        filter.eq("enabled", enabled);
    }
    filter.any_of("source_id", query.source_ids.iter().map(String::as_str));
    filter.any_of(
        "destination_id",
        query.destination_ids.iter().map(String::as_str),
    );
    filter.any_of(
        "trigger_type",
        query.trigger_types.iter().map(|t| t.as_str()),
    );
    let sort = match query.sort {
        K::Enabled => "enabled",
        K::TriggerType => "trigger_type",
        K::Action => "action",
        K::UpdatedAt => "updated_at",
        K::CreatedAt => "created_at",
    };
    let mut tx = inner.pools.read().await?;
    let (rows, pagination) = page(
        &mut tx,
        "tasks",
        TASK_COLUMNS,
        filter,
        &order_by(sort, query.order),
        &query.page,
    )
    .await?;
    let items = rows.iter().map(task).collect::<StoreResult<_>>()?;
    Ok(Page { items, pagination })
}

pub(crate) async fn search_ids(inner: &Inner, app: &str, ids: &[String]) -> StoreResult<Vec<Task>> {
    let mut tx = inner.pools.read().await?;
    search(&mut tx, "tasks", TASK_COLUMNS, app, ids)
        .await?
        .iter()
        .map(|(_, row)| task(row))
        .collect()
}

pub(crate) async fn update(
    inner: &Inner,
    app: &str,
    id: &str,
    update: &TaskUpdate,
    next_run: Option<Timestamp>,
    now: Timestamp,
) -> StoreResult<Task> {
    let trigger = update
        .trigger
        .as_ref()
        .map(|t| trigger_columns(t, next_run))
        .transpose()?;
    let mut tx = inner.pools.write().await?;
    let lock = tx.for_update();
    fetch(&mut tx, app, id, lock).await?;
    if let Some(destination_id) = &update.destination_id {
        destination::check_reference(&mut tx, app, destination_id).await?;
    }
    if let Some((trigger_type, cron, next_run)) = trigger {
        tx.execute(
            "UPDATE tasks SET trigger_type = $1, cron = $2, next_run = $3 WHERE id = $4",
            args![trigger_type, cron, next_run, id],
        )
        .await?;
    }
    if let Some(enabled) = update.enabled {
        set_enabled_in(&mut tx, id, enabled).await?;
    }
    tx.execute(
        "UPDATE tasks SET destination_id = COALESCE($1, destination_id), \
         input = COALESCE($2, input), failure_threshold = COALESCE($3, failure_threshold), \
         updated_at = $4 WHERE id = $5",
        args![
            update.destination_id.clone(),
            input_json(update.input.as_ref())?,
            update.failure_threshold.map(i64::from),
            now,
            id
        ],
    )
    .await?;
    let row = fetch(&mut tx, app, id, "").await?;
    tx.commit().await?;
    task(&row)
}

/// Sets `enabled`; enabling also forgets the failed runs in a row.
async fn set_enabled_in(tx: &mut Tx, id: &str, enabled: bool) -> StoreResult<()> {
    let reset = if enabled {
        ", consecutive_failures = 0"
    } else {
        ""
    };
    tx.execute(
        &format!("UPDATE tasks SET enabled = $1{reset} WHERE id = $2"),
        args![enabled, id],
    )
    .await?;
    Ok(())
}

pub(crate) async fn set_enabled(
    inner: &Inner,
    app: &str,
    id: &str,
    enabled: bool,
    now: Timestamp,
) -> StoreResult<Task> {
    let mut tx = inner.pools.write().await?;
    let lock = tx.for_update();
    fetch(&mut tx, app, id, lock).await?;
    set_enabled_in(&mut tx, id, enabled).await?;
    tx.execute(
        "UPDATE tasks SET updated_at = $1 WHERE id = $2",
        args![now, id],
    )
    .await?;
    let row = fetch(&mut tx, app, id, "").await?;
    tx.commit().await?;
    task(&row)
}

pub(crate) async fn set_run_times(
    inner: &Inner,
    app: &str,
    id: &str,
    last_run: Option<Timestamp>,
    next_run: Option<Timestamp>,
) -> StoreResult<Task> {
    let mut tx = inner.pools.write().await?;
    let changed = tx
        .execute(
            "UPDATE tasks SET last_run = COALESCE($1, last_run), \
             next_run = COALESCE($2, next_run) \
             WHERE app_id = $3 AND id = $4 AND deleted_at IS NULL",
            args![last_run, next_run, app, id],
        )
        .await?;
    if changed == 0 {
        return Err(StoreError::not_found(Resource::Task, id));
    }
    let row = fetch(&mut tx, app, id, "").await?;
    tx.commit().await?;
    task(&row)
}

pub(crate) async fn delete(inner: &Inner, app: &str, id: &str, now: Timestamp) -> StoreResult<()> {
    let mut tx = inner.pools.write().await?;
    let lock = tx.for_update();
    fetch(&mut tx, app, id, lock).await?;
    tx.execute(
        "UPDATE tasks SET deleted_at = $1 WHERE id = $2",
        args![now, id],
    )
    .await?;
    tx.execute(
        "UPDATE runs SET status = 'skipped', reason = 'the task was deleted before the run \
         started', updated_at = $1, finished_at = $1 WHERE task_id = $2 AND status = 'created'",
        args![now, id],
    )
    .await?;
    tx.commit().await
}

/// The first live task whose `column` (`source_id`, `destination_id`) is `id`.
pub(crate) async fn first_user(tx: &mut Tx, column: &str, id: &str) -> StoreResult<Option<String>> {
    let row = tx
        .fetch_optional(
            &format!(
                "SELECT id FROM tasks WHERE {column} = $1 AND deleted_at IS NULL \
                 ORDER BY seq LIMIT 1"
            ),
            args![id],
        )
        .await?;
    row.map(|r| r.text("id")).transpose()
}

/// The first live `save` task reading source `id`.
pub(crate) async fn first_save_user(tx: &mut Tx, id: &str) -> StoreResult<Option<String>> {
    let row = tx
        .fetch_optional(
            "SELECT id FROM tasks WHERE source_id = $1 AND action = 'save' \
             AND deleted_at IS NULL ORDER BY seq LIMIT 1",
            args![id],
        )
        .await?;
    row.map(|r| r.text("id")).transpose()
}

//! `/1/tasks`: operations 19 to 27 of `docs/api.md` A3.
//!
//! A schedule trigger's `cron` is validated here and its `nextRun` computed (UTC, `docs/api.md` C9)
//! before the store is called; the store checks the references (`sourceID`, `destinationID`)
//! and that a `save` task's source provides objectIDs (`docs/api.md` C7, C8). `POST .../run` creates a
//! run in `created` for a worker to claim, on enabled and disabled tasks alike (`docs/api.md` C10).

use axum::Json;
use axum::extract::State;
use ingest_model::{
    DeleteResponse, ListTasksResponse, RunResponse, Task, TaskCreate, TaskCreateResponse,
    TaskCreateTrigger, TaskSearch, TaskSortKeys, TaskUpdate, TaskUpdateResponse, Timestamp,
};
use ingest_store::TaskQuery;

use crate::body::JsonBody;
use crate::error::ApiError;
use crate::extract::{App, Ids, QueryParams};
use crate::{ApiState, page_request};
use ingest_model::cron::Schedule;

/// The next fire time of a schedule trigger (`None` for other triggers); 400 on a bad cron.
pub(crate) fn next_run(
    trigger: Option<&TaskCreateTrigger>,
    now: Timestamp,
) -> Result<Option<Timestamp>, ApiError> {
    let Some(TaskCreateTrigger::Schedule { cron }) = trigger else {
        return Ok(None);
    };
    let next = Schedule::parse(cron)?
        .next_after_timestamp(now)
        .ok_or_else(|| ApiError::invalid("trigger.cron", "never fires"))?;
    Ok(Some(next))
}

/// `GET /1/tasks`.
pub async fn list(
    State(state): State<ApiState>,
    App(app): App,
    QueryParams(params): QueryParams,
) -> Result<Json<ListTasksResponse>, ApiError> {
    let paging = params.paging(Some(TaskSortKeys::CreatedAt))?;
    let query = TaskQuery {
        page: page_request(&paging),
        sort: paging.sort.unwrap_or(TaskSortKeys::CreatedAt),
        order: paging.order,
        actions: params.list("action")?.unwrap_or_default(),
        enabled: params.boolean("enabled")?,
        source_ids: params.id_list("sourceID")?.unwrap_or_default(),
        destination_ids: params.id_list("destinationID")?.unwrap_or_default(),
        trigger_types: params.list("triggerType")?.unwrap_or_default(),
        source_types: Vec::new(),
        with_email_notifications: None,
    };
    let page = state.store.list_tasks(&app, &query).await?;
    Ok(Json(ListTasksResponse {
        tasks: page.items,
        pagination: page.pagination,
    }))
}

/// `POST /1/tasks`.
pub async fn create(
    State(state): State<ApiState>,
    App(app): App,
    JsonBody(input): JsonBody<TaskCreate>,
) -> Result<Json<TaskCreateResponse>, ApiError> {
    let now = state.clock.now();
    let next = next_run(Some(&input.trigger), now)?;
    let created = state.store.create_task(&app, &input, next, now).await?;
    tracing::info!(app, id = created.task_id, action = %created.action, "task created");
    Ok(Json(TaskCreateResponse {
        task_id: created.task_id,
        created_at: created.created_at,
    }))
}

/// `POST /1/tasks/search`.
pub async fn search(
    State(state): State<ApiState>,
    App(app): App,
    JsonBody(body): JsonBody<TaskSearch>,
) -> Result<Json<Vec<Task>>, ApiError> {
    crate::check_search_ids("taskIDs", &body.task_ids)?;
    Ok(Json(state.store.search_tasks(&app, &body.task_ids).await?))
}

/// `GET /1/tasks/{taskID}`.
pub async fn get(
    State(state): State<ApiState>,
    App(app): App,
    Ids(id): Ids<String>,
) -> Result<Json<Task>, ApiError> {
    Ok(Json(state.store.get_task(&app, &id).await?))
}

/// `PATCH /1/tasks/{taskID}`.
pub async fn update(
    State(state): State<ApiState>,
    App(app): App,
    Ids(id): Ids<String>,
    JsonBody(update): JsonBody<TaskUpdate>,
) -> Result<Json<TaskUpdateResponse>, ApiError> {
    let now = state.clock.now();
    let next = next_run(update.trigger.as_ref(), now)?;
    let updated = state
        .store
        .update_task(&app, &id, &update, next, now)
        .await?;
    tracing::info!(app, id, "task updated");
    Ok(Json(TaskUpdateResponse {
        task_id: updated.task_id,
        updated_at: updated.updated_at,
    }))
}

/// `DELETE /1/tasks/{taskID}`.
pub async fn delete(
    State(state): State<ApiState>,
    App(app): App,
    Ids(id): Ids<String>,
) -> Result<Json<DeleteResponse>, ApiError> {
    let at = state.clock.now();
    state.store.delete_task(&app, &id, at).await?;
    tracing::info!(app, id, "task deleted");
    Ok(Json(DeleteResponse {
        deleted_at: at.to_rfc3339(),
    }))
}

/// `POST /1/tasks/{taskID}/run`: no body; a run in `created`.
pub async fn run(
    State(state): State<ApiState>,
    App(app): App,
    Ids(id): Ids<String>,
) -> Result<Json<RunResponse>, ApiError> {
    let run = state.store.create_run(&app, &id, state.clock.now()).await?;
    tracing::info!(app, task_id = id, run_id = run.run_id, "run requested");
    Ok(Json(RunResponse {
        run_id: run.run_id,
        created_at: run.created_at,
    }))
}

async fn set_enabled(
    state: &ApiState,
    app: &str,
    id: &str,
    enabled: bool,
) -> Result<Json<TaskUpdateResponse>, ApiError> {
    let task = state
        .store
        .set_task_enabled(app, id, enabled, state.clock.now())
        .await?;
    tracing::info!(app, id, enabled, "task enabled flag set");
    Ok(Json(TaskUpdateResponse {
        task_id: task.task_id,
        updated_at: task.updated_at,
    }))
}

/// `PUT /1/tasks/{taskID}/enable`: no body.
pub async fn enable(
    State(state): State<ApiState>,
    App(app): App,
    Ids(id): Ids<String>,
) -> Result<Json<TaskUpdateResponse>, ApiError> {
    set_enabled(&state, &app, &id, true).await
}

/// `PUT /1/tasks/{taskID}/disable`: no body.
pub async fn disable(
    State(state): State<ApiState>,
    App(app): App,
    Ids(id): Ids<String>,
) -> Result<Json<TaskUpdateResponse>, ApiError> {
    set_enabled(&state, &app, &id, false).await
}

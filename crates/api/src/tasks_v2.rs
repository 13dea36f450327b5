//! `/2/tasks` (`docs/api.md` D1, D2): the tasks of `/1/tasks` in today's shape. Both routes
//! read and write the same rows; only the bodies differ (no `trigger` object: `cron` and
//! `subscriptionAction` at the top level, the trigger derived from them). Enabling, disabling
//! and deleting answer as on v1.

use axum::Json;
use axum::extract::State;
use ingest_model::{
    ListTasksResponseV2, RunResponse, RunTaskPayload, TaskCreate, TaskCreateResponse,
    TaskCreateTrigger, TaskCreateV2, TaskReplace, TaskReplaceV2, TaskSearch, TaskSortKeys,
    TaskUpdate, TaskUpdateResponse, TaskUpdateV2, TaskV2,
};
use ingest_store::TaskQuery;

use crate::body::{JsonBody, OptionalJsonBody};
use crate::error::ApiError;
use crate::extract::{App, Ids, QueryParams};
use crate::tasks::next_run;
use crate::{ApiState, page_request};

/// `cron` is checked and `nextRun` computed as on v1; the error names `cron`, the v2 field.
fn schedule_next_run(
    trigger: Option<&TaskCreateTrigger>,
    now: ingest_model::Timestamp,
) -> Result<Option<ingest_model::Timestamp>, ApiError> {
    next_run(trigger, now).map_err(|error| match error {
        ApiError::Invalid(mut invalid) => {
            invalid.path = invalid
                .path
                .strip_prefix("trigger.")
                .unwrap_or(&invalid.path)
                .to_owned();
            ApiError::Invalid(invalid)
        }
        other => other,
    })
}

/// `GET /2/tasks`: the v1 filters plus `sourceType` and `withEmailNotifications`.
pub async fn list(
    State(state): State<ApiState>,
    App(app): App,
    QueryParams(params): QueryParams,
) -> Result<Json<ListTasksResponseV2>, ApiError> {
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
        source_types: params.list("sourceType")?.unwrap_or_default(),
        with_email_notifications: params.boolean("withEmailNotifications")?,
    };
    let page = state.store.list_tasks(&app, &query).await?;
    Ok(Json(ListTasksResponseV2 {
        tasks: page.items.into_iter().map(TaskV2::from).collect(),
        pagination: page.pagination,
    }))
}

/// `POST /2/tasks`.
pub async fn create(
    State(state): State<ApiState>,
    App(app): App,
    JsonBody(body): JsonBody<TaskCreateV2>,
) -> Result<Json<TaskCreateResponse>, ApiError> {
    let input = TaskCreate::from(body);
    let now = state.clock.now();
    let next = schedule_next_run(Some(&input.trigger), now)?;
    let created = state.store.create_task(&app, &input, next, now).await?;
    tracing::info!(app, id = created.task_id, action = %created.action, "task created (v2)");
    Ok(Json(TaskCreateResponse {
        task_id: created.task_id,
        created_at: created.created_at,
    }))
}

/// `POST /2/tasks/search`.
pub async fn search(
    State(state): State<ApiState>,
    App(app): App,
    JsonBody(body): JsonBody<TaskSearch>,
) -> Result<Json<Vec<TaskV2>>, ApiError> {
    crate::check_search_ids("taskIDs", &body.task_ids)?;
    let tasks = state.store.search_tasks(&app, &body.task_ids).await?;
    Ok(Json(tasks.into_iter().map(TaskV2::from).collect()))
}

/// `GET /2/tasks/{taskID}`.
pub async fn get(
    State(state): State<ApiState>,
    App(app): App,
    Ids(id): Ids<String>,
) -> Result<Json<TaskV2>, ApiError> {
    Ok(Json(state.store.get_task(&app, &id).await?.into()))
}

/// `PATCH /2/tasks/{taskID}`.
pub async fn update(
    State(state): State<ApiState>,
    App(app): App,
    Ids(id): Ids<String>,
    JsonBody(body): JsonBody<TaskUpdateV2>,
) -> Result<Json<TaskUpdateResponse>, ApiError> {
    let update = TaskUpdate::from(body);
    let now = state.clock.now();
    let next = schedule_next_run(update.trigger.as_ref(), now)?;
    let updated = state
        .store
        .update_task(&app, &id, &update, next, now)
        .await?;
    tracing::info!(app, id, "task updated (v2)");
    Ok(Json(TaskUpdateResponse {
        task_id: updated.task_id,
        updated_at: updated.updated_at,
    }))
}

/// `PUT /2/tasks/{taskID}`: the whole task but its source.
pub async fn replace(
    State(state): State<ApiState>,
    App(app): App,
    Ids(id): Ids<String>,
    JsonBody(body): JsonBody<TaskReplaceV2>,
) -> Result<Json<TaskUpdateResponse>, ApiError> {
    let replace = TaskReplace::from(body);
    let now = state.clock.now();
    let next = schedule_next_run(Some(&replace.trigger), now)?;
    let replaced = state
        .store
        .replace_task(&app, &id, &replace, next, now)
        .await?;
    tracing::info!(app, id, "task replaced (v2)");
    Ok(Json(TaskUpdateResponse {
        task_id: replaced.task_id,
        updated_at: replaced.updated_at,
    }))
}

/// `POST /2/tasks/{taskID}/run`: an optional `{runMetadata}` body, kept on the run.
pub async fn run(
    State(state): State<ApiState>,
    App(app): App,
    Ids(id): Ids<String>,
    OptionalJsonBody(payload): OptionalJsonBody<RunTaskPayload>,
) -> Result<Json<RunResponse>, ApiError> {
    let run = state
        .store
        .create_run_with_metadata(&app, &id, payload.run_metadata.as_ref(), state.clock.now())
        .await?;
    tracing::info!(app, task_id = id, run_id = run.run_id, "run requested (v2)");
    Ok(Json(RunResponse {
        run_id: run.run_id,
        created_at: run.created_at,
    }))
}

//! `/1/sources`: operations 13 to 18 of `docs/api.md` A3. A source's `authenticationID` must
//! name an authentication of the kind its type needs, in the same application (`docs/api.md` C7, checked
//! by the store). Its `type` cannot change; a PATCH `input` is parsed against the stored type.
//! `run` and `discover` are the source actions of `docs/api.md` D6.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use ingest_model::{
    DeleteResponse, ListSourcesResponse, ResourceSortKeys, RunSourcePayload, RunSourceResponse,
    Source, SourceCreate, SourceCreateResponse, SourceSearch, SourceType, SourceUpdate,
    SourceUpdateResponse,
};
use ingest_store::{PageRequest, SourceQuery, TaskQuery};

use crate::body::{JsonBody, OptionalJsonBody};
use crate::error::ApiError;
use crate::extract::{App, Ids, QueryParams};
use crate::{ApiState, page_request};

/// `GET /1/sources`.
pub async fn list(
    State(state): State<ApiState>,
    App(app): App,
    QueryParams(params): QueryParams,
) -> Result<Json<ListSourcesResponse>, ApiError> {
    let paging = params.paging(Some(ResourceSortKeys::CreatedAt))?;
    let query = SourceQuery {
        page: page_request(&paging),
        sort: paging.sort.unwrap_or(ResourceSortKeys::CreatedAt),
        order: paging.order,
        types: params.list("type")?.unwrap_or_default(),
        authentication_ids: params.id_list("authenticationID")?.unwrap_or_default(),
    };
    let page = state.store.list_sources(&app, &query).await?;
    Ok(Json(ListSourcesResponse {
        sources: page.items,
        pagination: page.pagination,
    }))
}

/// `POST /1/sources`.
pub async fn create(
    State(state): State<ApiState>,
    App(app): App,
    JsonBody(input): JsonBody<SourceCreate>,
) -> Result<Json<SourceCreateResponse>, ApiError> {
    let created = state
        .store
        .create_source(&app, &input, state.clock.now())
        .await?;
    tracing::info!(app, id = created.source_id, "source created");
    Ok(Json(SourceCreateResponse {
        source_id: created.source_id,
        name: created.name,
        created_at: created.created_at,
    }))
}

/// `POST /1/sources/search`.
pub async fn search(
    State(state): State<ApiState>,
    App(app): App,
    JsonBody(body): JsonBody<SourceSearch>,
) -> Result<Json<Vec<Source>>, ApiError> {
    crate::check_search_ids("sourceIDs", &body.source_ids)?;
    Ok(Json(
        state.store.search_sources(&app, &body.source_ids).await?,
    ))
}

/// `GET /1/sources/{sourceID}`.
pub async fn get(
    State(state): State<ApiState>,
    App(app): App,
    Ids(id): Ids<String>,
) -> Result<Json<Source>, ApiError> {
    Ok(Json(state.store.get_source(&app, &id).await?))
}

/// `PATCH /1/sources/{sourceID}`.
pub async fn update(
    State(state): State<ApiState>,
    App(app): App,
    Ids(id): Ids<String>,
    JsonBody(update): JsonBody<SourceUpdate>,
) -> Result<Json<SourceUpdateResponse>, ApiError> {
    let updated = state
        .store
        .update_source(&app, &id, &update, state.clock.now())
        .await?;
    tracing::info!(app, id, "source updated");
    Ok(Json(SourceUpdateResponse {
        source_id: updated.source_id,
        name: updated.name,
        updated_at: updated.updated_at,
    }))
}

/// `DELETE /1/sources/{sourceID}`: refused while a live task uses it.
pub async fn delete(
    State(state): State<ApiState>,
    App(app): App,
    Ids(id): Ids<String>,
) -> Result<Json<DeleteResponse>, ApiError> {
    let at = state.clock.now();
    state.store.delete_source(&app, &id, at).await?;
    tracing::info!(app, id, "source deleted");
    Ok(Json(DeleteResponse {
        deleted_at: at.to_rfc3339(),
    }))
}

/// `POST /1/sources/{sourceID}/run` (`docs/api.md` D6): a run for each enabled task of the
/// source whose destination index passes `indexToInclude` / `indexToExclude`, limited to
/// `entityIDs` when given (as a webhook's `objectIDs`).
pub async fn run(
    State(state): State<ApiState>,
    App(app): App,
    Ids(id): Ids<String>,
    OptionalJsonBody(payload): OptionalJsonBody<RunSourcePayload>,
) -> Result<Json<RunSourceResponse>, ApiError> {
    let trigger = payload.trigger_payload()?;
    let source = state.store.get_source(&app, &id).await?;
    if source.source_type == SourceType::Push {
        return Err(ApiError::Refused(format!(
            "source `{id}` is of type `push`: its records come through /1/push, there is nothing to run"
        )));
    }
    let now = state.clock.now();
    let mut runs = BTreeMap::new();
    for page in 1.. {
        let query = TaskQuery {
            source_ids: vec![id.clone()],
            enabled: Some(true),
            page: PageRequest {
                page,
                items_per_page: TASKS_PER_PAGE,
            },
            ..TaskQuery::default()
        };
        let tasks = state.store.list_tasks(&app, &query).await?;
        for task in &tasks.items {
            let destination = state
                .store
                .get_destination(&app, &task.destination_id)
                .await?;
            if !payload.selects(&destination.input.index_for(&source.name)) {
                continue;
            }
            let run = state
                .store
                .create_source_run(
                    &app,
                    &task.task_id,
                    trigger.as_ref(),
                    payload.run_metadata.as_ref(),
                    now,
                )
                .await?;
            runs.insert(task.task_id.clone(), run.run_id);
        }
        if (tasks.items.len() as u64) < TASKS_PER_PAGE {
            break;
        }
    }
    tracing::info!(
        app,
        source_id = id,
        runs = runs.len(),
        "source run requested"
    );
    Ok(Json(RunSourceResponse {
        task_with_run_id: runs,
        created_at: now.to_rfc3339(),
    }))
}

const TASKS_PER_PAGE: u64 = 100;

/// `GET` and `POST /1/sources/{sourceID}/discover`: only Docker sources have streams to
/// discover, and this engine has none (`docs/api.md` D6).
pub async fn discover(
    State(state): State<ApiState>,
    App(app): App,
    Ids(id): Ids<String>,
) -> Result<Json<()>, ApiError> {
    let source = state.store.get_source(&app, &id).await?;
    Err(ApiError::Refused(format!(
        "only docker sources can be discovered; source `{id}` is of type `{}`",
        source.source_type.as_str()
    )))
}

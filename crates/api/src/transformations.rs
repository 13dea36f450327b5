//! `/1/transformations` (`docs/api.md` D5): create, list, get, search, replace (`PUT`) and
//! delete. A transformation is compiled before it is stored ([`check`]): a JavaScript syntax
//! error, code that defines no `transform`, code over 64 KiB or an invalid no-code step is a 400
//! naming the field (`input.code`, `input.steps[2].when.operator`). Its `authenticationIDs` must
//! name `secrets` authentications of the same application (checked by the store); deleting it
//! while a destination applies it is refused (400 naming the destination).
//!
//! The `try` routes are in [`crate::transformation_try`].

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use ingest_model::{
    DeleteResponse, ListTransformationsResponse, Transformation, TransformationCreate,
    TransformationCreateResponse, TransformationInput, TransformationSearch,
    TransformationSortKeys, TransformationUpdateResponse,
};
use ingest_store::TransformationQuery;
use ingest_transform::{CodeContext, Program, TransformError, compile_code, compile_no_code};
use serde_json::Value;
use tokio::sync::Semaphore;

use crate::body::JsonBody;
use crate::error::ApiError;
use crate::extract::{App, Ids, QueryParams};
use crate::{ApiState, page_request};

/// How many transformations this process compiles or runs at once for the API (each in its own
/// JavaScript runtime, on a blocking thread): at most one per core.
pub fn transform_slots() -> Arc<Semaphore> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    Arc::new(Semaphore::new(cores))
}

/// Stack of the thread a transformation runs on: room for QuickJS's own stack limit (1 MiB)
/// and the Rust frames, as the engine's pool threads have (a deep recursion in the code is then
/// a JavaScript error, never an overflow of the thread's stack).
const THREAD_STACK_BYTES: usize = 4 * 1024 * 1024;

/// Runs `work` on a thread of its own once a slot of `slots` is free, and waits for it without
/// blocking the async workers. The thread holds the slot until it ends, even when the request
/// is dropped first.
pub(crate) async fn blocking<T: Send + 'static>(
    slots: &Arc<Semaphore>,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    let slot = Arc::clone(slots)
        .acquire_owned()
        .await
        .map_err(|_| ApiError::Internal)?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("transformation".to_owned())
        .stack_size(THREAD_STACK_BYTES)
        .spawn(move || {
            let _slot = slot;
            // The receiver is gone only when the request was dropped: nothing to answer.
            let _ = tx.send(work());
        })
        .map_err(|error| {
            tracing::error!(%error, "a transformation thread could not start");
            ApiError::Internal
        })?;
    rx.await.map_err(|_| {
        tracing::error!("a transformation thread ended without an answer");
        ApiError::Internal
    })
}

/// Compiles `input` with `context` (no-code steps need none).
pub(crate) fn compile(
    input: &TransformationInput,
    context: &CodeContext,
) -> Result<Program, TransformError> {
    match input {
        TransformationInput::Code { code } => compile_code(code, context).map(Program::Code),
        TransformationInput::NoCode { steps } => {
            compile_no_code(&Value::Array(steps.clone())).map(Program::NoCode)
        }
    }
}

/// A compile error as a 400 naming the field; a runtime that could not start is ours (500).
fn refusal(error: TransformError) -> ApiError {
    match error {
        TransformError::InvalidSteps { at, message } => ApiError::invalid(at, message),
        TransformError::CodeTooLarge { .. }
        | TransformError::InvalidCode(_)
        | TransformError::NoTransformFunction => ApiError::invalid("input.code", error.to_string()),
        TransformError::Runtime(_) | TransformError::WorkerPanicked => {
            tracing::error!(%error, "a transformation could not be compiled");
            ApiError::Internal
        }
    }
}

/// Compiles what a create or replace body makes, refusing it with a 400 naming the field. A
/// `code` transformation whose code is empty (a body with nothing but a name) is stored as it
/// is: there is nothing to compile yet.
async fn check(state: &ApiState, body: &TransformationCreate) -> Result<(), ApiError> {
    let (_, input) = body.resolve()?;
    if matches!(&input, TransformationInput::Code { code } if code.is_empty()) {
        return Ok(());
    }
    blocking(&state.transforms, move || {
        compile(&input, &CodeContext::default()).map(drop)
    })
    .await?
    .map_err(refusal)
}

/// `GET /1/transformations`.
pub async fn list(
    State(state): State<ApiState>,
    App(app): App,
    QueryParams(params): QueryParams,
) -> Result<Json<ListTransformationsResponse>, ApiError> {
    let paging = params.paging(Some(TransformationSortKeys::CreatedAt))?;
    let query = TransformationQuery {
        page: page_request(&paging),
        sort: paging.sort.unwrap_or(TransformationSortKeys::CreatedAt),
        order: paging.order,
        types: params.list("type")?.unwrap_or_default(),
    };
    let page = state.store.list_transformations(&app, &query).await?;
    Ok(Json(ListTransformationsResponse {
        transformations: page.items,
        pagination: page.pagination,
    }))
}

/// `POST /1/transformations`.
pub async fn create(
    State(state): State<ApiState>,
    App(app): App,
    JsonBody(body): JsonBody<TransformationCreate>,
) -> Result<Json<TransformationCreateResponse>, ApiError> {
    check(&state, &body).await?;
    let created = state
        .store
        .create_transformation(&app, &body, state.clock.now())
        .await?;
    tracing::info!(
        app,
        id = created.transformation_id,
        "transformation created"
    );
    Ok(Json(TransformationCreateResponse {
        transformation_id: created.transformation_id,
        created_at: created.created_at,
    }))
}

/// `POST /1/transformations/search`.
pub async fn search(
    State(state): State<ApiState>,
    App(app): App,
    JsonBody(body): JsonBody<TransformationSearch>,
) -> Result<Json<Vec<Transformation>>, ApiError> {
    crate::check_search_ids("transformationIDs", &body.transformation_ids)?;
    Ok(Json(
        state
            .store
            .search_transformations(&app, &body.transformation_ids)
            .await?,
    ))
}

/// `GET /1/transformations/{transformationID}`.
pub async fn get(
    State(state): State<ApiState>,
    App(app): App,
    Ids(id): Ids<String>,
) -> Result<Json<Transformation>, ApiError> {
    Ok(Json(state.store.get_transformation(&app, &id).await?))
}

/// `PUT /1/transformations/{transformationID}`: the body replaces the whole transformation.
pub async fn replace(
    State(state): State<ApiState>,
    App(app): App,
    Ids(id): Ids<String>,
    JsonBody(body): JsonBody<TransformationCreate>,
) -> Result<Json<TransformationUpdateResponse>, ApiError> {
    check(&state, &body).await?;
    let replaced = state
        .store
        .replace_transformation(&app, &id, &body, state.clock.now())
        .await?;
    tracing::info!(app, id, "transformation replaced");
    Ok(Json(TransformationUpdateResponse {
        transformation_id: replaced.transformation_id,
        updated_at: replaced.updated_at,
    }))
}

/// `DELETE /1/transformations/{transformationID}`: refused while a live destination applies it.
pub async fn delete(
    State(state): State<ApiState>,
    App(app): App,
    Ids(id): Ids<String>,
) -> Result<Json<DeleteResponse>, ApiError> {
    let at = state.clock.now();
    state.store.delete_transformation(&app, &id, at).await?;
    tracing::info!(app, id, "transformation deleted");
    Ok(Json(DeleteResponse {
        deleted_at: at.to_rfc3339(),
    }))
}

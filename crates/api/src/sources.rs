//! `/1/sources`: operations 13 to 18 of `docs/api.md` A3. A source's `authenticationID` must
//! name an authentication of the kind its type needs, in the same application (`docs/api.md` C7, checked
//! by the store). Its `type` cannot change; a PATCH `input` is parsed against the stored type.

use axum::Json;
use axum::extract::State;
use ingest_model::{
    DeleteResponse, ListSourcesResponse, ResourceSortKeys, Source, SourceCreate,
    SourceCreateResponse, SourceSearch, SourceUpdate, SourceUpdateResponse,
};
use ingest_store::SourceQuery;

use crate::body::JsonBody;
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

//! `/1/destinations`: operations 7 to 12 of `docs/api.md` A3. A destination's `authenticationID` must
//! name an `algolia` authentication of the same application (`docs/api.md` C7), and its
//! `transformationIDs` (at most one) a transformation of the same application (`docs/api.md` D3),
//! both checked by the store; `GET` filters on `transformationID`.

use axum::Json;
use axum::extract::State;
use ingest_model::{
    DeleteResponse, Destination, DestinationCreate, DestinationCreateResponse, DestinationSearch,
    DestinationUpdate, DestinationUpdateResponse, ListDestinationsResponse, ResourceSortKeys,
};
use ingest_store::DestinationQuery;

use crate::body::JsonBody;
use crate::error::ApiError;
use crate::extract::{App, Ids, QueryParams};
use crate::{ApiState, page_request};

/// `GET /1/destinations`.
pub async fn list(
    State(state): State<ApiState>,
    App(app): App,
    QueryParams(params): QueryParams,
) -> Result<Json<ListDestinationsResponse>, ApiError> {
    let paging = params.paging(Some(ResourceSortKeys::CreatedAt))?;
    let query = DestinationQuery {
        page: page_request(&paging),
        sort: paging.sort.unwrap_or(ResourceSortKeys::CreatedAt),
        order: paging.order,
        types: params.list("type")?.unwrap_or_default(),
        authentication_ids: params.id_list("authenticationID")?.unwrap_or_default(),
        transformation_id: params.single("transformationID")?.map(str::to_owned),
    };
    let page = state.store.list_destinations(&app, &query).await?;
    Ok(Json(ListDestinationsResponse {
        destinations: page.items,
        pagination: page.pagination,
    }))
}

/// `POST /1/destinations`.
pub async fn create(
    State(state): State<ApiState>,
    App(app): App,
    JsonBody(input): JsonBody<DestinationCreate>,
) -> Result<Json<DestinationCreateResponse>, ApiError> {
    let created = state
        .store
        .create_destination(&app, &input, state.clock.now())
        .await?;
    tracing::info!(app, id = created.destination_id, "destination created");
    Ok(Json(DestinationCreateResponse {
        destination_id: created.destination_id,
        name: created.name,
        created_at: created.created_at,
    }))
}

/// `POST /1/destinations/search`.
pub async fn search(
    State(state): State<ApiState>,
    App(app): App,
    JsonBody(body): JsonBody<DestinationSearch>,
) -> Result<Json<Vec<Destination>>, ApiError> {
    crate::check_search_ids("destinationIDs", &body.destination_ids)?;
    Ok(Json(
        state
            .store
            .search_destinations(&app, &body.destination_ids)
            .await?,
    ))
}

/// `GET /1/destinations/{destinationID}`.
pub async fn get(
    State(state): State<ApiState>,
    App(app): App,
    Ids(id): Ids<String>,
) -> Result<Json<Destination>, ApiError> {
    Ok(Json(state.store.get_destination(&app, &id).await?))
}

/// `PATCH /1/destinations/{destinationID}`.
pub async fn update(
    State(state): State<ApiState>,
    App(app): App,
    Ids(id): Ids<String>,
    JsonBody(update): JsonBody<DestinationUpdate>,
) -> Result<Json<DestinationUpdateResponse>, ApiError> {
    let updated = state
        .store
        .update_destination(&app, &id, &update, state.clock.now())
        .await?;
    tracing::info!(app, id, "destination updated");
    Ok(Json(DestinationUpdateResponse {
        destination_id: updated.destination_id,
        name: updated.name,
        updated_at: updated.updated_at,
    }))
}

/// `DELETE /1/destinations/{destinationID}`: refused while a live task uses it.
pub async fn delete(
    State(state): State<ApiState>,
    App(app): App,
    Ids(id): Ids<String>,
) -> Result<Json<DeleteResponse>, ApiError> {
    let at = state.clock.now();
    state.store.delete_destination(&app, &id, at).await?;
    tracing::info!(app, id, "destination deleted");
    Ok(Json(DeleteResponse {
        deleted_at: at.to_rfc3339(),
    }))
}

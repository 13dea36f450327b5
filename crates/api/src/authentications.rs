//! `/1/authentications`: operations 1 to 6 of `docs/api.md` A3. Responses carry `input` with every
//! secret `null` (`docs/api.md` C5); a PATCH that omits a secret keeps the stored one.

use axum::Json;
use axum::extract::State;
use ingest_model::{
    Authentication, AuthenticationCreate, AuthenticationCreateResponse, AuthenticationSearch,
    AuthenticationSortKeys, AuthenticationUpdate, AuthenticationUpdateResponse, DeleteResponse,
    ListAuthenticationsResponse,
};
use ingest_store::AuthenticationQuery;

use crate::body::JsonBody;
use crate::error::ApiError;
use crate::extract::{App, Ids, QueryParams};
use crate::{ApiState, page_request};

/// `GET /1/authentications`.
pub async fn list(
    State(state): State<ApiState>,
    App(app): App,
    QueryParams(params): QueryParams,
) -> Result<Json<ListAuthenticationsResponse>, ApiError> {
    let paging = params.paging(Some(AuthenticationSortKeys::CreatedAt))?;
    let query = AuthenticationQuery {
        page: page_request(&paging),
        sort: paging.sort.unwrap_or(AuthenticationSortKeys::CreatedAt),
        order: paging.order,
        types: params.list("type")?.unwrap_or_default(),
        platforms: params.list("platform")?.unwrap_or_default(),
    };
    let page = state.store.list_authentications(&app, &query).await?;
    Ok(Json(ListAuthenticationsResponse {
        authentications: page.items,
        pagination: page.pagination,
    }))
}

/// `POST /1/authentications`.
pub async fn create(
    State(state): State<ApiState>,
    App(app): App,
    JsonBody(input): JsonBody<AuthenticationCreate>,
) -> Result<Json<AuthenticationCreateResponse>, ApiError> {
    let created = state
        .store
        .create_authentication(&app, &input, state.clock.now())
        .await?;
    tracing::info!(app, id = created.authentication_id, kind = %created.auth_type, "authentication created");
    Ok(Json(AuthenticationCreateResponse {
        authentication_id: created.authentication_id,
        name: created.name,
        created_at: created.created_at,
    }))
}

/// `POST /1/authentications/search`.
pub async fn search(
    State(state): State<ApiState>,
    App(app): App,
    JsonBody(body): JsonBody<AuthenticationSearch>,
) -> Result<Json<Vec<Authentication>>, ApiError> {
    crate::check_search_ids("authenticationIDs", &body.authentication_ids)?;
    Ok(Json(
        state
            .store
            .search_authentications(&app, &body.authentication_ids)
            .await?,
    ))
}

/// `GET /1/authentications/{authenticationID}`.
pub async fn get(
    State(state): State<ApiState>,
    App(app): App,
    Ids(id): Ids<String>,
) -> Result<Json<Authentication>, ApiError> {
    Ok(Json(state.store.get_authentication(&app, &id).await?))
}

/// `PATCH /1/authentications/{authenticationID}`.
pub async fn update(
    State(state): State<ApiState>,
    App(app): App,
    Ids(id): Ids<String>,
    JsonBody(update): JsonBody<AuthenticationUpdate>,
) -> Result<Json<AuthenticationUpdateResponse>, ApiError> {
    let updated = state
        .store
        .update_authentication(&app, &id, &update, state.clock.now())
        .await?;
    tracing::info!(app, id, "authentication updated");
    Ok(Json(AuthenticationUpdateResponse {
        authentication_id: updated.authentication_id,
        name: updated.name,
        updated_at: updated.updated_at,
    }))
}

/// `DELETE /1/authentications/{authenticationID}`.
pub async fn delete(
    State(state): State<ApiState>,
    App(app): App,
    Ids(id): Ids<String>,
) -> Result<Json<DeleteResponse>, ApiError> {
    let at = state.clock.now();
    state.store.delete_authentication(&app, &id, at).await?;
    tracing::info!(app, id, "authentication deleted");
    Ok(Json(DeleteResponse {
        deleted_at: at.to_rfc3339(),
    }))
}

//! `/1/runs` and their events: operations 28 to 31 of `docs/api.md` A3. Lists carry a `window`
//! (`docs/api.md` C19): the time range they cover, from the `startDate`/`endDate` query parameters, by
//! default the whole history up to now.

use axum::Json;
use axum::extract::State;
use ingest_model::{
    Event, EventSortKeys, ListEventsResponse, Run, RunListResponse, RunSortKeys, Timestamp, Window,
};
use ingest_store::{EventQuery, RunQuery};

use crate::error::ApiError;
use crate::extract::{App, Ids, QueryParams};
use crate::query::Params;
use crate::{ApiState, page_request};

/// The `startDate`/`endDate` parameters, checked for order, and the window they give.
fn window(
    params: &Params,
    now: Timestamp,
) -> Result<(Option<Timestamp>, Option<Timestamp>, Window), ApiError> {
    let start = params.timestamp("startDate")?;
    let end = params.timestamp("endDate")?;
    if let (Some(s), Some(e)) = (start, end)
        && s > e
    {
        return Err(ApiError::invalid(
            "endDate",
            "must not be before `startDate`",
        ));
    }
    let window = Window {
        start_date: start.unwrap_or(Timestamp::from_unix(0, 0)).to_rfc3339(),
        end_date: end.unwrap_or(now).to_rfc3339(),
    };
    Ok((start, end, window))
}

/// `GET /1/runs`.
pub async fn list(
    State(state): State<ApiState>,
    App(app): App,
    QueryParams(params): QueryParams,
) -> Result<Json<RunListResponse>, ApiError> {
    let paging = params.paging(Some(RunSortKeys::CreatedAt))?;
    let (start_date, end_date, window) = window(&params, state.clock.now())?;
    let query = RunQuery {
        page: page_request(&paging),
        sort: paging.sort.unwrap_or(RunSortKeys::CreatedAt),
        order: paging.order,
        statuses: params.list("status")?.unwrap_or_default(),
        task_id: params.single("taskID")?.map(str::to_owned),
        types: params.list("type")?.unwrap_or_default(),
        start_date,
        end_date,
        outcomes: Vec::new(),
    };
    let page = state.store.list_runs(&app, &query).await?;
    Ok(Json(RunListResponse {
        runs: page.items,
        pagination: page.pagination,
        window,
    }))
}

/// `GET /1/runs/{runID}`.
pub async fn get(
    State(state): State<ApiState>,
    App(app): App,
    Ids(id): Ids<String>,
) -> Result<Json<Run>, ApiError> {
    Ok(Json(state.store.get_run(&app, &id).await?))
}

/// `GET /1/runs/{runID}/events`.
pub async fn list_events(
    State(state): State<ApiState>,
    App(app): App,
    Ids(run_id): Ids<String>,
    QueryParams(params): QueryParams,
) -> Result<Json<ListEventsResponse>, ApiError> {
    let paging = params.paging(Some(EventSortKeys::PublishedAt))?;
    let (start_date, end_date, window) = window(&params, state.clock.now())?;
    let query = EventQuery {
        page: page_request(&paging),
        sort: paging.sort.unwrap_or(EventSortKeys::PublishedAt),
        order: paging.order,
        statuses: params.list("status")?.unwrap_or_default(),
        types: params.list("type")?.unwrap_or_default(),
        start_date,
        end_date,
    };
    let page = state.store.list_events(&app, &run_id, &query).await?;
    Ok(Json(ListEventsResponse {
        events: page.items,
        pagination: page.pagination,
        window,
    }))
}

/// `GET /1/runs/{runID}/events/{eventID}`.
pub async fn get_event(
    State(state): State<ApiState>,
    App(app): App,
    Ids((run_id, event_id)): Ids<(String, String)>,
) -> Result<Json<Event>, ApiError> {
    Ok(Json(state.store.get_event(&app, &run_id, &event_id).await?))
}

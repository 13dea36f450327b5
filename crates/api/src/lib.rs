//! The HTTP control plane: the Algolia Ingestion API (`docs/api.md` part A, with our
//! decisions of part C) served with axum over the store.
//!
//! # The model
//!
//! Every route under `/1/` belongs to an **application**: a request names one with
//! `X-Algolia-Application-Id` and proves it with `X-Algolia-API-Key` ([`auth`]); the resources it
//! creates belong to that application, and another application's resources answer 404 as if
//! they did not exist. A request goes through, in order:
//!
//! 1. the **rate limiter** ([`rate_limit`]): per client IP, before authentication, so refused
//!    requests count too;
//! 2. **authentication** ([`auth`]): one 403 body for every failure;
//! 3. the **handler** of its resource module: the body is read as JSON whatever the
//!    `Content-Type` says (`text/plain` included, [`body`]), at most 1 MiB (413 past it), and
//!    parsed by `ingest-model`, whose errors name the field path; query strings go through
//!    [`query`]; the store is called; and its errors become statuses in one place
//!    ([`error::ApiError::status`]).
//!
//! Responses are the model's types, serialized with the spec's names byte for byte; secrets are
//! always `null` in them. `GET /health` (alive) and `GET /ready` (store reachable) need neither
//! credentials nor rate-limit budget; nor does `GET /metrics` (Prometheus text format: requests
//! by route and status, and whatever the engine in the same process records).
//!
//! [`server::serve`] runs the router over TCP with a header-read timeout and graceful shutdown.

// A failed unwrap is a failed test; outside tests, every error is handled.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod auth;
pub mod authentications;
pub mod body;
pub mod browser;
pub mod credentials;
pub mod destinations;
pub mod error;
pub mod extract;
pub mod push;
pub mod query;
pub mod rate_limit;
pub mod runs;
pub mod server;
pub mod sources;
pub mod tasks;
pub mod tasks_v2;
pub mod transformation_try;
pub mod transformations;
pub mod validate;
pub mod webhook;
pub mod webhook_dedup;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Extension, Json, Router};
use ingest_core::Secret;
use ingest_core::metrics::{self, Metrics};
use ingest_core::time::{Clock, SystemClock};
use ingest_store::{PageRequest, Store};

pub use auth::{AppCredentials, AppId, AppKeys};
pub use error::ApiError;
pub use rate_limit::{Limit, RateLimitSettings};
pub use server::{ServeSettings, serve, shutdown_signal};

use crate::body::BodyLimit;
use crate::query::Paging;

/// What the router needs besides the store.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// The applications and their admin keys.
    pub apps: Vec<AppCredentials>,
    /// Rate limits per client IP.
    pub rate_limits: RateLimitSettings,
    /// Largest request body (413 past it).
    pub max_body_bytes: usize,
    /// Longest time a request may take (503 past it).
    pub request_timeout: Duration,
    /// The process's metrics registry (`GET /metrics`; requests are counted into it).
    pub metrics: Arc<Metrics>,
    /// The BigCommerce app's client secret: with it, a connector event posted to
    /// `/1/tasks/{taskID}/webhook` must carry a valid Standard Webhooks signature.
    pub webhook_client_secret: Option<Secret<String>>,
    /// Where handlers read the current time (the system's clock outside tests).
    pub clock: Arc<dyn Clock>,
    /// Whether `GET /metrics` is served beside the API (`false` when a separate metrics
    /// listener serves it).
    pub serve_metrics: bool,
    /// The push routes' body limit, `watch` timeout and per-application budget.
    pub push: push::PushRouteSettings,
    /// Origins browsers may call the API from (CORS); none by default.
    pub cors_origins: Vec<String>,
    /// How `validate` reads sources (`docs/api.md` D6); without it, validations are refused.
    pub validation: Option<validate::SourceReading>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            apps: Vec::new(),
            rate_limits: RateLimitSettings::default(),
            max_body_bytes: body::DEFAULT_MAX_BODY_BYTES,
            request_timeout: Duration::from_secs(30),
            metrics: Arc::new(Metrics::new()),
            webhook_client_secret: None,
            clock: Arc::new(SystemClock),
            serve_metrics: true,
            push: push::PushRouteSettings::default(),
            cors_origins: Vec::new(),
            validation: None,
        }
    }
}

/// The state every handler shares.
#[derive(Clone)]
pub struct ApiState {
    /// The store.
    pub store: Store,
    /// The metrics registry.
    pub metrics: Arc<Metrics>,
    /// Recent webhook deliveries, to answer a redelivery with the run it already created.
    pub deliveries: Arc<webhook_dedup::Deliveries>,
    /// The key connector events must be signed with, when one is configured.
    pub webhook_secret: Option<Arc<Secret<String>>>,
    /// The current time.
    pub clock: Arc<dyn Clock>,
    /// The push routes' settings.
    pub push: push::PushRouteSettings,
    /// Push budgets per application.
    pub pushes: Arc<push::PushBudgets>,
    /// How `validate` reads sources.
    pub validation: Option<Arc<validate::SourceReading>>,
    /// Slots for compiling and trying transformations ([`transformations::transform_slots`]).
    pub transforms: Arc<tokio::sync::Semaphore>,
}

/// The state the API's handlers share, for `store` and `config`.
pub fn state(store: Store, config: &ApiConfig) -> ApiState {
    ApiState {
        store,
        metrics: config.metrics.clone(),
        deliveries: Arc::default(),
        webhook_secret: config.webhook_client_secret.clone().map(Arc::new),
        clock: config.clock.clone(),
        push: config.push,
        pushes: Arc::default(),
        validation: config.validation.clone().map(Arc::new),
        transforms: transformations::transform_slots(),
    }
}

/// The whole API: `/1/...` behind rate limits and authentication, `/health` and `/ready` open.
pub fn router(store: Store, config: &ApiConfig) -> Router {
    router_with_state(state(store, config), config)
}

/// [`router`] over a state built by [`state`] (the console calls the same routes in process
/// with the same state).
pub fn router_with_state(state: ApiState, config: &ApiConfig) -> Router {
    let keys = Arc::new(AppKeys::new(&config.apps));
    let limits = Arc::new(rate_limit::RateLimits::new(&config.rate_limits));
    let api = app_routes(state.clone())
        .fallback(no_route)
        .method_not_allowed_fallback(no_method)
        .layer(middleware::from_fn_with_state(keys, auth::require_app))
        .layer(middleware::from_fn(browser::query_credentials))
        .layer(middleware::from_fn_with_state(limits, rate_limit::limit));
    ops_routes(state, config.serve_metrics)
        .merge(api)
        .layer(middleware::from_fn_with_state(
            config.metrics.clone(),
            count_requests,
        ))
        .layer(middleware::from_fn_with_state(
            Deadlines {
                request: config.request_timeout,
                // A watched push may wait for its application, then answer.
                push: config
                    .request_timeout
                    .max(config.push.watch_timeout + Duration::from_secs(5)),
                // A validation reads its source for up to its time limit, then records the run.
                validate: config.request_timeout.max(
                    config
                        .validation
                        .as_ref()
                        .map_or(Duration::ZERO, |v| v.max_time + Duration::from_secs(5)),
                ),
            },
            deadline,
        ))
        .layer(Extension(BodyLimit(config.max_body_bytes)))
        .layer(middleware::from_fn_with_state(
            Arc::new(browser::CorsOrigins::new(&config.cors_origins)),
            browser::cors,
        ))
}

/// Every `/1/` and `/2/` route of an application, with no authentication and no rate limit: a
/// request must carry the [`AppId`] it acts for, and the [`BodyLimit`] extension. [`router`]
/// puts authentication in front; the console inserts the signed-in application.
pub fn app_routes(state: ApiState) -> Router {
    Router::new()
        .route(
            "/1/authentications",
            get(authentications::list).post(authentications::create),
        )
        .route("/1/authentications/search", post(authentications::search))
        .route(
            "/1/authentications/{authenticationID}",
            get(authentications::get)
                .patch(authentications::update)
                .delete(authentications::delete),
        )
        .route(
            "/1/destinations",
            get(destinations::list).post(destinations::create),
        )
        .route("/1/destinations/search", post(destinations::search))
        .route(
            "/1/destinations/{destinationID}",
            get(destinations::get)
                .patch(destinations::update)
                .delete(destinations::delete),
        )
        .route("/1/sources", get(sources::list).post(sources::create))
        .route("/1/sources/search", post(sources::search))
        .route("/1/sources/validate", post(validate::validate))
        .route(
            "/1/sources/{sourceID}",
            get(sources::get)
                .patch(sources::update)
                .delete(sources::delete),
        )
        .route("/1/sources/{sourceID}/run", post(sources::run))
        .route(
            "/1/sources/{sourceID}/validate",
            post(validate::validate_before_update),
        )
        .route(
            "/1/sources/{sourceID}/discover",
            get(sources::discover).post(sources::discover),
        )
        .route("/1/tasks", get(tasks::list).post(tasks::create))
        .route("/1/tasks/search", post(tasks::search))
        .route(
            "/1/tasks/{taskID}",
            get(tasks::get).patch(tasks::update).delete(tasks::delete),
        )
        .route("/1/tasks/{taskID}/run", post(tasks::run))
        .route("/1/tasks/{taskID}/webhook", post(webhook::webhook))
        .route("/1/tasks/{taskID}/enable", put(tasks::enable))
        .route("/1/tasks/{taskID}/disable", put(tasks::disable))
        .route("/2/tasks", get(tasks_v2::list).post(tasks_v2::create))
        .route("/2/tasks/search", post(tasks_v2::search))
        .route(
            "/2/tasks/{taskID}",
            get(tasks_v2::get)
                .patch(tasks_v2::update)
                .put(tasks_v2::replace)
                .delete(tasks::delete),
        )
        .route("/2/tasks/{taskID}/run", post(tasks_v2::run))
        .route("/2/tasks/{taskID}/push", post(push::push_task))
        .route("/1/push/{indexName}", post(push::push))
        .route("/2/tasks/{taskID}/enable", put(tasks::enable))
        .route("/2/tasks/{taskID}/disable", put(tasks::disable))
        .route(
            "/1/transformations",
            get(transformations::list).post(transformations::create),
        )
        .route("/1/transformations/search", post(transformations::search))
        .route(
            "/1/transformations/try",
            post(transformation_try::try_inline),
        )
        .route(
            "/1/transformations/{transformationID}",
            get(transformations::get)
                .put(transformations::replace)
                .delete(transformations::delete),
        )
        .route(
            "/1/transformations/{transformationID}/try",
            post(transformation_try::try_stored),
        )
        .route("/1/runs", get(runs::list))
        .route("/1/runs/{runID}", get(runs::get))
        .route("/1/runs/{runID}/events", get(runs::list_events))
        .route("/1/runs/{runID}/events/{eventID}", get(runs::get_event))
        .with_state(state)
}

/// The operations endpoints alone, for a process that runs workers or the scheduler without the
/// API: `GET /health`, `GET /ready` and `GET /metrics`, open like they are beside the API.
pub fn ops_router(store: Store, metrics: Arc<Metrics>) -> Router {
    let state = ApiState {
        store,
        metrics,
        deliveries: Arc::default(),
        webhook_secret: None,
        clock: Arc::new(SystemClock),
        push: push::PushRouteSettings::default(),
        pushes: Arc::default(),
        validation: None,
        transforms: transformations::transform_slots(),
    };
    ops_routes(state, true)
        .fallback(no_route)
        .method_not_allowed_fallback(no_method)
}

fn ops_routes(state: ApiState, metrics: bool) -> Router {
    let routes = Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready));
    let routes = if metrics {
        routes.route("/metrics", get(render_metrics))
    } else {
        routes
    };
    routes.with_state(state)
}

/// The store's page request for validated paging.
pub(crate) fn page_request<S>(paging: &Paging<S>) -> PageRequest {
    PageRequest {
        page: paging.page,
        items_per_page: paging.items_per_page,
    }
}

/// The most IDs a search body may hold.
const MAX_SEARCH_IDS: usize = 1000;

/// Checks a search body's ID list.
pub(crate) fn check_search_ids(field: &str, ids: &[String]) -> Result<(), ApiError> {
    if ids.len() > MAX_SEARCH_IDS {
        return Err(ApiError::invalid(
            field,
            format!("at most {MAX_SEARCH_IDS} IDs, got {}", ids.len()),
        ));
    }
    Ok(())
}

/// `GET /health`: the process is alive.
async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// `GET /ready`: the store answers (503 otherwise).
async fn ready(State(state): State<ApiState>) -> Response {
    match state.store.ping().await {
        Ok(_) => Json(serde_json::json!({ "status": "ready" })).into_response(),
        Err(error) => {
            tracing::warn!(%error, "not ready: the store does not answer");
            ApiError::Unavailable.into_response()
        }
    }
}

/// `GET /metrics`: the Prometheus text format, with the queue depth sampled now.
async fn render_metrics(State(state): State<ApiState>) -> Response {
    match state.store.queue_depth().await {
        Ok(depth) => state.metrics.set(metrics::QUEUE_DEPTH, &[], depth as f64),
        Err(error) => tracing::debug!(%error, "queue depth unavailable"),
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

/// Middleware: counts each request by its route pattern (never the raw path, which holds IDs)
/// and status.
async fn count_requests(
    State(registry): State<Arc<Metrics>>,
    req: Request,
    next: Next,
) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    registry.inc(
        metrics::API_REQUESTS,
        &[("route", route.as_str()), ("status", status.as_str())],
    );
    response
}

async fn no_route(method: Method, uri: Uri) -> ApiError {
    ApiError::NoRoute {
        status: StatusCode::NOT_FOUND,
        message: format!("no route for {method} {}", error::printable(uri.path())),
    }
}

async fn no_method(method: Method, uri: Uri) -> ApiError {
    ApiError::NoRoute {
        status: StatusCode::METHOD_NOT_ALLOWED,
        message: format!(
            "method {method} is not allowed on {}",
            error::printable(uri.path())
        ),
    }
}

/// Middleware: a request that takes longer than the deadline gets a 503; every request is
/// logged at debug level with its status and duration (path only, never headers or bodies).
/// How long a request may take: the push routes may wait longer (`watch=true`).
#[derive(Debug, Clone, Copy)]
struct Deadlines {
    request: Duration,
    push: Duration,
    validate: Duration,
}

async fn deadline(State(limits): State<Deadlines>, req: Request, next: Next) -> Response {
    let path_text = req.uri().path();
    let limit = if path_text.starts_with("/1/push/") || path_text.ends_with("/push") {
        limits.push
    } else if path_text.starts_with("/1/sources/") && path_text.ends_with("/validate") {
        limits.validate
    } else {
        limits.request
    };
    let method = req.method().clone();
    let path = error::printable(req.uri().path());
    let started = std::time::Instant::now();
    let response = match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(%method, path, "request timed out");
            ApiError::Unavailable.into_response()
        }
    };
    tracing::debug!(
        %method,
        path,
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "request"
    );
    response
}

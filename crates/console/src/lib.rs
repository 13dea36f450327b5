//! The console: the web pages of `ingestion serve` under `/console/`, for people.
//!
//! # The model
//!
//! Pages are rendered on the server with [`maud`] (compile-time templates, every interpolated
//! string HTML-escaped); the stylesheet and one small script (live progress, written here) are
//! embedded in the binary ([`assets`]). Nothing is fetched from elsewhere: the
//! `Content-Security-Policy` allows the console's own assets only ([`security`]).
//!
//! **One source of truth.** Pages read through the store's functions, scoped by the signed-in
//! application like the API; every write goes through the API's own routes, called in process
//! ([`api_call`]) as the signed-in application: the same parsing, validation, references and
//! store calls, and the same error messages, whose field paths put them next to the form field.
//!
//! **Sessions** ([`session`]): the sign-in form takes an application ID and its API key, checked
//! like the API checks them and rate-limited per client IP. A session is a random 256-bit ID,
//! kept server-side (only its SHA-256 digest is held), in an `HttpOnly`, `SameSite=Strict` cookie
//! (`Secure` when configured or behind HTTPS) that expires after an idle period. Every form that
//! changes something carries the session's CSRF token (403 without it). Sessions live in the
//! process's memory: a restart signs everyone out, and several API processes behind one address
//! need sticky sessions.

// A failed unwrap is a failed test; outside tests, every error is handled.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod api_call;
pub mod assets;
pub mod forms;
pub mod layout;
pub mod pages;
pub mod security;
pub mod session;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::middleware;
use axum::response::Redirect;
use axum::routing::{get, post};
use ingest_api::rate_limit::{Limit, Limiter, RateLimits};
use ingest_api::{ApiConfig, ApiState, AppKeys};
use ingest_core::time::Clock;
use ingest_store::Store;

pub use session::Sessions;

/// `[console]`: whether the console is served, and how its sessions behave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSettings {
    /// Serve the console (on by default).
    pub enabled: bool,
    /// Always mark the session cookie `Secure` (it is also when the request came over HTTPS
    /// through a trusted proxy).
    pub secure_cookies: bool,
    /// A session ends after this long without a request.
    pub session_idle: Duration,
    /// Sign-in attempts allowed per client IP per minute.
    pub sign_ins_per_minute: u32,
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            secure_cookies: false,
            session_idle: Duration::from_secs(12 * 3600),
            sign_ins_per_minute: 20,
        }
    }
}

/// What every console handler shares.
#[derive(Clone)]
pub struct Console(Arc<Inner>);

struct Inner {
    store: Store,
    api: Router,
    keys: AppKeys,
    limits: RateLimits,
    sign_ins: Limiter,
    sessions: Sessions,
    settings: ConsoleSettings,
    clock: Arc<dyn Clock>,
    max_body_bytes: usize,
}

impl std::ops::Deref for Console {
    type Target = ConsoleSettings;

    fn deref(&self) -> &ConsoleSettings {
        &self.0.settings
    }
}

impl Console {
    /// The store.
    pub fn store(&self) -> &Store {
        &self.0.store
    }

    /// The current time.
    pub fn now(&self) -> ingest_model::Timestamp {
        self.0.clock.now()
    }

    /// The sessions.
    pub fn sessions(&self) -> &Sessions {
        &self.0.sessions
    }
}

/// The console's routes (`/`, `/console/...`) over the API's `state` and `config`.
pub fn router(state: ApiState, config: &ApiConfig, settings: ConsoleSettings) -> Router {
    let api = ingest_api::app_routes(state.clone());
    let console = Console(Arc::new(Inner {
        store: state.store.clone(),
        api,
        keys: AppKeys::new(&config.apps),
        limits: RateLimits::new(&config.rate_limits),
        sign_ins: Limiter::new(Limit {
            requests: settings.sign_ins_per_minute.max(1),
            period: Duration::from_secs(60),
        }),
        sessions: Sessions::new(settings.session_idle),
        clock: config.clock.clone(),
        max_body_bytes: config.max_body_bytes,
        settings,
    }));
    use pages::{auths, destinations, overview, runs, sign_in, sources, tasks, transformations};
    let pages = Router::new()
        .route("/console", get(|| async { Redirect::to("/console/") }))
        .route("/console/", get(overview::show))
        .route("/console/assets/{name}", get(assets::serve))
        .route("/console/sign-in", get(sign_in::form).post(sign_in::submit))
        .route("/console/sign-out", post(sign_in::sign_out))
        .route("/console/tasks", get(tasks::list))
        .route("/console/tasks/new", get(tasks::new).post(tasks::create))
        .route("/console/tasks/{id}", get(tasks::detail))
        .route(
            "/console/tasks/{id}/edit",
            get(tasks::edit).post(tasks::update),
        )
        .route("/console/tasks/{id}/run", post(tasks::run))
        .route("/console/tasks/{id}/enable", post(tasks::enable))
        .route("/console/tasks/{id}/disable", post(tasks::disable))
        .route(
            "/console/tasks/{id}/delete",
            get(tasks::confirm_delete_task).post(tasks::delete),
        )
        .route("/console/runs", get(runs::list))
        .route("/console/runs/{id}", get(runs::detail))
        .route("/console/runs/{id}/progress", get(runs::progress))
        .route("/console/sources/validate", post(sources::validate_new))
        .route("/console/sources/{id}/validate", post(sources::validate))
        .route("/console/transformations", get(transformations::list))
        .route(
            "/console/transformations/new",
            get(transformations::new).post(transformations::create),
        )
        .route(
            "/console/transformations/{id}",
            get(transformations::edit).post(transformations::update),
        )
        .route(
            "/console/transformations/try",
            post(transformations::try_it),
        )
        .route(
            "/console/transformations/{id}/delete",
            get(transformations::confirm_delete).post(transformations::delete),
        )
        .merge(pages::resource::routes(&sources::SPEC))
        .merge(pages::resource::routes(&destinations::SPEC))
        .merge(pages::resource::routes(&auths::SPEC))
        .route("/console/{*rest}", get(pages::not_found))
        .with_state(console);
    Router::new()
        .route("/", get(|| async { Redirect::to("/console/") }))
        .merge(pages)
        .layer(middleware::from_fn(security::headers))
}

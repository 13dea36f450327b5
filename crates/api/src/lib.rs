//! The HTTP control plane: the Algolia Ingestion API (`ingestion-api.md` Part A, with the
//! decisions of Part C) served with axum over the store.
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
//! credentials nor rate-limit budget.
//!
//! [`server::serve`] runs the router over TCP with a header-read timeout and graceful shutdown.

pub mod auth;
pub mod body;
pub mod credentials;
pub mod cron;
pub mod error;
pub mod query;
pub mod rate_limit;
pub mod server;

pub use auth::{AppCredentials, AppId, AppKeys};
pub use error::ApiError;
pub use rate_limit::{Limit, RateLimitSettings};
pub use server::{ServeSettings, serve, shutdown_signal};

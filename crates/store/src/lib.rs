//! The control plane's storage: the resources of the Ingestion API, scoped by application,
//! in SQLite or PostgreSQL, through one concrete [`Store`].
//!
//! # The model
//!
//! Every row belongs to an application (`app_id`): every operation takes the application ID and
//! another application's resources answer [`StoreError::NotFound`], as deleted ones do.
//! Authentications, destinations, sources, transformations and tasks are **soft-deleted**
//! (`deleted_at`): a deleted row is gone for reads, lists and references, but stays for the runs
//! that mention it.
//! Runs and events are never deleted.
//!
//! References are checked inside the write transaction, so they hold under concurrency: a
//! source or destination refers to a live authentication of a fitting kind, a task to a live
//! source and destination, a destination to a live transformation and a transformation to live
//! `secrets` authentications ([`StoreError::InvalidReference`] names the field); deleting what a
//! live resource uses is refused ([`StoreError::InUse`] names the user). Nothing half-written
//! stays after an error: each operation is one transaction.
//!
//! Time is always passed in (`now`): the store never reads the clock, so tests drive it and the
//! control plane decides. Timestamps are stored as milliseconds since the epoch and returned as
//! RFC 3339 with milliseconds ([`Timestamp::to_rfc3339`]). IDs are UUID v4 strings. Ties in a
//! sort are broken by insertion order, in the direction of the sort.
//!
//! # Secrets
//!
//! The secret fields of an authentication ([`ingest_model::SECRET_FIELDS`]) are encrypted with
//! XChaCha20-Poly1305 under a [`SecretKey`] that lives outside the database (a random nonce per
//! value; the row's application and ID are authenticated with it, so a ciphertext cannot be moved
//! to another row). The rest of the input is stored in clear, redacted. API reads never decrypt:
//! they return the redacted input. [`Store::authentication_with_secrets`] and
//! [`Store::transformation_with_secrets`] (the values of a transformation's `secrets`
//! authentications) decrypt, for workers.
//!
//! # Runs and leases
//!
//! `POST /1/tasks/{taskID}/run` inserts a run in `created` ([`Store::create_run`]); a worker
//! claims it ([`Store::claim_next_run`]: PostgreSQL `FOR UPDATE SKIP LOCKED`, SQLite a
//! `BEGIN IMMEDIATE` transaction), which sets it `started` with a fresh **lease token** and an
//! expiry. Every later change (heartbeat, events, finish) names the token and fails with
//! [`StoreError::LeaseLost`], changing nothing, once the token no longer matches.
//! [`Store::requeue_expired`] puts runs whose lease expired back in `created`, or fails them
//! after too many attempts. A task never has two `started` runs: a claim skips the runs of a task
//! that already has one. Five failed runs in a row disable the task ([`AUTO_DISABLE_AFTER`]).
//!
//! # Backends
//!
//! [`Store`] is one concrete type over either database, chosen when it is opened:
//! [`Store::open_sqlite`] opens a file (WAL, foreign keys, busy timeout; one writer connection
//! and a pool of readers); [`Store::connect_postgres`] connects to a URL (optionally in a
//! schema). Both run their own migrations at start (`migrations/sqlite`, `migrations/postgres`)
//! and share every query: the SQL is written once, with `$n` parameters both databases
//! understand; the few differences (row locks, `SKIP LOCKED`) are asked of the transaction, and
//! only PostgreSQL tells other processes of queued runs (`NOTIFY`). Text holding a NUL character
//! is refused on both ([`StoreError::Invalid`]), since PostgreSQL cannot store it. Connection and IO failures are [`StoreError::Unavailable`]; [`Store::ping`] checks
//! the database answers.
//!
//! A `Store` is a cheap handle (`Clone` shares the connections, the key and the queue signal):
//! callers hold it by value.
//!
//! # Layout
//!
//! - `store`: the [`Store`] type (its pools, key and queue signal), `ping`, `close`, and the
//!   wake-up of workers when runs are queued; `sqlite` and `postgres`: the constructors and
//!   their configurations.
//! - One module per resource or area, each with its own `impl Store` block, its query type, its
//!   row columns and the reads of its rows: `authentications`, `sources_destinations` (what the
//!   two share is written once, over a table descriptor), `transformations`, `tasks`, `runs`
//!   (runs and their events), `workers` (claims, leases, finishing, requeue), `schedule` (due
//!   schedules, firing), `retention` (deleting old history).
//! - Under them, what every resource uses and nothing dispatches through: `db` (one SQL text
//!   for both databases: `Pools`, the transaction `Tx`, bound `Arg`s, typed `Row` reads),
//!   `filter` (`WHERE`, `ORDER BY`, one page, search by IDs), `query` (paging), `key` (sealing
//!   secrets), `signal` (waking workers), `migrate`, `error`.
//!
//! Resource modules import `store::Store` and the layer under it; neither `store` nor this file
//! imports a resource module's functions, so there is no dispatcher to keep in step.
//!
//! ## Adding a resource
//!
//! 1. A migration per backend (`migrations/sqlite/NNNN_name.sql`, `migrations/postgres/…`, the
//!    same tables and columns; timestamps as milliseconds, an `app_id`, a `seq` for stable
//!    sorts, `deleted_at` for soft deletes), listed in `migrate.rs`.
//! 2. One module here: its query type (with the API's defaults), its columns and row reader,
//!    and an `impl Store` block whose methods each open one transaction (`self.pools.write()` or
//!    `read()`), check references inside it (the other resources' `check_reference`/`reference`
//!    helpers) and commit. Declare it below, re-export its public types, and add a
//!    [`Resource`] variant for its errors.
//! 3. Tests in the conformance suite (`tests/conformance/`, one file per resource), declared
//!    with `both_backends!` so they run on both databases.
//!
//! # Testing
//!
//! With the `testkit` feature, `testkit` opens a fresh database per test (a SQLite file, or a
//! PostgreSQL schema in `TEST_DATABASE_URL`, dropped afterwards) and `both_backends!` declares a
//! test on each backend. The store's conformance suite and the API and engine tests use them.

// A failed unwrap is a failed test; outside tests, every error is handled.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod authentications;
mod claimable;
mod console;
mod db;
mod error;
mod filter;
mod key;
mod migrate;
mod postgres;
mod pushes;
mod query;
mod retention;
mod runs;
mod schedule;
mod signal;
mod sources_destinations;
mod sqlite;
mod store;
mod tasks;
#[cfg(feature = "testkit")]
pub mod testkit;
mod transformations;
mod validation;
mod workers;

pub use authentications::{AuthenticationQuery, AuthenticationWithSecrets};
pub use console::{FailingTask, Overview, RunTotals};
pub use error::{BoxError, Resource, StoreError, StoreResult};
pub use key::{KeyError, SecretKey};
pub use postgres::PostgresConfig;
pub use pushes::{AcceptedPush, ClaimedPushes, NewPush, PushResult, PushTask, StoredPush};
pub use query::{DEFAULT_ITEMS_PER_PAGE, MAX_ITEMS_PER_PAGE, NO_AUTHENTICATION, Page, PageRequest};
pub use retention::{FilePages, Purged};
pub use runs::{EventQuery, NewEvent, RunQuery};
pub use schedule::DueSchedule;
pub use sources_destinations::{DestinationQuery, SourceQuery};
pub use sqlite::SqliteConfig;
pub use store::Store;
pub use tasks::TaskQuery;
pub use transformations::{TransformationQuery, TransformationWithSecrets};
pub use validation::{FinishedValidation, SourceToValidate};
pub use workers::{AUTO_DISABLE_AFTER, ClaimedRun, FinishedRun, Requeued, RunFinish};

#[doc(no_inline)]
pub use ingest_model::Timestamp;

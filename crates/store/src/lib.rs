//! The control plane's storage: the six resources of the Ingestion API, scoped by application,
//! in SQLite or PostgreSQL behind one [`Store`] trait.
//!
//! # The model
//!
//! Every row belongs to an application (`app_id`): every operation takes the application ID and
//! another application's resources answer [`StoreError::NotFound`], as deleted ones do.
//! Authentications, destinations, sources and tasks are **soft-deleted** (`deleted_at`): a
//! deleted row is gone for reads, lists and references, but stays for the runs that mention it.
//! Runs and events are never deleted.
//!
//! References are checked inside the write transaction, so they hold under concurrency: a
//! source or destination refers to a live authentication of a fitting kind, a task to a live
//! source and destination ([`StoreError::InvalidReference`] names the field); deleting what a
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
//! they return the redacted input. [`Store::authentication_with_secrets`] decrypts, for workers.
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
//! [`SqliteStore`] opens a file (WAL, foreign keys, busy timeout; one writer connection and a
//! pool of readers); [`PostgresStore`] connects to a URL (optionally in a schema). Both run their
//! own migrations at start (`migrations/sqlite`, `migrations/postgres`) and share every query:
//! the SQL is written once, with `$n` parameters both databases understand. Text holding a NUL
//! character is refused on both ([`StoreError::Invalid`]), since PostgreSQL cannot store it.
//! Connection and IO failures are [`StoreError::Unavailable`]; [`Store::ping`] checks the
//! database answers.

mod auth;
mod backend;
mod connector_table;
mod db;
mod destination;
mod error;
mod event;
mod filter;
mod key;
mod migrate;
mod postgres;
mod query;
mod rows;
mod run;
mod schedule;
mod signal;
mod source;
mod sqlite;
mod store;
mod task;
mod types;
mod worker;

pub use error::{BoxError, Resource, StoreError, StoreResult};
pub use key::{KeyError, SecretKey};
pub use postgres::{PostgresConfig, PostgresStore};
pub use query::{
    AuthenticationQuery, DEFAULT_ITEMS_PER_PAGE, DestinationQuery, EventQuery, MAX_ITEMS_PER_PAGE,
    NO_AUTHENTICATION, Page, PageRequest, RunQuery, SourceQuery, TaskQuery,
};
pub use sqlite::{SqliteConfig, SqliteStore};
pub use store::Store;
pub use types::{
    AuthenticationWithSecrets, ClaimedRun, DueSchedule, FinishedRun, NewEvent, Requeued, RunFinish,
};

/// How many failed runs in a row disable a task (Part C 14).
pub const AUTO_DISABLE_AFTER: i64 = 5;

#[doc(no_inline)]
pub use ingest_model::Timestamp;

//! The store conformance suite: every test runs against SQLite (a temporary file) and, when
//! `TEST_DATABASE_URL` is set, against PostgreSQL (a fresh schema per test, dropped after it).
//! Without it the PostgreSQL tests say they are skipped; with `CI=true` they fail instead. Each
//! file declares its tests with `ingest_store::both_backends!`.

mod authentications;
mod fixtures;
mod harness;
mod leases;
mod queue;
mod references;
mod retention;
mod runs_events;
mod sources_destinations;
mod tasks;
mod transactions;
mod transformations;
mod validation;
mod workers;

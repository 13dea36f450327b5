//! The store conformance suite: every test runs against SQLite (a temporary file) and, when
//! `TEST_DATABASE_URL` is set, against PostgreSQL (a fresh schema per test, dropped after it).
//! With `CI=true`, a missing `TEST_DATABASE_URL` fails the PostgreSQL tests.

mod authentications;
mod fixtures;
mod harness;
mod leases;
mod references;
mod runs_events;
mod sources_destinations;
mod tasks;
mod transactions;
mod workers;

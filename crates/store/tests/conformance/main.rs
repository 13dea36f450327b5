//! The store conformance suite: every test runs against SQLite (a temporary file) and, when
//! `TEST_DATABASE_URL` is set, against PostgreSQL (a fresh schema per test).

mod authentications;
mod fixtures;
mod harness;

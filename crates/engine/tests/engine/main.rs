//! The engine in process: a store (SQLite always; PostgreSQL when `TEST_DATABASE_URL` is set,
//! required when `CI=true`), the fake Algolia over HTTP, and CSV sources served on 127.0.0.1.

mod harness;
mod outage;
mod pushes;
mod retention;
mod runs;
mod scheduler;
mod transformations;

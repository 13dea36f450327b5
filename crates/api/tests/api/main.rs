//! The API over real HTTP, on SQLite and (with `TEST_DATABASE_URL`) PostgreSQL.

mod browser;
mod common;
mod cts;
mod cts_today;
mod lists;
mod modern_fields;
mod push;
mod references;
mod security;
mod shapes;
mod signed_webhooks;
mod source_actions;
mod source_validation;
mod tasks_v2;
mod transformations;
mod validation;

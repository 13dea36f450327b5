//! Opening a fresh store per test: a SQLite file in the test's directory, or a new schema in
//! the PostgreSQL database of `TEST_DATABASE_URL`.

use std::path::Path;
use std::sync::Arc;

use ingest_store::{PostgresConfig, PostgresStore, SecretKey, SqliteStore, Store};
use rand::RngExt;

use crate::common::Backend;

/// The SQLite file of a test directory.
pub fn sqlite_path(dir: &Path) -> std::path::PathBuf {
    dir.join("ingestion.db")
}

/// A concrete store, kept beside the trait object so a test can close it.
#[derive(Clone)]
pub enum Concrete {
    /// SQLite.
    Sqlite(SqliteStore),
    /// PostgreSQL.
    Postgres(PostgresStore),
}

impl Concrete {
    /// The store as the router takes it.
    pub fn shared(&self) -> Arc<dyn Store> {
        match self {
            Self::Sqlite(s) => Arc::new(s.clone()),
            Self::Postgres(s) => Arc::new(s.clone()),
        }
    }

    /// Closes every connection: an outage as the API sees it.
    pub async fn close(&self) {
        match self {
            Self::Sqlite(s) => s.close().await,
            Self::Postgres(s) => s.close().await,
        }
    }
}

/// Opens the store; `None` for PostgreSQL when `TEST_DATABASE_URL` is unset.
pub async fn open(backend: Backend, dir: &Path, key: SecretKey) -> Option<Concrete> {
    match backend {
        Backend::Sqlite => Some(Concrete::Sqlite(
            SqliteStore::open(sqlite_path(dir), key)
                .await
                .expect("open sqlite"),
        )),
        Backend::Postgres => {
            let url = std::env::var("TEST_DATABASE_URL")
                .ok()
                .filter(|u| !u.is_empty())?;
            let schema = format!("api_test_{:016x}", rand::rng().random::<u64>());
            let config = PostgresConfig {
                schema: Some(schema),
                max_connections: 4,
                ..PostgresConfig::new(url)
            };
            Some(Concrete::Postgres(
                PostgresStore::connect_with(&config, key)
                    .await
                    .expect("connect postgres"),
            ))
        }
    }
}

//! The embedded backend of `ingestion serve`: one SQLite database file ([`Store::open_sqlite`]).

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteAutoVacuum, SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};

use crate::db::Pools;
use crate::key::SecretKey;
use crate::signal::QueueSignal;
use crate::store::Store;
use crate::{StoreError, StoreResult, migrate};

/// How to open a SQLite store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteConfig {
    /// The database file (created when missing).
    pub path: PathBuf,
    /// Reader connections (writes go through one connection, so they queue instead of failing
    /// with "database is locked").
    pub max_readers: u32,
    /// How long a connection waits on a lock held by another process before failing.
    pub busy_timeout: Duration,
}

impl SqliteConfig {
    /// The defaults for a file: 4 readers, 10 s busy timeout.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            max_readers: 4,
            busy_timeout: Duration::from_secs(10),
        }
    }
}

impl Store {
    /// Opens (or creates, with its parent directories) the SQLite database described by
    /// `config`, and migrates it: WAL journal, incremental vacuum (new files), foreign keys on, a busy timeout, one writer
    /// connection (every write transaction starts with `BEGIN IMMEDIATE`) and a pool of readers.
    /// Its queue signal wakes the workers of this process only.
    pub async fn open_sqlite(config: &SqliteConfig, key: SecretKey) -> StoreResult<Self> {
        if let Some(dir) = config.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Unavailable(Box::new(e)))?;
        }
        create_private(&config.path).map_err(|e| StoreError::Unavailable(Box::new(e)))?;
        let options = SqliteConnectOptions::from_str("sqlite:")?
            .filename(&config.path)
            .create_if_missing(true)
            // Takes effect on a new file only (before its first table): retention's deletes can
            // then hand pages back (`Store::release_free_pages`, docs/api.md C21).
            .auto_vacuum(SqliteAutoVacuum::Incremental)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(config.busy_timeout);
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone())
            .await?;
        migrate::sqlite().run(&write).await?;
        let read = SqlitePoolOptions::new()
            .max_connections(config.max_readers.max(1))
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await?;
        Ok(Self {
            pools: Pools::Sqlite { write, read },
            key,
            queue: QueueSignal::local(),
        })
    }
}

/// Creates the database file readable by its owner only (0600), as the keys are, when it does
/// not exist yet; SQLite gives its `-wal` and `-shm` files the same mode. An existing file is
/// left as it is.
fn create_private(path: &std::path::Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(error),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[tokio::test]
    async fn the_database_files_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data").join("ingestion.db");
        let config = SqliteConfig::new(path.clone());
        let store = Store::open_sqlite(&config, SecretKey::generate().unwrap())
            .await
            .unwrap();
        store.list_runs("app", &Default::default()).await.unwrap();
        for file in ["ingestion.db", "ingestion.db-wal", "ingestion.db-shm"] {
            let mode = std::fs::metadata(path.with_file_name(file))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{file}");
        }
    }
}

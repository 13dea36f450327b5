//! Test support (feature `testkit`): a fresh database per test on either backend, and
//! [`both_backends!`](crate::both_backends) to declare a test once and run it on both.
//!
//! A test suite describes what its tests receive with a [`TestHarness`]: built on a fresh
//! [`TestDatabase`] (a SQLite file in a temporary directory, or a new schema in the PostgreSQL
//! database of `TEST_DATABASE_URL`). [`run`] builds it, runs the test, and drops the PostgreSQL
//! schema afterwards, even when the test panicked.
//!
//! Without `TEST_DATABASE_URL`, the PostgreSQL half of every suite is skipped, saying so on
//! stderr (`cargo test -- --nocapture` shows it); with `CI=true` it fails instead, so a CI job
//! cannot pass without PostgreSQL.
//!
//! ```ignore
//! use ingest_store::testkit::{TestDatabase, TestHarness};
//!
//! struct Harness { store: ingest_store::Store, db: TestDatabase }
//!
//! impl TestHarness for Harness {
//!     async fn start(db: TestDatabase) -> Self {
//!         let store = db.open(ingest_store::SecretKey::generate().unwrap()).await.unwrap();
//!         Self { store, db }
//!     }
//!     fn database(&self) -> &TestDatabase { &self.db }
//! }
//!
//! ingest_store::both_backends!(ping_answers);
//!
//! async fn ping_answers(h: &Harness) {
//!     h.store.ping().await.unwrap();
//! }
//! ```

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};

use futures::FutureExt as _;

use crate::{PostgresConfig, SecretKey, SqliteConfig, Store, StoreResult};

/// The environment variable naming the PostgreSQL database tests may use.
pub const DATABASE_URL_VAR: &str = "TEST_DATABASE_URL";

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A fresh schema in the database of `TEST_DATABASE_URL`.
    Postgres,
}

/// A fresh, empty database for one test.
#[derive(Debug)]
pub enum TestDatabase {
    /// A SQLite file (`ingestion.db`) in a temporary directory, removed when dropped.
    Sqlite {
        /// The temporary directory.
        dir: tempfile::TempDir,
        /// The database file in it (created when a store opens it).
        path: PathBuf,
    },
    /// A schema of its own in a PostgreSQL database, dropped by [`TestDatabase::cleanup`].
    Postgres {
        /// The database URL (`TEST_DATABASE_URL`).
        url: String,
        /// The schema, `test_` and a random suffix (created when a store opens it).
        schema: String,
    },
}

impl TestDatabase {
    /// A fresh database on `backend`; `None` when PostgreSQL is asked for and not configured
    /// (see [`postgres_url`]).
    pub fn new(backend: Backend) -> Option<Self> {
        match backend {
            Backend::Sqlite => Some(Self::sqlite()),
            Backend::Postgres => Self::postgres(),
        }
    }

    /// A fresh SQLite file in a new temporary directory.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temporary directory for a test: {e}"));
        let path = dir.path().join("ingestion.db");
        Self::Sqlite { dir, path }
    }

    /// A fresh schema in the database of `TEST_DATABASE_URL`; `None` when it is not set (see
    /// [`postgres_url`]).
    pub fn postgres() -> Option<Self> {
        let url = postgres_url()?;
        let schema = format!("test_{}", uuid::Uuid::new_v4().simple());
        Some(Self::Postgres { url, schema })
    }

    /// The backend of this database.
    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite { .. } => Backend::Sqlite,
            Self::Postgres { .. } => Backend::Postgres,
        }
    }

    /// Whether this is a PostgreSQL schema.
    pub fn is_postgres(&self) -> bool {
        self.backend() == Backend::Postgres
    }

    /// The SQLite file, on SQLite.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match self {
            Self::Sqlite { path, .. } => Some(path),
            Self::Postgres { .. } => None,
        }
    }

    /// The URL and schema, on PostgreSQL.
    pub fn postgres_schema(&self) -> Option<(&str, &str)> {
        match self {
            Self::Sqlite { .. } => None,
            Self::Postgres { url, schema } => Some((url, schema)),
        }
    }

    /// Opens a store on this database with `key` (and migrates it). Can be called again for a
    /// second handle on the same data, as another process would have.
    pub async fn open(&self, key: SecretKey) -> StoreResult<Store> {
        match self {
            Self::Sqlite { path, .. } => Store::open_sqlite(&SqliteConfig::new(path), key).await,
            Self::Postgres { url, schema } => {
                let config = PostgresConfig {
                    schema: Some(schema.clone()),
                    max_connections: 8,
                    ..PostgresConfig::new(url.clone())
                };
                Store::connect_postgres(&config, key).await
            }
        }
    }

    /// Drops the PostgreSQL schema and everything in it (nothing to do on SQLite: the
    /// temporary directory goes when this value is dropped). Panics when the database refuses.
    pub async fn cleanup(&self) {
        let Self::Postgres { url, schema } = self else {
            return;
        };
        let dropped = async {
            let pool = sqlx::PgPool::connect(url).await?;
            let result = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"
            )))
            .execute(&pool)
            .await;
            pool.close().await;
            result.map(|_| ())
        };
        if let Err(e) = dropped.await {
            panic!("cannot drop the test schema `{schema}`: {e}");
        }
    }
}

/// `TEST_DATABASE_URL`, when set and not empty. Otherwise `None`, after printing on stderr that
/// the PostgreSQL test is skipped; but with `CI=true` a missing URL fails the test (panics), so
/// a CI job never passes without running the PostgreSQL tests.
pub fn postgres_url() -> Option<String> {
    if let Some(url) = std::env::var(DATABASE_URL_VAR)
        .ok()
        .filter(|url| !url.trim().is_empty())
    {
        return Some(url);
    }
    let test = std::thread::current()
        .name()
        .unwrap_or("a PostgreSQL test")
        .to_owned();
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{DATABASE_URL_VAR} must be set in CI: `{test}` needs PostgreSQL and cannot be skipped"
    );
    eprintln!("skipped: `{test}` runs on PostgreSQL; set {DATABASE_URL_VAR} to run it");
    None
}

/// What a both-backends test receives: built by [`run`] on a fresh database, which it keeps
/// for [`run`] to clean up after the test.
pub trait TestHarness: Sized {
    /// Builds the harness on `db` (opening a store on it, starting servers, ...).
    fn start(db: TestDatabase) -> impl Future<Output = Self>;

    /// The database the harness was built on.
    fn database(&self) -> &TestDatabase;
}

/// Runs `test` on a harness built on a fresh database of `backend`, then cleans the database
/// up, even when the test panicked (the panic then carries on). Returns at once, after saying
/// so, when PostgreSQL is asked for and not configured (see [`postgres_url`]).
pub async fn run<H, F>(backend: Backend, test: F)
where
    H: TestHarness,
    F: AsyncFnOnce(&H),
{
    let Some(db) = TestDatabase::new(backend) else {
        return;
    };
    let harness = H::start(db).await;
    let outcome = AssertUnwindSafe(test(&harness)).catch_unwind().await;
    harness.database().cleanup().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Declares each listed `async fn name(h: &H)` of the enclosing module (`H` a
/// [`TestHarness`](crate::testkit::TestHarness)) as two tests, `sqlite::name` and
/// `postgres::name`, each on a fresh database of its backend ([`run`](crate::testkit::run)).
///
/// ```ignore
/// ingest_store::both_backends!(round_trip, paging);
///
/// async fn round_trip(h: &Harness) { /* ... */ }
/// async fn paging(h: &Harness) { /* ... */ }
/// ```
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::testkit::run($crate::testkit::Backend::Sqlite, super::$name).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::testkit::run($crate::testkit::Backend::Postgres, super::$name).await;
                }
            )*
        }
    };
}

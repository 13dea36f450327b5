//! One store per test: SQLite in a temporary file, PostgreSQL in a fresh schema (dropped after
//! the test) when `TEST_DATABASE_URL` is set. In CI (`CI=true`) a missing `TEST_DATABASE_URL`
//! fails the PostgreSQL half instead of skipping it.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use futures::FutureExt as _;
use ingest_store::{PostgresConfig, PostgresStore, SecretKey, SqliteStore, Store, Timestamp};
use sqlx::Row as _;

/// The six tables.
pub const TABLES: &[&str] = &[
    "authentications",
    "destinations",
    "sources",
    "tasks",
    "runs",
    "events",
];

enum Raw {
    Sqlite {
        _dir: tempfile::TempDir,
        path: std::path::PathBuf,
    },
    Postgres {
        url: String,
        schema: String,
    },
}

/// A store under test, a clock, and raw access to its database.
pub struct Harness {
    pub store: Arc<dyn Store>,
    raw: Raw,
    clock: AtomicI64,
}

/// The time the tests' clock starts at: 2024-01-01T00:00:00Z.
const START: i64 = 1_704_067_200;

impl Harness {
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let store = SqliteStore::open(&path, SecretKey::generate().unwrap())
            .await
            .unwrap();
        Self {
            store: Arc::new(store),
            raw: Raw::Sqlite { _dir: dir, path },
            clock: AtomicI64::new(START),
        }
    }

    /// `None` when PostgreSQL tests are not configured (outside CI).
    pub async fn postgres() -> Option<Self> {
        let Ok(url) = std::env::var("TEST_DATABASE_URL") else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "TEST_DATABASE_URL must be set in CI: the PostgreSQL half of the store suite \
                 cannot be skipped"
            );
            return None;
        };
        let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
        let config = PostgresConfig {
            url: url.clone(),
            schema: Some(schema.clone()),
            max_connections: 8,
        };
        let store = PostgresStore::connect_with(&config, SecretKey::generate().unwrap())
            .await
            .unwrap();
        Some(Self {
            store: Arc::new(store),
            raw: Raw::Postgres { url, schema },
            clock: AtomicI64::new(START),
        })
    }

    /// The next instant of the test clock: one second after the previous one.
    pub fn now(&self) -> Timestamp {
        Timestamp::from_unix(self.clock.fetch_add(1, Ordering::SeqCst) + 1, 0)
    }

    /// Moves the clock `seconds` forward and returns the new time.
    pub fn advance(&self, seconds: i64) -> Timestamp {
        Timestamp::from_unix(self.clock.fetch_add(seconds, Ordering::SeqCst) + seconds, 0)
    }

    /// Every table as text: SQLite's database and WAL files byte for byte, PostgreSQL's rows
    /// (`SELECT t::text FROM table t`).
    pub async fn dump(&self) -> String {
        match &self.raw {
            Raw::Sqlite { path, .. } => {
                let mut out = Vec::new();
                for suffix in ["", "-wal"] {
                    let mut file = path.clone().into_os_string();
                    file.push(suffix);
                    if let Ok(bytes) = std::fs::read(&file) {
                        out.extend(bytes);
                    }
                }
                String::from_utf8_lossy(&out).into_owned()
            }
            Raw::Postgres { url, schema } => {
                let pool = sqlx::PgPool::connect(url).await.unwrap();
                let mut out = String::new();
                for table in TABLES {
                    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT t::text AS row FROM \"{schema}\".{table} t"
                    )))
                    .fetch_all(&pool)
                    .await
                    .unwrap();
                    for row in rows {
                        out.push_str(&row.get::<String, _>("row"));
                        out.push('\n');
                    }
                }
                pool.close().await;
                out
            }
        }
    }

    /// The number of rows in `table`, deleted ones included.
    pub async fn count_rows(&self, table: &str) -> i64 {
        let sql = |prefix: &str| format!("SELECT COUNT(*) AS n FROM {prefix}{table}");
        match &self.raw {
            Raw::Sqlite { path, .. } => {
                let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
                    .await
                    .unwrap();
                let n = sqlx::query(sqlx::AssertSqlSafe(sql("")))
                    .fetch_one(&pool)
                    .await
                    .unwrap()
                    .get::<i64, _>("n");
                pool.close().await;
                n
            }
            Raw::Postgres { url, schema } => {
                let pool = sqlx::PgPool::connect(url).await.unwrap();
                let n = sqlx::query(sqlx::AssertSqlSafe(sql(&format!("\"{schema}\"."))))
                    .fetch_one(&pool)
                    .await
                    .unwrap()
                    .get::<i64, _>("n");
                pool.close().await;
                n
            }
        }
    }

    /// Whether the store under test is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        matches!(self.raw, Raw::Postgres { .. })
    }

    /// A second store on the same database, opened with `key` (runs the migrations again).
    pub async fn reopen(&self, key: SecretKey) -> Arc<dyn Store> {
        match &self.raw {
            Raw::Sqlite { path, .. } => Arc::new(SqliteStore::open(path, key).await.unwrap()),
            Raw::Postgres { url, schema } => {
                let config = PostgresConfig {
                    url: url.clone(),
                    schema: Some(schema.clone()),
                    max_connections: 2,
                };
                Arc::new(PostgresStore::connect_with(&config, key).await.unwrap())
            }
        }
    }

    /// Runs raw SQL on the database behind the store: `sqlite` on SQLite, `postgres` on
    /// PostgreSQL (in the test's schema). For fault injection.
    pub async fn execute_raw(&self, sqlite: &str, postgres: &str) {
        match &self.raw {
            Raw::Sqlite { path, .. } => {
                let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
                    .await
                    .unwrap();
                sqlx::raw_sql(sqlx::AssertSqlSafe(sqlite.to_owned()))
                    .execute(&pool)
                    .await
                    .unwrap();
                pool.close().await;
            }
            Raw::Postgres { url, schema } => {
                let pool = sqlx::PgPool::connect(url).await.unwrap();
                let sql = format!("SET search_path TO \"{schema}\"; {postgres}");
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(&pool)
                    .await
                    .unwrap();
                pool.close().await;
            }
        }
    }

    async fn cleanup(&self) {
        if let Raw::Postgres { url, schema } = &self.raw {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"
            )))
            .execute(&pool)
            .await
            .unwrap();
            pool.close().await;
        }
    }

    /// Runs `test` on this harness, then drops the PostgreSQL schema, even if the test panicked.
    pub async fn run<F>(self, test: F)
    where
        F: AsyncFnOnce(&Harness),
    {
        let outcome = AssertUnwindSafe(test(&self)).catch_unwind().await;
        self.cleanup().await;
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    }
}

/// Declares each listed `async fn name(h: &Harness)` of the enclosing module as two tests:
/// `sqlite::name` and `postgres::name`.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::harness::Harness::sqlite().await.run(super::$name).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(h) = $crate::harness::Harness::postgres().await {
                        h.run(super::$name).await;
                    }
                }
            )*
        }
    };
}
pub(crate) use conformance;

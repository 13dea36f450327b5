//! One store per test on a fresh database ([`TestDatabase`]: SQLite in a temporary file, or
//! PostgreSQL in a fresh schema dropped after the test when `TEST_DATABASE_URL` is set), a
//! driven clock, and raw access to the database for dumps and fault injection. Tests are
//! declared on both backends with [`ingest_store::both_backends!`].

use std::sync::atomic::{AtomicI64, Ordering};

use ingest_store::testkit::{TestDatabase, TestHarness};
use ingest_store::{SecretKey, Store, Timestamp};
use sqlx::Row as _;

/// The tables of the resources.
pub const TABLES: &[&str] = &[
    "authentications",
    "destinations",
    "sources",
    "tasks",
    "runs",
    "events",
    "transformations",
];

/// A store under test, a clock, and raw access to its database.
pub struct Harness {
    pub store: Store,
    db: TestDatabase,
    clock: AtomicI64,
}

/// The time the tests' clock starts at: 2024-01-01T00:00:00Z.
const START: i64 = 1_704_067_200;

impl TestHarness for Harness {
    async fn start(db: TestDatabase) -> Self {
        let store = db.open(SecretKey::generate().unwrap()).await.unwrap();
        Self {
            store,
            db,
            clock: AtomicI64::new(START),
        }
    }

    fn database(&self) -> &TestDatabase {
        &self.db
    }
}

impl Harness {
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
        match &self.db {
            TestDatabase::Sqlite { path, .. } => {
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
            TestDatabase::Postgres { url, schema } => {
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
        match &self.db {
            TestDatabase::Sqlite { path, .. } => {
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
            TestDatabase::Postgres { url, schema } => {
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
        self.db.is_postgres()
    }

    /// A second store on the same database, opened with `key` (runs the migrations again).
    pub async fn reopen(&self, key: SecretKey) -> Store {
        self.db.open(key).await.unwrap()
    }

    /// Runs raw SQL on the database behind the store: `sqlite` on SQLite, `postgres` on
    /// PostgreSQL (in the test's schema). For fault injection.
    pub async fn execute_raw(&self, sqlite: &str, postgres: &str) {
        match &self.db {
            TestDatabase::Sqlite { path, .. } => {
                let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
                    .await
                    .unwrap();
                sqlx::raw_sql(sqlx::AssertSqlSafe(sqlite.to_owned()))
                    .execute(&pool)
                    .await
                    .unwrap();
                pool.close().await;
            }
            TestDatabase::Postgres { url, schema } => {
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
}

//! How long a worker's claim takes with a deep queue: 200,000 queued runs of 20 applications
//! (50 tasks each), each iteration claiming the next run and giving it back
//! (`claim_next_run` + `release_run`, so the queue stays as deep).
//!
//! `cargo bench -p ingest-store --bench claim` runs on SQLite (a temporary file), and on a fresh
//! schema of `TEST_DATABASE_URL` too when it is set. The queued runs are inserted set-based
//! (recursive CTE / `generate_series`), the applications, sources, destinations and tasks through
//! the store.

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use ingest_store::testkit::{Backend, TestDatabase};
use ingest_store::{SecretKey, Store, Timestamp};
use serde_json::json;
use sqlx::{Connection, Executor};

const APPS: usize = 20;
const TASKS_PER_APP: usize = 50;
const QUEUED: usize = 200_000;

fn now() -> Timestamp {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    Timestamp::from_unix(since.as_secs() as i64, since.subsec_nanos())
}

/// The applications' tasks (`(app, task_id)`), created through the store.
async fn tasks(store: &Store) -> Vec<(String, String)> {
    let mut tasks = Vec::new();
    for a in 0..APPS {
        let app = format!("BENCHAPP{a:02}");
        let source = serde_json::from_value(json!({"type": "json", "name": "src",
            "input": {"url": "https://example.com/data.json"}}))
        .unwrap();
        let source = store.create_source(&app, &source, now()).await.unwrap();
        let destination = serde_json::from_value(json!({"type": "search", "name": "dst",
            "input": {"indexName": "products"}}))
        .unwrap();
        let destination = store
            .create_destination(&app, &destination, now())
            .await
            .unwrap();
        let body = serde_json::from_value(json!({"sourceID": source.source_id,
            "destinationID": destination.destination_id,
            "trigger": {"type": "onDemand"}, "action": "replace"}))
        .unwrap();
        for _ in 0..TASKS_PER_APP {
            let task = store.create_task(&app, &body, None, now()).await.unwrap();
            tasks.push((app.clone(), task.task_id));
        }
    }
    tasks
}

/// `INSERT … SELECT` of the queued runs, run `r` of task `r % tasks` (the same SQL on both).
fn insert_runs(tasks: &[(String, String)]) -> String {
    let values = tasks
        .iter()
        .enumerate()
        .map(|(i, (app, task))| format!("({i}, '{app}', '{task}')"))
        .collect::<Vec<_>>()
        .join(", ");
    let (n, last) = (tasks.len(), QUEUED - 1);
    let at = now().unix_seconds() * 1000;
    format!(
        "WITH RECURSIVE g(r) AS (SELECT 0 UNION ALL SELECT r + 1 FROM g WHERE r < {last}), \
         t(i, app, task) AS (VALUES {values}) \
         INSERT INTO runs (id, app_id, task_id, status, type, created_at, updated_at) \
         SELECT 'bench-run-' || g.r, t.app, t.task, 'created', 'reindex', {at} + g.r, {at} + g.r \
         FROM g JOIN t ON t.i = g.r % {n}"
    )
}

async fn seed(database: &TestDatabase, tasks: &[(String, String)]) {
    let statements = [insert_runs(tasks), "ANALYZE".to_owned()];
    match database.postgres_schema() {
        Some((url, schema)) => {
            let mut db = sqlx::PgConnection::connect(url).await.unwrap();
            let schema = format!("SET search_path TO \"{schema}\"");
            for sql in std::iter::once(schema).chain(statements) {
                db.execute(sqlx::AssertSqlSafe(sql)).await.unwrap();
            }
        }
        None => {
            let path = database.sqlite_path().unwrap();
            let url = format!("sqlite://{}", path.display());
            let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
            for sql in statements {
                db.execute(sqlx::AssertSqlSafe(sql)).await.unwrap();
            }
        }
    }
}

fn claims(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut backends = vec![Backend::Sqlite];
    if ingest_store::testkit::postgres_url().is_some() {
        backends.push(Backend::Postgres);
    }
    let mut group = c.benchmark_group("claim");
    group
        .sample_size(50)
        .measurement_time(Duration::from_secs(10));
    for backend in backends {
        let database = TestDatabase::new(backend).unwrap();
        let store = rt.block_on(async {
            let store = database
                .open(SecretKey::from_bytes([7u8; 32]))
                .await
                .unwrap();
            let started = std::time::Instant::now();
            let tasks = tasks(&store).await;
            seed(&database, &tasks).await;
            eprintln!(
                "seeded {QUEUED} queued runs of {} tasks in {:.1?}",
                tasks.len(),
                started.elapsed()
            );
            store
        });
        let name = if database.is_postgres() {
            "postgres"
        } else {
            "sqlite"
        };
        group.bench_function(format!("{name}/next of 200000 queued, then release"), |b| {
            b.to_async(&rt).iter(|| async {
                let claimed = store
                    .claim_next_run("bench", Duration::from_secs(30), now())
                    .await
                    .unwrap()
                    .expect("a queued run");
                store
                    .release_run(&claimed.run.run_id, &claimed.lease_token, now())
                    .await
                    .unwrap();
            });
        });
        rt.block_on(database.cleanup());
    }
    group.finish();
}

criterion_group!(benches, claims);
criterion_main!(benches);

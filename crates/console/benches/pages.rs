//! How long the console takes to render its pages (server time: the whole router in process, no
//! network) over a store holding 10,000 runs and 1,000,000 events.
//!
//! 20 tasks, 10,000 runs over the last 30 days: one of 5,000 events, 5,099 of 100 and 4,900 of
//! 99 (1,000,000 in all), each with its fetch, batches, three rejections and a log.
//!
//! `cargo bench -p ingest-console --bench pages` runs on SQLite, seeded once into
//! `target/console-bench/` (reused while its marker file names this seed);
//! `CONSOLE_BENCH_BACKEND=postgres` runs on a fresh schema of `TEST_DATABASE_URL`, seeded with
//! `generate_series` and dropped afterwards.

use std::path::PathBuf;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, header};
use criterion::{Criterion, criterion_group, criterion_main};
use ingest_api::{ApiConfig, AppCredentials};
use ingest_console::ConsoleSettings;
use ingest_core::Secret;
use ingest_store::testkit::TestDatabase;
use ingest_store::{SecretKey, SqliteConfig, Store};
use serde_json::{Value, json};
use sqlx::{Connection, Executor};
use tower::ServiceExt;

const APP: &str = "BENCHAPP00";
const KEY: &str = "bench-admin-key";
const RUNS: usize = 10_000;
const EVENTS: usize = 1_000_000;
const HEAVY_RUN_EVENTS: usize = 5_000;
const SEED_MARK: &str = "seed-v2-10000-runs-1000000-events";

/// Events of run `r`: the last run is the heavy one; the others share the rest, 99 or 100 each.
fn events_of(r: usize) -> usize {
    let normal = (EVENTS - HEAVY_RUN_EVENTS) / (RUNS - 1);
    let with_one_more = (EVENTS - HEAVY_RUN_EVENTS) - normal * (RUNS - 1);
    if r == RUNS - 1 {
        HEAVY_RUN_EVENTS
    } else {
        normal + usize::from(r < with_one_more)
    }
}

/// When run `r` was created: spread over the last 30 days, newest last.
fn created_ms(now_ms: i64, r: usize) -> i64 {
    now_ms - ((RUNS - r) as i64) * (30 * 86_400_000 / RUNS as i64)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target")));
    target.join("console-bench")
}

fn config() -> ApiConfig {
    ApiConfig {
        apps: vec![AppCredentials {
            app_id: APP.into(),
            api_key: Secret::new(KEY.into()),
        }],
        ..ApiConfig::default()
    }
}

async fn call(
    router: &Router,
    method: &str,
    path: &str,
    cookie: &str,
    body: Option<Value>,
) -> (u16, String, Vec<String>) {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("x-algolia-application-id", APP)
        .header("x-algolia-api-key", KEY)
        .header(header::COOKIE, cookie);
    let body = match body {
        Some(Value::String(form)) => {
            request = request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
            Body::from(form)
        }
        Some(json) => Body::from(json.to_string()),
        None => Body::empty(),
    };
    let response = router
        .clone()
        .oneshot(request.body(body).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let cookies = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .collect();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        String::from_utf8_lossy(&bytes).into_owned(),
        cookies,
    )
}

/// Creates the authentication, sources, destinations and tasks through the API.
async fn seed_resources(router: &Router) -> Vec<String> {
    let (_, auth, _) = call(router, "POST", "/1/authentications", "", Some(json!({"type": "algolia", "name": "algolia", "input": {"appID": "APPX", "apiKey": "k"}}))).await;
    let auth: Value = serde_json::from_str(&auth).unwrap();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let (_, source, _) = call(router, "POST", "/1/sources", "", Some(json!({"type": "csv", "name": format!("catalog {i}"), "input": {"url": format!("https://example.com/{i}.csv")}}))).await;
        let source: Value = serde_json::from_str(&source).unwrap();
        let (_, destination, _) = call(router, "POST", "/1/destinations", "", Some(json!({"type": "search", "name": format!("index {i}"), "input": {"indexName": format!("index_{i}")}, "authenticationID": auth["authenticationID"]}))).await;
        let destination: Value = serde_json::from_str(&destination).unwrap();
        let (_, task, _) = call(router, "POST", "/2/tasks", "", Some(json!({"sourceID": source["sourceID"], "destinationID": destination["destinationID"], "action": "replace", "cron": "0 * * * *"}))).await;
        let task: Value = serde_json::from_str(&task).unwrap();
        tasks.push(task["taskID"].as_str().unwrap().to_owned());
    }
    tasks
}

/// Bulk-inserts the runs and events into the SQLite file at `path`, one transaction.
async fn seed_sqlite(path: &std::path::Path, tasks: &[String]) {
    let mut db = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let now_ms = now_ms();
    let mut tx = db.begin().await.unwrap();
    let mut event_seq = 0usize;
    for r in 0..RUNS {
        let run_id = format!("00000000-0000-4000-8000-{r:012}");
        let task = &tasks[r % tasks.len()];
        let created = created_ms(now_ms, r);
        let failed = r % 17 == 0;
        let events = events_of(r);
        sqlx::query(
            "INSERT INTO runs (id, app_id, task_id, status, type, outcome, reason, failure_threshold, \
             expected_events, received_events, created_at, updated_at, started_at, finished_at) \
             VALUES (?, ?, ?, 'finished', 'reindex', ?, ?, 0, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&run_id)
        .bind(APP)
        .bind(task)
        .bind(if failed { "failure" } else { "success" })
        .bind(if failed { "3 of 9000 records were rejected" } else { "9000 records pushed" })
        .bind(events as i64)
        .bind(events as i64)
        .bind(created)
        .bind(created + 60_000)
        .bind(created + 1_000)
        .bind(created + 60_000)
        .execute(&mut *tx)
        .await
        .unwrap();
        for e in 0..events {
            event_seq += 1;
            let (kind, status, size, data) = match e {
                0 => (
                    "fetch",
                    "succeeded",
                    0,
                    json!({"url": "https://example.com/x.csv", "bytes": 900_000, "durationMs": 800}),
                ),
                1..=3 => (
                    "record",
                    "failed",
                    1,
                    json!({"position": format!("row {}", e * 100), "objectID": format!("sku-{r}-{e}"), "reason": "failed to parse `price` as float: \"abc\""}),
                ),
                4 => (
                    "log",
                    "succeeded",
                    0,
                    json!({"message": "temporary index created"}),
                ),
                _ => (
                    "record",
                    "succeeded",
                    90,
                    json!({"index": "index_tmp_x_1", "batch": e, "taskID": e, "records": 90, "bytes": 9000}),
                ),
            };
            sqlx::query(
                "INSERT INTO events (id, app_id, run_id, status, type, data, batch_size, published_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(format!("00000000-0000-4000-9000-{event_seq:012}"))
            .bind(APP)
            .bind(&run_id)
            .bind(status)
            .bind(kind)
            .bind(data.to_string())
            .bind(size)
            .bind(created + 1_000 + e as i64)
            .execute(&mut *tx)
            .await
            .unwrap();
        }
    }
    tx.commit().await.unwrap();
    assert_eq!(event_seq, EVENTS);
    db.execute("ANALYZE").await.unwrap();
}

/// The same runs and events in PostgreSQL schema `schema`, set-based.
async fn seed_postgres(url: &str, schema: &str, tasks: &[String]) {
    let mut db = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("SET search_path TO {schema}")))
        .execute(&mut db)
        .await
        .unwrap();
    let now_ms = now_ms();
    let step = 30 * 86_400_000 / RUNS as i64;
    let with_one_more =
        (EVENTS - HEAVY_RUN_EVENTS) - ((EVENTS - HEAVY_RUN_EVENTS) / (RUNS - 1)) * (RUNS - 1);
    let run_id = "format('00000000-0000-4000-8000-%s', lpad(r::text, 12, '0'))";
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO runs (id, app_id, task_id, status, type, outcome, reason, failure_threshold, \
         expected_events, received_events, created_at, updated_at, started_at, finished_at) \
         SELECT {run_id}, $1, ($2::text[])[r % 20 + 1], 'finished', 'reindex', \
         CASE WHEN r % 17 = 0 THEN 'failure' ELSE 'success' END, \
         CASE WHEN r % 17 = 0 THEN '3 of 9000 records were rejected' ELSE '9000 records pushed' END, \
         0, 100, 100, $3 - ({RUNS} - r) * $4, $3 - ({RUNS} - r) * $4 + 60000, \
         $3 - ({RUNS} - r) * $4 + 1000, $3 - ({RUNS} - r) * $4 + 60000 \
         FROM generate_series(0, {last}) AS r",
        last = RUNS - 1
    )))
    .bind(APP)
    .bind(tasks)
    .bind(now_ms)
    .bind(step)
    .execute(&mut db)
    .await
    .unwrap();
    let events = |runs: &str, per_run: &str, filter: &str| {
        format!(
            "INSERT INTO events (id, app_id, run_id, status, type, data, batch_size, published_at) \
             SELECT format('00000000-0000-4000-9000-%s-%s', r, e), $1, {run_id}, \
             CASE WHEN e BETWEEN 1 AND 3 THEN 'failed' ELSE 'succeeded' END, \
             CASE WHEN e = 0 THEN 'fetch' WHEN e = 4 THEN 'log' ELSE 'record' END, \
             CASE WHEN e = 0 THEN '{{\"url\":\"https://example.com/x.csv\",\"bytes\":900000,\"durationMs\":800}}' \
                  WHEN e BETWEEN 1 AND 3 THEN json_build_object('position', 'row ' || e * 100, \
                       'objectID', 'sku-' || r || '-' || e, 'reason', 'failed to parse `price` as float: \"abc\"')::text \
                  WHEN e = 4 THEN '{{\"message\":\"temporary index created\"}}' \
                  ELSE json_build_object('index', 'index_tmp_x_1', 'batch', e, 'taskID', e, \
                       'records', 90, 'bytes', 9000)::text END, \
             CASE WHEN e BETWEEN 1 AND 3 THEN 1 WHEN e IN (0, 4) THEN 0 ELSE 90 END, \
             $2 - ({RUNS} - r) * $3 + 1000 + e \
             FROM generate_series({runs}) AS r, generate_series({per_run}) AS e WHERE {filter}"
        )
    };
    let normal = (EVENTS - HEAVY_RUN_EVENTS) / (RUNS - 1);
    for sql in [
        events(
            &format!("0, {}", RUNS - 2),
            &format!("0, {normal}"),
            &format!("e < {normal} OR r < {with_one_more}"),
        ),
        events(
            &format!("{0}, {0}", RUNS - 1),
            &format!("0, {}", HEAVY_RUN_EVENTS - 1),
            "true",
        ),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(APP)
            .bind(now_ms)
            .bind(step)
            .execute(&mut db)
            .await
            .unwrap();
    }
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(count as usize, EVENTS);
    db.execute("ANALYZE").await.unwrap();
}

fn pages(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let postgres = std::env::var("CONSOLE_BENCH_BACKEND").is_ok_and(|b| b == "postgres");
    let key = SecretKey::from_bytes([5u8; 32]);
    let (router, tasks, database) = rt.block_on(async {
        let (store, database, seeded, db_path, mark) = if postgres {
            let database = TestDatabase::postgres()
                .expect("CONSOLE_BENCH_BACKEND=postgres needs TEST_DATABASE_URL");
            let store = database.open(key).await.unwrap();
            (store, Some(database), false, PathBuf::new(), PathBuf::new())
        } else {
            let dir = dir();
            let db_path = dir.join("ingestion.db");
            let mark = dir.join("seeded");
            let seeded = std::fs::read_to_string(&mark).is_ok_and(|m| m == SEED_MARK);
            if !seeded {
                let _ = std::fs::remove_dir_all(&dir);
                std::fs::create_dir_all(&dir).unwrap();
            }
            let store = Store::open_sqlite(&SqliteConfig::new(&db_path), key)
                .await
                .unwrap();
            (store, None, seeded, db_path, mark)
        };
        let config = config();
        let state = ingest_api::state(store.clone(), &config);
        let router = ingest_console::router(state.clone(), &config, ConsoleSettings::default())
            .merge(ingest_api::router_with_state(state, &config));
        let tasks = if seeded {
            let (_, list, _) = call(&router, "GET", "/2/tasks?itemsPerPage=100", "", None).await;
            let list: Value = serde_json::from_str(&list).unwrap();
            list["tasks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["taskID"].as_str().unwrap().to_owned())
                .collect()
        } else {
            let started = std::time::Instant::now();
            let tasks = seed_resources(&router).await;
            match database.as_ref().and_then(TestDatabase::postgres_schema) {
                Some((url, schema)) => seed_postgres(url, schema, &tasks).await,
                None => {
                    seed_sqlite(&db_path, &tasks).await;
                    std::fs::write(&mark, SEED_MARK).unwrap();
                }
            }
            eprintln!(
                "seeded {RUNS} runs and {EVENTS} events in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            tasks
        };
        (router, tasks, database)
    });
    // Sign in as a browser would.
    let cookie = rt.block_on(async {
        let (_, form, cookies) = call(&router, "GET", "/console/sign-in", "", None).await;
        let token = form
            .split("name=\"_csrf\" value=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_owned();
        let body = format!("_csrf={token}&appId={APP}&apiKey={KEY}&next=%2Fconsole%2F");
        let (status, _, session) = call(
            &router,
            "POST",
            "/console/sign-in",
            &cookies.join("; "),
            Some(Value::String(body)),
        )
        .await;
        assert_eq!(status, 303);
        session
            .into_iter()
            .find(|c| c.starts_with("ingestion_console="))
            .unwrap()
    });
    let heavy = format!("00000000-0000-4000-8000-{:012}", RUNS - 1);
    let typical = format!("00000000-0000-4000-8000-{:012}", RUNS - 2);
    let pages = [
        ("overview", "/console/".to_owned()),
        ("tasks", "/console/tasks".to_owned()),
        (
            "task detail (500 runs)",
            format!("/console/tasks/{}", tasks[0]),
        ),
        ("runs", "/console/runs".to_owned()),
        (
            "runs, failed only",
            "/console/runs?status=finished&outcome=failure".to_owned(),
        ),
        ("run detail (99 events)", format!("/console/runs/{typical}")),
        (
            "run detail (5,000 events)",
            format!("/console/runs/{heavy}"),
        ),
        (
            "run progress fragment (5,000 events)",
            format!("/console/runs/{heavy}/progress"),
        ),
        (
            "rejected records search",
            format!("/console/runs/{heavy}?q=sku-9999-2"),
        ),
        ("sources", "/console/sources".to_owned()),
        ("task form", "/console/tasks/new".to_owned()),
    ];
    let mut group = c.benchmark_group(if postgres {
        "console page (postgres)"
    } else {
        "console page (sqlite)"
    });
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(4));
    for (name, path) in &pages {
        let (status, _, _) = rt.block_on(call(&router, "GET", path, &cookie, None));
        assert_eq!(status, 200, "{name}: {path}");
        group.bench_function(*name, |b| {
            b.to_async(&rt).iter(|| async {
                let (status, text, _) = call(&router, "GET", path, &cookie, None).await;
                assert_eq!(status, 200);
                text.len()
            });
        });
    }
    group.finish();
    if let Some(database) = database {
        // CONSOLE_BENCH_KEEP_SCHEMA=1 keeps it, to look at the plans with psql.
        match database.postgres_schema() {
            Some((_, schema)) if std::env::var_os("CONSOLE_BENCH_KEEP_SCHEMA").is_some() => {
                eprintln!("kept PostgreSQL schema {schema}");
            }
            _ => rt.block_on(database.cleanup()),
        }
    }
}

criterion_group!(benches, pages);
criterion_main!(benches);

//! Benchmarks of the worker engine on PostgreSQL (ignored by default; they print figures):
//!
//! ```text
//! TEST_DATABASE_URL=postgres://... cargo test --release --test e2e bench_ -- --ignored --nocapture --test-threads 1
//! ```
//!
//! - runs claimed and finished per second, for 1,000 trivial runs (a CSV with a header only: no
//!   Algolia call) with 1 and 4 `ingestion worker` processes (4 runs at once each), timed from
//!   the first `startedAt` to the last `finishedAt`;
//! - the delay from `POST /1/tasks/{taskID}/run` to `started` (p50/p99) through `ingestion
//!   serve` (API + scheduler + workers in one process), with the default idle poll (500 ms)
//!   and with 50 ms, and through `serve --role api,scheduler` beside one `ingestion worker`
//!   process (woken by PostgreSQL `NOTIFY`).

use std::process::Stdio;
use std::time::Duration;

use crate::fleet::{APP, Fleet, database_url, now};

async fn wait_finished(fleet: &Fleet, n: i64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
    while fleet
        .query_i64("SELECT COUNT(*) FROM runs WHERE status = 'finished'")
        .await
        < n
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "runs did not finish"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "benchmark: run with --ignored --nocapture"]
async fn bench_trivial_runs_per_second() {
    let Some(url) = database_url() else { return };
    for workers in [1, 4] {
        let mut fleet = Fleet::new(&url).await;
        let tasks = fleet.tasks("/slow/0/0.csv", 250).await;
        for task in &tasks {
            for _ in 0..4 {
                fleet.store.create_run(APP, task, now()).await.unwrap();
            }
        }
        for _ in 0..workers {
            fleet.start_worker(&[("INGESTION__WORKER__POLL_MS", "20")]);
        }
        wait_finished(&fleet, 1000).await;
        let span_ms = fleet
            .query_i64("SELECT MAX(finished_at) - MIN(started_at) FROM runs")
            .await;
        let bad = fleet
            .query_i64("SELECT COUNT(*) FROM runs WHERE attempt <> 1 OR outcome <> 'success'")
            .await;
        assert_eq!(bad, 0);
        let run_ms = fleet
            .query_i64("SELECT CAST(AVG(finished_at - started_at) AS BIGINT) FROM runs")
            .await;
        println!(
            "BENCH workers={workers} runs=1000 span_ms={span_ms} runs_per_second={:.0} mean_run_ms={run_ms}",
            1000.0 * 1000.0 / span_ms.max(1) as f64
        );
        fleet.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "benchmark: run with --ignored --nocapture"]
async fn bench_run_to_started_delay() {
    let Some(url) = database_url() else { return };
    for (poll, separate_worker) in [("500", false), ("50", false), ("500", true)] {
        let mut fleet = Fleet::new(&url).await;
        let tasks = fleet.tasks("/slow/0/0.csv", 300).await;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let mut serve = tokio::process::Command::new(env!("CARGO_BIN_EXE_ingestion"))
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--role",
                if separate_worker {
                    "api,scheduler"
                } else {
                    "api,scheduler,worker"
                },
                "--database-url",
            ])
            .arg(fleet.worker_url())
            .arg("--data-dir")
            .arg(dir.path())
            .env("INGESTION__AUTH__APP_ID", APP)
            .env("INGESTION__AUTH__API_KEY", "bench-key")
            .env(
                "INGESTION__STORE__SECRET_KEY",
                "0101010101010101010101010101010101010101010101010101010101010101",
            )
            .env("INGESTION__RATE_LIMIT__REQUESTS", "100000")
            .env("INGESTION__WORKER__POLL_MS", poll)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        if separate_worker {
            fleet.start_worker(&[("INGESTION__WORKER__POLL_MS", poll)]);
        }
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        while http.get(format!("{base}/ready")).send().await.is_err() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        for task in &tasks {
            let resp = http
                .post(format!("{base}/1/tasks/{task}/run"))
                .header("X-Algolia-Application-Id", APP)
                .header("X-Algolia-API-Key", "bench-key")
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200);
            tokio::time::sleep(Duration::from_millis(13)).await;
        }
        wait_finished(&fleet, tasks.len() as i64).await;
        let p = |q: f64| {
            format!(
                "SELECT CAST(percentile_disc({q}) WITHIN GROUP (ORDER BY started_at - created_at) AS BIGINT) FROM runs"
            )
        };
        let p50 = fleet.query_i64(&p(0.5)).await;
        let p99 = fleet.query_i64(&p(0.99)).await;
        println!(
            "BENCH run_to_started poll_ms={poll} separate_worker={separate_worker} runs={} p50_ms={p50} p99_ms={p99}",
            tasks.len()
        );
        let _ = serve.start_kill();
        let _ = serve.wait().await;
        fleet.cleanup().await;
    }
}

//! A worker fleet for the process tests: a PostgreSQL schema of its own, `ingestion worker`
//! processes over it, the fake Algolia over HTTP, a CSV server that trickles rows, and fixtures
//! created through the store.

use std::process::Stdio;
use std::time::Duration;

use ingest_algolia::testkit::{FakeAlgolia, FakeServer};
use ingest_model::{Run, RunStatus, Timestamp, from_value};
use ingest_store::{PostgresConfig, SecretKey, Store};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const APP: &str = "FLEETAPP";
const KEY_HEX: &str = "0101010101010101010101010101010101010101010101010101010101010101";

/// `TEST_DATABASE_URL`; `None` (the test says it is skipped) when unset outside CI, a failure
/// with `CI=true`: these tests need PostgreSQL.
pub use ingest_store::testkit::postgres_url as database_url;

pub fn now() -> Timestamp {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    Timestamp::from_unix(since.as_secs() as i64, since.subsec_nanos())
}

pub struct Fleet {
    pub store: Store,
    pub fake: FakeAlgolia,
    pub server: FakeServer,
    pub csv: String,
    url: String,
    schema: String,
    pub workers: Vec<tokio::process::Child>,
    dir: tempfile::TempDir,
}

impl Fleet {
    pub async fn new(url: &str) -> Self {
        let schema = format!("f_{}", uuid::Uuid::new_v4().simple());
        let config = PostgresConfig {
            url: url.to_owned(),
            schema: Some(schema.clone()),
            max_connections: 8,
        };
        let store = Store::connect_postgres(&config, SecretKey::parse(KEY_HEX).unwrap())
            .await
            .unwrap();
        let fake = FakeAlgolia::new();
        let server = fake.serve();
        Self {
            store,
            fake,
            server,
            csv: trickle_server().await,
            url: url.to_owned(),
            schema,
            workers: Vec::new(),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// The database URL workers use: the test's schema first on the search path.
    pub fn worker_url(&self) -> String {
        let sep = if self.url.contains('?') { '&' } else { '?' };
        format!(
            "{}{sep}options=-c%20search_path%3D{}",
            self.url, self.schema
        )
    }

    /// Starts one `ingestion worker` (fast leases for tests), with `env` on top.
    pub fn start_worker(&mut self, env: &[(&str, &str)]) -> u32 {
        self.start_worker_with(env, &[])
    }

    /// [`Fleet::start_worker`] with more command-line arguments.
    pub fn start_worker_with(&mut self, env: &[(&str, &str)], args: &[&str]) -> u32 {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_ingestion"));
        command
            .arg("worker")
            .arg("--data-dir")
            .arg(self.dir.path())
            .arg("--database-url")
            .arg(self.worker_url())
            .args(args)
            .env("INGESTION__STORE__SECRET_KEY", KEY_HEX)
            .env("INGESTION__ALGOLIA__HOSTS", self.server.url())
            .env("INGESTION__ALGOLIA__MAX_ATTEMPTS", "2")
            .env("INGESTION__PUSH__WAIT_STEP_MS", "10")
            .env("INGESTION__WORKER__LEASE_MS", "3000")
            .env("INGESTION__WORKER__HEARTBEAT_MS", "1000")
            .env("INGESTION__WORKER__REAPER_MS", "500")
            .env("INGESTION__WORKER__POLL_MS", "50")
            .env("INGESTION__WORKER__SHUTDOWN_GRACE_MS", "5000")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        for (k, v) in env {
            command.env(k, v);
        }
        let child = command.spawn().expect("start ingestion worker");
        let pid = child.id().unwrap();
        self.workers.push(child);
        pid
    }

    /// A CSV source at `path` of the trickle server, a destination `index` and a task.
    pub async fn task(&self, path: &str, index: &str, action: &str) -> String {
        let auth = self
            .store
            .create_authentication(
                APP,
                &from_value(&json!({"type": "algolia", "name": "algolia", "input": {
                    "appID": self.fake.app_id(), "apiKey": self.fake.api_key()}}))
                .unwrap(),
                now(),
            )
            .await
            .unwrap();
        let source = self
            .store
            .create_source(
                APP,
                &from_value(&json!({"type": "csv", "name": "products", "input": {
                    "url": format!("{}{path}", self.csv), "uniqueIDColumn": "id"}}))
                .unwrap(),
                now(),
            )
            .await
            .unwrap();
        let destination = self
            .store
            .create_destination(
                APP,
                &from_value(&json!({"type": "search", "name": "dst",
                    "input": {"indexName": index},
                    "authenticationID": auth.authentication_id}))
                .unwrap(),
                now(),
            )
            .await
            .unwrap();
        self.store
            .create_task(
                APP,
                &from_value(&json!({"sourceID": source.source_id,
                    "destinationID": destination.destination_id,
                    "trigger": {"type": "onDemand"}, "action": action}))
                .unwrap(),
                None,
                now(),
            )
            .await
            .unwrap()
            .task_id
    }

    /// `n` on-demand `replace` tasks sharing one source and destination.
    pub async fn tasks(&self, path: &str, n: usize) -> Vec<String> {
        let first = self.task(path, "trivial", "replace").await;
        let task = self.store.get_task(APP, &first).await.unwrap();
        let mut ids = vec![first];
        for _ in 1..n {
            let created = self
                .store
                .create_task(
                    APP,
                    &from_value(&json!({"sourceID": task.source_id,
                        "destinationID": task.destination_id,
                        "trigger": {"type": "onDemand"}, "action": "replace"}))
                    .unwrap(),
                    None,
                    now(),
                )
                .await
                .unwrap();
            ids.push(created.task_id);
        }
        ids
    }

    /// Waits until `run_id` has `status` (panics after `timeout`).
    pub async fn wait_status(&self, run_id: &str, status: RunStatus, timeout: Duration) -> Run {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let run = self.store.get_run(APP, run_id).await.unwrap();
            if run.status == status {
                return run;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "run not {status:?} after {timeout:?}: {run:?}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Raw SQL on the test's schema.
    pub async fn query_one_text(&self, sql: &str) -> Option<String> {
        let pool = sqlx::PgPool::connect(&self.worker_url()).await.unwrap();
        let row: Option<(Option<String>,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_optional(&pool)
            .await
            .unwrap();
        pool.close().await;
        row.and_then(|r| r.0)
    }

    /// Raw SQL returning one integer.
    pub async fn query_i64(&self, sql: &str) -> i64 {
        let pool = sqlx::PgPool::connect(&self.worker_url()).await.unwrap();
        let row: (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        row.0
    }

    /// The pid of the worker holding `run_id` (owners are `host-pid-random`).
    pub async fn holder_pid(&self, run_id: &str) -> u32 {
        let owner = self
            .query_one_text(&format!(
                "SELECT lease_owner FROM runs WHERE id = '{run_id}'"
            ))
            .await
            .expect("the run has an owner");
        let parts: Vec<&str> = owner.rsplitn(3, '-').collect();
        parts[1].parse().expect("a pid in the owner")
    }

    pub async fn cleanup(mut self) {
        for child in &mut self.workers {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
        let pool = sqlx::PgPool::connect(&self.url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS \"{}\" CASCADE",
            self.schema
        )))
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
    }
}

/// Sends `signal` (`-9`, `-STOP`, `-CONT`, `-TERM`) to `pid`.
pub fn signal(pid: u32, signal: &str) {
    let status = std::process::Command::new("kill")
        .arg(signal)
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success(), "kill {signal} {pid}");
}

/// A CSV server: `/slow/N/MS.csv` sends N rows `id,name`, one every MS milliseconds, then ends;
/// `/empty.csv` only a header.
async fn trickle_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&request);
                let path = text.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let (rows, delay) = match path.strip_prefix("/slow/") {
                    Some(rest) => {
                        let rest = rest.trim_end_matches(".csv");
                        let (n, ms) = rest.split_once('/').unwrap_or(("0", "0"));
                        (n.parse().unwrap_or(0), ms.parse().unwrap_or(0))
                    }
                    None => (0usize, 0u64),
                };
                let head = "HTTP/1.1 200 OK\r\ncontent-type: text/csv\r\nconnection: close\r\n\r\nid,name\n";
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                for i in 1..=rows {
                    if delay > 0 {
                        tokio::time::sleep(Duration::from_millis(delay)).await;
                    }
                    if socket
                        .write_all(format!("{i},row {i}\n").as_bytes())
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                let _ = socket.shutdown().await;
            });
        }
    });
    format!("http://{addr}")
}

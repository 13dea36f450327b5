//! `ingestion serve` as one process (API + scheduler + workers) on SQLite and on PostgreSQL:
//! a task created through the API runs on demand into the fake Algolia over HTTP, its events are
//! listed through the API, a webhook runs a subscription task, `/metrics` counts it all, and
//! `run-task --task-id` makes a real run visible in the API.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use ingest_algolia::testkit::{CallKind, FakeAlgolia};
use reqwest::Method;
use serde_json::{Value, json};

const APP: &str = "E2EAPP";
const KEY: &str = "e2e-admin-key";
const SECRET: &str = "0202020202020202020202020202020202020202020202020202020202020202";

struct Server {
    child: tokio::process::Child,
    base: String,
    http: reqwest::Client,
}

fn env(fake: &str) -> Vec<(&'static str, String)> {
    vec![
        ("INGESTION__AUTH__APP_ID", APP.into()),
        ("INGESTION__AUTH__API_KEY", KEY.into()),
        ("INGESTION__STORE__SECRET_KEY", SECRET.into()),
        ("INGESTION__ALGOLIA__HOSTS", fake.into()),
        ("INGESTION__PUSH__WAIT_STEP_MS", "10".into()),
        ("INGESTION__WORKER__POLL_MS", "50".into()),
        ("RUST_LOG", "warn".into()),
    ]
}

async fn start(data: &Path, database: Option<&str>, fake: &str) -> Server {
    start_roles(data, database, fake, None).await
}

/// `ingestion serve` with `--role roles` (every role when `None`).
async fn start_roles(
    data: &Path,
    database: Option<&str>,
    fake: &str,
    roles: Option<&str>,
) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_ingestion"));
    command
        .args(["serve", "--log-format", "json", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(data)
        .env_remove("INGESTION__STORE__URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    if let Some(url) = database {
        command.arg("--database-url").arg(url);
    }
    if let Some(roles) = roles {
        command.arg("--role").arg(roles);
    }
    for (k, v) in env(fake) {
        command.env(k, v);
    }
    let child = command.spawn().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    for _ in 0..200 {
        if let Ok(resp) = http.get(format!("{base}/ready")).send().await
            && resp.status() == 200
        {
            return Server { child, base, http };
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("ingestion serve did not become ready");
}

impl Server {
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("X-Algolia-Application-Id", APP)
            .header("X-Algolia-API-Key", KEY);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let (status, value) = self.call(Method::POST, path, Some(body)).await;
        assert_eq!(status, 200, "{path}: {value}");
        value
    }

    async fn finished(&self, run_id: &str) -> Value {
        for _ in 0..400 {
            let (_, run) = self
                .call(Method::GET, &format!("/1/runs/{run_id}"), None)
                .await;
            if run["status"] == "finished" {
                return run;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("run {run_id} did not finish");
    }

    async fn stop(mut self) {
        let pid = self.child.id().unwrap();
        crate::fleet::signal(pid, "-TERM");
        let status = tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .unwrap()
            .unwrap();
        assert!(status.success(), "{status:?}");
    }
}

/// A CSV file server on 127.0.0.1: `/p.csv` (20 rows).
async fn csv_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let mut body = String::from("id,name\n");
                for i in 1..=20 {
                    body.push_str(&format!("{i},item {i}\n"));
                }
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/csv\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    format!("http://{addr}")
}

async fn api_to_worker_to_algolia(database: Option<&str>) {
    let fake = FakeAlgolia::new();
    let algolia = fake.serve();
    let csv = csv_server().await;
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), database, &algolia.url()).await;
    let auth = server
        .post(
            "/1/authentications",
            json!({"type": "algolia", "name": "a",
            "input": {"appID": fake.app_id(), "apiKey": fake.api_key()}}),
        )
        .await;
    let dest = server
        .post(
            "/1/destinations",
            json!({"type": "search", "name": "d",
            "input": {"indexName": "items"}, "authenticationID": auth["authenticationID"]}),
        )
        .await;
    let source = server
        .post(
            "/1/sources",
            json!({"type": "csv", "name": "s",
            "input": {"url": format!("{csv}/p.csv"), "uniqueIDColumn": "id"}}),
        )
        .await;
    let task = server
        .post(
            "/1/tasks",
            json!({"sourceID": source["sourceID"],
            "destinationID": dest["destinationID"], "trigger": {"type": "onDemand"},
            "action": "replace"}),
        )
        .await;
    let task_id = task["taskID"].as_str().unwrap().to_owned();
    let run = server
        .post(&format!("/1/tasks/{task_id}/run"), json!(null))
        .await;
    let run = server.finished(run["runID"].as_str().unwrap()).await;
    assert_eq!(run["outcome"], "success", "{run}");
    assert_eq!(run["reasonCode"], "ok", "{run}");
    assert_eq!(run["type"], "reindex");
    assert!(run["startedAt"].is_string() && run["finishedAt"].is_string());
    assert_eq!(
        run["progress"],
        json!({"expectedNbOfEvents": 1, "receivedNbOfEvents": 1})
    );
    assert_eq!(fake.record_count("items"), 20);
    assert_eq!(fake.index_names(), ["items"]);
    let (status, events) = server
        .call(
            Method::GET,
            &format!(
                "/1/runs/{}/events?itemsPerPage=100",
                run["runID"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let events = events["events"].as_array().unwrap().clone();
    assert!(events.iter().any(|e| e["type"] == "fetch"), "{events:?}");
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "record" && e["status"] == "succeeded" && e["batchSize"] == 20),
        "{events:?}"
    );
    // A webhook on an on-demand task is refused; on a subscription task it runs.
    let (status, _) = server
        .call(Method::POST, &format!("/1/tasks/{task_id}/webhook"), None)
        .await;
    assert_eq!(status, 400);
    let hook = server
        .post(
            "/1/tasks",
            json!({"sourceID": source["sourceID"],
            "destinationID": dest["destinationID"], "trigger": {"type": "subscription"},
            "action": "save"}),
        )
        .await;
    fake.remove_index("items");
    let run = server
        .post(
            &format!("/1/tasks/{}/webhook", hook["taskID"].as_str().unwrap()),
            json!({"objectIDs": ["2", "4"]}),
        )
        .await;
    let run = server.finished(run["runID"].as_str().unwrap()).await;
    assert_eq!(run["outcome"], "success", "{run}");
    assert_eq!(
        fake.records("items").into_keys().collect::<Vec<_>>(),
        ["2", "4"]
    );
    let metrics = server
        .http
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("ingestion_runs_finished_total{outcome=\"success\",reason_code=\"ok\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("ingestion_records_pushed_total 22"),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            "ingestion_api_requests_total{route=\"/1/tasks/{taskID}/run\",status=\"200\"} 1"
        ),
        "{metrics}"
    );
    assert!(metrics.contains("ingestion_queue_depth 0"), "{metrics}");
    assert!(
        metrics.contains("ingestion_algolia_concurrency_window{app_id=\""),
        "{metrics}"
    );
    assert!(
        metrics.contains("ingestion_algolia_rtt_seconds{app_id=\""),
        "{metrics}"
    );
    assert!(
        metrics.contains("ingestion_claim_duration_seconds_count"),
        "{metrics}"
    );
    // A redelivered event (same `hash`) answers the run it created; another hash is a new run.
    let hook_path = format!("/1/tasks/{}/webhook", hook["taskID"].as_str().unwrap());
    let event = |hash: &str| json!({"scope": "store/product/updated", "hash": hash, "data": {"type": "product", "id": 2}});
    let first = server.post(&hook_path, event("h-1")).await;
    let again = server.post(&hook_path, event("h-1")).await;
    let other = server.post(&hook_path, event("h-2")).await;
    assert_eq!(first["runID"], again["runID"]);
    assert_ne!(first["runID"], other["runID"]);
    for run in [&first, &other] {
        server.finished(run["runID"].as_str().unwrap()).await;
    }
    server.stop().await;

    // run-task --task-id: a real run through the store, visible in the API afterwards.
    fake.remove_index("items");
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_run-task"));
    command
        .args(["--task-id", &task_id, "--data-dir"])
        .arg(dir.path())
        .env_remove("INGESTION__STORE__URL");
    if let Some(url) = database {
        command.args(["--database-url", url]);
    }
    for (k, v) in env(&algolia.url()) {
        command.env(k, v);
    }
    let output = command.output().await.unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(printed["outcome"], "success", "{printed}");
    assert_eq!(fake.record_count("items"), 20);
    let server = start(dir.path(), database, &algolia.url()).await;
    let (_, run) = server
        .call(
            Method::GET,
            &format!("/1/runs/{}", printed["runID"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(run["status"], "finished");
    assert_eq!(run["outcome"], "success");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_on_sqlite_runs_tasks_end_to_end() {
    api_to_worker_to_algolia(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_on_postgres_runs_tasks_end_to_end() {
    let Some(url) = crate::fleet::database_url() else {
        return;
    };
    // A database of its own, dropped afterwards.
    let name = format!("e2e_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await
        .unwrap();
    let (base, _) = url.rsplit_once('/').unwrap();
    let db_url = format!("{base}/{name}");
    let outcome = tokio::spawn({
        let db_url = db_url.clone();
        async move { api_to_worker_to_algolia(Some(&db_url)).await }
    })
    .await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&admin)
    .await
    .unwrap();
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic.into_panic());
    }
}

#[tokio::test]
async fn worker_refuses_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_ingestion"))
        .args(["worker", "--data-dir"])
        .arg(dir.path())
        .env_remove("INGESTION__STORE__URL")
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("a PostgreSQL database is required"),
        "{stderr}"
    );
}

/// Today's official Python client pushes through the Push connector (`docs/api.md` D4): the
/// three `*_with_transformation` helpers and `push_task`, unchanged, with the Search calls going
/// to the fake Algolia and the pushes to `ingestion serve`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_python_client_pushes_through_the_connector() {
    let probe = std::process::Command::new("python3")
        .args(["-c", "import algoliasearch.search.client"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !probe.is_ok_and(|s| s.success()) {
        assert!(
            std::env::var("CI").is_err(),
            "CI=true but python3 with algoliasearch 4.x is not installed"
        );
        eprintln!("skipped: python3 with algoliasearch 4.x is not installed");
        return;
    }
    let fake = FakeAlgolia::builder().app_id(APP).api_key(KEY).build();
    let algolia = fake.serve();
    fake.set_records("replaced", [json!({"objectID": "stale", "v": -1})]);
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), None, &algolia.url()).await;
    let port = |url: &str| {
        url.rsplit(':')
            .next()
            .unwrap()
            .trim_end_matches('/')
            .to_owned()
    };
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e/python_push.py");
    let output = tokio::process::Command::new("python3")
        .args([script, &port(&server.base), &port(&algolia.url()), APP, KEY])
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "python push failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let products = fake.records("products");
    // 10,000 saved, "new-1" created, "absent" not (partialUpdateObjectNoCreate), "w1" pushed.
    assert_eq!(
        products.len(),
        10_002,
        "{:?}",
        products.keys().take(5).collect::<Vec<_>>()
    );
    assert_eq!(
        products["1"],
        json!({"objectID": "1", "name": "product 1", "price": 99})
    );
    assert_eq!(products["9999"]["name"], "product 9999");
    assert!(products.contains_key("new-1") && products.contains_key("w1"));
    assert!(!products.contains_key("absent") && !products.contains_key("huge"));
    let replaced = fake.records("replaced");
    assert_eq!(replaced.len(), 500);
    assert!(!replaced.contains_key("stale"));
    // Through the destination's transformation: computed, split, dropped.
    let shaped = fake.records("shaped");
    assert_eq!(
        shaped.keys().collect::<Vec<_>>(),
        ["a", "bundle", "bundle-part"],
        "{shaped:?}"
    );
    assert_eq!(
        shaped["a"],
        json!({"objectID": "a", "name": "A", "label": "A on sale"})
    );
    assert_eq!(
        shaped["bundle-part"],
        json!({"objectID": "bundle-part", "of": "bundle"})
    );
    let names = fake.index_names();
    assert!(names.iter().all(|n| !n.contains("_tmp_")), "{names:?}");
    server.stop().await;
}

/// Acknowledged pushes survive a `kill -9` between the 200 and their application: a server with
/// the API role only stores five pushes (the same 200 objects, `v` = 0 to 4) and is killed; the
/// next server, with workers, applies each exactly once and in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_pushes_survive_a_kill_9_and_are_applied_once_in_order() {
    let fake = FakeAlgolia::builder().app_id(APP).api_key(KEY).build();
    let algolia = fake.serve();
    let dir = tempfile::tempdir().unwrap();
    let mut api_only = start_roles(dir.path(), None, &algolia.url(), Some("api")).await;
    let auth = api_only
        .post(
            "/1/authentications",
            json!({"type": "algolia", "name": "a", "input": {"appID": APP, "apiKey": KEY}}),
        )
        .await["authenticationID"]
        .clone();
    let destination = api_only
        .post(
            "/1/destinations",
            json!({"type": "search", "name": "d", "authenticationID": auth,
                   "input": {"indexName": "durable"}}),
        )
        .await["destinationID"]
        .clone();
    let source = api_only
        .post("/1/sources", json!({"type": "push", "name": "pushed"}))
        .await["sourceID"]
        .clone();
    api_only
        .post(
            "/2/tasks",
            json!({"sourceID": source, "destinationID": destination, "action": "save"}),
        )
        .await;
    let mut acknowledged = Vec::new();
    for version in 0..5 {
        let records: Vec<Value> = (0..200)
            .map(|i| json!({"objectID": format!("r{i}"), "v": version}))
            .collect();
        let answer = api_only
            .post(
                "/1/push/durable",
                json!({"action": "addObject", "records": records}),
            )
            .await;
        acknowledged.push((
            answer["runID"].as_str().unwrap().to_owned(),
            answer["eventID"].as_str().unwrap().to_owned(),
        ));
    }
    api_only.child.start_kill().unwrap();
    api_only.child.wait().await.unwrap();
    assert!(
        fake.calls_of(CallKind::Batch).is_empty(),
        "nothing applied yet"
    );

    let server = start(dir.path(), None, &algolia.url()).await;
    for (run_id, event_id) in &acknowledged {
        let mut applied = None;
        for _ in 0..400 {
            let (status, event) = server
                .call(
                    Method::GET,
                    &format!("/1/runs/{run_id}/events/{event_id}"),
                    None,
                )
                .await;
            if status == 200 {
                applied = Some(event);
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let event = applied.unwrap_or_else(|| panic!("push {event_id} was never applied"));
        assert_eq!(event["status"], "succeeded", "{event}");
    }
    let records = fake.records("durable");
    assert_eq!(records.len(), 200);
    assert!(records.values().all(|r| r["v"] == 4), "the last push wins");
    let sent: usize = fake
        .calls_of(CallKind::Batch)
        .iter()
        .map(|call| call.records)
        .sum();
    assert_eq!(sent, 1000, "each acknowledged record sent exactly once");
    server.stop().await;
}

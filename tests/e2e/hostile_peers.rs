//! `run-task` and `ingestion serve` against peers that misbehave on purpose: each fails its own
//! run with a reason a user can act on (exit status 1 for `run-task`), never the process (a panic
//! is 101, an abort or the kernel's OOM killer a signal), and in `serve` another application's
//! run beside them succeeds. Peak memory of the release binary is reported in the README.

use std::io::Write;
use std::time::Duration;

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::support::Scratch;

/// What a raw server does with each connection after reading the request.
#[derive(Clone, Copy)]
enum Peer {
    /// A `200` whose body never ends.
    EndlessBody,
    /// A token response whose `expires_in` is `u64::MAX`.
    HugeExpiry,
    /// A CSV answered one byte at a time, 50 ms apart.
    Trickle,
    /// A small CSV, for the data request after a token.
    Csv,
    /// A gzip body inflating to 64 MiB of spaces.
    GzipBomb,
}

async fn raw_server(peer: Peer) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = vec![0u8; 16 * 1024];
                let read = socket.read(&mut request).await.unwrap_or(0);
                let is_token = request[..read].starts_with(b"POST");
                let peer = match peer {
                    Peer::HugeExpiry if !is_token => Peer::Csv,
                    other => other,
                };
                let _ = answer(&mut socket, peer).await;
            });
        }
    });
    base
}

async fn answer(socket: &mut tokio::net::TcpStream, peer: Peer) -> std::io::Result<()> {
    let head = "HTTP/1.1 200 OK\r\nconnection: close\r\n";
    match peer {
        Peer::EndlessBody => {
            socket
                .write_all(format!("{head}\r\n{{\"access_token\": \"").as_bytes())
                .await?;
            let block = vec![b'a'; 64 * 1024];
            loop {
                socket.write_all(&block).await?;
            }
        }
        Peer::HugeExpiry => {
            let body = r#"{"access_token": "t0k3n", "expires_in": 18446744073709551615}"#;
            let response = format!("{head}content-length: {}\r\n\r\n{body}", body.len());
            socket.write_all(response.as_bytes()).await
        }
        Peer::Trickle => {
            socket
                .write_all(format!("{head}\r\nid,name\n").as_bytes())
                .await?;
            loop {
                tokio::time::sleep(Duration::from_millis(50)).await;
                socket.write_all(b"1").await?;
            }
        }
        Peer::GzipBomb => {
            let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
            encoder.write_all(&vec![b' '; 64 * 1024 * 1024])?;
            let body = encoder.finish()?;
            let head = format!("{head}content-length: {}\r\n\r\n", body.len());
            socket.write_all(head.as_bytes()).await?;
            socket.write_all(&body).await
        }
        Peer::Csv => {
            let body = "id,name\n1,a\n2,b\n";
            let response = format!("{head}content-length: {}\r\n\r\n{body}", body.len());
            socket.write_all(response.as_bytes()).await
        }
    }
}

fn task(source: Value) -> Value {
    json!({
        "action": "replace",
        "source": source,
        "destination": { "type": "search", "input": { "indexName": "products" } }
    })
}

fn csv_with_oauth(data_url: &str, token_url: &str) -> Value {
    task(json!({
        "type": "csv",
        "input": { "url": data_url, "uniqueIDColumn": "id" },
        "authentication": { "type": "oauth",
                            "input": { "url": token_url, "client_id": "c", "client_secret": "s" } }
    }))
}

fn reason(result: &crate::support::RunResult) -> String {
    result.summary()["reason"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn a_token_endpoint_that_never_stops_fails_the_run_at_its_cap() {
    let token = raw_server(Peer::EndlessBody).await;
    let scratch = Scratch::new();
    let file = scratch.task(&csv_with_oauth(
        "http://127.0.0.1:9/data.csv",
        &format!("{token}/token"),
    ));
    let result = scratch.dry_run(&file, &[]).await;
    assert_eq!(result.status, 1, "{result:?}");
    assert!(
        reason(&result).contains("the response is larger than 64 KiB"),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_token_lifetime_past_the_clock_is_no_panic() {
    let server = raw_server(Peer::HugeExpiry).await;
    let scratch = Scratch::new();
    let file = scratch.task(&csv_with_oauth(
        &format!("{server}/data.csv"),
        &format!("{server}/token"),
    ));
    let result = scratch.dry_run(&file, &[]).await;
    assert_eq!(result.status, 0, "{result:?}");
    assert_eq!(result.summary()["recordsPushed"], 2);
}

#[tokio::test]
async fn a_trickling_source_fails_as_stalled() {
    let server = raw_server(Peer::Trickle).await;
    let scratch = Scratch::new();
    let file = scratch.task(&task(json!({
        "type": "csv", "input": { "url": format!("{server}/slow.csv") }
    })));
    let result = scratch
        .dry_run(&file, &[("INGESTION__SOURCES__STALL_WINDOW_MS", "300")])
        .await;
    assert_eq!(result.status, 1, "{result:?}");
    assert!(reason(&result).contains("stalled"), "{result:?}");
}

#[tokio::test]
async fn a_gzip_bomb_is_stopped_at_the_decompressed_cap() {
    let scratch = Scratch::new();
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(&vec![b' '; 64 * 1024 * 1024]).unwrap();
    encoder.write_all(b"[]").unwrap();
    scratch.write("bomb.json.gz", encoder.finish().unwrap());
    let file = scratch.task(&task(json!({
        "type": "json", "input": { "url": "./bomb.json.gz" }
    })));
    let capped = scratch
        .dry_run(
            &file,
            &[("INGESTION__SOURCES__MAX_DECOMPRESSED_BYTES", "8000000")],
        )
        .await;
    assert_eq!(capped.status, 1, "{capped:?}");
    assert!(
        reason(&capped).contains("decompresses to more than 8000000 bytes"),
        "{capped:?}"
    );
    // Under the default cap the same body is only whitespace around an empty array.
    let whole = scratch.dry_run(&file, &[]).await;
    assert_eq!(whole.summary()["recordsRead"], 0, "{whole:?}");
}

#[tokio::test]
async fn a_url_with_credentials_in_it_is_refused_before_anything_runs() {
    let scratch = Scratch::new();
    let file = scratch.task(&task(json!({
        "type": "csv", "input": { "url": "https://reader:pw@example.com/data.csv" }
    })));
    let result = scratch.dry_run(&file, &[]).await;
    assert_eq!(result.status, 2, "{result:?}");
    assert!(result.stderr.contains("source.input.url"), "{result:?}");
    assert!(
        result.stderr.contains("use a `basic` authentication"),
        "{result:?}"
    );
    assert!(!result.stderr.contains("reader:pw"), "{result:?}");
}

const HOSTILE: (&str, &str) = ("HOSTILEAPP", "hostile-admin-key");
const GOOD: (&str, &str) = ("GOODAPP", "good-admin-key");

/// `ingestion serve` with two applications, on SQLite, writing to `fake`.
struct TwoApps {
    child: tokio::process::Child,
    base: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl TwoApps {
    async fn start(fake: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.toml");
        std::fs::write(
            &config,
            format!(
                "[[auth.apps]]\napp_id = \"{}\"\napi_key = \"{}\"\n\n[[auth.apps]]\napp_id = \"{}\"\napi_key = \"{}\"\n",
                HOSTILE.0, HOSTILE.1, GOOD.0, GOOD.1
            ),
        )
        .unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_ingestion"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .arg("--config")
            .arg(&config)
            .env_remove("INGESTION__STORE__URL")
            .env("INGESTION__ALGOLIA__HOSTS", fake)
            .env("INGESTION__SOURCES__STALL_WINDOW_MS", "300")
            .env("INGESTION__SOURCES__MAX_DECOMPRESSED_BYTES", "8000000")
            .env("INGESTION__PUSH__WAIT_STEP_MS", "10")
            .env("INGESTION__WORKER__POLL_MS", "50")
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        for _ in 0..200 {
            if http
                .get(format!("{base}/ready"))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
            {
                return Self {
                    child,
                    base,
                    http,
                    _dir: dir,
                };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("ingestion serve did not become ready");
    }

    async fn call(&self, app: (&str, &str), path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .http
            .request(
                if body.is_some() {
                    reqwest::Method::POST
                } else {
                    reqwest::Method::GET
                },
                format!("{}{path}", self.base),
            )
            .header("x-algolia-application-id", app.0)
            .header("x-algolia-api-key", app.1);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let value: Value = response.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{path}: {status} {value}");
        value
    }

    /// Creates a CSV task of `app` reading `url` (with an OAuth token from `token_url`) and runs it.
    async fn run_csv(&self, app: (&str, &str), url: &str, token_url: Option<&str>) -> String {
        let algolia = self
            .call(
                app,
                "/1/authentications",
                Some(json!({"type": "algolia", "name": "a",
                            "input": {"appID": "FAKEAPP", "apiKey": "fake-key"}})),
            )
            .await["authenticationID"]
            .clone();
        let destination = self
            .call(
                app,
                "/1/destinations",
                Some(
                    json!({"type": "search", "name": "d", "authenticationID": algolia,
                            "input": {"indexName": format!("{}_products", app.0)}}),
                ),
            )
            .await["destinationID"]
            .clone();
        let mut source =
            json!({"type": "csv", "name": "s", "input": {"url": url, "uniqueIDColumn": "id"}});
        if let Some(token_url) = token_url {
            let auth = self
                .call(
                    app,
                    "/1/authentications",
                    Some(json!({"type": "oauth", "name": "o",
                                "input": {"url": token_url, "client_id": "c", "client_secret": "s"}})),
                )
                .await["authenticationID"]
                .clone();
            source["authenticationID"] = auth;
        }
        let source = self.call(app, "/1/sources", Some(source)).await["sourceID"].clone();
        let task = self
            .call(
                app,
                "/1/tasks",
                Some(json!({"sourceID": source, "destinationID": destination,
                            "trigger": {"type": "onDemand"}, "action": "replace"})),
            )
            .await["taskID"]
            .clone();
        let task = task.as_str().unwrap();
        self.call(app, &format!("/1/tasks/{task}/run"), Some(json!({})))
            .await["runID"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn finished(&self, app: (&str, &str), run: &str) -> Value {
        for _ in 0..600 {
            let value = self.call(app, &format!("/1/runs/{run}"), None).await;
            if value["status"] == "finished" {
                return value;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("run {run} did not finish");
    }

    /// The server's peak resident memory, from `/proc` (Linux).
    fn peak_rss_mb(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()?)).ok()?;
        let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb / 1024)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_serve_hostile_peers_fail_their_own_runs_and_another_app_runs_on() {
    let fake = ingest_algolia::testkit::FakeAlgolia::builder()
        .app_id("FAKEAPP")
        .api_key("fake-key")
        .build();
    let algolia = fake.serve();
    let server = TwoApps::start(&algolia.url()).await;
    let endless = raw_server(Peer::EndlessBody).await;
    let bomb = raw_server(Peer::GzipBomb).await;
    let trickle = raw_server(Peer::Trickle).await;
    let huge_expiry = raw_server(Peer::HugeExpiry).await;
    let good = raw_server(Peer::Csv).await;

    let hostile_runs = [
        (
            server
                .run_csv(
                    HOSTILE,
                    "http://127.0.0.1:9/data.csv",
                    Some(&format!("{endless}/token")),
                )
                .await,
            "the response is larger than 64 KiB",
        ),
        (
            server
                .run_csv(HOSTILE, &format!("{bomb}/data.csv.gz"), None)
                .await,
            "decompresses to more than 8000000 bytes",
        ),
        (
            server
                .run_csv(HOSTILE, &format!("{trickle}/slow.csv"), None)
                .await,
            "stalled",
        ),
    ];
    let clamped = server
        .run_csv(
            HOSTILE,
            &format!("{huge_expiry}/data.csv"),
            Some(&format!("{huge_expiry}/token")),
        )
        .await;
    let good_run = server
        .run_csv(GOOD, &format!("{good}/data.csv"), None)
        .await;

    for (run, reason) in &hostile_runs {
        let run = server.finished(HOSTILE, run).await;
        assert_eq!(run["outcome"], "failure", "{run}");
        assert!(
            run["reason"].as_str().unwrap_or_default().contains(reason),
            "{run}"
        );
    }
    assert_eq!(
        server.finished(HOSTILE, &clamped).await["outcome"],
        "success"
    );
    let good_run = server.finished(GOOD, &good_run).await;
    assert_eq!(good_run["outcome"], "success", "{good_run}");
    assert_eq!(fake.record_count("GOODAPP_products"), 2);
    // Still serving, and the hostile application's runs are not the other's to see.
    assert_eq!(
        server.call(GOOD, "/1/runs", None).await["pagination"]["nbItems"],
        1
    );
    if let Some(peak) = server.peak_rss_mb() {
        // A debug build; the release figures are in the README (11 to 14 MB for these inputs).
        assert!(peak < 200, "peak RSS {peak} MB");
        eprintln!("serve peak RSS: {peak} MB");
    }
}

//! Authentication failures, rate limits, the secret canary (responses, logs, database file),
//! store outages, slow clients, and hostile input.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use ingest_api::RateLimitSettings;
use reqwest::Method;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::{APP_A, APP_B, KEY_A, KEY_B, Server, config};

ingest_store::both_backends!(
    auth_failures_are_identical,
    store_outage_is_503,
    hostile_input_never_5xx
);

/// Every log line of this test binary, at every level.
fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || LogWriter(writer.clone()))
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        buffer
    })
    .clone()
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn auth_failures_are_identical(s: &Server) {
    let long = "k".repeat(10 * 1024);
    let cases: Vec<(Option<&str>, Option<&str>)> = vec![
        (None, None),
        (Some(APP_A), None),
        (None, Some(KEY_A)),
        (Some("NOSUCHAPP"), Some(KEY_A)),
        (Some(APP_A), Some("wrong-key")),
        (Some(APP_A), Some(KEY_B)),
        (Some(APP_B), Some(KEY_A)),
        (Some(""), Some("")),
        (Some(APP_A), Some("")),
        (Some(APP_A), Some(&long)),
        (Some(&long), Some(KEY_A)),
    ];
    let mut bodies = Vec::new();
    for (app, key) in cases {
        for (method, path) in [
            (Method::GET, "/1/tasks"),
            (Method::POST, "/1/sources"),
            (Method::GET, "/1/nope"),
        ] {
            let resp = Server::send(s.request_as(method, path, app, key)).await;
            assert_eq!(resp.status, 403, "{app:?}/{key:?} {path}: {}", resp.text);
            bodies.push(resp.text);
        }
    }
    bodies.dedup();
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    assert_eq!(
        bodies[0],
        r#"{"message":"invalid application id or api key","status":403}"#
    );
    // Both applications work with their own keys; health needs no credentials.
    s.get("/1/tasks").await.expect(200);
    s.call_b(Method::GET, "/1/tasks", None).await.expect(200);
    let health = Server::send(s.request_as(Method::GET, "/health", None, None)).await;
    assert_eq!(health.status, 200);
    let ready = Server::send(s.request_as(Method::GET, "/ready", None, None)).await;
    assert_eq!(ready.status, 200, "{}", ready.text);
}

async fn store_outage_is_503(s: &Server) {
    let source = s.json_source("before outage", true).await;
    // Closing the store's connections is an outage as the handlers see it.
    s.store.close().await;
    for resp in [
        s.get("/1/tasks").await,
        s.get(&format!("/1/sources/{source}")).await,
        s.post(
            "/1/destinations",
            &json!({"type": "search", "name": "d", "input": {"indexName": "i"}}),
        )
        .await,
    ] {
        resp.error(503, "service unavailable");
    }
    let ready = Server::send(s.request_as(Method::GET, "/ready", None, None)).await;
    assert_eq!(ready.status, 503);
    let health = Server::send(s.request_as(Method::GET, "/health", None, None)).await;
    assert_eq!(health.status, 200);
}

async fn hostile_input_never_5xx(s: &Server) {
    let source = s.json_source("src", true).await;
    let dest = s.destination("idx").await;
    let seeds = [
        (
            "/1/authentications",
            json!({"type": "basic", "name": "n", "input": {"username": "u", "password": "p"}}),
        ),
        (
            "/1/destinations",
            json!({"type": "search", "name": "n", "input": {"indexName": "i"}}),
        ),
        (
            "/1/sources",
            json!({"type": "csv", "name": "n", "input": {"url": "https://x/a.csv", "mapping": {"a": "json"}}}),
        ),
        (
            "/1/tasks",
            json!({"sourceID": source, "destinationID": dest, "trigger": {"type": "schedule", "cron": "* * * * *"}, "action": "save", "input": {"timeframe": 3}}),
        ),
        (
            "/1/transformations",
            json!({"name": "n", "type": "code", "input": {"code": "function transform(r) { return r; }"}}),
        ),
        (
            "/1/transformations/try",
            json!({"sampleRecord": {"objectID": "1"}, "type": "code", "input": {"code": "function transform(r) { return r; }"}}),
        ),
    ];
    let oddities = [
        json!(null),
        json!(true),
        json!(-1),
        json!(1e308),
        json!(u64::MAX),
        json!(""),
        json!("\u{0}"),
        json!("💥".repeat(100)),
        json!([]),
        json!([[[[[]]]]]),
        json!({}),
        json!({"": {"": null}}),
    ];
    let mut n = 0u32;
    for (path, seed) in &seeds {
        let keys: Vec<String> = seed.as_object().unwrap().keys().cloned().collect();
        for key in &keys {
            for odd in &oddities {
                let mut body = seed.clone();
                body[key] = odd.clone();
                let resp = s.post(path, &body).await;
                assert!(
                    resp.status < 500,
                    "{path} {body}: {} {}",
                    resp.status,
                    resp.text
                );
                if let Some(input) = seed.get("input").and_then(|i| i.as_object()) {
                    for inner in input.keys() {
                        let mut body = seed.clone();
                        body["input"][inner] = odd.clone();
                        let resp = s.post(path, &body).await;
                        assert!(resp.status < 500, "{path} {body}: {}", resp.text);
                    }
                }
                n += 1;
            }
        }
    }
    for raw in [
        "",
        "{",
        "}",
        "nul",
        "\"x\"",
        "{\"type\":\"basic\"",
        "\u{feff}{}",
        "{\"a\":1}{\"b\":2}",
        &"[".repeat(10_000),
    ] {
        for path in [
            "/1/authentications",
            "/1/tasks",
            "/1/tasks/search",
            "/1/authentications/x",
        ] {
            let method = if path.ends_with("/x") {
                Method::PATCH
            } else {
                Method::POST
            };
            let resp = Server::send(s.request(method, path).body(raw.to_owned())).await;
            assert!(
                resp.status < 500 && resp.status >= 400,
                "{path} {raw:.40}: {} {}",
                resp.status,
                resp.text
            );
        }
    }
    for query in [
        "page=99999999999999999999",
        "itemsPerPage=1e3",
        "page=%FF",
        "sort=%00",
        "type=,,,",
        "enabled=&enabled=",
    ] {
        let resp = s.get(&format!("/1/tasks?{query}")).await;
        assert!(resp.status < 500, "{query}: {}", resp.text);
    }
    assert!(n > 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_canary_secret_is_nowhere() {
    let logs = captured_logs();
    let s = Server::sqlite().await;
    let canary = "CANARY-5ecret-7c1f9e";
    let id = s
        .create_auth(json!({"type": "basic", "name": "canary", "input": {"username": "u", "password": canary}}))
        .await;
    let algolia = s
        .create_auth(json!({"type": "algolia", "name": "canary2", "input": {"appID": "X", "apiKey": canary}}))
        .await;
    let mut seen = String::new();
    seen += &s.get(&format!("/1/authentications/{id}")).await.text;
    seen += &s.get("/1/authentications").await.text;
    seen += &s
        .post(
            "/1/authentications/search",
            &json!({"authenticationIDs": [id, algolia]}),
        )
        .await
        .text;
    seen += &s
        .patch(
            &format!("/1/authentications/{id}"),
            &json!({"name": "renamed"}),
        )
        .await
        .text;
    seen += &s
        .patch(
            &format!("/1/authentications/{id}"),
            &json!({"input": {"username": 5, "password": canary}}),
        )
        .await
        .text;
    seen += &s
        .patch(
            &format!("/1/authentications/{id}"),
            &json!({"type": "apiKey", "input": {"password": canary}}),
        )
        .await
        .text;
    seen += &s
        .post(
            "/1/authentications",
            &json!({"type": "apiKey", "name": "x", "input": {"key": canary, "extra": 1}}),
        )
        .await
        .text;
    seen += &s
        .post(
            "/1/authentications",
            &json!({"type": "apiKey", "name": 1, "input": {"key": canary}}),
        )
        .await
        .text;
    seen += &Server::send(s.request_as(Method::GET, "/1/tasks", Some(APP_A), Some(canary)))
        .await
        .text;
    seen += &s.post("/1/destinations", &json!({"type": "search", "name": "d", "input": {"indexName": "i"}, "authenticationID": algolia})).await.text;
    assert!(
        !seen.contains(canary),
        "a response holds the canary: {seen}"
    );
    // The database file (and its write-ahead log) never holds it in clear.
    s.store.search_tasks(APP_A, &[]).await.unwrap();
    let dir =
        s.db.sqlite_path()
            .and_then(std::path::Path::parent)
            .expect("a SQLite server");
    for file in ["ingestion.db", "ingestion.db-wal"] {
        if let Ok(bytes) = std::fs::read(dir.join(file)) {
            assert!(
                !bytes.windows(canary.len()).any(|w| w == canary.as_bytes()),
                "{file} holds the canary"
            );
        }
    }
    // But it is stored: the worker's view decrypts it.
    let stored = s
        .store
        .authentication_with_secrets(APP_A, &id)
        .await
        .unwrap();
    assert_eq!(stored.input.to_secret_json()["password"], canary);
    // The log line is written as the response leaves: wait for it (bounded), then look.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let logs = loop {
        let logs = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
        if logs.contains("authentication created") {
            break logs;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the creation was never logged"
        );
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    assert!(!logs.contains(canary), "the logs hold the canary");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_per_client_ip_behind_a_trusted_proxy() {
    let mut config = config();
    config.rate_limits = RateLimitSettings {
        trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()],
        ..RateLimitSettings::default()
    };
    let s = Server::sqlite_with(config).await;
    let from = |ip: &str, path: &str, authenticated: bool| {
        let req = if authenticated {
            s.request(Method::GET, path)
        } else {
            s.request_as(Method::GET, path, None, None)
        };
        req.header("x-forwarded-for", ip)
    };
    for i in 0..200 {
        // Unauthenticated requests count too: half of them are.
        let resp = Server::send(from("127.0.0.2", "/1/tasks", i % 2 == 0)).await;
        assert!(
            resp.status == 200 || resp.status == 403,
            "{i}: {}",
            resp.text
        );
        assert_eq!(resp.headers["x-ratelimit-limit"], "200");
        assert_eq!(
            resp.headers["x-ratelimit-remaining"].to_str().unwrap(),
            (199 - i).to_string()
        );
    }
    let limited = Server::send(from("127.0.0.2", "/1/tasks", true)).await;
    assert_eq!(limited.status, 429, "{}", limited.text);
    let retry: u64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(limited.headers["x-ratelimit-remaining"], "0");
    assert!(limited.headers.contains_key("x-ratelimit-reset"));
    limited.error(429, "too many requests");
    // Another client still passes, and /1/runs has its own budget.
    Server::send(from("127.0.0.3", "/1/tasks", true))
        .await
        .expect(200);
    Server::send(from("127.0.0.2", "/1/runs", true))
        .await
        .expect(200);
    for _ in 0..199 {
        Server::send(from("127.0.0.4", "/1/runs", true))
            .await
            .expect(200);
    }
    let runs = Server::send(from("127.0.0.4", "/1/runs/x", true)).await;
    assert_eq!(
        runs.status, 404,
        "the 200th runs request passes: {}",
        runs.text
    );
    let runs = Server::send(from("127.0.0.4", "/1/runs", true)).await;
    assert!(
        runs.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            <= 30
    );
    runs.error(429, "too many requests");
    Server::send(from("127.0.0.4", "/1/tasks", true))
        .await
        .expect(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_for_is_ignored_from_untrusted_peers() {
    let mut config = config();
    config.rate_limits.general.requests = 3;
    let s = Server::sqlite_with(config).await;
    for i in 0..3 {
        Server::send(
            s.request(Method::GET, "/1/tasks")
                .header("x-forwarded-for", format!("10.0.0.{i}")),
        )
        .await
        .expect(200);
    }
    let resp = Server::send(
        s.request(Method::GET, "/1/tasks")
            .header("x-forwarded-for", "10.0.0.99"),
    )
    .await;
    resp.error(429, "too many requests");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off() {
    let s = Server::sqlite().await;
    let addr: SocketAddr = s.base.trim_start_matches("http://").parse().unwrap();
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // Never finish the headers: the server closes the connection after its 2 s timeout.
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the connection was not closed");
    // A normal client is unaffected.
    Server::send(s.request_as(Method::GET, "/health", None, None))
        .await
        .expect(200);
}

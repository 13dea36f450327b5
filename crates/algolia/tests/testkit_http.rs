//! The fake Algolia over HTTP, driven with reqwest.

use std::time::{Duration, Instant};

use ingest_algolia::testkit::{
    CallKind, DEFAULT_API_KEY, DEFAULT_APP_ID, FakeAlgolia, FakeServer, Fault, Faults, PACE_PATH,
    Pace, When, refused_url,
};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

#[derive(Debug)]
struct Answer {
    status: StatusCode,
    retry_after: Option<String>,
    body: Value,
}

async fn send(
    client: &Client,
    server: &FakeServer,
    method: Method,
    path: &str,
    body: Option<(&str, String)>,
) -> reqwest::Result<Answer> {
    let mut request = client
        .request(method, format!("{}{path}", server.url()))
        .header("X-Algolia-Application-Id", DEFAULT_APP_ID)
        .header("X-Algolia-API-Key", DEFAULT_API_KEY);
    if let Some((content_type, body)) = body {
        request = request.header("content-type", content_type).body(body);
    }
    let response = request.send().await?;
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = response.bytes().await?;
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Ok(Answer {
        status,
        retry_after,
        body,
    })
}

fn json_body(value: Value) -> Option<(&'static str, String)> {
    Some(("application/json", value.to_string()))
}

fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_routes_answer_like_algolia() {
    let fake = FakeAlgolia::new();
    let server = fake.serve();
    let client = client();
    let batch = json!({"requests": [
        {"action": "addObject", "body": {"objectID": "1", "a": 1}},
        {"action": "addObject", "body": {"b": 2}},
    ]});
    let answer = send(
        &client,
        &server,
        Method::POST,
        "/1/indexes/p/batch",
        json_body(batch),
    )
    .await
    .unwrap();
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.body,
        json!({"taskID": 1, "objectIDs": ["1", "fake-1"]})
    );

    let poll = |path: &'static str| send(&client, &server, Method::GET, path, None);
    assert_eq!(
        poll("/1/indexes/p/task/1").await.unwrap().body["status"],
        "notPublished"
    );
    assert_eq!(poll("/1/task/1").await.unwrap().body["status"], "published");
    assert_eq!(poll("/1/task/99").await.unwrap().status, 404);

    let settings = json_body(json!({"searchableAttributes": ["a"]}));
    let answer = send(
        &client,
        &server,
        Method::PUT,
        "/1/indexes/p/settings",
        settings,
    )
    .await
    .unwrap();
    assert_eq!(answer.body["taskID"], 2);
    assert_eq!(
        poll("/1/indexes/p/settings").await.unwrap().body,
        json!({"searchableAttributes": ["a"]})
    );
    assert_eq!(
        poll("/1/indexes/p/1").await.unwrap().body,
        json!({"objectID": "1", "a": 1})
    );
    let missing = poll("/1/indexes/p/nope").await.unwrap();
    assert_eq!(
        (missing.status.as_u16(), missing.body["status"].clone()),
        (404, json!(404))
    );

    let copy = json_body(json!({"operation": "copy", "destination": "q"}));
    let answer = send(
        &client,
        &server,
        Method::POST,
        "/1/indexes/p/operation",
        copy,
    )
    .await
    .unwrap();
    assert_eq!(answer.body["taskID"], 3);
    let updated_at = answer.body["updatedAt"].as_str().unwrap();
    assert!(
        updated_at.ends_with('Z') && updated_at.contains('T'),
        "{updated_at}"
    );
    assert_eq!(fake.record_count("q"), 2);

    let answer = send(&client, &server, Method::DELETE, "/1/indexes/q", None)
        .await
        .unwrap();
    assert_eq!(answer.body["taskID"], 4);
    assert!(answer.body["deletedAt"].is_string());
    assert_eq!(fake.index_names(), ["p"]);

    let unknown = send(&client, &server, Method::GET, "/1/keys", None)
        .await
        .unwrap();
    assert_eq!(unknown.status, 404);
    let calls = fake.calls();
    assert!(calls.iter().all(|c| c.server == Some(server.addr())));
    let kinds: Vec<_> = calls.iter().map(|c| c.kind).collect();
    use CallKind::*;
    assert_eq!(
        kinds,
        [
            Batch,
            Task,
            Task,
            Task,
            SetSettings,
            GetSettings,
            GetObject,
            GetObject,
            Copy,
            DeleteIndex,
            Other
        ]
    );
    assert_eq!(calls[0].records, 2);
}

#[tokio::test]
async fn text_plain_bodies_and_the_size_limit() {
    let fake = FakeAlgolia::builder().record_size_limit(30).build();
    let server = fake.serve();
    let batch = json!({"requests": [{"action": "addObject", "body": {"objectID": "ok"}}]});
    let answer = send(
        &client(),
        &server,
        Method::POST,
        "/1/indexes/p/batch",
        Some(("text/plain;charset=UTF-8", batch.to_string())),
    )
    .await
    .unwrap();
    assert_eq!(answer.status, 200);
    let big = json!({"requests": [{"action": "updateObject", "body": {"objectID": "big", "t": "0123456789"}}]});
    let answer = send(
        &client(),
        &server,
        Method::POST,
        "/1/indexes/p/batch",
        Some(("text/plain", big.to_string())),
    )
    .await
    .unwrap();
    assert_eq!(answer.status, 400);
    assert_eq!(answer.body["status"], 400);
    let message = answer.body["message"].as_str().unwrap();
    assert!(message.starts_with("Record at the position 0 objectID=big is too big size=35/30 bytes. Please have a look at https://www.algolia.com/doc/"), "{message}");
    assert_eq!(fake.records("p").into_keys().collect::<Vec<_>>(), ["ok"]);
}

#[tokio::test]
async fn credentials_are_checked() {
    let fake = FakeAlgolia::builder()
        .app_id("APP")
        .api_key("secret")
        .read_only_index("locked")
        .build();
    let server = fake.serve();
    let client = client();
    let batch = json!({"requests": []}).to_string();
    let post = |app: &str, key: &str, index: &str| {
        client
            .post(format!("{}/1/indexes/{index}/batch", server.url()))
            .header("x-algolia-application-id", app)
            .header("x-algolia-api-key", key)
            .body(batch.clone())
            .send()
    };
    let refused = post("APP", "wrong", "p").await.unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(
        refused.text().await.unwrap(),
        r#"{"message":"Invalid Application-ID or API key","status":403}"#
    );
    assert_eq!(post("OTHER", "secret", "p").await.unwrap().status(), 403);
    let bare = client
        .get(format!("{}/1/task/1", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), 403);
    let locked = post("APP", "secret", "locked").await.unwrap();
    assert_eq!(locked.status(), 403);
    assert_eq!(
        locked.text().await.unwrap(),
        r#"{"message":"Method not allowed with this API key","status":403}"#
    );
    assert!(fake.index_names().is_empty());
    assert_eq!(post("APP", "secret", "p").await.unwrap().status(), 200);
    // The browser client sends the credentials as query parameters.
    let url = format!(
        "{}/1/task/1?x-algolia-application-id=APP&x-algolia-api-key=secret",
        server.url()
    );
    assert_eq!(client.get(url).send().await.unwrap().status(), 200);
    let statuses: Vec<_> = fake.calls().iter().map(|c| c.status).collect();
    assert_eq!(statuses, [403, 403, 403, 403, 200, 200]);
}

#[tokio::test]
async fn faults_over_http_leave_the_state_unchanged() {
    let fake = FakeAlgolia::new();
    fake.set_records("p", [json!({"objectID": "old"})]);
    let server = fake.serve_with(
        Faults::new()
            .on(CallKind::Batch, When::Nth(1), Fault::too_many_requests("2"))
            .on(
                CallKind::Batch,
                When::Nth(2),
                Fault::status(502, "Bad Gateway"),
            )
            .on(CallKind::Batch, When::Nth(3), Fault::Reset)
            .on(
                CallKind::Batch,
                When::Nth(4),
                Fault::stall(Duration::from_secs(30)),
            ),
    );
    let client = Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let batch = || json_body(json!({"requests": [{"action": "addObject", "body": {"x": 1}}]}));
    let path = "/1/indexes/p/batch";

    let limited = send(&client, &server, Method::POST, path, batch())
        .await
        .unwrap();
    assert_eq!(
        (limited.status.as_u16(), limited.retry_after.as_deref()),
        (429, Some("2"))
    );
    assert_eq!(
        limited.body,
        json!({"message": "Too Many Requests", "status": 429})
    );
    let bad = send(&client, &server, Method::POST, path, batch())
        .await
        .unwrap();
    assert_eq!(bad.body, json!({"message": "Bad Gateway", "status": 502}));
    // The connection is dropped before any response head: `send` itself fails.
    let reset = client
        .post(format!("{}{path}", server.url()))
        .header("X-Algolia-Application-Id", DEFAULT_APP_ID)
        .header("X-Algolia-API-Key", DEFAULT_API_KEY)
        .body(batch().unwrap().1)
        .send()
        .await
        .expect_err("a dropped connection");
    assert!(!reset.is_timeout() && !reset.is_status(), "{reset:?}");
    let started = Instant::now();
    let stalled = send(&client, &server, Method::POST, path, batch())
        .await
        .expect_err("a timeout");
    assert!(stalled.is_timeout(), "{stalled:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(fake.records("p").into_keys().collect::<Vec<_>>(), ["old"]);

    let ok = send(&client, &server, Method::POST, path, batch())
        .await
        .unwrap();
    assert_eq!(ok.status, 200);
    assert_eq!(fake.record_count("p"), 2);
    let statuses: Vec<_> = fake
        .calls()
        .iter()
        .map(|c| (c.status, c.injected))
        .collect();
    assert_eq!(
        statuses,
        [
            (429, true),
            (502, true),
            (0, true),
            (504, true),
            (200, false)
        ]
    );
    assert_eq!(server.faults().rules()[0].seen(), 5);
    server.shutdown().await;
}

#[tokio::test]
async fn several_servers_share_one_fake() {
    let fake = FakeAlgolia::new();
    let down = refused_url();
    let stalling = fake.serve_with(Faults::new().on(
        CallKind::Batch,
        When::Always,
        Fault::stall(Duration::from_secs(60)),
    ));
    let healthy = fake.serve();
    let client = Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let refused = client
        .get(format!("{down}/1/task/1"))
        .send()
        .await
        .unwrap_err();
    assert!(refused.is_connect(), "{refused:?}");
    let batch =
        || json_body(json!({"requests": [{"action": "addObject", "body": {"objectID": "1"}}]}));
    let timed_out = send(
        &client,
        &stalling,
        Method::POST,
        "/1/indexes/p/batch",
        batch(),
    )
    .await
    .unwrap_err();
    assert!(timed_out.is_timeout());
    let ok = send(
        &client,
        &healthy,
        Method::POST,
        "/1/indexes/p/batch",
        batch(),
    )
    .await
    .unwrap();
    assert_eq!(ok.body["taskID"], 1);
    // The task is visible through any server.
    let polled = send(&client, &stalling, Method::GET, "/1/indexes/p/task/1", None)
        .await
        .unwrap();
    assert_eq!(polled.body["status"], "notPublished");
    let servers: Vec<_> = fake.calls().iter().map(|c| c.server).collect();
    assert_eq!(
        servers,
        [
            Some(stalling.addr()),
            Some(healthy.addr()),
            Some(stalling.addr())
        ]
    );
    assert_eq!(fake.record_count("p"), 1);

    // A stalled answer ends when its server shuts down, and the port then refuses connections.
    let url = stalling.url();
    let patient = Client::new();
    let pending = tokio::spawn(async move {
        patient
            .post(format!("{url}/1/indexes/p/batch"))
            .header("x-algolia-application-id", DEFAULT_APP_ID)
            .header("x-algolia-api-key", DEFAULT_API_KEY)
            .body("{}")
            .send()
            .await
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let url = stalling.url();
    let started = Instant::now();
    stalling.shutdown().await;
    assert!(started.elapsed() < Duration::from_secs(5));
    let answer = pending.await.unwrap().unwrap();
    assert_eq!(answer.status(), 504);
    assert!(
        Client::new()
            .get(format!("{url}/1/task/1"))
            .send()
            .await
            .unwrap_err()
            .is_connect()
    );
    drop(healthy);
}

#[tokio::test]
async fn big_bodies_are_accepted() {
    let fake = FakeAlgolia::new();
    let server = fake.serve();
    let text = "x".repeat(90_000);
    let requests: Vec<Value> = (0..200)
        .map(|n| json!({"action": "addObject", "body": {"objectID": n.to_string(), "t": text}}))
        .collect();
    let body = json!({"requests": requests}).to_string();
    assert!(body.len() > 18_000_000);
    let answer = send(
        &client(),
        &server,
        Method::POST,
        "/1/indexes/p/batch",
        Some(("application/json", body)),
    )
    .await
    .unwrap();
    assert_eq!(answer.status, 200);
    assert_eq!(fake.record_count("p"), 200);
}

#[tokio::test]
async fn a_stall_then_apply_times_the_client_out_after_the_write() {
    let fake = FakeAlgolia::new();
    let server = fake.serve_with(Faults::always(Fault::stall_then_apply(
        Duration::from_secs(30),
    )));
    let client = Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let batch = json_body(json!({"requests": [{"action": "addObject", "body": {"x": 1}}]}));
    let err = send(&client, &server, Method::POST, "/1/indexes/p/batch", batch)
        .await
        .unwrap_err();
    assert!(err.is_timeout());
    assert_eq!(fake.record_count("p"), 1);
    let call = &fake.calls()[0];
    assert_eq!(
        (call.status, call.injected, call.task_id),
        (200, true, Some(1))
    );
}

#[tokio::test]
async fn the_pace_is_read_and_set_over_http_and_refusals_look_like_algolias() {
    let fake = FakeAlgolia::new();
    let server = fake.serve();
    let client = client();
    let pace = json_body(json!({"latencyMs": 300, "concurrencyLimit": 1}));
    let set = send(&client, &server, Method::PUT, PACE_PATH, pace)
        .await
        .unwrap();
    assert_eq!(set.status, StatusCode::OK);
    assert_eq!(
        fake.pace(),
        Pace {
            latency: Duration::from_millis(300),
            concurrency_limit: Some(1)
        }
    );
    let batch = || {
        let body = json!({"requests": [{"action": "addObject", "body": {"objectID": "a"}}]});
        send(
            &client,
            &server,
            Method::POST,
            "/1/indexes/p/batch",
            json_body(body),
        )
    };
    let started = Instant::now();
    let (one, two) = tokio::join!(batch(), batch());
    assert!(started.elapsed() >= Duration::from_millis(300));
    let mut statuses = [one.unwrap(), two.unwrap()];
    statuses.sort_by_key(|a| a.status);
    assert_eq!(statuses[0].status, StatusCode::OK);
    assert_eq!(statuses[1].status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        statuses[1].body,
        json!({"message": "Too many jobs", "status": 429})
    );
    let read = send(&client, &server, Method::GET, PACE_PATH, None)
        .await
        .unwrap();
    assert_eq!(
        read.body,
        json!({"latencyMs": 300, "concurrencyLimit": 1, "peakConcurrency": 1, "throttledCalls": 1})
    );
    // Control calls are not logged.
    assert_eq!(fake.calls().len(), 2);
    let bad = json_body(json!({"latency": 1}));
    let refused = send(&client, &server, Method::PUT, PACE_PATH, bad)
        .await
        .unwrap();
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
}

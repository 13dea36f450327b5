//! The source HTTP client against local servers (wiremock on 127.0.0.1): retries, error
//! messages, authentication, gzip, and the URL policy on requests and redirects.
//!
//! Every request goes to 127.0.0.1 or localhost. The refused redirect targets (169.254.169.254,
//! 10.0.0.1) are IP literals, refused by the policy before any connection is attempted.

use std::future::Future;
use std::io::Write;
use std::time::Duration;

use flate2::Compression;
use flate2::write::GzEncoder;
use futures::StreamExt;
use ingest_connectors::http::url_policy::UrlPolicy;
use ingest_connectors::http::{HttpSettings, SourceHttpClient};
use ingest_connectors::{Source, SourceContext, build_source};
use ingest_core::SourceItemError;
use ingest_model::{AuthInput, AuthenticationType, SourceInput, SourceType};
use reqwest::header::AUTHORIZATION;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const CSV_BODY: &str = "id,name\n1,a\n2,b\n";
const CSV_RECORDS: [&str; 2] = [r#"{"id":"1","name":"a"}"#, r#"{"id":"2","name":"b"}"#];
/// `reader:s3cret-pw` in base64.
const BASIC: &str = "Basic cmVhZGVyOnMzY3JldC1wdw==";

fn context(policy: &[&str]) -> SourceContext {
    let settings = HttpSettings {
        min_backoff: Duration::from_millis(1),
        ..HttpSettings::default()
    };
    SourceContext {
        http: SourceHttpClient::new(UrlPolicy::new(policy).unwrap(), settings).unwrap(),
        max_record_bytes: 100_000,
        local_files: None,
        events: None,
        endpoints: ingest_connectors::Endpoints::default(),
        window: None,
        trigger_event: None,
    }
}

fn loopback() -> SourceContext {
    context(&["127.0.0.0/8"])
}

fn csv_source(
    input: Value,
    auth: Option<(AuthenticationType, Value)>,
    context: &SourceContext,
) -> Box<dyn Source> {
    let input = SourceInput::parse(SourceType::Csv, &input).unwrap();
    let auth = auth.map(|(kind, input)| AuthInput::parse(kind, &input).unwrap());
    build_source(&input, auth.as_ref(), context).unwrap()
}

fn basic_auth() -> Option<(AuthenticationType, Value)> {
    Some((
        AuthenticationType::Basic,
        json!({"username": "reader", "password": "s3cret-pw"}),
    ))
}

/// The records of a source, or its fatal error.
async fn read(source: &dyn Source) -> Result<Vec<String>, String> {
    let mut records = Vec::new();
    let mut stream = source.records();
    while let Some(item) = stream.next().await {
        match item {
            Ok(record) => records.push(String::from_utf8(record.json.to_vec()).unwrap()),
            Err(SourceItemError::Fatal(error)) => return Err(error.message().to_owned()),
            Err(SourceItemError::Rejected(rejection)) => {
                panic!("unexpected rejection: {rejection}")
            }
        }
    }
    Ok(records)
}

async fn read_csv(
    url: &str,
    auth: Option<(AuthenticationType, Value)>,
    context: &SourceContext,
) -> Result<Vec<String>, String> {
    read(&*csv_source(json!({"url": url}), auth, context)).await
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn csv_ok() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_string(CSV_BODY)
}

fn redirect_to(location: &str) -> ResponseTemplate {
    ResponseTemplate::new(302).insert_header("Location", location)
}

/// Fails the test if `server` received any request.
async fn assert_untouched(server: &MockServer) {
    let received = server.received_requests().await.unwrap();
    assert!(
        received.is_empty(),
        "{} requests reached the server",
        received.len()
    );
}

fn assert_policy_refusal(message: &str, address: &str) {
    assert!(
        message.contains("refused by the URL policy") && message.contains(address),
        "{message}"
    );
}

// ---------------------------------------------------------------- retries and errors

#[tokio::test]
async fn retries_503_then_reads_the_body() {
    let server = MockServer::start().await;
    Mock::given(path("/data.csv"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .with_priority(1)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(path("/data.csv"))
        .respond_with(csv_ok())
        .expect(1)
        .mount(&server)
        .await;
    let url = format!("{}/data.csv", server.uri());
    assert_eq!(
        read_csv(&url, None, &loopback()).await.unwrap(),
        CSV_RECORDS
    );
    server.verify().await;
}

#[tokio::test]
async fn retries_429_after_retry_after_then_reads_the_body() {
    let server = MockServer::start().await;
    Mock::given(path("/data.csv"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/data.csv"))
        .respond_with(csv_ok())
        .expect(1)
        .mount(&server)
        .await;
    let url = format!("{}/data.csv", server.uri());
    assert_eq!(
        read_csv(&url, None, &loopback()).await.unwrap(),
        CSV_RECORDS
    );
    server.verify().await;
}

#[tokio::test]
async fn not_found_is_fatal_with_the_status_and_the_start_of_the_body() {
    let server = MockServer::start().await;
    let body = format!(
        "no such export: data.csv{}END-OF-LONG-BODY",
        " padding".repeat(50)
    );
    Mock::given(path("/data.csv"))
        .respond_with(ResponseTemplate::new(404).set_body_string(body))
        .expect(1)
        .mount(&server)
        .await;
    let url = format!("{}/data.csv", server.uri());
    let message = read_csv(&url, basic_auth(), &loopback()).await.unwrap_err();
    assert!(message.contains("404 Not Found"), "{message}");
    assert!(message.contains("no such export: data.csv"), "{message}");
    assert!(
        !message.contains("END-OF-LONG-BODY"),
        "the whole body is shown: {message}"
    );
    assert!(message.contains(&url), "{message}");
    assert!(!message.contains("s3cret-pw"), "{message}");
    server.verify().await;
}

#[tokio::test]
async fn a_closed_port_fails_after_retries_without_credentials_in_the_message() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/data.csv?token=query-secret");
    let message = read_csv(&url, None, &loopback()).await.unwrap_err();
    assert!(
        message.contains(&format!("127.0.0.1:{port}/data.csv")),
        "{message}"
    );
    assert!(message.contains("attempts"), "{message}");
    assert!(!message.contains("query-secret"), "{message}");
}

#[tokio::test]
async fn urls_are_shown_without_their_query() {
    let server = MockServer::start().await;
    Mock::given(path("/data.csv"))
        .respond_with(ResponseTemplate::new(403).set_body_string("denied"))
        .mount(&server)
        .await;
    let port = server.address().port();
    let url = format!("http://127.0.0.1:{port}/data.csv?token=query-secret");
    let source = csv_source(json!({"url": url}), None, &loopback());
    let message = read(&*source).await.unwrap_err();
    assert!(message.contains("403"), "{message}");
    for shown in [message, source.describe(), format!("{source:?}")] {
        assert!(
            shown.contains(&format!("127.0.0.1:{port}/data.csv")),
            "{shown}"
        );
        assert!(!shown.contains("query-secret"), "{shown}");
    }
}

// ---------------------------------------------------------------- authentication

#[tokio::test]
async fn basic_authentication_is_sent() {
    let server = MockServer::start().await;
    Mock::given(path("/data.csv"))
        .and(header("authorization", BASIC))
        .respond_with(csv_ok())
        .expect(1)
        .mount(&server)
        .await;
    let url = format!("{}/data.csv", server.uri());
    assert_eq!(
        read_csv(&url, basic_auth(), &loopback()).await.unwrap(),
        CSV_RECORDS
    );
    server.verify().await;
}

#[tokio::test]
async fn an_api_key_is_sent_as_a_bearer_token() {
    let server = MockServer::start().await;
    Mock::given(path("/data.csv"))
        .and(header("authorization", "Bearer key-123"))
        .respond_with(csv_ok())
        .expect(1)
        .mount(&server)
        .await;
    let url = format!("{}/data.csv", server.uri());
    let auth = Some((AuthenticationType::ApiKey, json!({"key": "key-123"})));
    assert_eq!(
        read_csv(&url, auth, &loopback()).await.unwrap(),
        CSV_RECORDS
    );
    server.verify().await;
}

#[tokio::test]
async fn oauth_fetches_one_token_and_uses_it() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string_contains("grant_type=client_credentials"))
        .and(body_string_contains("client_id=client-1"))
        .and(body_string_contains("client_secret=secret%2F%26x"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": "token-abc", "token_type": "bearer", "expires_in": 3600}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/data.csv"))
        .and(header("authorization", "Bearer token-abc"))
        .respond_with(csv_ok())
        .expect(2)
        .mount(&server)
        .await;
    let auth = Some((
        AuthenticationType::OAuth,
        json!({
            "url": format!("{}/oauth/token", server.uri()),
            "client_id": "client-1",
            "client_secret": "secret/&x",
        }),
    ));
    let source = csv_source(
        json!({"url": format!("{}/data.csv", server.uri())}),
        auth,
        &loopback(),
    );
    assert_eq!(read(&*source).await.unwrap(), CSV_RECORDS);
    assert_eq!(
        read(&*source).await.unwrap(),
        CSV_RECORDS,
        "second run, cached token"
    );
    server.verify().await;
}

fn oauth_auth(token_url: String) -> Option<(AuthenticationType, Value)> {
    Some((
        AuthenticationType::OAuth,
        json!({"url": token_url, "client_id": "client-1", "client_secret": "s"}),
    ))
}

#[tokio::test]
async fn a_token_lifetime_past_the_clock_is_clamped_not_a_panic() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_string(
            r#"{"access_token": "token-abc", "expires_in": 18446744073709551615}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/data.csv"))
        .and(header("authorization", "Bearer token-abc"))
        .respond_with(csv_ok())
        .mount(&server)
        .await;
    let url = format!("{}/data.csv", server.uri());
    let auth = oauth_auth(format!("{}/oauth/token", server.uri()));
    assert_eq!(
        read_csv(&url, auth, &loopback()).await.unwrap(),
        CSV_RECORDS
    );
    server.verify().await;
}

#[tokio::test]
async fn a_token_endpoint_that_never_stops_fails_the_read_at_its_cap() {
    let token_url = raw_server("/oauth/token", |mut socket| async move {
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{\"access_token\": \"";
        if socket.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let block = vec![b'a'; 64 * 1024];
        while socket.write_all(&block).await.is_ok() {}
    })
    .await;
    let error = read_csv(
        "http://127.0.0.1:9/data.csv",
        oauth_auth(token_url.clone()),
        &loopback(),
    )
    .await
    .unwrap_err();
    assert!(
        error.contains(&format!(
            "oauth token request to {token_url}: the response is larger than 64 KiB"
        )),
        "{error}"
    );
}

/// A raw HTTP server on 127.0.0.1: each connection's request is read, then `answer` writes
/// whatever it likes (malformed, endless or slow). Returns the URL of `path` on it.
async fn raw_server<F, A>(path: &str, answer: F) -> String
where
    F: Fn(TcpStream) -> A + Copy + Send + 'static,
    A: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}{path}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                answer(socket).await;
            });
        }
    });
    url
}

/// A server that answers with a CSV header, then trickles one byte every 50 ms.
async fn trickling_server() -> String {
    raw_server("/slow.csv", |mut socket| async move {
        let head = "HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nid,name\n";
        if socket.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        loop {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if socket.write_all(b"1").await.is_err() {
                return;
            }
        }
    })
    .await
}

#[tokio::test]
async fn a_body_trickling_below_the_floor_rate_fails_as_stalled() {
    let settings = HttpSettings {
        min_backoff: Duration::from_millis(1),
        // Each byte comes well within the read timeout, but the window never reaches the floor.
        read_timeout: Duration::from_secs(5),
        stall_window: Duration::from_millis(300),
        stall_floor_bytes: 1024,
        ..HttpSettings::default()
    };
    let context = SourceContext {
        http: SourceHttpClient::new(UrlPolicy::new(&["127.0.0.0/8"]).unwrap(), settings).unwrap(),
        ..loopback()
    };
    let url = trickling_server().await;
    let started = std::time::Instant::now();
    let error = read_csv(&url, None, &context).await.unwrap_err();
    assert!(
        error.contains("stalled: fewer than 1024 bytes in 300 ms"),
        "{error}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

/// A server whose every answer is `response`, after which it closes the connection.
async fn answering(response: &'static str) -> String {
    raw_server("/data.csv", move |mut socket| async move {
        let _ = socket.write_all(response.as_bytes()).await;
    })
    .await
}

#[tokio::test]
async fn a_body_shorter_than_its_content_length_fails_the_read() {
    let url = answering("HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\nid,name\n1,a\n2,b\n").await;
    let error = read_csv(&url, None, &loopback()).await.unwrap_err();
    assert!(error.contains("failed after 16 bytes"), "{error}");
}

#[tokio::test]
async fn a_chunked_body_cut_short_fails_the_read() {
    let url = answering(
        "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n10\r\nid,name\n1,a\n2,b\n\r\n",
    )
    .await;
    let error = read_csv(&url, None, &loopback()).await.unwrap_err();
    assert!(error.contains("failed after 16 bytes"), "{error}");
}

#[tokio::test]
async fn a_token_request_is_never_sent_again_to_where_a_redirect_points() {
    let token = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(
            ResponseTemplate::new(307)
                .insert_header("Location", format!("{}/steal", elsewhere.uri()).as_str()),
        )
        .mount(&token)
        .await;
    let error = read_csv(
        "http://127.0.0.1:9/data.csv",
        oauth_auth(format!("{}/oauth/token", token.uri())),
        &loopback(),
    )
    .await
    .unwrap_err();
    assert!(
        error.contains("307 Temporary Redirect redirecting to"),
        "{error}"
    );
    assert!(error.contains("not followed"), "{error}");
    assert!(elsewhere.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn credentials_are_not_forwarded_to_another_origin() {
    let a = MockServer::start().await;
    let b = MockServer::start().await;
    Mock::given(path("/data.csv"))
        .respond_with(redirect_to(&format!("{}/moved.csv", b.uri())))
        .expect(2)
        .mount(&a)
        .await;
    Mock::given(path("/moved.csv"))
        .respond_with(csv_ok())
        .mount(&b)
        .await;
    let url = format!("{}/data.csv", a.uri());
    let api_key = Some((AuthenticationType::ApiKey, json!({"key": "key-123"})));
    for auth in [basic_auth(), api_key] {
        assert_eq!(
            read_csv(&url, auth, &loopback()).await.unwrap(),
            CSV_RECORDS
        );
    }
    a.verify().await;
    for request in a.received_requests().await.unwrap() {
        assert!(
            request.headers.contains_key(AUTHORIZATION),
            "server A got no credentials"
        );
    }
    let received = b.received_requests().await.unwrap();
    assert_eq!(received.len(), 2);
    for request in received {
        assert_eq!(
            request.headers.get(AUTHORIZATION),
            None,
            "credentials reached server B"
        );
    }
}

#[tokio::test]
async fn credentials_follow_a_redirect_on_the_same_origin() {
    let server = MockServer::start().await;
    Mock::given(path("/data.csv"))
        .respond_with(redirect_to("/v2/data.csv"))
        .mount(&server)
        .await;
    Mock::given(path("/v2/data.csv"))
        .and(header("authorization", BASIC))
        .respond_with(csv_ok())
        .expect(1)
        .mount(&server)
        .await;
    let url = format!("{}/data.csv", server.uri());
    assert_eq!(
        read_csv(&url, basic_auth(), &loopback()).await.unwrap(),
        CSV_RECORDS
    );
    server.verify().await;
}

// ---------------------------------------------------------------- method and bodies

#[tokio::test]
async fn post_sends_a_post_with_an_empty_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/export"))
        .and(|request: &Request| request.body.is_empty())
        .respond_with(csv_ok())
        .expect(1)
        .mount(&server)
        .await;
    let url = format!("{}/export", server.uri());
    let source = csv_source(json!({"url": url, "method": "POST"}), None, &loopback());
    assert_eq!(read(&*source).await.unwrap(), CSV_RECORDS);
    server.verify().await;
}

#[tokio::test]
async fn a_gzip_content_encoding_is_decoded() {
    let server = MockServer::start().await;
    Mock::given(path("/data.csv"))
        .and(header("accept-encoding", "gzip"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(gzip(CSV_BODY.as_bytes()), "text/csv")
                .insert_header("Content-Encoding", "gzip"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let url = format!("{}/data.csv", server.uri());
    assert_eq!(
        read_csv(&url, None, &loopback()).await.unwrap(),
        CSV_RECORDS
    );
    server.verify().await;
}

#[tokio::test]
async fn a_gz_url_path_is_decoded() {
    let server = MockServer::start().await;
    Mock::given(path("/data.ndjson.gz"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(gzip(b"{\"a\":1}\n{\"b\":2}\n"), "application/gzip"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let input = SourceInput::parse(
        SourceType::Json,
        &json!({"url": format!("{}/data.ndjson.gz", server.uri())}),
    )
    .unwrap();
    let source = build_source(&input, None, &loopback()).unwrap();
    assert_eq!(read(&*source).await.unwrap(), [r#"{"a":1}"#, r#"{"b":2}"#]);
    server.verify().await;
}

// ---------------------------------------------------------------- URL policy

#[tokio::test]
async fn a_redirect_to_the_metadata_address_is_refused() {
    let server = MockServer::start().await;
    Mock::given(path("/data.csv"))
        .respond_with(redirect_to(
            "http://169.254.169.254/latest/meta-data/iam?token=loc-secret",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let url = format!("{}/data.csv", server.uri());
    let message = read_csv(&url, basic_auth(), &loopback()).await.unwrap_err();
    assert_policy_refusal(&message, "169.254.169.254");
    assert!(!message.contains("loc-secret"), "{message}");
    server.verify().await;
}

#[tokio::test]
async fn a_redirect_to_a_private_address_is_refused() {
    let server = MockServer::start().await;
    Mock::given(path("/data.csv"))
        .respond_with(redirect_to("http://10.0.0.1/internal.csv"))
        .expect(1)
        .mount(&server)
        .await;
    let url = format!("{}/data.csv", server.uri());
    let message = read_csv(&url, None, &loopback()).await.unwrap_err();
    assert_policy_refusal(&message, "10.0.0.1");
    server.verify().await;
}

#[tokio::test]
async fn a_host_port_entry_allows_that_port_only() {
    let a = MockServer::start().await;
    let b = MockServer::start().await;
    Mock::given(path("/data.csv"))
        .respond_with(redirect_to(&format!("{}/data.csv", b.uri())))
        .expect(1)
        .mount(&a)
        .await;
    let allowed = a.address().to_string();
    let context = context(&[allowed.as_str()]);
    let message = read_csv(&format!("{}/data.csv", a.uri()), None, &context)
        .await
        .unwrap_err();
    assert_policy_refusal(&message, "127.0.0.1");
    a.verify().await;
    assert_untouched(&b).await;
}

#[tokio::test]
async fn an_empty_policy_refuses_loopback_by_address_and_by_name() {
    let server = MockServer::start().await;
    let port = server.address().port();
    let context = context(&[]);
    let message = read_csv(&format!("http://127.0.0.1:{port}/data.csv"), None, &context)
        .await
        .unwrap_err();
    assert_policy_refusal(&message, "127.0.0.1");
    let message = read_csv(&format!("http://localhost:{port}/data.csv"), None, &context)
        .await
        .unwrap_err();
    assert!(message.contains("refused by the URL policy"), "{message}");
    assert_untouched(&server).await;
}

#[tokio::test]
async fn each_body_read_is_one_fetch_event_without_credentials() {
    use std::sync::Arc;

    use ingest_model::{EventStatus, EventType, MemoryRecorder};

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/ok.csv"))
        .respond_with(ResponseTemplate::new(200).set_body_string(CSV_BODY))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/gone.csv"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let recorder = Arc::new(MemoryRecorder::default());
    let mut context = loopback();
    context.events = Some(recorder.clone());
    let ok = format!("{}/ok.csv?token=query-secret", server.uri());
    let source = csv_source(json!({ "url": ok }), basic_auth(), &context);
    assert_eq!(read(source.as_ref()).await.unwrap().len(), 2);
    let gone = format!("{}/gone.csv", server.uri());
    let source = csv_source(json!({ "url": gone }), None, &context);
    assert!(read(source.as_ref()).await.is_err());

    let events = recorder.events();
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(events.iter().all(|e| e.event_type == EventType::Fetch));
    assert_eq!(events[0].status, EventStatus::Succeeded);
    assert_eq!(events[0].data["bytes"], CSV_BODY.len());
    let url = events[0].data["url"].as_str().unwrap();
    assert!(url.contains("/ok.csv"), "{url}");
    assert_eq!(events[1].status, EventStatus::Failed);
    assert!(events[1].data["error"].as_str().unwrap().contains("404"));
    let all = format!("{events:?}");
    assert!(
        !all.contains("query-secret") && !all.contains("s3cret-pw"),
        "{all}"
    );
}

// ---------------------------------------------------------------- an explicit proxy

/// A forward proxy on 127.0.0.1 that answers every request itself (the targets need not exist):
/// `answer` gets the request's head and returns the whole response. Returns the proxy's URL and
/// the heads it received.
async fn fake_proxy(
    answer: fn(&str) -> String,
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let heads = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let heads = heads.clone();
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let n = socket.read(&mut request).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&request[..n]).into_owned();
                heads.lock().unwrap().push(head.clone());
                let _ = socket.write_all(answer(&head).as_bytes()).await;
            });
        }
    });
    (url, seen)
}

fn proxied(policy: &[&str], proxy: &str) -> SourceContext {
    let mut context = context(policy);
    let settings = HttpSettings {
        min_backoff: Duration::from_millis(1),
        max_retries: 0,
        proxy: Some(ingest_core::Secret::new(proxy.to_owned())),
        ..HttpSettings::default()
    };
    context.http = SourceHttpClient::new(UrlPolicy::new(policy).unwrap(), settings).unwrap();
    context
}

fn proxy_answer(head: &str) -> String {
    let first = head.lines().next().unwrap_or_default();
    let (status, extra, body) = if first.contains("/start.csv") {
        ("302 Found", "location: /data.csv\r\n", "")
    } else if first.contains("/elsewhere.csv") {
        ("302 Found", "location: http://127.0.0.2:9/data.csv\r\n", "")
    } else if first.contains("/metadata.csv") {
        (
            "302 Found",
            "location: http://169.254.169.254/latest/meta-data\r\n",
            "",
        )
    } else {
        ("200 OK", "", CSV_BODY)
    };
    format!(
        "HTTP/1.1 {status}\r\n{extra}content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn request_lines(seen: &std::sync::Mutex<Vec<String>>) -> Vec<String> {
    seen.lock()
        .unwrap()
        .iter()
        .map(|head| head.lines().next().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn a_configured_proxy_carries_requests_and_redirects_whose_targets_are_allowed() {
    let (proxy, seen) = fake_proxy(proxy_answer).await;
    // Nothing listens on port 9: only the proxy is ever connected to.
    let context = proxied(&["127.0.0.0/8"], &proxy);
    let records = read_csv("http://127.0.0.1:9/start.csv", basic_auth(), &context)
        .await
        .unwrap();
    assert_eq!(records, CSV_RECORDS);
    assert_eq!(
        request_lines(&seen),
        [
            "GET http://127.0.0.1:9/start.csv HTTP/1.1",
            "GET http://127.0.0.1:9/data.csv HTTP/1.1"
        ]
    );
    // The redirect stayed on the origin: the credentials went along.
    let heads = seen.lock().unwrap().clone();
    assert!(
        heads[1]
            .to_lowercase()
            .contains(&format!("authorization: {}", BASIC.to_lowercase()))
    );
}

#[tokio::test]
async fn through_a_proxy_credentials_stay_with_their_origin() {
    let (proxy, seen) = fake_proxy(proxy_answer).await;
    let context = proxied(&["127.0.0.0/8"], &proxy);
    let records = read_csv("http://127.0.0.1:9/elsewhere.csv", basic_auth(), &context)
        .await
        .unwrap();
    assert_eq!(records, CSV_RECORDS);
    let heads = seen.lock().unwrap().clone();
    assert_eq!(heads.len(), 2);
    assert!(
        heads[1].starts_with("GET http://127.0.0.2:9/data.csv "),
        "{}",
        heads[1]
    );
    assert!(
        !heads[1].to_lowercase().contains("authorization"),
        "{}",
        heads[1]
    );
}

#[tokio::test]
async fn a_proxy_does_not_bypass_the_url_policy() {
    let (proxy, seen) = fake_proxy(proxy_answer).await;
    // The proxy itself is on loopback, which this policy refuses for targets: it is reached.
    let context = proxied(&[], &proxy);
    let message = read_csv("http://127.0.0.1:9/data.csv", None, &context)
        .await
        .unwrap_err();
    assert_policy_refusal(&message, "127.0.0.1");
    let message = read_csv("http://localhost:9/data.csv", None, &context)
        .await
        .unwrap_err();
    assert!(message.contains("refused by the URL policy"), "{message}");
    assert!(
        request_lines(&seen).is_empty(),
        "{:?}",
        request_lines(&seen)
    );

    // A redirect to the metadata address is refused before it is asked for.
    let context = proxied(&["127.0.0.0/8"], &proxy);
    let message = read_csv("http://127.0.0.1:9/metadata.csv", None, &context)
        .await
        .unwrap_err();
    assert_policy_refusal(&message, "169.254.169.254");
    assert_eq!(
        request_lines(&seen),
        ["GET http://127.0.0.1:9/metadata.csv HTTP/1.1"]
    );
}

use std::time::Duration;

use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;

const KEY: &str = "k3y-never-shown";

fn settings(hosts: Vec<String>) -> TransportSettings {
    TransportSettings {
        hosts: Some(hosts),
        connect_timeout: Duration::from_millis(500),
        read_timeout: Duration::from_millis(300),
        write_timeout: Duration::from_millis(300),
        max_attempts: 4,
        min_backoff: Duration::from_millis(10),
        ..TransportSettings::default()
    }
}

fn transport(hosts: Vec<String>) -> Transport {
    Transport::new("APP", &Secret::new(KEY.to_owned()), settings(hosts)).unwrap()
}

fn write(path: &str, idempotent: bool) -> Request {
    Request {
        method: Method::POST,
        path: path.to_owned(),
        body: Some(Bytes::from_static(b"{\"requests\":[]}")),
        kind: CallKind::Write,
        idempotent,
    }
}

async fn closed_port() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    url
}

#[tokio::test]
async fn sends_the_credentials_and_the_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/1/indexes/p/batch"))
        .and(header("x-algolia-application-id", "APP"))
        .and(header("x-algolia-api-key", KEY))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"taskID":7}"#))
        .expect(1)
        .mount(&server)
        .await;
    let response = transport(vec![server.uri()])
        .send(&write("/1/indexes/p/batch", true))
        .await
        .unwrap();
    assert_eq!(response.body, r#"{"taskID":7}"#);
    assert!(response.retries.is_empty());
    let received = &server.received_requests().await.unwrap()[0];
    assert_eq!(received.body, b"{\"requests\":[]}");
    let agent = received
        .headers
        .get("user-agent")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(agent.starts_with("ingestion/"), "{agent}");
}

#[tokio::test]
async fn a_4xx_fails_at_once_with_algolias_message() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_string(r#"{"message":"Invalid Application-ID or API key","status":403}"#),
        )
        .expect(1)
        .mount(&server)
        .await;
    let error = transport(vec![server.uri()])
        .send(&write("/1/indexes/p/batch", true))
        .await
        .unwrap_err();
    let text = error.to_string();
    assert_eq!(
        text,
        "algolia answered 403 to POST /1/indexes/p/batch: Invalid Application-ID or API key"
    );
    assert!(!text.contains(KEY));
}

#[tokio::test]
async fn a_5xx_is_retried_with_the_same_bytes() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"taskID":1}"#))
        .mount(&server)
        .await;
    let response = transport(vec![server.uri()])
        .send(&write("/1/indexes/p/batch", true))
        .await
        .unwrap();
    assert_eq!(response.retries.len(), 2);
    assert!(
        response.retries[0].starts_with("503 from 127.0.0.1:"),
        "{:?}",
        response.retries
    );
    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 3);
    assert!(received.iter().all(|r| r.body == b"{\"requests\":[]}"));
}

#[tokio::test]
async fn a_429_waits_for_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
        .mount(&server)
        .await;
    let started = Instant::now();
    let response = transport(vec![server.uri()])
        .send(&write("/x", true))
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After not honoured"
    );
    assert_eq!(response.retries.len(), 1);
    assert!(response.retries[0].starts_with("429"));
}

#[tokio::test]
async fn fails_over_from_a_refusing_and_a_stalling_host_to_a_healthy_one() {
    let stalling = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .mount(&stalling)
        .await;
    let healthy = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"taskID":3}"#))
        .mount(&healthy)
        .await;
    let transport = transport(vec![closed_port().await, stalling.uri(), healthy.uri()]);
    let response = transport.send(&write("/x", true)).await.unwrap();
    assert_eq!(response.retries.len(), 2, "{:?}", response.retries);
    assert!(response.retries[0].contains("connection failed"));
    assert!(response.retries[1].starts_with("timeout"));
    // The next request goes to the healthy host first, then the timed-out one; the refusing
    // host is down for two minutes.
    let plan = transport.hosts.plan(CallKind::Write, Instant::now());
    assert_eq!(plan.hosts, vec![2, 1]);
    transport.send(&write("/x", true)).await.unwrap();
    assert_eq!(healthy.received_requests().await.unwrap().len(), 2);
    assert_eq!(stalling.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_request_that_must_not_be_duplicated_is_not_resent_after_a_timeout() {
    let stalling = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .mount(&stalling)
        .await;
    let healthy = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&healthy)
        .await;
    let error = transport(vec![stalling.uri(), healthy.uri()])
        .send(&write("/1/indexes/p/batch", false))
        .await
        .unwrap_err();
    assert!(
        matches!(error, AlgoliaError::NotRetriable { .. }),
        "{error}"
    );
    assert!(healthy.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_request_that_must_not_be_duplicated_still_fails_over_a_refused_connection() {
    let healthy = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&healthy)
        .await;
    transport(vec![closed_port().await, healthy.uri()])
        .send(&write("/x", false))
        .await
        .unwrap();
}

#[tokio::test]
async fn gives_up_after_the_attempt_budget() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let error = transport(vec![server.uri()])
        .send(&write("/x", true))
        .await
        .unwrap_err();
    match &error {
        AlgoliaError::Unreachable { attempts, last, .. } => {
            assert_eq!(*attempts, 4);
            assert!(last.starts_with("500 from"), "{last}");
        }
        other => panic!("unexpected {other}"),
    }
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
}

#[test]
fn error_messages_come_from_the_body() {
    assert_eq!(error_message(br#"{"message":"nope","status":400}"#), "nope");
    assert_eq!(error_message(b"plain text"), "plain text");
    assert_eq!(error_message(b""), "(empty body)");
    assert_eq!(error_message(&[b'x'; 500]).len(), 200);
}

/// A host answering every request with `head` and then, if `endless`, bytes for ever.
async fn oversized_host(head: &'static str, endless: bool) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = vec![0u8; 64 * 1024];
                let _ = socket.read(&mut request).await;
                if socket.write_all(head.as_bytes()).await.is_err() || !endless {
                    return;
                }
                let block = vec![b' '; 256 * 1024];
                while socket.write_all(&block).await.is_ok() {}
            });
        }
    });
    url
}

#[tokio::test]
async fn a_declared_response_over_the_cap_is_not_read() {
    let host = oversized_host(
        "HTTP/1.1 200 OK\r\ncontent-length: 1000000000000\r\n\r\n",
        false,
    )
    .await;
    let error = transport(vec![host])
        .send(&write("/1/indexes/p/batch", true))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("the response is larger than 64 MiB"),
        "{error}"
    );
}

#[tokio::test]
async fn a_response_that_never_ends_fails_at_the_cap() {
    let host = oversized_host("HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n", true).await;
    let settings = TransportSettings {
        read_timeout: Duration::from_secs(60),
        max_attempts: 1,
        ..settings(vec![host])
    };
    let transport = Transport::new("APP", &Secret::new(KEY.to_owned()), settings).unwrap();
    let error = transport
        .send(&write("/1/indexes/p/batch", true))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("the response is larger than 64 MiB"),
        "{error}"
    );
}

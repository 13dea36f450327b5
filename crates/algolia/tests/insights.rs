//! The Insights destination against a wire-level fake of `POST /1/events`.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use ingest_algolia::{InsightsSender, InsightsSettings, Transport, TransportSettings};
use ingest_core::{Record, SourceError, SourceItemError, SourceResult};
use ingest_model::{EventStatus, EventType, MemoryRecorder, RunOutcome, RunReasonCode};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn sender(server: &MockServer) -> InsightsSender {
    let settings = TransportSettings {
        hosts: Some(vec![server.uri()]),
        min_backoff: Duration::from_millis(1),
        host_down_for: Duration::from_millis(1),
        ..TransportSettings::default()
    };
    let transport = Transport::new("APPID", &"insights-key".to_owned().into(), settings).unwrap();
    InsightsSender::new(Arc::new(transport), InsightsSettings::default())
}

fn event(i: usize) -> SourceResult {
    let json = json!({"eventType": "view", "eventName": "Viewed Item", "index": "products",
                      "userToken": format!("user-{}", i % 7), "objectIDs": [format!("sku-{i}")],
                      "timestamp": 1_717_200_000_000i64 + i as i64});
    Ok(Record::new(None, Bytes::from(json.to_string())))
}

fn events(n: usize) -> Vec<SourceResult> {
    (0..n).map(event).collect()
}

fn ok() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"status": 200, "message": "OK"}))
}

async fn sent_events(server: &MockServer) -> Vec<Vec<Value>> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|request| request.url.path() == "/1/events")
        .map(|request| {
            let body: Value = serde_json::from_slice(&request.body).unwrap();
            body["events"].as_array().unwrap().clone()
        })
        .collect()
}

#[tokio::test]
async fn events_go_out_in_requests_of_at_most_1000() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/1/events"))
        .and(header("x-algolia-application-id", "APPID"))
        .and(header("x-algolia-api-key", "insights-key"))
        .respond_with(ok())
        .expect(3)
        .mount(&server)
        .await;
    let recorder = MemoryRecorder::default();
    let summary = sender(&server)
        .run(futures::stream::iter(events(2500)).boxed(), 0, &recorder)
        .await;
    assert_eq!(summary.outcome, RunOutcome::Success, "{}", summary.reason);
    assert_eq!(summary.reason_code, RunReasonCode::Ok);
    assert_eq!(
        (
            summary.records_read,
            summary.records_pushed,
            summary.batches
        ),
        (2500, 2500, 3)
    );
    let sent = sent_events(&server).await;
    assert_eq!(
        sent.iter().map(Vec::len).collect::<Vec<_>>(),
        [1000, 1000, 500]
    );
    assert_eq!(sent[1][0]["objectIDs"], json!(["sku-1000"]));
    let batches: Vec<_> = recorder
        .events()
        .into_iter()
        .filter(|e| e.event_type == EventType::Record && e.status == EventStatus::Succeeded)
        .collect();
    assert_eq!(batches.len(), 3);
    assert_eq!(batches[2].batch_size, 500);
    assert_eq!(recorder.last_progress().received_nb_of_events, 3);
    assert_eq!(recorder.last_progress().expected_nb_of_events, 3);
    assert!(!format!("{:?}", recorder.events()).contains("insights-key"));
}

#[tokio::test]
async fn throttling_and_server_errors_are_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/1/events"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/1/events"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/1/events"))
        .respond_with(ok())
        .mount(&server)
        .await;
    let recorder = MemoryRecorder::default();
    let summary = sender(&server)
        .run(futures::stream::iter(events(10)).boxed(), 0, &recorder)
        .await;
    assert_eq!(summary.reason_code, RunReasonCode::Ok, "{}", summary.reason);
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
    let retried: Vec<_> = recorder
        .events()
        .into_iter()
        .filter(|e| e.status == EventStatus::Retried)
        .collect();
    assert_eq!(retried.len(), 1);
    assert_eq!(retried[0].data["retries"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_refused_request_fails_the_run_with_the_api_s_message() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/1/events"))
        .respond_with(ok())
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/1/events"))
        .respond_with(ResponseTemplate::new(422).set_body_json(
            json!({"status": 422, "message": "Event timestamp is older than 4 days"}),
        ))
        .mount(&server)
        .await;
    let recorder = MemoryRecorder::default();
    let summary = sender(&server)
        .run(futures::stream::iter(events(2500)).boxed(), 0, &recorder)
        .await;
    assert_eq!(summary.outcome, RunOutcome::Failure);
    assert_eq!(summary.reason_code, RunReasonCode::Critical);
    assert!(
        summary
            .reason
            .contains("Event timestamp is older than 4 days"),
        "{}",
        summary.reason
    );
    assert_eq!(summary.records_pushed, 1000);
    // The refused request is not repeated, and nothing is sent after it.
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn bad_events_are_rejected_alone() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/1/events"))
        .respond_with(ok())
        .mount(&server)
        .await;
    let mut items = events(8);
    items.insert(
        3,
        Ok(Record::new(
            None,
            Bytes::from_static(br#"{"eventType":"purchase"}"#),
        )),
    );
    items.insert(5, Ok(Record::new(None, Bytes::from_static(b"{\"eventType\":\"view\",\"eventName\":\"v\",\"index\":\"p\",\"userToken\":\"a b\",\"objectIDs\":[\"x\"]}"))));
    let recorder = MemoryRecorder::default();
    let summary = sender(&server)
        .run(futures::stream::iter(items.clone()).boxed(), 25, &recorder)
        .await;
    assert_eq!(summary.reason_code, RunReasonCode::Ok, "{}", summary.reason);
    assert_eq!(
        (
            summary.records_read,
            summary.records_pushed,
            summary.records_rejected
        ),
        (10, 8, 2)
    );
    assert_eq!(summary.rejections[0].position, "record 4");
    assert!(
        summary.rejections[0].reason.contains("eventType"),
        "{:?}",
        summary.rejections
    );
    assert!(
        summary.rejections[1].reason.contains("userToken"),
        "{:?}",
        summary.rejections
    );
    assert_eq!(sent_events(&server).await[0].len(), 8);
    // Under a 10 % threshold the same run fails.
    let summary = sender(&server)
        .run(
            futures::stream::iter(items).boxed(),
            10,
            &MemoryRecorder::default(),
        )
        .await;
    assert_eq!(summary.reason_code, RunReasonCode::TooManyErrors);
}

#[tokio::test]
async fn a_source_failure_still_sends_the_events_read() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/1/events"))
        .respond_with(ok())
        .mount(&server)
        .await;
    let mut items = events(5);
    items.push(Err(SourceItemError::Fatal(SourceError::new(
        "bigquery answered 404",
    ))));
    items.push(event(99));
    let summary = sender(&server)
        .run(
            futures::stream::iter(items).boxed(),
            0,
            &MemoryRecorder::default(),
        )
        .await;
    assert_eq!(summary.reason_code, RunReasonCode::Critical);
    assert_eq!(summary.reason, "bigquery answered 404");
    assert_eq!(summary.records_pushed, 5);
    assert_eq!(sent_events(&server).await[0].len(), 5);
}

#[tokio::test]
async fn nothing_to_send_is_no_events() {
    let server = MockServer::start().await;
    let summary = sender(&server)
        .run(
            futures::stream::iter(Vec::new()).boxed(),
            0,
            &MemoryRecorder::default(),
        )
        .await;
    assert_eq!(summary.reason_code, RunReasonCode::NoEvents);
    assert!(server.received_requests().await.unwrap().is_empty());
}

//! Through the real transport into the fake over HTTP: faults, timeouts, credentials, failover.

use super::*;

fn transport_settings(hosts: Vec<String>) -> TransportSettings {
    TransportSettings {
        hosts: Some(hosts),
        connect_timeout: Duration::from_millis(500),
        read_timeout: Duration::from_millis(500),
        write_timeout: Duration::from_millis(500),
        max_attempts: 20,
        min_backoff: Duration::from_millis(1),
        ..TransportSettings::default()
    }
}

fn http_pusher(fake: &FakeAlgolia, hosts: Vec<String>, batch: usize) -> Pusher<HttpIndexingApi> {
    let key = Secret::new(fake.api_key().to_owned());
    let transport = Transport::new(fake.app_id(), &key, transport_settings(hosts)).unwrap();
    Pusher::new(Arc::new(HttpIndexingApi::new(transport)), settings(batch))
}

#[tokio::test]
async fn batches_failing_with_500_and_429_still_deliver_every_record_once() {
    let fake = FakeAlgolia::new();
    fake.set_faults(Faults::new().random_with(RandomFaults::new(7, 0.3, 0.1)));
    let server = fake.serve();
    let pusher = http_pusher(&fake, vec![server.url()], 7);
    let recorder = MemoryRecorder::default();
    let summary = pusher
        .run(
            &plan(PushMode::Replace, 0),
            stream::iter(records(500)).boxed(),
            &recorder,
        )
        .await;
    assert_eq!(summary.reason_code, RunReasonCode::Ok, "{summary:?}");
    assert_eq!(summary.records_pushed, 500);
    let records = fake.records("products");
    assert_eq!(records.len(), 500);
    let failures = fake
        .calls_of(CallKind::Batch)
        .iter()
        .filter(|c| !c.succeeded())
        .count();
    assert!(failures > 10, "the faults did not fire: {failures}");
    let accepted: usize = fake
        .calls_of(CallKind::Batch)
        .iter()
        .filter(|c| c.succeeded())
        .map(|c| c.records)
        .sum();
    assert_eq!(accepted, 500, "a record was sent twice");
    let retried = recorder
        .events()
        .into_iter()
        .filter(|e| e.status == EventStatus::Retried)
        .count();
    assert!(retried > 0);
}

#[tokio::test]
async fn a_batch_without_object_ids_is_not_resent_after_a_timeout() {
    let fake = FakeAlgolia::new();
    seed_production(&fake);
    fake.set_faults(Faults::new().on(
        CallKind::Batch,
        When::Nth(1),
        Fault::stall_then_apply(Duration::from_secs(3)),
    ));
    let server = fake.serve();
    let pusher = http_pusher(&fake, vec![server.url()], 10);
    let items = (0..3)
        .map(|i| Ok(Record::new(None, Bytes::from(format!(r#"{{"n":{i}}}"#)))))
        .collect::<Vec<_>>();
    let summary = pusher
        .run(
            &plan(PushMode::Replace, 0),
            stream::iter(items).boxed(),
            &MemoryRecorder::default(),
        )
        .await;
    assert_eq!(summary.reason_code, RunReasonCode::Critical, "{summary:?}");
    assert!(summary.reason.contains("not retried"), "{}", summary.reason);
    assert_eq!(fake.calls_of(CallKind::Batch).len(), 1);
    assert_eq!(fake.records("products").len(), 1);
    assert!(!fake.has_index(TMP));
}

#[tokio::test]
async fn a_wrong_api_key_fails_with_algolias_message() {
    let fake = FakeAlgolia::new();
    seed_production(&fake);
    let server = fake.serve();
    let key = Secret::new("wrong-key-123".to_owned());
    let transport =
        Transport::new(fake.app_id(), &key, transport_settings(vec![server.url()])).unwrap();
    let pusher = Pusher::new(Arc::new(HttpIndexingApi::new(transport)), settings(10));
    let summary = pusher
        .run(
            &plan(PushMode::Replace, 0),
            stream::iter(records(3)).boxed(),
            &MemoryRecorder::default(),
        )
        .await;
    assert_eq!(summary.reason_code, RunReasonCode::Critical);
    assert!(summary.reason.contains("403"), "{}", summary.reason);
    assert!(
        summary.reason.contains("Invalid Application-ID or API key"),
        "{}",
        summary.reason
    );
    assert!(!summary.reason.contains("wrong-key-123"));
    assert_eq!(fake.records("products").len(), 1);
}

#[tokio::test]
async fn fails_over_hosts_during_a_run() {
    let fake = FakeAlgolia::new();
    let stalling = fake.serve_with(Faults::always(Fault::stall(Duration::from_secs(5))));
    let healthy = fake.serve();
    let hosts = vec![
        ingest_algolia::testkit::refused_url(),
        stalling.url(),
        healthy.url(),
    ];
    let pusher = http_pusher(&fake, hosts, 4);
    let summary = pusher
        .run(
            &plan(PushMode::Replace, 0),
            stream::iter(records(20)).boxed(),
            &MemoryRecorder::default(),
        )
        .await;
    assert_eq!(summary.reason_code, RunReasonCode::Ok, "{summary:?}");
    assert_eq!(fake.records("products").len(), 20);
    assert!(!fake.has_index(TMP));
}

#[tokio::test]
async fn gzip_compression_sends_large_bodies_compressed_and_small_ones_as_they_are() {
    for compression in [Compression::None, Compression::Gzip] {
        let fake = FakeAlgolia::new();
        seed_production(&fake);
        let server = fake.serve();
        let key = Secret::new(fake.api_key().to_owned());
        let transport_settings = TransportSettings {
            compression,
            ..transport_settings(vec![server.url()])
        };
        let transport = Transport::new(fake.app_id(), &key, transport_settings).unwrap();
        let pusher = Pusher::new(Arc::new(HttpIndexingApi::new(transport)), settings(100));
        let summary = pusher
            .run(
                &plan(PushMode::Replace, 0),
                stream::iter(records(250)).boxed(),
                &MemoryRecorder::default(),
            )
            .await;
        assert_eq!(summary.reason_code, RunReasonCode::Ok, "{summary:?}");
        assert_eq!(fake.records("products").len(), 250, "{compression:?}");
        let batches = fake.calls_of(CallKind::Batch).len() as u64;
        assert_eq!(batches, 3);
        // The batches are large; the copy and move bodies are a few dozen bytes.
        let expected = if compression == Compression::Gzip {
            batches
        } else {
            0
        };
        assert_eq!(server.gzip_requests(), expected, "{compression:?}");
    }
}

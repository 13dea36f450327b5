//! The pusher against the fake Algolia: `replace` (the official sequence and its safety), `save`
//! (partial updates, deletions, bounded events), and faults through the transport over HTTP.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::stream::{self, StreamExt};
use ingest_algolia::testkit::{CallKind, FakeAlgolia, Fault, Faults, RandomFaults, When};
use ingest_algolia::{
    Compression, HttpIndexingApi, PushMode, PushPlan, PushSettings, Pusher, RunSummary, Transport,
    TransportSettings, WaitPolicy,
};
use ingest_core::{
    BatchLimits, Position, Record, RecordRejection, Secret, SourceError, SourceItemError,
    SourceResult,
};
use ingest_model::{EventStatus, EventType, MemoryRecorder, RunOutcome, RunReasonCode};
use serde_json::{Value, json};

fn settings(batch: usize) -> PushSettings {
    PushSettings {
        in_flight: 4,
        max_in_flight: 32,
        limits: BatchLimits::new(batch, 10_000_000, 100_000).unwrap(),
        wait: WaitPolicy {
            max_polls: 50,
            step: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
        },
        max_rejection_events: 1000,
    }
}

fn plan(mode: PushMode, threshold: u8) -> PushPlan {
    PushPlan {
        index: "products".into(),
        mode,
        failure_threshold: threshold,
        temporary_suffix: Some("123456".into()),
    }
}

const TMP: &str = "products_tmp_123456";

fn record(i: usize) -> SourceResult {
    let json = format!(r#"{{"objectID":"p{i}","name":"product {i}","price":{i}}}"#);
    Ok(Record::new(Some(format!("p{i}").into()), Bytes::from(json)))
}

fn records(n: usize) -> Vec<SourceResult> {
    (0..n).map(record).collect()
}

async fn push(
    fake: &FakeAlgolia,
    plan: &PushPlan,
    settings: PushSettings,
    items: Vec<SourceResult>,
) -> (RunSummary, MemoryRecorder) {
    let recorder = MemoryRecorder::default();
    let pusher = Pusher::new(Arc::new(fake.clone()), settings);
    let summary = pusher
        .run(plan, stream::iter(items).boxed(), &recorder)
        .await;
    (summary, recorder)
}

fn seed_production(fake: &FakeAlgolia) {
    fake.set_records("products", [json!({"objectID": "old", "name": "before"})]);
    fake.set_settings("products", json!({"searchableAttributes": ["name"]}));
    fake.set_synonyms(
        "products",
        vec![json!({"objectID": "syn", "type": "synonym", "synonyms": ["tv", "television"]})],
    );
    fake.set_rules(
        "products",
        vec![json!({"objectID": "rule", "conditions": []})],
    );
}

fn kinds(fake: &FakeAlgolia) -> Vec<CallKind> {
    fake.calls().iter().map(|call| call.kind).collect()
}

fn log_messages(recorder: &MemoryRecorder) -> Vec<String> {
    recorder
        .events()
        .iter()
        .filter_map(|e| e.message().map(str::to_owned))
        .collect()
}

mod concurrency;
mod over_http;
mod replace;
mod save;

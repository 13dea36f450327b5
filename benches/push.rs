//! The pusher's own cost: records through the batcher, the pusher and the in-memory fake Algolia
//! (no HTTP), for `replace` and `save`.
//!
//! Run: `cargo bench --bench push`. The fake parses every batch body it takes, so the figure
//! includes a JSON parse per record on the receiving side, as the end-to-end benchmark does.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::stream::{self, StreamExt};
use ingest_algolia::testkit::FakeAlgolia;
use ingest_algolia::{PushMode, PushPlan, PushSettings, Pusher};
use ingest_core::{Record, SourceResult};
use ingest_model::MemoryRecorder;

const RECORDS: usize = 20_000;

fn records() -> Vec<Record> {
    (0..RECORDS)
        .map(|i| {
            let json = format!(
                r#"{{"objectID":"sku-{i:08}","name":"Steel espresso machine №{i}, 15 bar","price":{}.{:02},"in_stock":{},"stock":{},"tags":["coffee","kitchen",{{"rank":{}}}],"description":"Brews \"real\" espresso, steams milk; 1.5 l tank, model {i}. Ships in 2–3 days."}}"#,
                10 + i % 990,
                i % 100,
                i % 2 == 0,
                i % 500,
                i % 7
            );
            Record::new(Some(format!("sku-{i:08}").into()), Bytes::from(json))
        })
        .collect()
}

fn push(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let records = records();
    let bytes: usize = records.iter().map(|r| r.json.len()).sum();
    let mut group = c.benchmark_group("push");
    group.throughput(Throughput::Elements(RECORDS as u64));
    group.measurement_time(Duration::from_secs(10));
    eprintln!("{RECORDS} records, {:.1} MB", bytes as f64 / 1e6);
    for (name, mode) in [("replace", PushMode::Replace), ("save", PushMode::Save)] {
        let plan = PushPlan {
            index: "products".into(),
            mode,
            failure_threshold: 0,
            temporary_suffix: None,
        };
        group.bench_function(name, |b| {
            b.to_async(&runtime).iter(|| async {
                let fake = FakeAlgolia::builder().unpublished_polls(0).build();
                let pusher = Pusher::new(Arc::new(fake), PushSettings::default());
                let items: Vec<SourceResult> = records.iter().cloned().map(Ok).collect();
                let summary = pusher
                    .run(
                        &plan,
                        stream::iter(items).boxed(),
                        &MemoryRecorder::default(),
                    )
                    .await;
                assert_eq!(summary.records_pushed, RECORDS as u64);
            });
        });
    }
    group.finish();
}

criterion_group!(benches, push);
criterion_main!(benches);

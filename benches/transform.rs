//! Transformations on the hot path (docs/api.md D5): the 20,000 CSV rows of `hot_path` decoded,
//! transformed and batched into Algolia batch bodies, as a run does it.
//!
//! Run: `cargo bench --bench transform`. Three cases on the same bytes, reported in records/s:
//! - `none`: decode and batch, no transformation (the ratio's denominator);
//! - `code_trivial`: JavaScript `record.seen = true; return record` on the pool's threads (one
//!   QuickJS runtime per core);
//! - `no_code_3_steps`: add a fixed attribute, add a templated attribute, drop records by a
//!   condition (none match), in Rust.
//!
//! Targets on the 2-core reference machine: ≥ 100,000 records/s for the code transformation and
//! ≥ 500,000 records/s for the no-code one.

use std::collections::VecDeque;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::StreamExt;
use ingest_connectors::{CsvDecoder, CsvOptions, RecordDecoder};
use ingest_core::{BatchAction, BatchLimits, Batcher, PushOutcome, RecordStream};
use ingest_engine::transformation::{
    Limits, Metadata, RecordTransformation, TransformationBody, TransformationSpec, compile,
};
use serde_json::json;

const ROWS: usize = 20_000;

fn csv_input() -> Vec<u8> {
    let mut out = String::from("id,name,price,in_stock,stock,description\n");
    for i in 0..ROWS {
        out.push_str(&format!(
            "sku-{i:08},\"Steel espresso machine №{i}, 15 bar\",{}.{:02},{},{},\"Brews \"\"real\"\" espresso, steams milk; 1.5 l tank — model {i}. Ships in 2–3 days.\"\n",
            10 + i % 990,
            i % 100,
            i % 2 == 0,
            i % 500
        ));
    }
    out.into_bytes()
}

/// The rows as a record stream, decoded in 64 KiB chunks.
fn records(input: &[u8]) -> RecordStream {
    let mut decoder = CsvDecoder::new(CsvOptions {
        delimiter: b',',
        mapping: Default::default(),
        unique_id_column: Some("id".into()),
        max_record_bytes: 100_000,
    });
    let mut queue = VecDeque::new();
    for chunk in input.chunks(64 * 1024) {
        decoder.feed(chunk, &mut queue);
    }
    decoder.finish(&mut queue);
    futures::stream::iter(queue).boxed()
}

/// Batches every record of `records`; the bytes of the bodies.
async fn batch_all(mut records: RecordStream) -> usize {
    let mut batcher = Batcher::new(BatchAction::AddObject, BatchLimits::default());
    let mut bytes = 0;
    while let Some(item) = records.next().await {
        if let Ok(record) = item
            && let PushOutcome::Closed(batch) = batcher.push(record)
        {
            bytes += black_box(batch).body.len();
        }
    }
    bytes + batcher.finish().map_or(0, |batch| batch.body.len())
}

fn transformation(body: TransformationBody) -> Arc<RecordTransformation> {
    let spec = TransformationSpec {
        id: "bench".into(),
        name: "bench".into(),
        body,
        secrets: Default::default(),
    };
    let program = compile(&spec, Metadata::default(), Limits::default()).unwrap();
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    RecordTransformation::start("bench", program, threads, None).unwrap()
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let input = csv_input();
    let mut group = c.benchmark_group("transform");
    group.throughput(Throughput::Elements(ROWS as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("none", |b| {
        b.iter(|| runtime.block_on(batch_all(records(&input))));
    });
    let code = transformation(TransformationBody::Code(
        "function transform(record) { record.seen = true; return record; }".into(),
    ));
    group.bench_function("code_trivial", |b| {
        b.iter(|| runtime.block_on(batch_all(code.stream(records(&input)))));
    });
    let steps = transformation(TransformationBody::NoCode(json!([
        {"type": "addAttribute", "attribute": "seen", "value": {"fixed": true}},
        {"type": "addAttribute", "attribute": "label", "value": {"template": "{{name}} ({{price}})"}},
        {"type": "removeRecords", "when": {"attribute": "stock", "operator": "eq", "value": "none"}},
    ])));
    group.bench_function("no_code_3_steps", |b| {
        b.iter(|| runtime.block_on(batch_all(steps.stream(records(&input)))));
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

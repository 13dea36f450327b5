//! Hot-path benchmarks: bytes → records → Algolia batch bodies, beside the floor on the same bytes.
//!
//! Run: `cargo bench --bench hot_path` (HTML report in target/criterion). Each group measures the
//! pipeline and a baseline on identical input (generated product rows of ~300 bytes with commas,
//! quotes, unicode, numbers, booleans and a JSON cell):
//! - `csv`: baseline = the `csv` crate reading every row into one reused `ByteRecord`;
//! - `json_array` and `ndjson`: baseline = `serde_json` validating the input (`IgnoredAny`).
//!
//! Targets on the 2-core reference machine: every pipeline ≥ 50 % of its baseline's throughput
//! and ≥ 250 MB/s.

use std::collections::VecDeque;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ingest_connectors::{CsvDecoder, CsvOptions, JsonDecoder, JsonOptions, RecordDecoder};
use ingest_core::{BatchAction, BatchLimits, Batcher, PushOutcome};
use ingest_model::MappingTypeCsv;
use serde::de::IgnoredAny;

const ROWS: usize = 20_000;
const CHUNK: usize = 64 * 1024;

fn product_rows() -> Vec<Vec<String>> {
    let adjectives = [
        "Steel",
        "Café",
        "Ünïcode",
        "Smart",
        "Eco \"Pro\"",
        "Mini, compact",
    ];
    (0..ROWS)
        .map(|i| {
            vec![
                format!("sku-{i:08}"),
                format!("{} espresso machine №{i}, 15 bar", adjectives[i % adjectives.len()]),
                format!("{}.{:02}", 10 + i % 990, i % 100),
                (i % 2 == 0).to_string(),
                (i % 500).to_string(),
                format!("[\"coffee\",\"kitchen\",{{\"rank\":{}}}]", i % 7),
                format!(
                    "Brews \"real\" espresso, steams milk; 1.5 l tank — ☕ model {i}. Ships in 2–3 days, free returns within 30 days, 2-year warranty included. Colour: matte black or brushed steel."
                ),
            ]
        })
        .collect()
}

const HEADER: [&str; 7] = [
    "id",
    "name",
    "price",
    "in_stock",
    "stock",
    "tags",
    "description",
];

fn csv_input(rows: &[Vec<String>]) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(HEADER).unwrap();
    for row in rows {
        writer.write_record(row).unwrap();
    }
    writer.into_inner().unwrap()
}

fn json_objects(rows: &[Vec<String>]) -> Vec<String> {
    rows.iter()
        .map(|row| {
            serde_json::json!({
                "id": row[0], "name": row[1], "price": row[2].parse::<f64>().unwrap(),
                "in_stock": row[3] == "true", "stock": row[4].parse::<i64>().unwrap(),
                "tags": serde_json::from_str::<serde_json::Value>(&row[5]).unwrap(),
                "description": row[6],
            })
            .to_string()
        })
        .collect()
}

fn to_batches(decoder: &mut dyn RecordDecoder, input: &[u8]) -> usize {
    let mut batcher = Batcher::new(BatchAction::AddObject, BatchLimits::default());
    let mut queue = VecDeque::new();
    let mut body_bytes = 0;
    let mut drain = |queue: &mut VecDeque<_>, batcher: &mut Batcher| {
        for record in queue.drain(..).flatten() {
            if let PushOutcome::Closed(batch) = batcher.push(record) {
                body_bytes += black_box(batch).body.len();
            }
        }
    };
    for chunk in input.chunks(CHUNK) {
        decoder.feed(chunk, &mut queue);
        drain(&mut queue, &mut batcher);
    }
    decoder.finish(&mut queue);
    drain(&mut queue, &mut batcher);
    body_bytes + batcher.finish().map_or(0, |batch| batch.body.len())
}

fn configure<'a>(
    c: &'a mut Criterion,
    name: &str,
    bytes: usize,
) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Bytes(bytes as u64));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(4));
    group
}

fn csv_bench(c: &mut Criterion) {
    let input = csv_input(&product_rows());
    let mut group = configure(c, "csv", input.len());
    group.bench_function("baseline_csv_byte_record", |b| {
        b.iter(|| {
            let mut reader = csv::ReaderBuilder::new().from_reader(&input[..]);
            let mut record = csv::ByteRecord::new();
            let mut fields = 0;
            while reader.read_byte_record(&mut record).unwrap() {
                fields += record.len();
            }
            black_box(fields)
        })
    });
    let options = CsvOptions {
        delimiter: b',',
        mapping: [
            ("price".to_owned(), MappingTypeCsv::Float),
            ("in_stock".to_owned(), MappingTypeCsv::Boolean),
            ("stock".to_owned(), MappingTypeCsv::Integer),
            ("tags".to_owned(), MappingTypeCsv::Json),
        ]
        .into(),
        unique_id_column: Some("id".to_owned()),
        max_record_bytes: BatchLimits::DEFAULT_MAX_RECORD_BYTES,
    };
    group.bench_function("csv_to_batch_bodies", |b| {
        b.iter(|| to_batches(&mut CsvDecoder::new(options.clone()), &input))
    });
    group.finish();
}

fn json_options() -> JsonOptions {
    JsonOptions {
        unique_id_column: Some("id".to_owned()),
        max_record_bytes: BatchLimits::DEFAULT_MAX_RECORD_BYTES,
    }
}

fn json_array_bench(c: &mut Criterion) {
    let input = format!("[\n{}\n]\n", json_objects(&product_rows()).join(",\n")).into_bytes();
    let mut group = configure(c, "json_array", input.len());
    group.bench_function("baseline_serde_json_ignored_any", |b| {
        b.iter(|| serde_json::from_slice::<IgnoredAny>(black_box(&input)).unwrap())
    });
    group.bench_function("json_array_to_batch_bodies", |b| {
        b.iter(|| to_batches(&mut JsonDecoder::new(json_options()), &input))
    });
    group.finish();
}

fn ndjson_bench(c: &mut Criterion) {
    let mut input = json_objects(&product_rows()).join("\n").into_bytes();
    input.push(b'\n');
    let mut group = configure(c, "ndjson", input.len());
    group.bench_function("baseline_serde_json_ignored_any", |b| {
        b.iter(|| {
            serde_json::Deserializer::from_slice(black_box(&input))
                .into_iter::<IgnoredAny>()
                .map(Result::unwrap)
                .count()
        })
    });
    group.bench_function("ndjson_to_batch_bodies", |b| {
        b.iter(|| to_batches(&mut JsonDecoder::new(json_options()), &input))
    });
    group.finish();
}

criterion_group!(benches, csv_bench, json_array_bench, ndjson_bench);
criterion_main!(benches);

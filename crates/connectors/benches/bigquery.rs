//! Records per second of the BigQuery source against its fake at zero latency: the connector's
//! own CPU cost (page parsing, typing, JSON writing) plus loopback HTTP.
//!
//! `CARGO_TARGET_DIR=… cargo bench -p ingest-connectors --bench bigquery`

use ingest_connectors::bigquery::fake;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fake::Fake;
use futures::StreamExt;
use ingest_connectors::Source;
use ingest_model::SourceInput;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, ResponseTemplate};

const PAGES: usize = 5;
const ROWS_PER_PAGE: usize = 10_000;
const TABLE: &str = "/bigquery/v2/projects/bench/datasets/shop/tables/products";

fn schema() -> Value {
    json!({"fields": [
        {"name": "id", "type": "STRING", "mode": "REQUIRED"},
        {"name": "name", "type": "STRING", "mode": "NULLABLE"},
        {"name": "price", "type": "FLOAT", "mode": "NULLABLE"},
        {"name": "stock", "type": "INTEGER", "mode": "NULLABLE"},
        {"name": "active", "type": "BOOLEAN", "mode": "NULLABLE"},
        {"name": "updated", "type": "TIMESTAMP", "mode": "NULLABLE"},
        {"name": "tags", "type": "STRING", "mode": "REPEATED"},
        {"name": "dims", "type": "RECORD", "mode": "NULLABLE", "fields": [
            {"name": "w", "type": "FLOAT", "mode": "NULLABLE"},
            {"name": "unit", "type": "STRING", "mode": "NULLABLE"}]}
    ]})
}

fn page(number: usize) -> String {
    let rows: Vec<Value> = (0..ROWS_PER_PAGE)
        .map(|i| {
            let n = number * ROWS_PER_PAGE + i;
            json!({"f": [
                {"v": format!("sku-{n}")}, {"v": format!("Product {n}, steel \"pro\"")},
                {"v": format!("{}.99", n % 500)}, {"v": (n % 1000).to_string()}, {"v": "true"},
                {"v": (1_717_200_000_000_000i64 + n as i64).to_string()},
                {"v": [{"v": "new"}, {"v": "sale"}]},
                {"v": {"f": [{"v": "1.5"}, {"v": "kg"}]}}
            ]})
        })
        .collect();
    let mut body = json!({"kind": "bigquery#tableDataList", "rows": rows});
    if number + 1 < PAGES {
        body["pageToken"] = json!(format!("P{}", number + 2));
    }
    body.to_string()
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (fake, source) = runtime.block_on(async {
        let fake = Fake::start().await;
        Mock::given(method("GET"))
            .and(path(TABLE))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"type": "TABLE", "schema": schema()})))
            .mount(&fake.server)
            .await;
        let mut bytes = 0;
        for number in 0..PAGES {
            let body = page(number);
            bytes += body.len();
            let mock = Mock::given(method("GET")).and(path(format!("{TABLE}/data")));
            let mock = if number == 0 {
                mock.and(query_param_is_missing("pageToken"))
            } else {
                mock.and(query_param("pageToken", format!("P{}", number + 1)))
            };
            mock.respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json"))
                .mount(&fake.server)
                .await;
        }
        eprintln!("bigquery bench: {PAGES} pages of {ROWS_PER_PAGE} rows, {bytes} bytes of JSON per run");
        let input = json!({"projectID": "bench", "datasetID": "shop", "table": "products", "uniqueIDColumn": "id"});
        let SourceInput::BigQuery(input) =
            SourceInput::parse(ingest_model::SourceType::BigQuery, &input).unwrap()
        else {
            unreachable!("a bigquery input")
        };
        let source = ingest_connectors::bigquery::build(&input, Some(&fake.key.auth()), &fake.context(None))
            .unwrap();
        (fake, source)
    });
    let mut group = c.benchmark_group("bigquery");
    group.sample_size(10);
    group.throughput(Throughput::Elements((PAGES * ROWS_PER_PAGE) as u64));
    group.bench_function("table_5x10k_rows", |b| {
        b.to_async(&runtime).iter(|| async {
            let mut records = 0usize;
            let mut stream = source.records();
            while let Some(item) = stream.next().await {
                item.expect("a record");
                records += 1;
            }
            assert_eq!(records, PAGES * ROWS_PER_PAGE);
        });
    });
    group.finish();
    drop(fake);
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! `run-task` pushing for real: a CSV over HTTP into the fake Algolia over HTTP.

use ingest_algolia::testkit::{CallKind, FakeAlgolia, Fault, Faults, When};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::Scratch;

fn products_csv(rows: usize) -> String {
    let mut csv = String::from("id,name,price\n");
    for i in 0..rows {
        csv.push_str(&format!("sku-{i},\"Product {i}, steel\",{}.5\n", i + 1));
    }
    csv
}

async fn csv_server(body: String) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/products.csv"))
        .respond_with(ResponseTemplate::new(200).set_body_string(body))
        .mount(&server)
        .await;
    server
}

fn task(csv_url: &str, fake: &FakeAlgolia, action: &str) -> Value {
    json!({
        "action": action,
        "source": { "type": "csv",
                    "input": { "url": csv_url, "uniqueIDColumn": "id", "mapping": { "price": "float" } } },
        "destination": {
            "type": "search", "input": { "indexName": "products" },
            "authentication": { "type": "algolia",
                                "input": { "appID": fake.app_id(), "apiKey": fake.api_key() } }
        }
    })
}

#[tokio::test]
async fn a_csv_over_http_replaces_the_index() {
    let csv = csv_server(products_csv(2500)).await;
    let fake = FakeAlgolia::new();
    fake.set_records("products", [json!({"objectID": "stale"})]);
    fake.set_settings("products", json!({"customRanking": ["desc(price)"]}));
    let algolia = fake.serve();
    let scratch = Scratch::new();
    let file = scratch.task(&task(
        &format!("{}/products.csv", csv.uri()),
        &fake,
        "replace",
    ));
    let result = scratch
        .run(
            &["--task-file".as_ref(), file.as_os_str()],
            &[
                ("INGESTION__ALGOLIA__HOSTS", &algolia.url()),
                ("RUST_LOG", "info"),
            ],
        )
        .await;
    assert_eq!(result.status, 0, "{result:?}");
    let summary = result.summary();
    assert_eq!(summary["reasonCode"], "ok");
    assert_eq!(summary["recordsPushed"], 2500);
    assert_eq!(summary["batches"], 3);
    let records = fake.records("products");
    assert_eq!(records.len(), 2500);
    assert_eq!(
        records["sku-7"],
        json!({"objectID": "sku-7", "id": "sku-7", "name": "Product 7, steel", "price": 8.5})
    );
    assert_eq!(
        fake.settings("products").unwrap()["customRanking"],
        json!(["desc(price)"])
    );
    assert!(fake.index_names().iter().all(|i| !i.contains("_tmp_")));
    assert_eq!(fake.calls_of(CallKind::Move).len(), 1);
    // The log tells the story, without the key.
    assert!(
        result.stderr.contains("temporary index `products_tmp_"),
        "{}",
        result.stderr
    );
    assert!(
        result.stderr.contains("moved onto `products`"),
        "{}",
        result.stderr
    );
    assert!(!result.stderr.contains(fake.api_key()) && !result.stdout.contains(fake.api_key()));
}

#[tokio::test]
async fn a_failed_push_leaves_production_untouched_and_exits_1() {
    let csv = csv_server(products_csv(50)).await;
    let fake = FakeAlgolia::new();
    fake.set_records("products", [json!({"objectID": "stale"})]);
    fake.set_faults(Faults::new().on(
        CallKind::Move,
        When::Always,
        Fault::status(403, "Method not allowed with this API key"),
    ));
    let algolia = fake.serve();
    let scratch = Scratch::new();
    let file = scratch.task(&task(
        &format!("{}/products.csv", csv.uri()),
        &fake,
        "replace",
    ));
    let result = scratch
        .run(
            &["--task-file".as_ref(), file.as_os_str()],
            &[("INGESTION__ALGOLIA__HOSTS", &algolia.url())],
        )
        .await;
    assert_eq!(result.status, 1, "{result:?}");
    let summary = result.summary();
    assert_eq!(summary["reasonCode"], "critical");
    assert!(
        summary["reason"]
            .as_str()
            .unwrap()
            .contains("Method not allowed with this API key")
    );
    assert_eq!(fake.records("products").len(), 1);
    assert!(fake.index_names().iter().all(|i| !i.contains("_tmp_")));
}

#[tokio::test]
async fn save_sends_partial_updates() {
    let csv = csv_server(products_csv(3)).await;
    let fake = FakeAlgolia::new();
    fake.set_records("products", [json!({"objectID": "sku-1", "stock": 9})]);
    let algolia = fake.serve();
    let scratch = Scratch::new();
    let file = scratch.task(&task(&format!("{}/products.csv", csv.uri()), &fake, "save"));
    let result = scratch
        .run(
            &["--task-file".as_ref(), file.as_os_str()],
            &[("INGESTION__ALGOLIA__HOSTS", &algolia.url())],
        )
        .await;
    assert_eq!(result.status, 0, "{result:?}");
    assert_eq!(fake.records("products")["sku-1"]["stock"], 9);
    assert_eq!(fake.records("products")["sku-1"]["price"], 2.5);
    assert_eq!(fake.record_count("products"), 3);
    assert!(fake.calls_of(CallKind::Copy).is_empty());
}

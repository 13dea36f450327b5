//! `run-task` with the commerce connectors: a commercetools project and a BigCommerce store, each
//! served by its wire-level fake, pushed into the fake Algolia over HTTP.

use ingest_algolia::testkit::FakeAlgolia;
use ingest_connectors::bigcommerce::fake::{BigCommerceFake, STORE, TOKEN};
use ingest_connectors::commercetools::fake::{
    CLIENT_ID, CLIENT_SECRET, CommercetoolsFake, PROJECT,
};
use serde_json::{Value, json};

use crate::support::Scratch;

fn destination(fake: &FakeAlgolia, index: &str) -> Value {
    json!({
        "type": "search", "input": { "indexName": index },
        "authentication": { "type": "algolia",
                            "input": { "appID": fake.app_id(), "apiKey": fake.api_key() } }
    })
}

#[tokio::test]
async fn a_commercetools_project_replaces_the_index() {
    let commercetools = CommercetoolsFake::generated(1_200, 2);
    let api = commercetools.serve().await;
    let fake = FakeAlgolia::new();
    let algolia = fake.serve();
    let scratch = Scratch::new();
    let file = scratch.task(&json!({
        "action": "replace",
        "source": {
            "type": "commercetools",
            "input": { "url": api.uri(), "projectKey": PROJECT, "locales": ["en"] },
            "authentication": { "type": "oauth", "input": {
                "url": format!("{}/oauth/token", api.uri()),
                "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET } }
        },
        "destination": destination(&fake, "ct_products")
    }));
    let result = scratch
        .run(
            &["--task-file".as_ref(), file.as_os_str()],
            &[("INGESTION__ALGOLIA__HOSTS", &algolia.url())],
        )
        .await;
    assert_eq!(result.status, 0, "{result:?}");
    let summary = result.summary();
    assert_eq!(summary["reasonCode"], "ok");
    assert_eq!(summary["recordsPushed"], 2_400);
    let records = fake.records("ct_products");
    assert_eq!(records.len(), 2_400);
    let record = records
        .values()
        .find(|r| r["productKey"] == "product-7")
        .unwrap();
    assert_eq!(record["name"], json!({"en": "Product 7"}));
    assert_eq!(commercetools.token_calls(), 1);
    assert!(!result.stderr.contains(CLIENT_SECRET) && !result.stdout.contains(CLIENT_SECRET));
}

#[tokio::test]
async fn a_bigcommerce_store_replaces_the_index() {
    let bigcommerce = BigCommerceFake::generated(600);
    let api = bigcommerce.serve().await;
    let fake = FakeAlgolia::new();
    fake.set_records("bc_products", [json!({"objectID": "stale"})]);
    let algolia = fake.serve();
    let scratch = Scratch::new();
    let file = scratch.task(&json!({
        "action": "replace",
        "source": {
            "type": "bigcommerce",
            "input": { "storeHash": STORE, "channel": { "id": 1, "currencies": ["usd"] } },
            "authentication": { "type": "apiKey", "input": { "key": TOKEN } }
        },
        "destination": destination(&fake, "bc_products")
    }));
    let result = scratch
        .run(
            &["--task-file".as_ref(), file.as_os_str()],
            &[
                ("INGESTION__ALGOLIA__HOSTS", &algolia.url()),
                ("INGESTION__BIGCOMMERCE__API_BASE", &api.uri()),
            ],
        )
        .await;
    assert_eq!(result.status, 0, "{result:?}");
    assert_eq!(result.summary()["recordsPushed"], 600);
    let records = fake.records("bc_products");
    assert_eq!(records.len(), 600);
    assert!(!records.contains_key("stale"));
    assert_eq!(records["105"]["prices"]["USD"], 11.0);
    assert!(!result.stderr.contains(TOKEN) && !result.stdout.contains(TOKEN));
}

#[tokio::test]
async fn commercetools_locales_fill_one_index_per_locale() {
    let commercetools = CommercetoolsFake::generated(300, 1);
    let api = commercetools.serve().await;
    let fake = FakeAlgolia::new();
    let algolia = fake.serve();
    let scratch = Scratch::new();
    let file = scratch.task(&json!({
        "action": "replace",
        "source": {
            "type": "commercetools", "name": "Catalog",
            "input": { "url": api.uri(), "projectKey": PROJECT, "locales": ["en", "de"] },
            "authentication": { "type": "oauth", "input": {
                "url": format!("{}/oauth/token", api.uri()),
                "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET } }
        },
        "destination": {
            "type": "search", "input": { "indexPrefix": "shop_" },
            "authentication": { "type": "algolia",
                                "input": { "appID": fake.app_id(), "apiKey": fake.api_key() } }
        }
    }));
    let result = scratch
        .run(
            &["--task-file".as_ref(), file.as_os_str()],
            &[("INGESTION__ALGOLIA__HOSTS", &algolia.url())],
        )
        .await;
    assert_eq!(result.status, 0, "{result:?}");
    // One summary line per locale.
    let summaries: Vec<Value> = result
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(summaries.len(), 2, "{}", result.stdout);
    assert!(summaries.iter().all(|s| s["recordsPushed"] == 300));
    let english = fake.records("shop_en");
    let german = fake.records("shop_de");
    assert_eq!((english.len(), german.len()), (300, 300));
    let pick = |records: &std::collections::BTreeMap<String, Value>| {
        records
            .values()
            .find(|r| r["productKey"] == "product-7")
            .unwrap()["name"]
            .clone()
    };
    assert_eq!(pick(&english), json!("Product 7"));
    assert_eq!(pick(&german), json!("Produkt 7"));
    assert_eq!(commercetools.token_calls(), 1, "the passes share one token");
}

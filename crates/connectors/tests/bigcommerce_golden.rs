//! Golden record shapes of the BigCommerce connector: the realistic product of
//! `docs/connectors.md` §2.4 (`golden/bigcommerce/product.json`, with a second variant and a
//! repeated custom field) served by the fake, read without a channel (`expected_plain.jsonl`)
//! and with channel 1 in USD and EUR (`expected_channel.jsonl`). One record per line.
//!
//! The expected files are the specification (`docs/connectors.md` 6), not snapshots: `UPDATE_GOLDEN=1`
//! rewrites them, and every rewritten file must then be checked against the rules by hand.

use std::path::PathBuf;
use std::time::Duration;

use futures::StreamExt;
use ingest_connectors::bigcommerce::fake::{BigCommerceFake, STORE, TOKEN};
use ingest_connectors::http::url_policy::UrlPolicy;
use ingest_connectors::http::{HttpSettings, SourceHttpClient};
use ingest_connectors::{Endpoints, SourceContext, build_source};
use ingest_model::{AuthInput, AuthenticationType, SourceInput, SourceType};
use serde_json::{Value, json};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/bigcommerce")
}

async fn lines(input: Value) -> String {
    let product: Value =
        serde_json::from_slice(&std::fs::read(dir().join("product.json")).unwrap()).unwrap();
    let fake = BigCommerceFake::new(
        vec![product],
        vec![
            json!({"category_id": 20, "parent_id": 0, "tree_id": 1, "name": "Shop"}),
            json!({"category_id": 23, "parent_id": 20, "tree_id": 1, "name": "Magazines"}),
            json!({"category_id": 24, "parent_id": 20, "tree_id": 1, "name": "Journals"}),
        ],
        vec![json!({"id": 37, "name": "Smith Publishing"})],
    );
    let server = fake.serve().await;
    let settings = HttpSettings {
        min_backoff: Duration::from_millis(1),
        ..HttpSettings::default()
    };
    let context = SourceContext {
        http: SourceHttpClient::new(UrlPolicy::new(&["127.0.0.0/8"]).unwrap(), settings).unwrap(),
        max_record_bytes: 100_000,
        local_files: None,
        events: None,
        endpoints: Endpoints {
            bigcommerce_api_base: server.uri(),
            ..Endpoints::default()
        },
        window: None,
        trigger_event: None,
    };
    let input = SourceInput::parse(SourceType::BigCommerce, &input).unwrap();
    let auth = AuthInput::parse(AuthenticationType::ApiKey, &json!({"key": TOKEN})).unwrap();
    let source = build_source(&input, Some(&auth), &context).unwrap();
    let mut stream = source.records();
    let mut out = String::new();
    while let Some(item) = stream.next().await {
        out.push_str(std::str::from_utf8(&item.unwrap().json).unwrap());
        out.push('\n');
    }
    out
}

fn compare(name: &str, actual: &str) {
    let path = dir().join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap();
    assert_eq!(actual, expected, "{}", path.display());
}

#[tokio::test]
async fn product_record_without_a_channel() {
    compare(
        "expected_plain.jsonl",
        &lines(json!({"storeHash": STORE})).await,
    );
}

#[tokio::test]
async fn product_record_with_channel_prices() {
    let input = json!({"storeHash": STORE, "channel": {"id": 1, "currencies": ["usd", "eur"]}});
    compare("expected_channel.jsonl", &lines(input).await);
}

//! Golden record shapes of the commercetools connector: the realistic projection of
//! `docs/connectors.md` §1.7 (`golden/commercetools/product.json`, plus a third variant without
//! prices or inventory and a reference attribute) served by the fake, read as maps
//! (`expected_maps.jsonl`), as the `de` locale source (`expected_de.jsonl`) and in a store pass
//! (`expected_store.jsonl`). One record per line, byte for byte.
//!
//! The expected files are the specification (`docs/connectors.md` 5), not snapshots: `UPDATE_GOLDEN=1`
//! rewrites them, and every rewritten file must then be checked against the rules by hand.

use std::path::PathBuf;
use std::time::Duration;

use futures::StreamExt;
use ingest_connectors::commercetools::fake::{
    CLIENT_ID, CLIENT_SECRET, CommercetoolsFake, FakeStore, PROJECT,
};
use ingest_connectors::commercetools::locale_sources;
use ingest_connectors::http::url_policy::UrlPolicy;
use ingest_connectors::http::{HttpSettings, SourceHttpClient};
use ingest_connectors::{Source, SourceContext, build_source};
use ingest_model::{AuthInput, AuthenticationType, SourceInput, SourceType};
use serde_json::{Value, json};
use wiremock::MockServer;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/commercetools")
}

fn context() -> SourceContext {
    let settings = HttpSettings {
        min_backoff: Duration::from_millis(1),
        ..HttpSettings::default()
    };
    SourceContext {
        http: SourceHttpClient::new(UrlPolicy::new(&["127.0.0.0/8"]).unwrap(), settings).unwrap(),
        max_record_bytes: 100_000,
        local_files: None,
        events: None,
        endpoints: ingest_connectors::Endpoints::default(),
        window: None,
        trigger_event: None,
    }
}

async fn fake() -> (CommercetoolsFake, MockServer) {
    let product: Value =
        serde_json::from_slice(&std::fs::read(dir().join("product.json")).unwrap()).unwrap();
    let fake = CommercetoolsFake::new([product]);
    fake.keyed_category(
        "0c1d0000-0000-4000-8000-000000000001",
        Some("clothing"),
        json!({"en": "Clothing", "de": "Kleidung"}),
        None,
    );
    fake.keyed_category(
        "cf1e5c7e-23a4-4a43-8b5a-2d7f4e0b1d11",
        Some("t-shirts"),
        json!({"en": "T-Shirts", "de": "T-Shirts (DE)"}),
        Some("0c1d0000-0000-4000-8000-000000000001"),
    );
    fake.store(
        "eu",
        FakeStore {
            countries: vec!["DE".into()],
            selections: None,
        },
    );
    let server = fake.serve().await;
    (fake, server)
}

fn parts(server: &MockServer, extra: Value) -> (SourceInput, AuthInput) {
    let mut input = json!({"url": server.uri(), "projectKey": PROJECT});
    input
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let auth = json!({"url": format!("{}/oauth/token", server.uri()), "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET});
    (
        SourceInput::parse(SourceType::Commercetools, &input).unwrap(),
        AuthInput::parse(AuthenticationType::OAuth, &auth).unwrap(),
    )
}

async fn lines(source: &dyn Source) -> String {
    let mut stream = source.records();
    let mut out = String::new();
    while let Some(item) = stream.next().await {
        let record = item.unwrap();
        out.push_str(std::str::from_utf8(&record.json).unwrap());
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
async fn variant_records_with_localized_maps() {
    let (_fake, server) = fake().await;
    let (input, auth) = parts(&server, json!({}));
    let source = build_source(&input, Some(&auth), &context()).unwrap();
    compare("expected_maps.jsonl", &lines(source.as_ref()).await);
}

#[tokio::test]
async fn variant_records_of_one_locale() {
    let (_fake, server) = fake().await;
    let (SourceInput::Commercetools(input), auth) =
        parts(&server, json!({"locales": ["en", "de"]}))
    else {
        unreachable!()
    };
    let sources = locale_sources(&input, Some(&auth), &context()).unwrap();
    compare(
        "expected_de.jsonl",
        &lines(sources[1].source.as_ref()).await,
    );
}

#[tokio::test]
async fn variant_records_of_a_store() {
    let (_fake, server) = fake().await;
    let (input, auth) = parts(&server, json!({"storeKeys": ["eu"]}));
    let source = build_source(&input, Some(&auth), &context()).unwrap();
    compare("expected_store.jsonl", &lines(source.as_ref()).await);
}

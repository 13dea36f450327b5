//! `run-task` reading a BigQuery table (through fakes of Google's token endpoint and BigQuery
//! REST v2) into the fake Algolia over HTTP.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use base64::Engine as _;
use ingest_algolia::testkit::FakeAlgolia;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::Scratch;

const TABLE: &str = "/bigquery/v2/projects/my-proj/datasets/shop/tables/products";

fn private_key_pem() -> String {
    let pair = KeyPair::generate(KeySize::Rsa2048).unwrap();
    let der = AsDer::as_der(&pair).unwrap();
    let body = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|line| std::str::from_utf8(line).unwrap())
        .collect();
    format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    )
}

fn page(from: usize, n: usize, next: Option<&str>) -> Value {
    let rows: Vec<Value> = (from..from + n)
        .map(|i| {
            json!({"f": [{"v": format!("sku-{i}")}, {"v": format!("Product {i}")}, {"v": format!("{i}.5")},
                         {"v": [{"v": "new"}]}]})
        })
        .collect();
    let mut body = json!({"kind": "bigquery#tableDataList", "rows": rows});
    if let Some(next) = next {
        body["pageToken"] = json!(next);
    }
    body
}

async fn bigquery() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": "ya29.e2e", "expires_in": 3599, "token_type": "Bearer"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(TABLE))
        .and(header("authorization", "Bearer ya29.e2e"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"type": "TABLE", "schema": {"fields": [
            {"name": "id", "type": "STRING"}, {"name": "name", "type": "STRING"},
            {"name": "price", "type": "FLOAT"}, {"name": "tags", "type": "STRING", "mode": "REPEATED"}]}})))
        .mount(&server)
        .await;
    let data = format!("{TABLE}/data");
    for (token, from, n, next) in [
        (None, 0, 1000, Some("P2")),
        (Some("P2"), 1000, 1000, Some("P3")),
        (Some("P3"), 2000, 500, None),
    ] {
        let mock = Mock::given(method("GET")).and(path(data.clone()));
        let mock = match token {
            None => mock.and(query_param_is_missing("pageToken")),
            Some(token) => mock.and(query_param("pageToken", token)),
        };
        mock.respond_with(ResponseTemplate::new(200).set_body_json(page(from, n, next)))
            .mount(&server)
            .await;
    }
    server
}

#[tokio::test]
async fn a_bigquery_table_replaces_the_index() {
    let server = bigquery().await;
    let fake = FakeAlgolia::new();
    fake.set_records("products", [json!({"objectID": "stale"})]);
    let algolia = fake.serve();
    let key = private_key_pem();
    let scratch = Scratch::new();
    let file = scratch.task(&json!({
        "action": "replace",
        "source": {
            "type": "bigquery",
            "input": {"projectID": "my-proj", "datasetID": "shop", "table": "products", "uniqueIDColumn": "id"},
            "authentication": {"type": "googleServiceAccount",
                               "input": {"clientEmail": "reader@my-proj.iam.gserviceaccount.com", "privateKey": key}}
        },
        "destination": {
            "type": "search", "input": {"indexName": "products"},
            "authentication": {"type": "algolia", "input": {"appID": fake.app_id(), "apiKey": fake.api_key()}}
        }
    }));
    let token_url = format!("{}/token", server.uri());
    let result = scratch
        .run(
            &["--task-file".as_ref(), file.as_os_str()],
            &[
                ("INGESTION__ALGOLIA__HOSTS", &algolia.url()),
                ("INGESTION__BIGQUERY__API_BASE", &server.uri()),
                ("INGESTION__GOOGLE__TOKEN_URL", &token_url),
            ],
        )
        .await;
    assert_eq!(result.status, 0, "{result:?}");
    let summary = result.summary();
    assert_eq!(summary["reasonCode"], "ok", "{summary}");
    assert_eq!(summary["recordsPushed"], 2500);
    let records = fake.records("products");
    assert_eq!(records.len(), 2500);
    assert_eq!(
        records["sku-7"],
        json!({"objectID": "sku-7", "id": "sku-7", "name": "Product 7", "price": 7.5, "tags": ["new"]})
    );
    // Neither the private key nor the token shows in what a user reads.
    for text in [&result.stdout, &result.stderr] {
        assert!(
            !text.contains("PRIVATE KEY") && !text.contains("ya29"),
            "{text}"
        );
    }
}

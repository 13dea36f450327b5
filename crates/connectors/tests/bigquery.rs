//! The BigQuery source against a wire-level fake of Google's token endpoint and BigQuery REST v2.

use ingest_connectors::bigquery::fake;

use std::sync::Arc;

use fake::{EMAIL, Fake, context, numbered, recorder, rows, schema, split};
use ingest_connectors::DateWindow;
use ingest_model::{EventStatus, EventType, RunRecorder, Timestamp};
use serde_json::{Value, json};
use wiremock::matchers::{
    body_string_contains, header, method, path, query_param, query_param_is_missing,
};
use wiremock::{Mock, ResponseTemplate};

const TABLE: &str = "/bigquery/v2/projects/my-proj/datasets/shop/tables/products";
const DATA: &str = "/bigquery/v2/projects/my-proj/datasets/shop/tables/products/data";
const QUERIES: &str = "/bigquery/v2/projects/my-proj/queries";

fn table_input() -> Value {
    json!({"projectID": "my-proj", "datasetID": "shop", "table": "products", "uniqueIDColumn": "id"})
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

async fn mount_table(fake: &Fake) {
    Mock::given(method("GET"))
        .and(path(TABLE))
        .respond_with(ok(
            json!({"kind": "bigquery#table", "type": "TABLE", "location": "EU",
            "schema": schema(&[("id", "STRING"), ("n", "INTEGER")])}),
        ))
        .mount(&fake.server)
        .await;
}

/// `pages` pages of `per_page` rows; page k (from 1) answers `pageToken=P{k}`.
async fn mount_pages(fake: &Fake, pages: usize, per_page: usize) {
    for page in 1..=pages {
        let mut body = json!({"kind": "bigquery#tableDataList", "totalRows": (pages * per_page).to_string(),
                              "rows": numbered((page - 1) * per_page, per_page)});
        if page < pages {
            body["pageToken"] = json!(format!("P{}", page + 1));
        }
        let mock = Mock::given(method("GET")).and(path(DATA));
        let mock = if page == 1 {
            mock.and(query_param_is_missing("pageToken"))
        } else {
            mock.and(query_param("pageToken", format!("P{page}")))
        };
        mock.respond_with(ok(body)).mount(&fake.server).await;
    }
}

#[tokio::test]
async fn a_table_is_read_to_its_end_over_several_pages_with_one_token() {
    let fake = Fake::start().await;
    mount_table(&fake).await;
    mount_pages(&fake, 3, 4).await;
    let recorder = recorder();
    let items = fake
        .read_with(
            table_input(),
            fake.context(Some(recorder.clone() as Arc<dyn RunRecorder>)),
        )
        .await;
    let (records, rejections, fatal) = split(&items);
    assert_eq!(fatal, None);
    assert!(rejections.is_empty());
    assert_eq!(records.len(), 12);
    assert_eq!(
        records[5],
        json!({"objectID": "id-5", "id": "id-5", "n": 5})
    );
    assert_eq!(
        items[11].as_ref().unwrap().object_id.as_deref(),
        Some("id-11")
    );
    // One token exchange, with the claims Google expects, signed by the account's key.
    assert_eq!(fake.exchanges(), 1);
    let claims = fake.claims.lock().unwrap()[0].clone();
    assert_eq!(claims["iss"], EMAIL);
    assert_eq!(claims["aud"], format!("{}/token", fake.uri()));
    assert_eq!(claims["scope"], "https://www.googleapis.com/auth/bigquery");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        3600
    );
    // Every call carries the token and asks for microsecond timestamps.
    let requests = fake.api_requests().await;
    assert_eq!(requests.len(), 4);
    for request in &requests {
        assert_eq!(request.headers["authorization"], "Bearer ya29.fake");
    }
    assert!(
        requests[1]
            .url
            .query()
            .unwrap()
            .contains("formatOptions.useInt64Timestamp=true")
    );
    // One fetch event per page, none holding the token.
    let fetches: Vec<_> = recorder
        .events()
        .into_iter()
        .filter(|event| event.event_type == EventType::Fetch)
        .collect();
    assert_eq!(fetches.len(), 3);
    assert!(fetches.iter().all(|e| e.status == EventStatus::Succeeded));
    assert_eq!(fetches[2].data["page"], 3);
    assert_eq!(fetches[2].data["rows"], 4);
    let shown = format!("{:?}", recorder.events());
    assert!(!shown.contains("ya29"), "{shown}");
}

#[tokio::test]
async fn pages_are_fetched_lazily() {
    let fake = Fake::start().await;
    mount_table(&fake).await;
    mount_pages(&fake, 3, 4).await;
    let input =
        ingest_model::SourceInput::parse(ingest_model::SourceType::BigQuery, &table_input())
            .unwrap();
    let source =
        ingest_connectors::build_source(&input, Some(&fake.key.auth()), &fake.context(None))
            .unwrap();
    let mut stream = source.records();
    use futures::StreamExt;
    for _ in 0..4 {
        stream.next().await.unwrap().unwrap();
    }
    // The first page is consumed: the second has not been asked for yet.
    assert_eq!(fake.api_requests().await.len(), 2);
    stream.next().await.unwrap().unwrap();
    assert_eq!(fake.api_requests().await.len(), 3);
}

#[tokio::test]
async fn a_query_is_polled_until_done_then_paged_with_its_location() {
    let fake = Fake::start().await;
    Mock::given(method("POST"))
        .and(path(QUERIES))
        .and(header("authorization", "Bearer ya29.fake"))
        .and(body_string_contains("\"useLegacySql\":false"))
        .respond_with(ok(
            json!({"kind": "bigquery#queryResponse", "jobComplete": false,
            "jobReference": {"projectId": "my-proj", "jobId": "job_1", "location": "EU"}}),
        ))
        .mount(&fake.server)
        .await;
    let results = "/bigquery/v2/projects/my-proj/queries/job_1";
    Mock::given(method("GET"))
        .and(path(results))
        .and(query_param("location", "EU"))
        .and(query_param_is_missing("pageToken"))
        .respond_with(ok(json!({"jobComplete": true,
            "jobReference": {"projectId": "my-proj", "jobId": "job_1", "location": "EU"},
            "schema": schema(&[("id", "STRING"), ("n", "INTEGER")]),
            "rows": numbered(0, 2), "pageToken": "P2", "totalRows": "3"})))
        .mount(&fake.server)
        .await;
    Mock::given(method("GET"))
        .and(path(results))
        .and(query_param("location", "EU"))
        .and(query_param("pageToken", "P2"))
        .respond_with(ok(
            json!({"jobComplete": true, "rows": numbered(2, 1), "totalRows": "3"}),
        ))
        .mount(&fake.server)
        .await;
    let items = fake
        .read(json!({"projectID": "my-proj", "datasetID": "shop",
                     "customSQLRequest": "SELECT id, n FROM shop.products"}))
        .await;
    let (records, _, fatal) = split(&items);
    assert_eq!(fatal, None);
    assert_eq!(
        records,
        vec![
            json!({"id": "id-0", "n": 0}),
            json!({"id": "id-1", "n": 1}),
            json!({"id": "id-2", "n": 2})
        ]
    );
    let requests = fake.api_requests().await;
    assert_eq!(requests.len(), 3);
    let body: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(body["query"], "SELECT id, n FROM shop.products");
    assert_eq!(body["formatOptions"]["useInt64Timestamp"], true);
    assert_eq!(body["requestId"].as_str().unwrap().len(), 36);
}

#[tokio::test]
async fn a_ga4_export_is_read_over_the_date_window() {
    let fake = Fake::start().await;
    Mock::given(method("POST"))
        .and(path(QUERIES))
        .and(body_string_contains("`my-proj.analytics_123.events_*`"))
        .and(body_string_contains(
            "_TABLE_SUFFIX BETWEEN @start AND @end",
        ))
        .respond_with(ok(json!({"jobComplete": true,
            "jobReference": {"projectId": "my-proj", "jobId": "job_2", "location": "US"},
            "schema": schema(&[("event_name", "STRING"), ("event_timestamp", "INTEGER")]),
            "rows": rows(&[vec![json!("view_item"), json!("1717200000123456")]])})))
        .mount(&fake.server)
        .await;
    let window = DateWindow {
        start: Timestamp::parse("2024-06-01T00:00:00Z").unwrap(),
        end: Timestamp::parse("2024-07-01T00:00:00Z").unwrap(),
    };
    let items = fake
        .read_with(
            json!({"projectID": "my-proj", "datasetID": "analytics_123", "dataType": "ga4"}),
            context(&fake.uri(), None, Some(window)),
        )
        .await;
    let (records, _, fatal) = split(&items);
    assert_eq!(fatal, None);
    assert_eq!(
        records,
        vec![json!({"event_name": "view_item", "event_timestamp": 1717200000123456i64})]
    );
    let body: Value = serde_json::from_slice(&fake.api_requests().await[0].body).unwrap();
    assert_eq!(body["useLegacySql"], false);
    assert_eq!(body["parameterMode"], "NAMED");
    assert_eq!(
        body["queryParameters"][0]["parameterValue"]["value"],
        "20240601"
    );
    assert_eq!(
        body["queryParameters"][1]["parameterValue"]["value"],
        "20240630"
    );
}

#[tokio::test]
async fn throttling_and_server_errors_are_retried() {
    let fake = Fake::start().await;
    mount_table(&fake).await;
    // Page 1: a 429 with Retry-After, then a 429 without, then a 503, then the rows.
    for response in [
        ResponseTemplate::new(429).insert_header("Retry-After", "0"),
        ResponseTemplate::new(429),
        ResponseTemplate::new(503).set_body_string("<html>backend</html>"),
    ] {
        Mock::given(method("GET"))
            .and(path(DATA))
            .respond_with(response)
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&fake.server)
            .await;
    }
    // A 403 rateLimitExceeded (BigQuery's quota answer) on page 2, once.
    Mock::given(method("GET"))
        .and(path(DATA))
        .and(query_param("pageToken", "P2"))
        .respond_with(
            ResponseTemplate::new(403).set_body_json(json!({"error": {"code": 403,
            "message": "Exceeded rate limits: too many api requests per user per method",
            "errors": [{"reason": "rateLimitExceeded"}]}})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&fake.server)
        .await;
    mount_pages(&fake, 2, 3).await;
    let (records, _, fatal) = split(&fake.read(table_input()).await);
    assert_eq!(fatal, None);
    assert_eq!(records.len(), 6);
    assert_eq!(fake.api_requests().await.len(), 1 + 4 + 2);
}

#[tokio::test]
async fn an_expired_token_is_renewed_once_mid_run() {
    let fake = Fake::with_tokens(vec!["ya29.first", "ya29.second"]).await;
    mount_table(&fake).await;
    Mock::given(method("GET"))
        .and(path(DATA))
        .and(header("authorization", "Bearer ya29.first"))
        .and(query_param("pageToken", "P2"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": {"code": 401,
            "message": "Request had invalid authentication credentials.", "status": "UNAUTHENTICATED"}})))
        .with_priority(1)
        .mount(&fake.server)
        .await;
    mount_pages(&fake, 2, 2).await;
    let (records, _, fatal) = split(&fake.read(table_input()).await);
    assert_eq!(fatal, None);
    assert_eq!(records.len(), 4);
    assert_eq!(fake.exchanges(), 2);
    let requests = fake.api_requests().await;
    assert_eq!(
        requests.last().unwrap().headers["authorization"],
        "Bearer ya29.second"
    );
}

#[tokio::test]
async fn a_token_refused_twice_fails_the_run() {
    let fake = Fake::start().await;
    Mock::given(method("GET"))
        .and(path(TABLE))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"error": {"code": 401,
            "message": "Request had invalid authentication credentials."}})),
        )
        .mount(&fake.server)
        .await;
    let (_, _, fatal) = split(&fake.read(table_input()).await);
    let fatal = fatal.unwrap();
    assert!(fatal.contains("bigquery answered 401"), "{fatal}");
    assert!(fatal.contains(EMAIL), "{fatal}");
    assert_eq!(fake.exchanges(), 2);
}

#[tokio::test]
async fn bad_credentials_fail_with_google_s_reason() {
    let fake = Fake::start().await;
    mount_table(&fake).await;
    let other = fake::TestKey::generate();
    let input =
        ingest_model::SourceInput::parse(ingest_model::SourceType::BigQuery, &table_input())
            .unwrap();
    let source =
        ingest_connectors::build_source(&input, Some(&other.auth()), &fake.context(None)).unwrap();
    use futures::StreamExt;
    let items: Vec<_> = source.records().collect().await;
    let (_, _, fatal) = split(&items);
    let fatal = fatal.unwrap();
    assert!(
        fatal.contains("google refused the credentials of service account"),
        "{fatal}"
    );
    assert!(fatal.contains("Invalid JWT Signature."), "{fatal}");
    assert!(!fatal.contains("PRIVATE KEY"), "{fatal}");
    assert!(fake.api_requests().await.is_empty());
}

async fn fatal_of(status: u16, body: Value, input: Value) -> String {
    let fake = Fake::start().await;
    Mock::given(wiremock::matchers::any())
        .and(wiremock::matchers::path_regex("^/bigquery/"))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(&fake.server)
        .await;
    split(&fake.read(input).await).2.unwrap()
}

#[tokio::test]
async fn bigquery_errors_become_reasons_a_user_can_act_on() {
    let query = json!({"projectID": "my-proj", "datasetID": "shop", "customSQLRequest": "SELEC 1"});
    let fatal = fatal_of(400, json!({"error": {"code": 400, "message": "Syntax error: Unexpected identifier \"SELEC\" at [1:1]",
        "errors": [{"reason": "invalidQuery"}], "status": "INVALID_ARGUMENT"}}), query).await;
    assert!(fatal.contains("bigquery answered 400 to POST"), "{fatal}");
    assert!(
        fatal.contains("Syntax error: Unexpected identifier \"SELEC\""),
        "{fatal}"
    );
    assert!(fatal.contains("check the query"), "{fatal}");

    let fatal = fatal_of(
        404,
        json!({"error": {"code": 404, "message": "Not found: Table my-proj:shop.products",
        "errors": [{"reason": "notFound"}]}}),
        table_input(),
    )
    .await;
    assert!(
        fatal.contains("Not found: Table my-proj:shop.products"),
        "{fatal}"
    );
    assert!(fatal.contains("table `products` exist"), "{fatal}");

    let fatal = fatal_of(
        403,
        json!({"error": {"code": 403, "message": "Access Denied: Table my-proj:shop.products",
        "errors": [{"reason": "accessDenied"}]}}),
        table_input(),
    )
    .await;
    assert!(fatal.contains("BigQuery Data Viewer"), "{fatal}");
    assert!(fatal.contains(EMAIL), "{fatal}");

    let fatal = fatal_of(403, json!({"error": {"code": 403, "message": "Quota exceeded: Your project exceeded quota for free query bytes scanned",
        "errors": [{"reason": "quotaExceeded"}]}}), table_input()).await;
    assert!(fatal.contains("quota is spent"), "{fatal}");
}

#[tokio::test]
async fn a_persistent_server_error_fails_after_retries() {
    let fake = Fake::start().await;
    Mock::given(method("GET"))
        .and(path(TABLE))
        .respond_with(ResponseTemplate::new(503).set_body_string("<html>unavailable</html>"))
        .mount(&fake.server)
        .await;
    let fatal = split(&fake.read(table_input()).await).2.unwrap();
    assert!(fatal.contains("503"), "{fatal}");
    assert!(fatal.contains("<html>unavailable</html>"), "{fatal}");
    assert!(fatal.contains("through every retry"), "{fatal}");
}

#[tokio::test]
async fn a_repeated_page_token_stops_the_run_by_the_second_page() {
    let fake = Fake::start().await;
    mount_table(&fake).await;
    Mock::given(method("GET"))
        .and(path(DATA))
        .respond_with(ok(json!({"rows": numbered(0, 2), "pageToken": "SAME"})))
        .mount(&fake.server)
        .await;
    let (records, _, fatal) = split(&fake.read(table_input()).await);
    assert!(
        fatal
            .unwrap()
            .contains("page token it had already returned")
    );
    assert_eq!(records.len(), 4);
    assert_eq!(fake.api_requests().await.len(), 3);
}

#[tokio::test]
async fn the_page_cap_stops_an_endless_result() {
    let fake = Fake::start().await;
    mount_table(&fake).await;
    mount_pages(&fake, 5, 1).await;
    let input =
        ingest_model::SourceInput::parse(ingest_model::SourceType::BigQuery, &table_input())
            .unwrap();
    let ingest_model::SourceInput::BigQuery(input) = input else {
        panic!()
    };
    let source =
        ingest_connectors::bigquery::build(&input, Some(&fake.key.auth()), &fake.context(None))
            .unwrap()
            .with_page_limits(1, 3);
    use futures::StreamExt;
    use ingest_connectors::Source;
    let items: Vec<_> = source.records().collect().await;
    let (records, _, fatal) = split(&items);
    assert_eq!(records.len(), 3);
    assert!(fatal.unwrap().contains("more than 3 pages"));
}

#[tokio::test]
async fn malformed_answers_end_the_run_with_a_reason() {
    let fake = Fake::start().await;
    mount_table(&fake).await;
    Mock::given(method("GET"))
        .and(path(DATA))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"rows\": [{\"f\": [tru"))
        .mount(&fake.server)
        .await;
    let fatal = split(&fake.read(table_input()).await).2.unwrap();
    assert!(fatal.contains("not the expected JSON"), "{fatal}");
    assert!(fatal.contains("{\\\"rows\\\""), "{fatal}");

    let fake = Fake::start().await;
    mount_table(&fake).await;
    Mock::given(method("GET"))
        .and(path(DATA))
        .respond_with(ok(
            json!({"error": {"code": 500, "message": "backend exploded"}}),
        ))
        .mount(&fake.server)
        .await;
    let fatal = split(&fake.read(table_input()).await).2.unwrap();
    assert!(fatal.contains("with an error: backend exploded"), "{fatal}");
}

#[tokio::test]
async fn rows_without_an_object_id_are_rejected_and_the_rest_go_on() {
    let fake = Fake::start().await;
    mount_table(&fake).await;
    Mock::given(method("GET"))
        .and(path(DATA))
        .respond_with(ok(json!({"rows": rows(&[vec![json!("a"), json!("1")], vec![Value::Null, json!("2")],
                                              vec![json!(""), json!("3")], vec![json!("d"), json!("x")]])})))
        .mount(&fake.server)
        .await;
    let (records, rejections, fatal) = split(&fake.read(table_input()).await);
    assert_eq!(fatal, None);
    assert_eq!(records, vec![json!({"objectID": "a", "id": "a", "n": 1})]);
    assert_eq!(rejections.len(), 3);
    assert!(
        rejections[0].starts_with("page 1 offset 1: uniqueIDColumn `id` is null"),
        "{rejections:?}"
    );
    assert!(rejections[1].contains("is empty"), "{rejections:?}");
    assert!(
        rejections[2].contains("INTEGER but holds \"x\""),
        "{rejections:?}"
    );
}

#[tokio::test]
async fn a_unique_id_column_missing_from_the_schema_fails_the_run() {
    let fake = Fake::start().await;
    mount_table(&fake).await;
    let mut input = table_input();
    input["uniqueIDColumn"] = json!("sku");
    let fatal = split(&fake.read(input).await).2.unwrap();
    assert!(
        fatal.contains("uniqueIDColumn `sku` is not a column of the result (columns: id, n)"),
        "{fatal}"
    );
}

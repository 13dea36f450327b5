//! The commercetools connector against its wire-level fake (`ingest_connectors::commercetools::
//! fake`, built from `docs/connectors.md` §1): the token flow, keyset paging past the 10,000
//! offset ceiling, tokens expiring mid-run, retries, error bodies, a repeated cursor, stores with
//! product selections, locales, redirects and `fetch` events. Record shapes are in the golden
//! test (`commercetools_golden.rs`).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use ingest_connectors::commercetools::fake::{
    CLIENT_ID, CLIENT_SECRET, CommercetoolsFake, FakeStore, PROJECT, error_response,
};
use ingest_connectors::commercetools::locale_sources;
use ingest_connectors::http::url_policy::UrlPolicy;
use ingest_connectors::http::{HttpSettings, SourceHttpClient};
use ingest_connectors::{Source, SourceContext, build_source};
use ingest_core::SourceItemError;
use ingest_model::{AuthInput, AuthenticationType, SourceInput, SourceType};
use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

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

fn input(server: &MockServer, extra: Value) -> SourceInput {
    let mut input = json!({"url": server.uri(), "projectKey": PROJECT});
    if let (Some(input), Some(extra)) = (input.as_object_mut(), extra.as_object()) {
        input.extend(extra.clone());
    }
    SourceInput::parse(SourceType::Commercetools, &input).unwrap()
}

fn auth(server: &MockServer, secret: &str) -> AuthInput {
    AuthInput::parse(
        AuthenticationType::OAuth,
        &json!({"url": format!("{}/oauth/token", server.uri()), "client_id": CLIENT_ID, "client_secret": secret}),
    )
    .unwrap()
}

fn source(server: &MockServer, extra: Value, context: &SourceContext) -> Box<dyn Source> {
    build_source(
        &input(server, extra),
        Some(&auth(server, CLIENT_SECRET)),
        context,
    )
    .unwrap()
}

/// The records (parsed) of a source, or its fatal error.
async fn read(source: &dyn Source) -> Result<Vec<Value>, String> {
    let mut stream = source.records();
    let mut out = Vec::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(record) => out.push(serde_json::from_slice(&record.json).unwrap()),
            Err(SourceItemError::Fatal(error)) => return Err(error.message().to_owned()),
            Err(SourceItemError::Rejected(rejection)) => panic!("rejected: {rejection}"),
        }
    }
    Ok(out)
}

#[tokio::test]
async fn keyset_paging_reads_past_the_offset_ceiling_with_one_token() {
    let fake = CommercetoolsFake::generated(10_350, 2);
    let server = fake.serve().await;
    let records = read(source(&server, json!({}), &context()).as_ref())
        .await
        .unwrap();
    assert_eq!(records.len(), 20_700);
    let ids: HashSet<&str> = records
        .iter()
        .map(|r| r["objectID"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 20_700);
    assert_eq!(fake.token_calls(), 1);
    // 20 full pages of 500 and a short one: the reader stops without an empty page.
    assert_eq!(fake.api_calls(), 21);
    let requests = fake.requests();
    assert!(
        requests.iter().all(|r| !r.contains("offset=")),
        "{requests:?}"
    );
    assert!(requests[0].contains("sort=id+asc") && requests[0].contains("limit=500"));
    assert!(requests[0].contains("withTotal=false") && !requests[0].contains("where"));
    assert!(requests[1].contains("where=id+%3E+%22"), "{}", requests[1]);
}

#[tokio::test]
async fn offset_paging_would_hit_the_fakes_ceiling() {
    // The fake enforces the real limit, so the keyset test above proves something.
    let fake = CommercetoolsFake::generated(10, 1);
    let server = fake.serve().await;
    let token = reqwest::Client::new()
        .post(format!("{}/oauth/token", server.uri()))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let token: Value = serde_json::from_slice(&token).unwrap();
    let response = reqwest::Client::new()
        .get(format!(
            "{}/{PROJECT}/product-projections?limit=500&offset=10500",
            server.uri()
        ))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn refused_client_credentials_fail_naming_the_token_endpoint() {
    let fake = CommercetoolsFake::generated(3, 1);
    let server = fake.serve().await;
    let source = build_source(
        &input(&server, json!({})),
        Some(&auth(&server, "wrong-secret")),
        &context(),
    )
    .unwrap();
    let error = read(source.as_ref()).await.unwrap_err();
    assert!(error.contains("/oauth/token"), "{error}");
    assert!(
        error.contains("401") && error.contains("client id or secret is wrong"),
        "{error}"
    );
    assert!(!error.contains("wrong-secret"), "{error}");
    assert_eq!(fake.api_calls(), 0);
}

#[tokio::test]
async fn an_expired_token_is_renewed_once_and_the_page_asked_again() {
    let fake = CommercetoolsFake::generated(2_400, 1);
    fake.token_lifetime_calls(2);
    let server = fake.serve().await;
    let records = read(source(&server, json!({}), &context()).as_ref())
        .await
        .unwrap();
    assert_eq!(records.len(), 2_400);
    // 5 pages; each token serves 2 calls, then one 401 each: 3 tokens.
    assert_eq!(fake.token_calls(), 3);
    assert_eq!(fake.api_calls(), 7);
}

#[tokio::test]
async fn a_token_refused_twice_fails_the_run() {
    let fake = CommercetoolsFake::generated(10, 1);
    fake.token_lifetime_calls(0);
    let server = fake.serve().await;
    let error = read(source(&server, json!({}), &context()).as_ref())
        .await
        .unwrap_err();
    assert!(
        error.contains("401") && error.contains("refused too"),
        "{error}"
    );
    assert_eq!(fake.token_calls(), 2);
}

#[tokio::test]
async fn a_503_and_a_429_are_retried() {
    let fake = CommercetoolsFake::generated(10, 1);
    fake.queue(error_response(503, "OverCapacity", "over capacity"))
        .queue(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "0")
                .set_body_json(json!({"statusCode": 429, "message": "slow down", "errors": []})),
        );
    let server = fake.serve().await;
    let records = read(source(&server, json!({}), &context()).as_ref())
        .await
        .unwrap();
    assert_eq!(records.len(), 10);
    assert_eq!(fake.api_calls(), 3);
}

#[tokio::test]
async fn a_bad_predicate_fails_with_the_apis_message() {
    let fake = CommercetoolsFake::generated(10, 1);
    fake.queue(error_response(
        400,
        "InvalidInput",
        "Malformed parameter: where: Syntax error while parsing 'where'.",
    ));
    let server = fake.serve().await;
    let error = read(source(&server, json!({}), &context()).as_ref())
        .await
        .unwrap_err();
    assert!(
        error.contains("400") && error.contains("Syntax error"),
        "{error}"
    );
    assert!(error.contains("product-projections"), "{error}");
}

#[tokio::test]
async fn a_200_with_an_error_body_ends_the_run() {
    let fake = CommercetoolsFake::generated(10, 1);
    fake.error_body_once();
    let server = fake.serve().await;
    let error = read(source(&server, json!({}), &context()).as_ref())
        .await
        .unwrap_err();
    assert!(
        error.contains("200 with an error") && error.contains("General"),
        "{error}"
    );
}

#[tokio::test]
async fn malformed_json_ends_the_run_with_its_first_bytes() {
    let fake = CommercetoolsFake::generated(10, 1);
    fake.queue(ResponseTemplate::new(200).set_body_string("{\"results\": [ {\"id\": "));
    let server = fake.serve().await;
    let error = read(source(&server, json!({}), &context()).as_ref())
        .await
        .unwrap_err();
    assert!(
        error.contains("not the expected JSON") && error.contains("results"),
        "{error}"
    );
}

#[tokio::test]
async fn a_repeated_cursor_fails_on_the_second_page() {
    let fake = CommercetoolsFake::generated(1_200, 1);
    fake.ignore_cursor();
    let server = fake.serve().await;
    let error = read(source(&server, json!({}), &context()).as_ref())
        .await
        .unwrap_err();
    assert!(error.contains("repeated a page"), "{error}");
    assert_eq!(fake.api_calls(), 2);
}

#[tokio::test]
async fn stores_are_one_pass_each_with_their_selections() {
    let fake = CommercetoolsFake::generated(30, 2);
    let ids: Vec<String> = {
        let server = fake.serve().await;
        let records = read(source(&server, json!({}), &context()).as_ref())
            .await
            .unwrap();
        let mut ids: Vec<String> = records
            .iter()
            .map(|r| r["productID"].as_str().unwrap().to_owned())
            .collect();
        ids.dedup();
        ids
    };
    fake.store(
        "de-store",
        FakeStore {
            countries: vec!["DE".into()],
            selections: None,
        },
    );
    fake.store(
        "us-store",
        FakeStore {
            countries: vec!["US".into()],
            selections: Some(vec![
                (ids[3].clone(), None),
                (
                    ids[7].clone(),
                    Some(json!({"type": "includeOnly", "skus": ["SKU-x"]})),
                ),
                (
                    ids[9].clone(),
                    Some(json!({"type": "includeAllExcept", "skus": []})),
                ),
            ]),
        },
    );
    let server = fake.serve().await;
    let records = read(
        source(
            &server,
            json!({"storeKeys": ["de-store", "us-store"]}),
            &context(),
        )
        .as_ref(),
    )
    .await
    .unwrap();
    let de: Vec<&Value> = records
        .iter()
        .filter(|r| r["storeKey"] == "de-store")
        .collect();
    let us: Vec<&Value> = records
        .iter()
        .filter(|r| r["storeKey"] == "us-store")
        .collect();
    assert_eq!(de.len(), 60);
    // Product 3 and 9 with both variants; product 7's selection names no variant it has.
    assert_eq!(us.len(), 4, "{us:?}");
    let first = de[0];
    let object_id = first["objectID"].as_str().unwrap();
    assert_eq!(
        object_id,
        format!(
            "de-store.{}.{}",
            first["productID"].as_str().unwrap(),
            first["variantID"]
        )
    );
    assert!(first["prices"].get("EUR").is_some() && first["prices"].get("USD").is_none());
    assert!(us[0]["prices"].get("USD").is_some() && us[0]["prices"].get("EUR").is_none());
    let requests = fake.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.contains("storeProjection=de-store"))
    );
    assert!(
        requests
            .iter()
            .any(|r| r.contains("/in-store/key=us-store/product-selection-assignments"))
    );
    assert!(
        !requests
            .iter()
            .any(|r| r.contains("/in-store/key=de-store/"))
    );
}

#[tokio::test]
async fn locales_are_projected_as_maps_for_one_index() {
    let fake = CommercetoolsFake::generated(3, 1);
    fake.category(
        "cat-1",
        json!({"en": "Shirts", "de": "Hemden", "fr": "Chemises"}),
    );
    let server = fake.serve().await;
    let records = read(source(&server, json!({"locales": ["en", "de"]}), &context()).as_ref())
        .await
        .unwrap();
    let record = &records[0];
    assert!(record["name"].get("en").is_some() && record["name"].get("de").is_some());
    assert_eq!(
        record["categories"],
        json!({"de": {"lvl0": ["Hemden"]}, "en": {"lvl0": ["Shirts"]}})
    );
    assert!(fake.requests()[0].contains("localeProjection=en&localeProjection=de"));
}

#[tokio::test]
async fn locale_sources_reduce_fields_to_their_locale_with_one_token() {
    let fake = CommercetoolsFake::generated(3, 1);
    fake.category("cat-1", json!({"en": "Shirts", "de": "Hemden"}));
    let server = fake.serve().await;
    let SourceInput::Commercetools(input) = input(&server, json!({"locales": ["en", "de"]})) else {
        unreachable!()
    };
    let sources = locale_sources(&input, Some(&auth(&server, CLIENT_SECRET)), &context()).unwrap();
    assert_eq!(
        sources
            .iter()
            .map(|s| s.locale.as_str())
            .collect::<Vec<_>>(),
        ["en", "de"]
    );
    let de = read(sources[1].source.as_ref()).await.unwrap();
    let record = de.iter().find(|r| r["productKey"] == "product-0").unwrap();
    assert_eq!(record["name"], "Produkt 0");
    assert_eq!(record["categories"], json!({"lvl0": ["Hemden"]}));
    assert_eq!(
        record["attributes"]["color"],
        json!({"key": "red", "label": "Rot"})
    );
    let en = read(sources[0].source.as_ref()).await.unwrap();
    assert_eq!(en.len(), 3);
    assert_eq!(fake.token_calls(), 1);
    assert!(sources[1].source.describe().contains("locale de"));
}

#[tokio::test]
async fn credentials_are_not_forwarded_on_a_redirect_to_another_host() {
    let other = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"results": []})))
        .mount(&other)
        .await;
    let fake = CommercetoolsFake::generated(3, 1);
    fake.queue(
        ResponseTemplate::new(307)
            .insert_header("location", format!("{}/moved", other.uri()).as_str()),
    );
    // Another port is another origin.
    let server = fake.serve().await;
    let records = read(source(&server, json!({}), &context()).as_ref())
        .await
        .unwrap();
    assert!(records.is_empty());
    let received = other.received_requests().await.unwrap();
    assert_eq!(received.len(), 1);
    assert!(received[0].headers.get("authorization").is_none());
}

#[tokio::test]
async fn each_page_is_one_fetch_event_without_the_token() {
    use ingest_model::{EventStatus, EventType, MemoryRecorder};

    let fake = CommercetoolsFake::generated(1_100, 1);
    let server = fake.serve().await;
    let recorder = Arc::new(MemoryRecorder::default());
    let mut context = context();
    context.events = Some(recorder.clone());
    read(source(&server, json!({}), &context).as_ref())
        .await
        .unwrap();
    let events = recorder.events();
    assert_eq!(events.len(), 3, "{events:?}");
    assert!(
        events
            .iter()
            .all(|e| e.event_type == EventType::Fetch && e.status == EventStatus::Succeeded)
    );
    let all = format!("{events:?}");
    assert!(!all.contains("Bearer") && !all.contains(CLIENT_SECRET) && !all.contains("\"t1\""));
}

#[tokio::test]
async fn the_product_query_predicate_goes_to_every_page_as_a_where() {
    // The fake understands keyset cursors only: the predicate it refuses is the one we sent.
    let fake = CommercetoolsFake::generated(10, 1);
    let server = fake.serve().await;
    let predicate = r#"masterVariant(attributes(name="Brand" and value="Algolia"))"#;
    let error = read(
        source(
            &server,
            json!({"productQueryPredicate": predicate}),
            &context(),
        )
        .as_ref(),
    )
    .await
    .unwrap_err();
    assert!(
        error.contains("Syntax error while parsing 'masterVariant(attributes(name="),
        "{error}"
    );
}

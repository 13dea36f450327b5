//! The BigCommerce connector against its wire-level fake (`ingest_connectors::bigcommerce::
//! fake`, built from `docs/connectors.md` §2): paging, names looked up once, channel prices,
//! throttling from the rate-limit headers and 429s, errors, a repeated page, redirects, and
//! webhook-triggered runs. Record shapes are in `bigcommerce_golden.rs`.

use std::time::{Duration, Instant, SystemTime};

use futures::StreamExt;
use ingest_connectors::bigcommerce::fake::{BigCommerceFake, STORE, TOKEN, error_body};
use ingest_connectors::bigcommerce::webhook::{WebhookError, WebhookSecret, sign, verify_webhook};
use ingest_connectors::http::url_policy::UrlPolicy;
use ingest_connectors::http::{HttpSettings, SourceHttpClient};
use ingest_connectors::{Endpoints, Source, SourceContext, build_source};
use ingest_core::{Record, SourceItemError};
use ingest_model::{AuthInput, AuthenticationType, SourceInput, SourceType};
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn context(server: &MockServer) -> SourceContext {
    let settings = HttpSettings {
        min_backoff: Duration::from_millis(1),
        ..HttpSettings::default()
    };
    SourceContext {
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
    }
}

fn source(input: Value, context: &SourceContext) -> Box<dyn Source> {
    let input = SourceInput::parse(SourceType::BigCommerce, &input).unwrap();
    let auth = AuthInput::parse(AuthenticationType::ApiKey, &json!({"key": TOKEN})).unwrap();
    build_source(&input, Some(&auth), context).unwrap()
}

async fn records(source: &dyn Source) -> Result<Vec<Record>, String> {
    let mut stream = source.records();
    let mut out = Vec::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(record) => out.push(record),
            Err(SourceItemError::Fatal(error)) => return Err(error.message().to_owned()),
            Err(SourceItemError::Rejected(rejection)) => panic!("rejected: {rejection}"),
        }
    }
    Ok(out)
}

async fn read(source: &dyn Source) -> Result<Vec<Value>, String> {
    Ok(records(source)
        .await?
        .iter()
        .map(|record| serde_json::from_slice(&record.json).unwrap())
        .collect())
}

fn store() -> Value {
    json!({"storeHash": STORE})
}

#[tokio::test]
async fn pages_to_the_end_looking_names_up_once() {
    let fake = BigCommerceFake::generated(600);
    let server = fake.serve().await;
    let records = read(source(store(), &context(&server)).as_ref())
        .await
        .unwrap();
    assert_eq!(records.len(), 600);
    assert_eq!(records[0]["objectID"], "100");
    assert_eq!(
        records[0]["categories"]["lvl2"],
        json!(["Shop > Books > Magazines"])
    );
    assert_eq!(records[0]["brand_name"], "Smith");
    assert_eq!(records[1]["brand_name"], "Jones");
    let requests = fake.requests();
    // Categories, brands, then three product pages.
    assert_eq!(requests.len(), 5, "{requests:#?}");
    assert_eq!(
        requests
            .iter()
            .filter(|r| r.contains("trees/categories"))
            .count(),
        1
    );
    assert_eq!(
        requests
            .iter()
            .filter(|r| r.contains("catalog/brands"))
            .count(),
        1
    );
    let first = requests
        .iter()
        .find(|r| r.contains("catalog/products"))
        .unwrap();
    assert!(
        first.contains("include=variants%2Cimages%2Ccustom_fields%2Cprimary_image")
            && first.contains("limit=250")
            && first.contains("page=1"),
        "{first}"
    );
}

#[tokio::test]
async fn a_channel_filters_products_and_prices_each_currency() {
    let fake = BigCommerceFake::generated(300);
    fake.outside_channel(101);
    let server = fake.serve().await;
    let input = json!({"storeHash": STORE, "channel": {"id": 1, "currencies": ["usd", "eur"]}});
    let records = read(source(input, &context(&server)).as_ref())
        .await
        .unwrap();
    assert_eq!(records.len(), 299);
    assert!(records.iter().all(|r| r["objectID"] != "101"));
    let record = &records[0];
    assert_eq!(record["prices"], json!({"EUR": 9.9, "USD": 11.0}));
    assert_eq!(
        record["variants"][1]["calculated_prices"],
        json!({"EUR": 9.72, "USD": 10.8})
    );
    let requests = fake.requests();
    assert!(
        requests
            .iter()
            .filter(|r| r.contains("catalog/products"))
            .all(|r| r.contains("channel_id%3Ain=1"))
    );
    let pricing: Vec<&String> = requests
        .iter()
        .filter(|r| r.contains("pricing/products"))
        .collect();
    // Two pages (250 + 49 products, 2 variants each): 250-variant calls, per currency.
    assert_eq!(pricing.len(), 2 * 3, "{pricing:#?}");
    assert!(
        pricing
            .iter()
            .any(|r| r.contains("\"currency_code\":\"EUR\""))
    );
    assert!(pricing.iter().all(|r| r.contains("\"channel_id\":1")));
}

#[tokio::test]
async fn the_quota_is_respected_without_a_429() {
    let fake = BigCommerceFake::generated(1_500);
    fake.quota(3, Duration::from_millis(300));
    let server = fake.serve().await;
    let started = Instant::now();
    let records = read(source(store(), &context(&server)).as_ref())
        .await
        .unwrap();
    assert_eq!(records.len(), 1_500);
    // 2 name calls + 6 pages = 8 calls at 3 per window: at least two full waits.
    assert_eq!(fake.throttled(), 0);
    assert_eq!(fake.calls(), 8);
    assert!(
        started.elapsed() >= Duration::from_millis(550),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_429_waits_for_the_reset_with_or_without_headers() {
    let fake = BigCommerceFake::generated(10);
    fake.queue(
        error_body(429, "Too many requests")
            .insert_header("x-rate-limit-time-reset-ms", "150")
            .insert_header("x-rate-limit-requests-left", "0"),
    )
    .queue(error_body(429, "Too many requests"))
    .queue(error_body(429, "Too many requests").insert_header("x-retry-after", "0"));
    let server = fake.serve().await;
    let started = Instant::now();
    let records = read(source(store(), &context(&server)).as_ref())
        .await
        .unwrap();
    assert_eq!(records.len(), 10);
    assert_eq!(fake.calls(), 6);
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn endless_429s_end_the_run() {
    let fake = BigCommerceFake::generated(10);
    for _ in 0..10 {
        fake.queue(error_body(429, "Too many requests").insert_header("x-retry-after", "0"));
    }
    let server = fake.serve().await;
    let error = read(source(store(), &context(&server)).as_ref())
        .await
        .unwrap_err();
    assert!(error.contains("429") && error.contains("quota"), "{error}");
}

#[tokio::test]
async fn a_401_fails_at_once_and_a_500_is_retried() {
    let fake = BigCommerceFake::generated(10);
    fake.queue(error_body(500, "Internal Server Error"));
    let server = fake.serve().await;
    assert_eq!(
        read(source(store(), &context(&server)).as_ref())
            .await
            .unwrap()
            .len(),
        10
    );

    let fake = BigCommerceFake::generated(10);
    fake.queue(error_body(401, "Unauthorized"));
    let server = fake.serve().await;
    let error = read(source(store(), &context(&server)).as_ref())
        .await
        .unwrap_err();
    assert!(
        error.contains("401") && error.contains("Unauthorized"),
        "{error}"
    );
    assert!(!error.contains(TOKEN));
    assert_eq!(fake.calls(), 1);
}

#[tokio::test]
async fn error_bodies_and_malformed_json_end_the_run() {
    let fake = BigCommerceFake::generated(10);
    fake.queue(ResponseTemplate::new(200).set_body_json(
        json!({"status": 422, "title": "Missing Required Fields", "errors": {"name": "Please provide a name."}}),
    ));
    let server = fake.serve().await;
    let error = read(source(store(), &context(&server)).as_ref())
        .await
        .unwrap_err();
    assert!(
        error.contains("200 with an error") && error.contains("Missing Required Fields"),
        "{error}"
    );

    let fake = BigCommerceFake::generated(10);
    fake.queue(ResponseTemplate::new(200).set_body_string("<html>maintenance</html>"));
    let server = fake.serve().await;
    let error = read(source(store(), &context(&server)).as_ref())
        .await
        .unwrap_err();
    assert!(
        error.contains("not the expected JSON") && error.contains("maintenance"),
        "{error}"
    );
}

#[tokio::test]
async fn a_repeated_page_fails_on_the_second_page() {
    let fake = BigCommerceFake::generated(700);
    fake.ignore_page();
    let server = fake.serve().await;
    let error = read(source(store(), &context(&server)).as_ref())
        .await
        .unwrap_err();
    assert!(error.contains("same page twice"), "{error}");
    assert_eq!(
        fake.requests()
            .iter()
            .filter(|r| r.contains("catalog/products"))
            .count(),
        2
    );
}

#[tokio::test]
async fn the_token_is_not_sent_on_a_redirect() {
    let other = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": []})))
        .mount(&other)
        .await;
    let fake = BigCommerceFake::generated(3);
    fake.queue(
        ResponseTemplate::new(307).insert_header("location", format!("{}/x", other.uri()).as_str()),
    );
    let server = fake.serve().await;
    let error = read(source(store(), &context(&server)).as_ref())
        .await
        .unwrap_err();
    assert!(
        error.contains("307") && error.contains("not followed"),
        "{error}"
    );
    assert!(other.received_requests().await.unwrap().is_empty());
}

fn webhook(scope: &str, id: u64) -> Value {
    json!({
        "scope": scope, "store_id": "1025646", "data": {"type": "product", "id": id},
        "hash": "a833a57fadd56a32dc752fb6ca0841dc9602a495", "created_at": 1561479233,
        "producer": format!("stores/{STORE}")
    })
}

#[tokio::test]
async fn created_and_updated_webhooks_read_only_their_product() {
    for scope in ["store/product/created", "store/product/updated"] {
        let fake = BigCommerceFake::generated(600);
        let server = fake.serve().await;
        let mut context = context(&server);
        context.trigger_event = Some(webhook(scope, 105));
        let source = source(store(), &context);
        assert!(source.describe().contains("product 105"));
        let records = read(source.as_ref()).await.unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0]["objectID"], "105");
        assert_eq!(
            records[0]["categories"]["lvl2"],
            json!(["Shop > Books > Magazines"])
        );
        let requests = fake.requests();
        assert!(
            requests.iter().any(|r| r.contains("id%3Ain=105")),
            "{requests:#?}"
        );
        assert!(
            requests.iter().all(|r| !r.contains("page=2")),
            "{requests:#?}"
        );
    }
}

#[tokio::test]
async fn a_deleted_product_becomes_a_deletion_without_a_call() {
    let fake = BigCommerceFake::generated(10);
    let server = fake.serve().await;
    let mut context = context(&server);
    context.trigger_event = Some(webhook("store/product/deleted", 205));
    let records = records(source(store(), &context).as_ref()).await.unwrap();
    assert_eq!(records, vec![Record::deletion("205".into())]);
    assert_eq!(fake.calls(), 0);
}

#[tokio::test]
async fn an_updated_product_out_of_the_channel_is_deleted() {
    let fake = BigCommerceFake::generated(10);
    fake.outside_channel(104);
    let server = fake.serve().await;
    let mut context = context(&server);
    context.trigger_event = Some(webhook("store/product/updated", 104));
    let input = json!({"storeHash": STORE, "channel": {"id": 1}});
    let records = records(source(input, &context).as_ref()).await.unwrap();
    assert_eq!(records, vec![Record::deletion("104".into())]);
}

#[tokio::test]
async fn a_webhook_of_another_store_fails_the_run() {
    let fake = BigCommerceFake::generated(10);
    let server = fake.serve().await;
    let mut context = context(&server);
    let mut event = webhook("store/product/updated", 104);
    event["producer"] = json!("stores/other");
    context.trigger_event = Some(event);
    let error = read(source(store(), &context).as_ref()).await.unwrap_err();
    assert!(error.contains("stores/other"), "{error}");
    assert_eq!(fake.calls(), 0);
}

#[test]
fn webhooks_are_verified_by_secret_header_or_signature() {
    let body = serde_json::to_vec(&webhook("store/product/updated", 205)).unwrap();
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let by_header = WebhookSecret::Header {
        name: "X-Webhook-Secret".into(),
        value: "s3cret".into(),
    };
    let mut headers = HeaderMap::new();
    assert_eq!(
        verify_webhook(&headers, &body, &by_header, now),
        Err(WebhookError::Unverified("secret header"))
    );
    headers.insert("x-webhook-secret", HeaderValue::from_static("wrong!"));
    assert!(verify_webhook(&headers, &body, &by_header, now).is_err());
    headers.insert("x-webhook-secret", HeaderValue::from_static("s3cret"));
    let event = verify_webhook(&headers, &body, &by_header, now).unwrap();
    assert_eq!((event.product_id, event.deleted), (205, false));
    assert_eq!(
        event.hash.as_deref(),
        Some("a833a57fadd56a32dc752fb6ca0841dc9602a495")
    );

    let signed = WebhookSecret::Signature {
        client_secret: "client-secret".into(),
    };
    let timestamp = "1700000000";
    let signature = sign(b"client-secret", "msg_1", timestamp, &body);
    let mut headers = HeaderMap::new();
    headers.insert("webhook-id", HeaderValue::from_static("msg_1"));
    headers.insert("webhook-timestamp", HeaderValue::from_static(timestamp));
    headers.insert(
        "webhook-signature",
        HeaderValue::from_str(&format!("v1,bogus v1,{signature}")).unwrap(),
    );
    assert!(verify_webhook(&headers, &body, &signed, now).is_ok());
    let later = now + Duration::from_secs(301);
    assert_eq!(
        verify_webhook(&headers, &body, &signed, later),
        Err(WebhookError::Stale)
    );
    let mut tampered = body.clone();
    tampered[10] ^= 1;
    assert!(verify_webhook(&headers, &tampered, &signed, now).is_err());
    let other = WebhookSecret::Signature {
        client_secret: "other".into(),
    };
    assert!(verify_webhook(&headers, &body, &other, now).is_err());
    assert!(!format!("{signed:?}{by_header:?}").contains("secret\""));
}

#[test]
fn a_timestamp_past_the_clock_is_stale_not_a_panic() {
    let body = serde_json::to_vec(&webhook("store/product/updated", 205)).unwrap();
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let signed = WebhookSecret::Signature {
        client_secret: "client-secret".into(),
    };
    let timestamp = u64::MAX.to_string();
    let signature = sign(b"client-secret", "msg_1", &timestamp, &body);
    let mut headers = HeaderMap::new();
    headers.insert("webhook-id", HeaderValue::from_static("msg_1"));
    headers.insert(
        "webhook-timestamp",
        HeaderValue::from_str(&timestamp).unwrap(),
    );
    headers.insert(
        "webhook-signature",
        HeaderValue::from_str(&format!("v1,{signature}")).unwrap(),
    );
    assert_eq!(
        verify_webhook(&headers, &body, &signed, now),
        Err(WebhookError::Stale)
    );
}

//! Throughput of the commerce connectors against their wire-level fakes (in process, over
//! loopback HTTP, zero added latency), and BigCommerce under a request quota.
//!
//! Run: `cargo bench -p ingest-connectors --bench commerce`. Not a criterion bench: one timed
//! run per figure, after a warm-up run, since a run is seconds long and the quota case is
//! wall-clock bound by design. Printed per connector:
//!
//! - `total`: records/s of the source read to its end (connector + fake + loopback HTTP);
//! - `fake only`: the same pages fetched by a bare loop over the same HTTP client stack (what
//!   the fake and HTTP cost), so `total` against `fake only` shows the connector's own CPU cost;
//! - the quota case: the BigCommerce fake enforcing 15 requests per 3 s (the platform's 150 per
//!   30 s with the window and the quota scaled down by 10, so the request rate is the real one):
//!   requests/s achieved and the number of 429s (should be 0).

use std::time::{Duration, Instant};

use futures::StreamExt;
use ingest_connectors::bigcommerce::fake::{BigCommerceFake, STORE, TOKEN};
use ingest_connectors::commercetools::fake::{
    CLIENT_ID, CLIENT_SECRET, CommercetoolsFake, PROJECT,
};
use ingest_connectors::http::url_policy::UrlPolicy;
use ingest_connectors::http::{HttpSettings, SourceHttpClient};
use ingest_connectors::{Endpoints, Source, SourceContext, build_source};
use ingest_model::{AuthInput, AuthenticationType, SourceInput, SourceType};
use serde_json::json;

fn context(bigcommerce: Option<String>) -> SourceContext {
    SourceContext {
        http: SourceHttpClient::new(
            UrlPolicy::new(&["127.0.0.0/8"]).expect("policy"),
            HttpSettings::default(),
        )
        .expect("client"),
        max_record_bytes: 100_000,
        local_files: None,
        events: None,
        endpoints: Endpoints {
            bigcommerce_api_base: bigcommerce.unwrap_or_default(),
            ..Endpoints::default()
        },
        window: None,
        trigger_event: None,
    }
}

async fn drain(source: &dyn Source) -> (usize, usize) {
    let mut stream = source.records();
    let (mut records, mut bytes) = (0, 0);
    while let Some(item) = stream.next().await {
        let record = item.expect("record");
        records += 1;
        bytes += record.json.len();
    }
    (records, bytes)
}

/// Fetches every URL in `urls` with `headers`, bodies read whole: the fake's and HTTP's cost.
async fn bare(urls: &[String], headers: &[(&str, String)]) -> Duration {
    let client = reqwest::Client::new();
    let started = Instant::now();
    for url in urls {
        let mut request = client.get(url);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let body = request
            .send()
            .await
            .expect("send")
            .bytes()
            .await
            .expect("body");
        assert!(!body.is_empty());
    }
    started.elapsed()
}

fn report(name: &str, records: usize, bytes: usize, total: Duration, fake: Duration) {
    let rate = |d: Duration| records as f64 / d.as_secs_f64();
    println!(
        "{name}: {records} records ({:.1} MB) in {:.2} s: {:.0} records/s total; fake + HTTP alone {:.2} s; connector share {:.2} s, {:.0} records/s",
        bytes as f64 / 1e6,
        total.as_secs_f64(),
        rate(total),
        fake.as_secs_f64(),
        total.saturating_sub(fake).as_secs_f64(),
        rate(total.saturating_sub(fake).max(Duration::from_micros(1))),
    );
}

async fn commercetools() {
    const PRODUCTS: usize = 20_000;
    let fake = CommercetoolsFake::generated(PRODUCTS, 2);
    let server = fake.serve().await;
    let input = SourceInput::parse(
        SourceType::Commercetools,
        &json!({"url": server.uri(), "projectKey": PROJECT}),
    )
    .expect("input");
    let auth = AuthInput::parse(
        AuthenticationType::OAuth,
        &json!({"url": format!("{}/oauth/token", server.uri()), "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}),
    )
    .expect("auth");
    let source = build_source(&input, Some(&auth), &context(None)).expect("source");
    drain(source.as_ref()).await;
    let started = Instant::now();
    let (records, bytes) = drain(source.as_ref()).await;
    let total = started.elapsed();
    let urls: Vec<String> = fake
        .requests()
        .iter()
        .rev()
        .take(PRODUCTS.div_ceil(500))
        .map(|path| format!("{}{path}", server.uri()))
        .collect();
    let fake_only = bare(&urls, &[("authorization", "Bearer t1".into())]).await;
    report(
        "commercetools (2 variants per product)",
        records,
        bytes,
        total,
        fake_only,
    );
}

async fn bigcommerce_unthrottled() {
    const PRODUCTS: usize = 20_000;
    let fake = BigCommerceFake::generated(PRODUCTS);
    let server = fake.serve().await;
    let input =
        SourceInput::parse(SourceType::BigCommerce, &json!({"storeHash": STORE})).expect("input");
    let auth = AuthInput::parse(AuthenticationType::ApiKey, &json!({"key": TOKEN})).expect("auth");
    let source = build_source(&input, Some(&auth), &context(Some(server.uri()))).expect("source");
    drain(source.as_ref()).await;
    let started = Instant::now();
    let (records, bytes) = drain(source.as_ref()).await;
    let total = started.elapsed();
    let urls: Vec<String> = (1..=PRODUCTS.div_ceil(250))
        .map(|page| {
            format!(
                "{}/stores/{STORE}/v3/catalog/products?include=variants,images,custom_fields,primary_image&limit=250&page={page}",
                server.uri()
            )
        })
        .collect();
    let fake_only = bare(
        &urls,
        &[
            ("x-auth-token", TOKEN.into()),
            ("accept", "application/json".into()),
        ],
    )
    .await;
    report(
        "bigcommerce (2 variants per product)",
        records,
        bytes,
        total,
        fake_only,
    );
}

async fn bigcommerce_quota() {
    // 45 product pages + 2 name calls = 47 requests: three full windows and a bit.
    const PRODUCTS: usize = 45 * 250;
    let fake = BigCommerceFake::generated(PRODUCTS);
    fake.quota(15, Duration::from_secs(3));
    let server = fake.serve().await;
    let input =
        SourceInput::parse(SourceType::BigCommerce, &json!({"storeHash": STORE})).expect("input");
    let auth = AuthInput::parse(AuthenticationType::ApiKey, &json!({"key": TOKEN})).expect("auth");
    let source = build_source(&input, Some(&auth), &context(Some(server.uri()))).expect("source");
    let started = Instant::now();
    let (records, _) = drain(source.as_ref()).await;
    let elapsed = started.elapsed();
    let calls = fake.calls();
    println!(
        "bigcommerce under 15 requests / 3 s (150 / 30 s scaled by 1/10): {records} records, {calls} requests in {:.2} s = {:.2} requests/s (quota {:.2}/s), {:.0} records/s, {} responses 429",
        elapsed.as_secs_f64(),
        calls as f64 / elapsed.as_secs_f64(),
        15.0 / 3.0,
        records as f64 / elapsed.as_secs_f64(),
        fake.throttled(),
    );
}

fn main() {
    if std::env::args().any(|arg| arg == "--list") {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        commercetools().await;
        bigcommerce_unthrottled().await;
        bigcommerce_quota().await;
    });
}

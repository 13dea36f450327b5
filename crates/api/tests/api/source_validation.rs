//! Source validation (docs/api.md D6): `POST /1/sources/validate` and
//! `POST /1/sources/{sourceID}/validate` read a sample through the connectors, bounded in records
//! and time, behind the URL policy, and leave a finished run of type `validate`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::common::*;

/// A local file server: `/products.json` (25 records), `/products.csv` (3 rows, one bad),
/// `/refused.json` (403), `/slow.json` (answers after a minute). Counts the requests it gets.
async fn files() -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let products: Vec<Value> = (0..25)
        .map(|i| json!({"sku": format!("sku-{i}"), "price": i}))
        .collect();
    let products = serde_json::to_string(&products).unwrap();
    let counted = hits.clone();
    let app = Router::new()
        .route("/products.json", get(move || async move { products }))
        .route(
            "/products.csv",
            get(|| async { "sku,price\nsku-1,10\nsku-2,oops\nsku-3,30\n" }),
        )
        .route(
            "/refused.json",
            get(|| async { (StatusCode::FORBIDDEN, "no entry") }),
        )
        .route(
            "/slow.json",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                "[]"
            }),
        )
        .layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                let counted = counted.clone();
                async move {
                    counted.fetch_add(1, Ordering::SeqCst);
                    next.run(req).await
                }
            },
        ));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), hits)
}

fn json_source(url: &str) -> Value {
    json!({"type": "json", "name": "catalog", "input": {"url": url, "uniqueIDColumn": "sku"}})
}

#[tokio::test]
async fn a_sample_is_read_returned_and_recorded_as_a_validate_run() {
    let s = Server::sqlite().await;
    let (files, _) = files().await;
    let answer = s
        .post(
            "/1/sources/validate",
            &json_source(&format!("{files}/products.json")),
        )
        .await
        .expect(200);
    let data = answer.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 10, "the sample stops at 10 records");
    assert_eq!(
        data[0],
        json!({"sku": "sku-0", "price": 0, "objectID": "sku-0"})
    );
    assert!(
        answer.body["message"]
            .as_str()
            .unwrap()
            .starts_with("read 10 records from"),
        "{}",
        answer.text
    );
    let run_id = answer.body["runID"].as_str().unwrap();
    assert!(answer.body["createdAt"].is_string());

    let run = s.get(&format!("/1/runs/{run_id}")).await.expect(200);
    assert_eq!(run.body["type"], "validate");
    assert_eq!(run.body["status"], "finished");
    assert_eq!(run.body["outcome"], "success");
    assert_eq!(run.body["taskID"], "");
    let events = s.get(&format!("/1/runs/{run_id}/events")).await.expect(200);
    assert!(
        events.body["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "fetch"),
        "{}",
        events.text
    );
    let validations = s.get("/1/runs?type=validate").await.expect(200);
    assert_eq!(validations.body["pagination"]["nbItems"], 1);
    // Nothing was saved.
    let sources = s.get("/1/sources").await.expect(200);
    assert_eq!(sources.body["pagination"]["nbItems"], 0);
    // Another application cannot see the run.
    s.call_b(Method::GET, &format!("/1/runs/{run_id}"), None)
        .await
        .expect(404);
}

#[tokio::test]
async fn a_csv_sample_is_typed_and_its_refused_rows_are_events() {
    let s = Server::sqlite().await;
    let (files, _) = files().await;
    let answer = s
        .post(
            "/1/sources/validate",
            &json!({"type": "csv", "name": "prices", "input": {
                "url": format!("{files}/products.csv"), "uniqueIDColumn": "sku",
                "mapping": {"price": "integer"}}}),
        )
        .await
        .expect(200);
    assert_eq!(
        answer.body["data"],
        json!([{"sku": "sku-1", "price": 10, "objectID": "sku-1"},
               {"sku": "sku-3", "price": 30, "objectID": "sku-3"}])
    );
    let message = answer.body["message"].as_str().unwrap();
    assert!(message.contains("1 records refused"), "{message}");
    let refused: Vec<&Value> = answer.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "record" && e["status"] == "failed")
        .collect();
    assert_eq!(refused.len(), 1, "{}", answer.text);
    assert!(
        refused[0]["data"]["message"]
            .as_str()
            .unwrap()
            .contains("price")
    );
}

#[tokio::test]
async fn an_unreadable_source_is_a_400_with_its_reason_and_a_failed_run() {
    let s = Server::sqlite().await;
    let (files, _) = files().await;
    for (url, says) in [
        (format!("{files}/refused.json"), "403"),
        // Nothing listens on port 1.
        ("http://127.0.0.1:1/products.json".to_owned(), "127.0.0.1:1"),
        (format!("{files}/slow.json"), "within 3 s"),
    ] {
        let answer = s
            .post("/1/sources/validate", &json_source(&url))
            .await
            .expect(400);
        let message = answer.body["message"].as_str().unwrap();
        assert!(message.contains(says), "{url}: {message}");
        assert_eq!(answer.body["status"], 400);
        assert!(!answer.body["events"].as_array().unwrap().is_empty());
        let run_id = answer.body["runID"].as_str().unwrap();
        let run = s.get(&format!("/1/runs/{run_id}")).await.expect(200);
        assert_eq!(run.body["outcome"], "failure", "{url}");
        assert_eq!(run.body["reason"], json!(message));
    }
}

#[tokio::test]
async fn the_url_policy_of_runs_applies() {
    // The default policy: no private or loopback address.
    let s = Server::sqlite_with(ingest_api::ApiConfig {
        validation: Some(source_reading(&[])),
        ..config()
    })
    .await;
    let (files, hits) = files().await;
    let answer = s
        .post(
            "/1/sources/validate",
            &json_source(&format!("{files}/products.json")),
        )
        .await
        .expect(400);
    assert!(
        answer.body["message"]
            .as_str()
            .unwrap()
            .contains("127.0.0.1"),
        "{}",
        answer.text
    );
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "the source was never called"
    );
}

#[tokio::test]
async fn bad_bodies_are_refused_before_anything_is_read() {
    let s = Server::sqlite().await;
    let (files, hits) = files().await;
    let url = format!("{files}/products.json");
    let basic = s
        .call_b(
            Method::POST,
            "/1/authentications",
            Some(
                &json!({"type": "basic", "name": "b", "input": {"username": "u", "password": "p"}}),
            ),
        )
        .await
        .expect(200);
    let foreign = basic.body["authenticationID"].as_str().unwrap();
    for (body, names) in [
        (json!({"type": "push", "name": "p"}), "type"),
        (
            json!({"type": "algoliaIndex", "name": "a", "input": {"indexName": "products"}}),
            "type",
        ),
        (
            json!({"type": "json", "name": "j", "input": {"url": 7}}),
            "input.url",
        ),
        (
            json!({"type": "json", "name": "j", "input": {"url": url}, "extra": 1}),
            "extra",
        ),
        (
            json!({"type": "json", "name": "j", "input": {"url": url}, "authenticationID": foreign}),
            "authenticationID",
        ),
        (json!({"type": "docker", "name": "d", "input": {}}), "type"),
    ] {
        let answer = s.post("/1/sources/validate", &body).await.expect(400);
        let message = answer.body["message"].as_str().unwrap();
        assert!(message.contains(names), "{body}: {message}");
    }
    s.call(Method::POST, "/1/sources/validate", None)
        .await
        .expect(400);
    assert_eq!(hits.load(Ordering::SeqCst), 0);
    let runs = s.get("/1/runs").await.expect(200);
    assert_eq!(
        runs.body["pagination"]["nbItems"], 0,
        "no run for a refused body"
    );
}

#[tokio::test]
async fn validate_before_update_reads_the_updated_source_and_saves_nothing() {
    let s = Server::sqlite().await;
    let (files, _) = files().await;
    let created = s
        .post("/1/sources", &json_source(&format!("{files}/refused.json")))
        .await
        .expect(200);
    let id = created.body["sourceID"].as_str().unwrap();
    s.post(
        &format!("/1/sources/{id}/validate"),
        &json!({"name": "renamed"}),
    )
    .await
    .expect(400);
    let answer = s
        .post(
            &format!("/1/sources/{id}/validate"),
            &json!({"input": {"url": format!("{files}/products.json"), "uniqueIDColumn": "sku"}}),
        )
        .await
        .expect(200);
    assert_eq!(answer.body["data"].as_array().unwrap().len(), 10);
    let stored = s.get(&format!("/1/sources/{id}")).await.expect(200);
    assert_eq!(stored.body["name"], "catalog");
    assert!(
        stored.body["input"]["url"]
            .as_str()
            .unwrap()
            .ends_with("/refused.json")
    );

    s.post(
        &format!("/1/sources/{id}/validate"),
        &json!({"type": "csv"}),
    )
    .await
    .expect(400);
    s.post(
        "/1/sources/00000000-0000-4000-8000-000000000000/validate",
        &json!({"name": "x"}),
    )
    .await
    .expect(404);
    s.call_b(
        Method::POST,
        &format!("/1/sources/{id}/validate"),
        Some(&json!({"name": "x"})),
    )
    .await
    .expect(404);
}

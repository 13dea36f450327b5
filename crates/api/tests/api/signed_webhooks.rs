//! With a webhook client secret configured, connector events posted to
//! `/1/tasks/{taskID}/webhook` need a valid Standard Webhooks signature (as BigCommerce signs
//! them): unsigned, tampered, wrongly keyed or stale events are refused with 401 and start no
//! run; `objectIDs` lists and empty bodies are not connector events and need none.

use std::time::{SystemTime, UNIX_EPOCH};

use ingest_connectors::bigcommerce::webhook::sign;
use ingest_core::Secret;
use reqwest::Method;
use serde_json::json;

use crate::common::{Resp, Server, config};

const CLIENT_SECRET: &str = "bigcommerce-app-client-secret";

async fn server() -> Server {
    let config = ingest_api::ApiConfig {
        webhook_client_secret: Some(Secret::new(CLIENT_SECRET.to_owned())),
        ..config()
    };
    Server::sqlite_with(config).await
}

/// A `subscription` task; returns its webhook path.
async fn hook(server: &Server) -> String {
    let source = server.json_source("products", true).await;
    let destination = server.destination("products").await;
    let task = server
        .post(
            "/1/tasks",
            &json!({"sourceID": source, "destinationID": destination,
                "trigger": {"type": "subscription"}, "action": "save"}),
        )
        .await
        .expect(200)
        .str("taskID");
    format!("/1/tasks/{task}/webhook")
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Posts `body` with Standard Webhooks headers signed by `key` at `timestamp`.
async fn post_signed(server: &Server, path: &str, body: &str, key: &str, timestamp: u64) -> Resp {
    let timestamp = timestamp.to_string();
    let signature = sign(key.as_bytes(), "msg_1", &timestamp, body.as_bytes());
    let request = server
        .request(Method::POST, path)
        .header("content-type", "application/json")
        .header("webhook-id", "msg_1")
        .header("webhook-timestamp", &timestamp)
        .header("webhook-signature", format!("v1,{signature}"))
        .body(body.to_owned());
    Server::send(request).await
}

async fn runs(server: &Server) -> usize {
    server.get("/1/runs").await.expect(200).body["runs"]
        .as_array()
        .map_or(0, Vec::len)
}

#[tokio::test]
async fn connector_events_need_a_valid_signature() {
    let server = server().await;
    let path = hook(&server).await;
    let event = json!({"scope": "store/product/updated", "store_id": "1",
        "data": {"type": "product", "id": 205}, "hash": "a833a57f"})
    .to_string();

    let unsigned = server
        .call(
            Method::POST,
            &path,
            Some(&serde_json::from_str(&event).unwrap()),
        )
        .await;
    unsigned.error(401, "signature does not match");
    post_signed(&server, &path, &event, "another-secret", now())
        .await
        .error(401, "signature does not match");
    let tampered = event.replace("205", "206");
    let timestamp = now().to_string();
    let signature = sign(
        CLIENT_SECRET.as_bytes(),
        "msg_1",
        &timestamp,
        event.as_bytes(),
    );
    let request = server
        .request(Method::POST, &path)
        .header("content-type", "application/json")
        .header("webhook-id", "msg_1")
        .header("webhook-timestamp", &timestamp)
        .header("webhook-signature", format!("v1,{signature}"))
        .body(tampered);
    Server::send(request)
        .await
        .error(401, "signature does not match");
    post_signed(&server, &path, &event, CLIENT_SECRET, now() - 600)
        .await
        .error(401, "more than five minutes");
    assert_eq!(runs(&server).await, 0, "a refused event started a run");

    let run = post_signed(&server, &path, &event, CLIENT_SECRET, now())
        .await
        .expect(200)
        .str("runID");
    assert_eq!(runs(&server).await, 1);
    let stored = server.get(&format!("/1/runs/{run}")).await.expect(200);
    assert_eq!(stored.body["status"], "created");
}

#[tokio::test]
async fn object_id_lists_and_empty_bodies_need_no_signature() {
    let server = server().await;
    let path = hook(&server).await;
    server
        .call(Method::POST, &path, Some(&json!({"objectIDs": ["a", "b"]})))
        .await
        .expect(200);
    server.call(Method::POST, &path, None).await.expect(200);
    assert_eq!(runs(&server).await, 2);
}

//! `run-task` into an `insights` destination: records that are Insights events go to
//! `POST /1/events` on the configured Insights hosts.

use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::Scratch;

#[tokio::test]
async fn json_events_are_sent_to_the_insights_api() {
    let events: Vec<Value> = (0..3)
        .map(|i| {
            json!({"eventType": "view", "eventName": "Product viewed", "index": "products",
                   "userToken": format!("user-{i}"), "objectIDs": [format!("sku-{i}")],
                   "timestamp": 1_764_000_000_000i64 + i})
        })
        .collect();
    let insights = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/1/events"))
        .and(header("x-algolia-application-id", "APP"))
        .and(header("x-algolia-api-key", "insights-key"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(r#"{"status":200,"message":"OK"}"#),
        )
        .expect(1)
        .mount(&insights)
        .await;
    let scratch = Scratch::new();
    scratch.write("events.json", serde_json::to_vec(&events).unwrap());
    let task = scratch.task(&json!({
        "action": "save",
        "source": { "type": "json", "input": { "url": "./events.json", "uniqueIDColumn": "userToken" } },
        "destination": { "type": "insights", "input": { "indexName": "products" },
                         "authentication": { "type": "algolia",
                                             "input": { "appID": "APP", "apiKey": "insights-key" } } }
    }));
    let result = scratch
        .run(
            &["--task-file".as_ref(), task.as_os_str()],
            &[("INGESTION__INSIGHTS__HOSTS", &insights.uri())],
        )
        .await;
    assert_eq!(result.status, 0, "{result:?}");
    assert_eq!(result.summary()["recordsPushed"], 3);
    let sent: Value =
        serde_json::from_slice(&insights.received_requests().await.unwrap()[0].body).unwrap();
    assert_eq!(sent["events"].as_array().unwrap().len(), 3);
    assert_eq!(sent["events"][2]["userToken"], "user-2");
    assert!(!result.stderr.contains("insights-key"));

    let dry = scratch.dry_run(&task, &[]).await;
    assert_eq!(dry.status, 2, "{dry:?}");
    assert!(
        dry.stderr
            .contains("an `insights` destination has none to write")
    );
}

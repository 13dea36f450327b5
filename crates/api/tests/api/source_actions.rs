//! Source actions (docs/api.md D6): `runSource` and `discover`.

use reqwest::Method;
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn run_source_runs_each_enabled_task_whose_index_passes_the_lists() {
    let s = Server::sqlite().await;
    let source = s.json_source("catalog", true).await;
    let us = s.task(&source, &s.destination("products_us").await).await;
    let eu = s.task(&source, &s.destination("products_eu").await).await;
    let off = s.task(&source, &s.destination("products_us").await).await;
    s.put(&format!("/1/tasks/{off}/disable")).await.expect(200);
    let other = s.json_source("other", true).await;
    let elsewhere = s.task(&other, &s.destination("products_us").await).await;

    let all = s
        .post(&format!("/1/sources/{source}/run"), &json!({}))
        .await
        .expect(200);
    let runs = all.body["taskWithRunID"].as_object().unwrap();
    let mut tasks: Vec<_> = runs.keys().cloned().collect();
    tasks.sort();
    let mut expected = vec![us.clone(), eu.clone()];
    expected.sort();
    assert_eq!(tasks, expected, "{}", all.text);
    assert!(!runs.contains_key(&off) && !runs.contains_key(&elsewhere));

    let limited = s
        .post(
            &format!("/1/sources/{source}/run"),
            &json!({"indexToInclude": ["products_us", "products_eu"], "indexToExclude": ["products_eu"],
                    "entityIDs": ["sku-1", "sku-2"], "entityType": "product",
                    "runMetadata": {"by": "test"}}),
        )
        .await
        .expect(200);
    let runs = limited.body["taskWithRunID"].as_object().unwrap();
    assert_eq!(runs.len(), 1, "{}", limited.text);
    let run_id = runs[&us].as_str().unwrap();
    let run = s.get(&format!("/1/runs/{run_id}")).await.expect(200);
    assert_eq!(run.body["taskID"], json!(us));
    assert_eq!(run.body["runMetadata"], json!({"by": "test"}));
    // The run is limited to the entities, as a webhook's objectIDs.
    let claimed = s
        .store
        .claim_run(
            run_id,
            "test",
            std::time::Duration::from_secs(30),
            ingest_model::Timestamp::from_unix(2_000_000_000, 0),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        claimed.trigger_payload,
        Some(ingest_model::TriggerPayload::ObjectIds(vec![
            "sku-1".into(),
            "sku-2".into()
        ]))
    );
}

#[tokio::test]
async fn run_source_refuses_bad_bodies_unknown_and_push_sources() {
    let s = Server::sqlite().await;
    let source = s.json_source("catalog", true).await;
    s.post(
        &format!("/1/sources/{source}/run"),
        &json!({"entityIDs": []}),
    )
    .await
    .error(400, "entityIDs: must list 1 to 1000 IDs");
    s.post(
        &format!("/1/sources/{source}/run"),
        &json!({"entityType": "variant"}),
    )
    .await
    .error(400, "entityType");
    s.post(&format!("/1/sources/{source}/run"), &json!({"other": 1}))
        .await
        .error(400, "other");
    s.post("/1/sources/no-such-source/run", &json!({}))
        .await
        .expect(404);
    let push = s
        .post("/1/sources", &json!({"type": "push", "name": "pushed"}))
        .await
        .expect(200)
        .str("sourceID");
    s.post(&format!("/1/sources/{push}/run"), &json!({}))
        .await
        .error(400, "is of type `push`");
    // Another application's source is unknown here.
    s.call_b(
        Method::POST,
        &format!("/1/sources/{source}/run"),
        Some(&json!({})),
    )
    .await
    .expect(404);
}

#[tokio::test]
async fn discover_answers_that_only_docker_sources_have_streams() {
    let s = Server::sqlite().await;
    let source = s.json_source("catalog", true).await;
    for method in [Method::GET, Method::POST] {
        s.call(method, &format!("/1/sources/{source}/discover"), None)
            .await
            .error(400, "only docker sources can be discovered");
    }
    s.get("/1/sources/no-such-source/discover")
        .await
        .expect(404);
}

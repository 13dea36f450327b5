//! The push routes (docs/api.md D4) as clients see them: task resolution with Algolia's error
//! bodies, durable acceptance, bad input refused whole, budgets and body limits.

use std::time::Duration;

use ingest_api::Limit;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::*;

ingest_store::both_backends!(
    pushes_find_their_task_and_answer_at_once,
    bad_pushes_are_refused_whole
);

async fn push_pipeline(s: &Server, index: &str) -> (String, String) {
    let source = s
        .post(
            "/1/sources",
            &json!({"type": "push", "name": format!("push {index}")}),
        )
        .await
        .expect(200)
        .str("sourceID");
    let destination = s.destination(index).await;
    let task = s
        .post(
            "/2/tasks",
            &json!({"sourceID": source, "destinationID": destination, "action": "replace"}),
        )
        .await
        .expect(200)
        .str("taskID");
    (task, destination)
}

fn records(n: usize) -> Value {
    Value::Array(
        (0..n)
            .map(|i| json!({"objectID": format!("o{i}"), "name": format!("record {i}")}))
            .collect(),
    )
}

async fn pushes_find_their_task_and_answer_at_once(s: &Server) {
    // No push task for the index: Algolia's 404 body.
    let none = s
        .post(
            "/1/push/products",
            &json!({"action": "addObject", "records": records(1)}),
        )
        .await;
    assert_eq!(none.status, 404, "{}", none.text);
    assert_eq!(
        none.body,
        json!({"error": {"code": "resource_not_found"}, "message": "cannot find task products", "status": 404})
    );
    let (task, destination) = push_pipeline(s, "products").await;
    let first = s
        .post(
            "/1/push/products",
            &json!({"action": "addObject", "records": records(3)}),
        )
        .await
        .expect(200);
    assert_keys(&first.body, &["runID", "eventID", "message", "createdAt"]);
    assert_eq!(first.body["message"], "OK");
    // Not applied yet (no worker here): the event is 404, the run is the task's open push run.
    s.get(&format!(
        "/1/runs/{}/events/{}",
        first.str("runID"),
        first.str("eventID")
    ))
    .await
    .expect(404);
    let run = s
        .get(&format!("/1/runs/{}", first.str("runID")))
        .await
        .expect(200);
    assert_eq!(run.body["type"], "push");
    assert_eq!(run.body["status"], "started");
    assert_eq!(run.body["taskID"], task.as_str());
    // The same task by ID, and through a reference index (the replace helper's temporary index).
    let by_id = s
        .post(
            &format!("/2/tasks/{task}/push"),
            &json!({"action": "partialUpdateObject", "records": records(1)}),
        )
        .await
        .expect(200);
    assert_eq!(by_id.str("runID"), first.str("runID"));
    let tmp = s
        .post(
            "/1/push/products_tmp_123?referenceIndexName=products",
            &json!({"action": "addObject", "records": records(1)}),
        )
        .await
        .expect(200);
    assert_ne!(
        tmp.str("runID"),
        first.str("runID"),
        "one run per task and index"
    );
    // Two push tasks on one index: Algolia's 400 body names both.
    let source = s
        .post("/1/sources", &json!({"type": "push", "name": "second"}))
        .await
        .expect(200)
        .str("sourceID");
    let other = s
        .post(
            "/2/tasks",
            &json!({"sourceID": source, "destinationID": destination, "action": "save"}),
        )
        .await
        .expect(200)
        .str("taskID");
    let several = s
        .post(
            "/1/push/products",
            &json!({"action": "addObject", "records": records(1)}),
        )
        .await;
    assert_eq!(several.status, 400, "{}", several.text);
    assert_eq!(several.body["error"]["code"], "invalid_payload");
    let message = several.body["message"].as_str().unwrap();
    assert!(
        message.contains(&task) && message.contains(&other),
        "{message}"
    );
    assert!(
        message.contains("please use /2/tasks/:id/push instead"),
        "{message}"
    );
    // A disabled task takes no push; a task whose source is not `push` neither.
    s.put(&format!("/2/tasks/{other}/disable"))
        .await
        .expect(200);
    s.post(
        &format!("/2/tasks/{other}/push"),
        &json!({"action": "addObject", "records": records(1)}),
    )
    .await
    .error(400, "disabled");
    let csv_task = s
        .task(&s.json_source("json", true).await, &destination)
        .await;
    s.post(
        &format!("/2/tasks/{csv_task}/push"),
        &json!({"action": "addObject", "records": records(1)}),
    )
    .await
    .error(400, "only tasks of a `push` source take pushes");
    s.post(
        "/2/tasks/00000000-0000-4000-8000-000000000000/push",
        &json!({"action": "addObject", "records": records(1)}),
    )
    .await
    .expect(404);
    // Another application sees none of it.
    let theirs = s
        .call_b(
            Method::POST,
            &format!("/2/tasks/{task}/push"),
            Some(&json!({"action": "addObject", "records": records(1)})),
        )
        .await;
    assert_eq!(theirs.status, 404, "{}", theirs.text);
}

async fn bad_pushes_are_refused_whole(s: &Server) {
    let (task, _) = push_pipeline(s, "strict").await;
    let path = format!("/2/tasks/{task}/push");
    for (body, needle) in [
        (
            json!({"action": "addObject", "records": [{"objectID": "a"}, {"name": "b"}]}),
            "records[1].objectID: missing field",
        ),
        (
            json!({"action": "addObject", "records": [{"objectID": ""}]}),
            "records[0].objectID",
        ),
        (
            json!({"action": "upsert", "records": [{"objectID": "a"}]}),
            "action: unknown variant `upsert`",
        ),
        (
            json!({"records": [{"objectID": "a"}]}),
            "action: missing field",
        ),
        (
            json!({"action": "addObject", "records": {}}),
            "records: must be an array",
        ),
        (
            json!({"action": "addObject", "records": [{"objectID": "a"}], "extra": 1}),
            "extra: unknown field",
        ),
    ] {
        s.post(&path, &body).await.error(400, needle);
    }
    let invalid = s
        .request(Method::POST, &path)
        .header("content-type", "application/json")
        .body("{\"action\": \"addObject\", \"records\": [")
        .send()
        .await
        .unwrap();
    assert_eq!(invalid.status(), 400);
    // Nothing was stored: no push run was opened.
    let runs = s.get("/1/runs?type=push").await.expect(200);
    assert_eq!(runs.body["pagination"]["nbItems"], 0, "{}", runs.text);
    s.post(
        "/1/push/%20",
        &json!({"action": "addObject", "records": records(1)}),
    )
    .await
    .error(400, "indexName");
}

#[tokio::test]
async fn push_budgets_and_body_limits() {
    // Its own server: a small budget and body limit. Every push request counts, refused or not.
    let mut config = config();
    config.push.rate = Limit {
        requests: 3,
        period: Duration::from_secs(60),
    };
    config.push.max_body_bytes = 10_000;
    let s = Server::sqlite_with(config).await;
    let (task, _) = push_pipeline(&s, "limited").await;
    let path = format!("/2/tasks/{task}/push");
    let big = json!({"action": "addObject", "records": records(500)});
    s.post(&path, &big).await.error(413, "");
    s.post(
        &path,
        &json!({"action": "addObject", "records": records(1)}),
    )
    .await
    .expect(200);
    s.post(
        &path,
        &json!({"action": "addObject", "records": records(1)}),
    )
    .await
    .expect(200);
    let limited = s
        .post(
            &path,
            &json!({"action": "addObject", "records": records(1)}),
        )
        .await;
    assert_eq!(limited.status, 429, "{}", limited.text);
    assert!(limited.headers.contains_key("retry-after"));
    // Other routes keep their own limits.
    s.get("/1/runs").await.expect(200);
}

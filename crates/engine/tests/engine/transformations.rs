//! A destination's transformation on every path (docs/api.md D5): connector runs (code with a
//! computed field, a split, a drop and a secret; no-code steps), failures as rejections judged
//! against `failureThreshold`, a transformation that cannot compile failing its run, and pushes.

use std::time::Duration;

use ingest_engine::{PushApplySettings, apply_pushes_until};
use ingest_model::{EventStatus, EventType, RunOutcome, Task, TransformationCreate, from_value};
use ingest_store::NewPush;
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::harness::{APP, Harness, events, work_until_finished};

ingest_store::both_backends!(
    a_code_transformation_computes_splits_drops_and_reads_a_secret,
    a_no_code_transformation_reshapes_every_record,
    a_failing_record_is_a_rejection_judged_by_the_threshold,
    pushes_go_through_the_transformation_but_deletions_do_not,
    an_algolia_index_is_rewritten_in_place_through_its_transformation,
);

const CODE: &str = r#"
async function transform(record, helper) {
  const id = Number(record.id);
  if (id % 5 === 0) return undefined;
  record.label = record.name.toUpperCase() + " " + helper.secrets.get("SUFFIX");
  record.index = helper.getMetadata().indexName;
  if (id === 3) return [record, { ...record, objectID: "3-copy" }];
  return record;
}
"#;

/// A transformation (with a `secrets` authentication holding SUFFIX) in the store.
async fn transformation(h: &Harness, body: Value) -> String {
    let secrets = h
        .store
        .create_authentication(
            APP,
            &from_value(&json!({"type": "secrets", "name": "vault",
                "input": {"SUFFIX": "(sale)"}}))
            .unwrap(),
            h.now(),
        )
        .await
        .unwrap();
    let mut body = body;
    body["authenticationIDs"] = json!([secrets.authentication_id]);
    let create: TransformationCreate = from_value(&body).unwrap();
    h.store
        .create_transformation(APP, &create, h.now())
        .await
        .unwrap()
        .transformation_id
}

/// A CSV task (`/products.csv`, 25 rows) into `index` through transformation `id`.
async fn task_through(h: &Harness, index: &str, id: &str, action: &str) -> Task {
    let source = json!({"type": "csv", "name": "Products", "input": {
        "url": format!("{}/products.csv", h.csv), "uniqueIDColumn": "id",
        "mapping": {"price": "float"}}});
    let task = h
        .task_with(
            source,
            json!({"indexName": index}),
            "search",
            action,
            json!({"type": "onDemand"}),
        )
        .await;
    attach(h, task, id).await
}

/// `task` with transformation `id` on its destination.
async fn attach(h: &Harness, task: Task, id: &str) -> Task {
    h.store
        .update_destination(
            APP,
            &task.destination_id,
            &from_value(&json!({"transformationIDs": [id]})).unwrap(),
            h.now(),
        )
        .await
        .unwrap();
    task
}

/// Runs `run_id` to its end with one worker.
async fn finish(h: &Harness, run_id: &str) -> ingest_model::Run {
    work_until_finished(h, &[run_id]).await.remove(0)
}

async fn a_code_transformation_computes_splits_drops_and_reads_a_secret(h: &Harness) {
    let id = transformation(
        h,
        json!({"name": "label", "type": "code", "input": {"code": CODE}}),
    )
    .await;
    let task = task_through(h, "products", &id, "replace").await;
    let run = h
        .store
        .create_run(APP, &task.task_id, h.now())
        .await
        .unwrap();
    let run = finish(h, &run.run_id).await;
    assert_eq!(run.outcome, Some(RunOutcome::Success), "{run:?}");
    assert!(
        run.reason
            .as_deref()
            .unwrap()
            .ends_with("; 5 records dropped by the transformation"),
        "{run:?}"
    );
    // 25 rows, 5 dropped (5, 10, ... 25), row 3 split in two.
    assert_eq!(h.fake.record_count("products"), 21);
    assert_eq!(
        h.fake.record("products", "7").unwrap(),
        json!({"objectID": "7", "id": "7", "name": "product 7", "price": 7.5,
               "label": "PRODUCT 7 (sale)", "index": "products"})
    );
    assert!(h.fake.record("products", "10").is_none());
    assert_eq!(
        h.fake.record("products", "3-copy").unwrap()["label"],
        "PRODUCT 3 (sale)"
    );
    let events = events(h, &run.run_id).await;
    let transform = events
        .iter()
        .find(|e| e.event_type == EventType::Transform)
        .expect("the transform event");
    assert_eq!(transform.status, EventStatus::Succeeded);
    let data = transform.data.as_ref().unwrap();
    assert_eq!(data["recordsIn"], 25);
    assert_eq!(data["recordsOut"], 21);
    assert_eq!(data["dropped"], 5);
    assert_eq!(data["failed"], 0);
    // The secret's value is in the records written, never in an event.
    let text = serde_json::to_string(&events).unwrap();
    assert!(!text.contains("(sale)"), "{text}");
}

async fn a_no_code_transformation_reshapes_every_record(h: &Harness) {
    let steps = json!([
        {"type": "addAttribute", "attribute": "seen", "value": {"fixed": true}},
        {"type": "addAttribute", "attribute": "title", "value": {"template": "{{name}} at {{price}}"}},
        {"type": "removeRecords", "when": {"attribute": "price", "operator": "gt", "value": 20}},
    ]);
    let id = transformation(
        h,
        json!({"name": "steps", "type": "noCode", "input": {"steps": steps}}),
    )
    .await;
    let task = task_through(h, "shaped", &id, "replace").await;
    let run = h
        .store
        .create_run(APP, &task.task_id, h.now())
        .await
        .unwrap();
    let run = finish(h, &run.run_id).await;
    assert_eq!(run.outcome, Some(RunOutcome::Success), "{run:?}");
    // Prices are i % 100 + .5: rows 1..=19 stay (row 20 costs 20.5).
    assert_eq!(h.fake.record_count("shaped"), 19);
    assert_eq!(
        h.fake.record("shaped", "2").unwrap(),
        json!({"objectID": "2", "id": "2", "name": "product 2", "price": 2.5,
               "seen": true, "title": "product 2 at 2.5"})
    );
}

async fn a_failing_record_is_a_rejection_judged_by_the_threshold(h: &Harness) {
    let code = r#"function transform(record) {
  if (record.id === "7") { throw new Error("seven is refused"); }
  return record;
}"#;
    let id = transformation(
        h,
        json!({"name": "strict", "type": "code", "input": {"code": code}}),
    )
    .await;
    let task = task_through(h, "strict", &id, "replace").await;
    let run = h
        .store
        .create_run(APP, &task.task_id, h.now())
        .await
        .unwrap();
    let run = finish(h, &run.run_id).await;
    // failureThreshold 0: one failed record fails the run, and nothing replaces the index.
    assert_eq!(run.outcome, Some(RunOutcome::Failure), "{run:?}");
    let events = events(h, &run.run_id).await;
    let rejected = events
        .iter()
        .find(|e| {
            e.event_type == EventType::Transform
                && e.status == EventStatus::Failed
                && e.data.as_ref().is_some_and(|d| {
                    serde_json::to_string(d)
                        .unwrap()
                        .contains("seven is refused")
                })
        })
        .unwrap_or_else(|| panic!("no rejection event: {events:?}"));
    let data = rejected.data.as_ref().unwrap();
    assert_eq!(data["objectID"], "7");
    assert_eq!(data["position"], "record 7");
    let text = data["reason"].as_str().unwrap();
    assert!(text.contains("transformation `strict`"), "{text}");
    assert!(text.contains("line 2"), "{text}");
    let transform = events
        .iter()
        .find(|e| {
            e.event_type == EventType::Transform
                && e.data.as_ref().unwrap().contains_key("recordsIn")
        })
        .unwrap();
    assert_eq!(transform.status, EventStatus::Failed);
    assert_eq!(transform.data.as_ref().unwrap()["failed"], 1);

    // The same rows with a threshold of 10%: the run succeeds without row 7.
    h.store
        .update_task(
            APP,
            &task.task_id,
            &from_value(&json!({"failureThreshold": 10})).unwrap(),
            None,
            h.now(),
        )
        .await
        .unwrap();
    let run = h
        .store
        .create_run(APP, &task.task_id, h.now())
        .await
        .unwrap();
    let run = finish(h, &run.run_id).await;
    assert_eq!(run.outcome, Some(RunOutcome::Success), "{run:?}");
    assert_eq!(h.fake.record_count("strict"), 24);
    assert!(h.fake.record("strict", "7").is_none());
}

async fn pushes_go_through_the_transformation_but_deletions_do_not(h: &Harness) {
    let code = r#"function transform(record, helper) {
  if (record.skip) return null;
  record.action = helper.getMetadata().actionType;
  return record;
}"#;
    let id = transformation(
        h,
        json!({"name": "push", "type": "code", "input": {"code": code}}),
    )
    .await;
    let task = h
        .task_with(
            json!({"type": "push", "name": "pushed"}),
            json!({"indexName": "pushed"}),
            "search",
            "save",
            json!({"type": "onDemand"}),
        )
        .await;
    let task = attach(h, task, &id).await;
    let mut accepted = Vec::new();
    for (action, records) in [
        (
            "addObject",
            json!([{"objectID": "a", "x": 1}, {"objectID": "b", "skip": true},
                   {"objectID": "c", "x": 3}]),
        ),
        ("deleteObject", json!([{"objectID": "c"}])),
    ] {
        let count = records.as_array().unwrap().len() as u64;
        accepted.push(
            h.store
                .accept_push(
                    APP,
                    &NewPush {
                        task_id: &task.task_id,
                        index: "pushed",
                        action,
                        records: &records.to_string(),
                        record_count: count,
                    },
                    h.now(),
                )
                .await
                .unwrap(),
        );
    }
    let (stop, stopped) = oneshot::channel::<()>();
    let settings = PushApplySettings {
        appliers: 1,
        lease: Duration::from_secs(60),
        max_records_per_claim: 1000,
        run_idle: Duration::from_secs(600),
        run_max_age: Duration::from_secs(86_400),
        poll: Duration::from_millis(20),
    };
    let handle = tokio::spawn(apply_pushes_until(h.engine(), settings, async {
        let _ = stopped.await;
    }));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    for push in &accepted {
        loop {
            match h.store.get_event(APP, &push.run_id, &push.event_id).await {
                Ok(event) => {
                    assert_eq!(event.status, EventStatus::Succeeded, "{event:?}");
                    break;
                }
                Err(_) => {
                    assert!(tokio::time::Instant::now() < deadline, "push not applied");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    }
    let _ = stop.send(());
    handle.await.unwrap();
    assert_eq!(
        h.fake.record("pushed", "a").unwrap(),
        json!({"objectID": "a", "x": 1, "action": "addObject"})
    );
    assert!(h.fake.record("pushed", "b").is_none(), "dropped");
    assert!(h.fake.record("pushed", "c").is_none(), "deleted");
}

async fn an_algolia_index_is_rewritten_in_place_through_its_transformation(h: &Harness) {
    // An index of 2,500 records (three browse pages), written by a CSV run.
    let csv = h
        .task(
            "/many.csv",
            "catalog",
            "replace",
            json!({"type": "onDemand"}),
        )
        .await;
    let run = h
        .store
        .create_run(APP, &csv.task_id, h.now())
        .await
        .unwrap();
    assert_eq!(
        finish(h, &run.run_id).await.outcome,
        Some(RunOutcome::Success)
    );
    assert_eq!(h.fake.record_count("catalog"), 2_500);

    let code = r#"function transform(record) {
  if (record.id === "13") return null;
  record.price = record.price * 2;
  return record;
}"#;
    let id = transformation(
        h,
        json!({"name": "double", "type": "code", "input": {"code": code}}),
    )
    .await;
    let rewrite = h
        .task_with(
            json!({"type": "algoliaIndex", "name": "catalog", "input": {"indexName": "catalog"}}),
            json!({"indexName": "catalog"}),
            "search",
            "replace",
            json!({"type": "onDemand"}),
        )
        .await;
    let rewrite = attach(h, rewrite, &id).await;
    let run = h
        .store
        .create_run(APP, &rewrite.task_id, h.now())
        .await
        .unwrap();
    let run = finish(h, &run.run_id).await;
    assert_eq!(run.outcome, Some(RunOutcome::Success), "{run:?}");
    assert_eq!(h.fake.record_count("catalog"), 2_499);
    assert_eq!(
        h.fake.record("catalog", "7").unwrap(),
        json!({"objectID": "7", "id": "7", "name": "product 7", "price": 15})
    );
    assert!(h.fake.record("catalog", "13").is_none());
    let pages = events(h, &run.run_id)
        .await
        .iter()
        .filter(|e| e.event_type == EventType::Fetch)
        .count();
    assert_eq!(pages, 3, "1,000 records a page");

    // `filters` go to Algolia as they are; a second index is written from the first.
    let copy = h
        .task_with(
            json!({"type": "algoliaIndex", "name": "subset",
                   "input": {"indexName": "catalog", "filters": "name:\"product 7\""}}),
            json!({"indexName": "subset"}),
            "search",
            "save",
            json!({"type": "onDemand"}),
        )
        .await;
    let run = h
        .store
        .create_run(APP, &copy.task_id, h.now())
        .await
        .unwrap();
    assert_eq!(
        finish(h, &run.run_id).await.outcome,
        Some(RunOutcome::Success)
    );
    assert_eq!(h.fake.records("subset").len(), 1);
    assert_eq!(
        h.fake.browse_requests().last().unwrap().filters.as_deref(),
        Some("name:\"product 7\"")
    );
}

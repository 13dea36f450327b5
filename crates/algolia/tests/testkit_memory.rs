//! The fake Algolia in memory: batch actions, operations, tasks, the size limit and the call log.

use bytes::Bytes;
use ingest_algolia::testkit::{CallKind, FakeAlgolia, Pace, TOO_MANY_JOBS};
use ingest_algolia::{
    AlgoliaError, IndexingApi, Operation, Scope, TaskStatus, WaitPolicy, wait_task,
};
use serde_json::{Value, json};

fn body(requests: Value) -> Bytes {
    Bytes::from(json!({ "requests": requests }).to_string())
}

async fn batch(fake: &FakeAlgolia, index: &str, requests: Value) -> Result<u64, AlgoliaError> {
    Ok(fake.batch(index, body(requests), true).await?.task_id)
}

fn add(records: &[Value]) -> Value {
    records
        .iter()
        .map(|r| json!({"action": "addObject", "body": r}))
        .collect()
}

#[tokio::test]
async fn add_and_update_replace_whole_records() {
    let fake = FakeAlgolia::new();
    batch(
        &fake,
        "p",
        add(&[
            json!({"objectID": "1", "a": 1, "b": 1}),
            json!({"n": "no id"}),
        ]),
    )
    .await
    .unwrap();
    assert_eq!(fake.record_count("p"), 2);
    let generated: Vec<_> = fake
        .records("p")
        .into_keys()
        .filter(|id| id != "1")
        .collect();
    assert_eq!(generated.len(), 1);
    assert_eq!(
        fake.record("p", &generated[0]).unwrap(),
        json!({"objectID": generated[0], "n": "no id"})
    );
    batch(
        &fake,
        "p",
        json!([{"action": "updateObject", "body": {"objectID": "1", "c": 3}}]),
    )
    .await
    .unwrap();
    assert_eq!(
        fake.record("p", "1").unwrap(),
        json!({"objectID": "1", "c": 3})
    );
    batch(&fake, "p", add(&[json!({"objectID": "1", "d": 4})]))
        .await
        .unwrap();
    assert_eq!(
        fake.record("p", "1").unwrap(),
        json!({"objectID": "1", "d": 4})
    );
    // The raw JSON is kept as sent.
    fake.batch(
        "raw",
        Bytes::from(r#"{"requests":[{"action":"addObject","body":{"objectID":"r", "z" : 1.50}}]}"#),
        true,
    )
    .await
    .unwrap();
    assert_eq!(
        fake.raw_record("raw", "r").unwrap(),
        r#"{"objectID":"r", "z" : 1.50}"#
    );
}

#[tokio::test]
async fn partial_updates_merge_top_level_attributes() {
    let fake = FakeAlgolia::new();
    fake.set_records(
        "p",
        [json!({"objectID": "1", "a": 1, "nested": {"x": 1, "y": 2}})],
    );
    let requests = json!([
        {"action": "partialUpdateObject", "body": {"objectID": "1", "b": 2, "nested": {"x": 9}}},
        {"action": "partialUpdateObject", "body": {"objectID": "new", "c": 3}},
        {"action": "partialUpdateObjectNoCreate", "body": {"objectID": "1", "a": 10}},
        {"action": "partialUpdateObjectNoCreate", "body": {"objectID": "absent", "c": 3}},
    ]);
    batch(&fake, "p", requests).await.unwrap();
    assert_eq!(
        fake.records("p").into_values().collect::<Vec<_>>(),
        [
            json!({"objectID": "1", "a": 10, "b": 2, "nested": {"x": 9}}),
            json!({"objectID": "new", "c": 3})
        ]
    );
}

#[tokio::test]
async fn deletes_clear_and_delete_index() {
    let fake = FakeAlgolia::new();
    fake.set_records("p", [json!({"objectID": "1"}), json!({"objectID": "2"})]);
    fake.set_settings("p", json!({"searchableAttributes": ["a"]}));
    batch(
        &fake,
        "p",
        json!([{"action": "deleteObject", "body": {"objectID": "1"}}]),
    )
    .await
    .unwrap();
    assert_eq!(fake.records("p").into_keys().collect::<Vec<_>>(), ["2"]);
    batch(&fake, "p", json!([{"action": "clear", "body": {}}]))
        .await
        .unwrap();
    assert!(fake.has_index("p"));
    assert_eq!(fake.record_count("p"), 0);
    assert_eq!(
        fake.settings("p").unwrap(),
        json!({"searchableAttributes": ["a"]})
    );
    batch(&fake, "p", json!([{"action": "delete", "body": {}}]))
        .await
        .unwrap();
    assert!(!fake.has_index("p"));
    // A batch creates its index; deleteIndex removes it, and deleting a missing index succeeds.
    batch(&fake, "q", json!([])).await.unwrap();
    assert_eq!(fake.index_names(), ["q"]);
    fake.delete_index("q").await.unwrap();
    fake.delete_index("q").await.unwrap();
    assert!(fake.index_names().is_empty());
}

#[tokio::test]
async fn refused_batches_change_nothing() {
    let fake = FakeAlgolia::new();
    fake.set_records("p", [json!({"objectID": "keep"})]);
    let cases = [
        (
            json!([{"action": "addObject", "body": {"objectID": "a"}}, {"action": "upsert", "body": {}}]),
            "Invalid action \"upsert\" at the position 1",
        ),
        (
            json!([{"action": "clear"}, {"action": "updateObject", "body": {"x": 1}}]),
            "Missing objectID at the position 1",
        ),
        (
            json!([{"action": "addObject", "body": "text"}]),
            "Record at the position 0 is not a JSON object",
        ),
    ];
    for (requests, message) in cases {
        match batch(&fake, "p", requests).await {
            Err(AlgoliaError::Api {
                status: 400,
                message: got,
                call,
            }) => {
                assert_eq!(got, message);
                assert_eq!(call, "POST /1/indexes/p/batch");
            }
            other => panic!("{other:?}"),
        }
    }
    let malformed = fake
        .batch("p", Bytes::from_static(b"{\"requests\":"), true)
        .await;
    assert_eq!(malformed.unwrap_err().status(), Some(400));
    assert_eq!(fake.records("p").into_keys().collect::<Vec<_>>(), ["keep"]);
    assert!(
        fake.calls()
            .iter()
            .all(|c| c.status == 400 && c.task_id.is_none())
    );
    assert_eq!(fake.last_task_id(), 0);
}

#[tokio::test]
async fn a_record_over_the_size_limit_refuses_the_batch_with_algolias_message() {
    let fake = FakeAlgolia::builder().record_size_limit(60).build();
    let big = json!({"objectID": "big", "text": "x".repeat(40)});
    let size = big.to_string().len();
    let err = batch(&fake, "p", add(&[json!({"objectID": "small"}), big]))
        .await
        .unwrap_err();
    let expected = format!(
        "Record at the position 1 objectID=big is too big size={size}/60 bytes. Please have a look at \
         https://www.algolia.com/doc/guides/sending-and-managing-data/prepare-your-data/in-depth/index-and-records-size-and-usage-limitations/#record-size-limits"
    );
    assert!(
        matches!(&err, AlgoliaError::Api { status: 400, message, .. } if *message == expected),
        "{err:?}"
    );
    assert!(!fake.has_index("p"));
    // The default limit is Algolia's 100 000 bytes.
    let fake = FakeAlgolia::new();
    let at_limit = json!({"objectID": "a", "t": "x".repeat(100_000 - 23)});
    assert_eq!(at_limit.to_string().len(), 100_000);
    batch(&fake, "p", add(&[at_limit])).await.unwrap();
    let over = json!({"objectID": "b", "t": "x".repeat(100_000 - 22)});
    assert_eq!(
        batch(&fake, "p", add(&[over])).await.unwrap_err().status(),
        Some(400)
    );
}

#[tokio::test]
async fn copy_with_and_without_scope() {
    let fake = FakeAlgolia::new();
    fake.set_records("src", [json!({"objectID": "1"})]);
    fake.set_settings(
        "src",
        json!({"a": 1, "replicas": ["r"], "mode": "neuralSearch", "enableReRanking": true}),
    );
    fake.set_synonyms("src", vec![json!({"objectID": "s"})]);
    fake.set_rules("src", vec![json!({"objectID": "r"})]);
    fake.set_records("dst", [json!({"objectID": "kept"})]);
    fake.set_rules("dst", vec![json!({"objectID": "old rule"})]);

    let scoped = Operation::Copy {
        destination: "dst".into(),
        scope: vec![Scope::Settings, Scope::Synonyms],
    };
    fake.operation("src", &scoped).await.unwrap();
    assert_eq!(
        fake.records("dst").into_keys().collect::<Vec<_>>(),
        ["kept"]
    );
    assert_eq!(fake.settings("dst").unwrap(), json!({"a": 1}));
    assert_eq!(fake.synonyms("dst"), [json!({"objectID": "s"})]);
    assert_eq!(fake.rules("dst"), [json!({"objectID": "old rule"})]);

    let whole = Operation::Copy {
        destination: "dst".into(),
        scope: vec![],
    };
    fake.operation("src", &whole).await.unwrap();
    assert_eq!(fake.records("dst").into_keys().collect::<Vec<_>>(), ["1"]);
    assert_eq!(fake.rules("dst"), [json!({"objectID": "r"})]);
    assert_eq!(fake.settings("dst").unwrap(), json!({"a": 1}));
    // The source is untouched.
    assert_eq!(fake.record_count("src"), 1);
    assert_eq!(fake.settings("src").unwrap()["replicas"], json!(["r"]));
    // A destination with replicas cannot be copied to.
    let onto_primary = Operation::Copy {
        destination: "src".into(),
        scope: vec![],
    };
    assert_eq!(
        fake.operation("dst", &onto_primary)
            .await
            .unwrap_err()
            .status(),
        Some(400)
    );
}

#[tokio::test]
async fn copy_from_a_missing_index() {
    let fake = FakeAlgolia::new();
    let all = Operation::Copy {
        destination: "fresh".into(),
        scope: vec![],
    };
    fake.operation("missing", &all).await.unwrap();
    assert!(fake.has_index("fresh"));
    assert_eq!(fake.settings("fresh").unwrap(), json!({}));
    // A scoped copy from a missing index resets those parts and keeps the records.
    fake.set_records("tmp", [json!({"objectID": "1"})]);
    fake.set_settings("tmp", json!({"a": 1}));
    fake.set_rules("tmp", vec![json!({"objectID": "r"})]);
    let scoped = Operation::Copy {
        destination: "tmp".into(),
        scope: vec![Scope::Settings],
    };
    fake.operation("missing", &scoped).await.unwrap();
    assert_eq!(fake.record_count("tmp"), 1);
    assert_eq!(fake.settings("tmp").unwrap(), json!({}));
    assert_eq!(fake.rules("tmp").len(), 1);
    assert!(!fake.has_index("missing"));
}

#[tokio::test]
async fn move_renames_onto_the_destination() {
    let fake = FakeAlgolia::new();
    fake.set_records("tmp", [json!({"objectID": "new"})]);
    fake.set_settings("tmp", json!({"a": 2}));
    fake.set_records("p", [json!({"objectID": "old"})]);
    fake.set_synonyms("p", vec![json!({"objectID": "old synonym"})]);
    fake.operation(
        "tmp",
        &Operation::Move {
            destination: "p".into(),
        },
    )
    .await
    .unwrap();
    assert_eq!(fake.index_names(), ["p"]);
    assert_eq!(fake.records("p").into_keys().collect::<Vec<_>>(), ["new"]);
    assert_eq!(fake.settings("p").unwrap(), json!({"a": 2}));
    assert!(fake.synonyms("p").is_empty());
    // Moving a missing index is a no-op that succeeds.
    fake.operation(
        "gone",
        &Operation::Move {
            destination: "p".into(),
        },
    )
    .await
    .unwrap();
    assert_eq!(fake.records("p").into_keys().collect::<Vec<_>>(), ["new"]);
}

#[tokio::test]
async fn tasks_publish_after_k_polls() {
    let fake = FakeAlgolia::builder().unpublished_polls(2).build();
    let first = batch(&fake, "p", json!([])).await.unwrap();
    let second = fake.delete_index("p").await.unwrap();
    assert!(second > first);
    let poll = |task| {
        let fake = fake.clone();
        async move { fake.task_status("any-index", task).await.unwrap() }
    };
    assert_eq!(poll(first).await, TaskStatus::NotPublished);
    assert_eq!(poll(first).await, TaskStatus::NotPublished);
    assert_eq!(poll(first).await, TaskStatus::Published);
    assert_eq!(poll(second).await, TaskStatus::NotPublished);
    let unknown = fake.task_status("p", 999).await.unwrap_err();
    assert_eq!(unknown.status(), Some(404));

    let default = FakeAlgolia::new();
    let task = batch(&default, "p", json!([])).await.unwrap();
    assert_eq!(
        default.task_status("p", task).await.unwrap(),
        TaskStatus::NotPublished
    );
    assert_eq!(
        default.task_status("p", task).await.unwrap(),
        TaskStatus::Published
    );
}

#[tokio::test]
async fn read_only_indices_refuse_writes() {
    let fake = FakeAlgolia::builder().read_only_index("locked").build();
    fake.set_records("locked", [json!({"objectID": "1"})]);
    let err = batch(&fake, "locked", json!([{"action": "clear"}]))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, AlgoliaError::Api { status: 403, message, .. } if message == "Method not allowed with this API key")
    );
    let onto = Operation::Move {
        destination: "locked".into(),
    };
    fake.set_records("tmp", []);
    assert_eq!(
        fake.operation("tmp", &onto).await.unwrap_err().status(),
        Some(403)
    );
    assert_eq!(
        fake.delete_index("locked").await.unwrap_err().status(),
        Some(403)
    );
    // Reading it (copying from it) is allowed.
    let copy = Operation::Copy {
        destination: "c".into(),
        scope: vec![],
    };
    fake.operation("locked", &copy).await.unwrap();
    assert_eq!(fake.record_count("locked"), 1);
    assert_eq!(fake.record_count("c"), 1);
}

/// The official `replaceAllObjects` sequence (10 objects, batches of 3) through the seam.
#[tokio::test]
async fn the_call_log_shows_the_replace_all_objects_sequence() {
    let fake = FakeAlgolia::new();
    fake.set_records("p", [json!({"objectID": "old"})]);
    fake.set_settings("p", json!({"customRanking": ["desc(n)"]}));
    let policy = WaitPolicy {
        step: std::time::Duration::from_millis(1),
        ..WaitPolicy::default()
    };
    let copy = Operation::Copy {
        destination: "p_tmp_1".into(),
        scope: Scope::ALL.to_vec(),
    };
    let copy1 = fake.operation("p", &copy).await.unwrap();
    let records: Vec<Value> = (0..10)
        .map(|n| json!({"objectID": n.to_string(), "n": n}))
        .collect();
    let mut tasks = vec![];
    for chunk in records.chunks(3) {
        tasks.push(batch(&fake, "p_tmp_1", add(chunk)).await.unwrap());
    }
    for task in tasks {
        wait_task(&fake, "p_tmp_1", task, policy).await.unwrap();
    }
    wait_task(&fake, "p_tmp_1", copy1, policy).await.unwrap();
    let copy2 = fake.operation("p", &copy).await.unwrap();
    wait_task(&fake, "p_tmp_1", copy2, policy).await.unwrap();
    let moved = fake
        .operation(
            "p_tmp_1",
            &Operation::Move {
                destination: "p".into(),
            },
        )
        .await
        .unwrap();
    wait_task(&fake, "p_tmp_1", moved, policy).await.unwrap();

    assert_eq!(fake.index_names(), ["p"]);
    assert_eq!(fake.record_count("p"), 10);
    assert_eq!(
        fake.settings("p").unwrap(),
        json!({"customRanking": ["desc(n)"]})
    );
    let calls = fake.calls();
    let count = |kind| calls.iter().filter(|c| c.kind == kind).count();
    assert_eq!(
        (
            count(CallKind::Copy),
            count(CallKind::Batch),
            count(CallKind::Move)
        ),
        (2, 4, 1)
    );
    // Each wait polls twice: once `notPublished`, once `published`.
    assert_eq!(count(CallKind::Task), 14);
    let batches: Vec<_> = calls
        .iter()
        .filter(|c| c.kind == CallKind::Batch)
        .map(|c| c.records)
        .collect();
    assert_eq!(batches, [3, 3, 3, 1]);
    let last = calls.last().unwrap();
    assert_eq!(
        (last.method.as_str(), last.path.as_str()),
        ("GET", "/1/indexes/p_tmp_1/task/7")
    );
    assert_eq!(calls[0].operation, Some(copy));
    assert_eq!(calls[0].path, "/1/indexes/p/operation");
    assert_eq!(calls[0].task_id, Some(copy1));
    assert!(
        calls
            .iter()
            .all(|c| c.status == 200 && !c.injected && c.server.is_none())
    );
}

#[tokio::test]
async fn index_names_are_percent_encoded_in_paths() {
    let fake = FakeAlgolia::new();
    batch(&fake, "my index/é", json!([])).await.unwrap();
    assert_eq!(fake.index_names(), ["my index/é"]);
    let call = &fake.calls()[0];
    assert_eq!(call.path, "/1/indexes/my%20index%2F%C3%A9/batch");
    assert_eq!(call.index.as_deref(), Some("my index/é"));
}

#[tokio::test(start_paused = true)]
async fn calls_wait_the_latency_and_beyond_the_concurrency_limit_get_a_429() {
    let fake = FakeAlgolia::builder()
        .latency(std::time::Duration::from_millis(100))
        .concurrency_limit(2)
        .build();
    let started = tokio::time::Instant::now();
    let calls = (0..3).map(|i| batch(&fake, "p", add(&[json!({"objectID": i.to_string()})])));
    let results = futures::future::join_all(calls).await;
    assert_eq!(started.elapsed(), std::time::Duration::from_millis(100));
    let refused: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(refused.len(), 1, "{results:?}");
    assert!(
        matches!(refused[0], AlgoliaError::Api { status: 429, message, .. } if message == TOO_MANY_JOBS),
        "{refused:?}"
    );
    assert_eq!(fake.record_count("p"), 2);
    assert_eq!((fake.peak_concurrency(), fake.throttled_calls()), (2, 1));
    let throttled = fake.calls().into_iter().filter(|c| c.status == 429).count();
    assert_eq!(throttled, 1);
    // The pace can change while the fake runs.
    fake.set_pace(Pace::default());
    assert_eq!(fake.pace(), Pace::default());
    let again = (0..3).map(|_| batch(&fake, "p", add(&[json!({"objectID": "x"})])));
    let results = futures::future::join_all(again).await;
    assert!(results.iter().all(Result::is_ok));
}

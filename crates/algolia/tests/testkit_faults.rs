//! The fake Algolia's fault plan, in memory: each fault kind, state left unchanged, random faults.

use std::time::Duration;

use bytes::Bytes;
use ingest_algolia::testkit::{CallKind, FakeAlgolia, Fault, Faults, Matcher, RandomFaults, When};
use ingest_algolia::{AlgoliaError, IndexingApi, Operation, Scope};
use serde_json::json;

fn one_record(id: &str) -> Bytes {
    let body = json!({"requests": [{"action": "addObject", "body": {"objectID": id}}]});
    Bytes::from(body.to_string())
}

fn seeded() -> FakeAlgolia {
    let fake = FakeAlgolia::new();
    fake.set_records("p", [json!({"objectID": "old"})]);
    fake.set_settings("p", json!({"a": 1}));
    fake
}

fn unchanged(fake: &FakeAlgolia) {
    assert_eq!(fake.index_names(), ["p"]);
    assert_eq!(fake.records("p").into_keys().collect::<Vec<_>>(), ["old"]);
    assert_eq!(fake.settings("p").unwrap(), json!({"a": 1}));
    assert_eq!(fake.last_task_id(), 0);
}

/// What an error must look like.
type Expected = fn(&AlgoliaError) -> bool;

#[tokio::test]
async fn each_fault_kind_answers_without_applying() {
    let stall = Duration::from_secs(30);
    let cases: [(Fault, Expected); 5] = [
        (
            Fault::status(400, "Record is too big"),
            |e| matches!(e, AlgoliaError::Api { status: 400, message, .. } if message == "Record is too big"),
        ),
        (
            Fault::status(503, "down"),
            |e| matches!(e, AlgoliaError::Unreachable { attempts: 1, last, .. } if last.contains("503")),
        ),
        (Fault::too_many_requests("7"), |e| e.status() == Some(429)),
        (
            Fault::stall(stall),
            |e| matches!(e, AlgoliaError::Unreachable { last, .. } if last.contains("timed out")),
        ),
        (
            Fault::Reset,
            |e| matches!(e, AlgoliaError::Unreachable { last, .. } if last.contains("reset")),
        ),
    ];
    for (fault, expected) in cases {
        let fake = seeded();
        fake.set_faults(Faults::new().on(Matcher::any(), When::Always, fault.clone()));
        let errors = [
            fake.batch("p", one_record("new"), true).await.unwrap_err(),
            fake.operation(
                "p",
                &Operation::Move {
                    destination: "q".into(),
                },
            )
            .await
            .unwrap_err(),
            fake.operation(
                "p",
                &Operation::Copy {
                    destination: "q".into(),
                    scope: vec![],
                },
            )
            .await
            .unwrap_err(),
            fake.delete_index("p").await.unwrap_err(),
            fake.task_status("p", 1).await.unwrap_err(),
        ];
        for error in &errors {
            assert!(expected(error), "{fault:?} gave {error:?}");
        }
        unchanged(&fake);
        let calls = fake.calls();
        assert_eq!(calls.len(), 5);
        assert!(
            calls
                .iter()
                .all(|c| c.injected && c.task_id.is_none() || c.kind == CallKind::Task)
        );
        assert_eq!(
            calls.iter().map(|c| c.kind).collect::<Vec<_>>(),
            [
                CallKind::Batch,
                CallKind::Move,
                CallKind::Copy,
                CallKind::DeleteIndex,
                CallKind::Task
            ]
        );
    }
}

#[tokio::test]
async fn stall_then_apply_applies_and_fails() {
    let fake = seeded();
    let fault = Fault::stall_then_apply(Duration::from_secs(30));
    fake.set_faults(Faults::new().on(CallKind::Batch, When::Nth(1), fault));
    let err = fake.batch("p", one_record("new"), true).await.unwrap_err();
    assert!(matches!(err, AlgoliaError::Unreachable { .. }));
    assert_eq!(fake.record_count("p"), 2);
    let call = &fake.calls()[0];
    assert!(call.injected);
    assert_eq!((call.status, call.task_id), (200, Some(1)));
}

#[tokio::test]
async fn nth_first_and_from_rules_count_matching_calls() {
    let fake = seeded();
    fake.set_faults(
        Faults::new()
            .on(CallKind::Batch, When::Nth(2), Fault::status(500, "second"))
            .on(
                Matcher::any().kind(CallKind::Copy).index("p"),
                When::First(1),
                Fault::Reset,
            )
            .on(
                Matcher::any().path("/1/indexes/p/task/1"),
                When::From(2),
                Fault::status(404, "gone"),
            ),
    );
    let mut statuses = vec![];
    for id in ["a", "b", "c"] {
        statuses.push(
            fake.batch("p", one_record(id), true)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
        );
    }
    assert!(statuses[0].is_ok() && statuses[2].is_ok());
    assert!(statuses[1].as_ref().unwrap_err().contains("second"));
    assert_eq!(
        fake.records("p").into_keys().collect::<Vec<_>>(),
        ["a", "c", "old"]
    );

    let copy = Operation::Copy {
        destination: "t".into(),
        scope: vec![Scope::Settings],
    };
    assert!(fake.operation("p", &copy).await.is_err());
    assert!(!fake.has_index("t"));
    fake.operation("p", &copy).await.unwrap();
    assert!(fake.has_index("t"));

    fake.task_status("p", 1).await.unwrap();
    assert_eq!(
        fake.task_status("p", 1).await.unwrap_err().status(),
        Some(404)
    );
    assert_eq!(
        fake.task_status("other", 1).await.map_err(|e| e.status()),
        Ok(ingest_algolia::TaskStatus::Published)
    );
    let plan = fake.faults();
    assert_eq!(
        plan.rules().iter().map(|r| r.seen()).collect::<Vec<_>>(),
        [3, 2, 2]
    );
    let injected: Vec<_> = fake.calls().iter().map(|c| c.injected).collect();
    assert_eq!(
        injected,
        [false, true, false, true, false, false, true, false]
    );
}

/// Pushes `n` records without objectID, retrying each refused batch; returns the statuses seen.
async fn push_with_retries(fake: &FakeAlgolia, n: usize) -> Vec<u16> {
    let body =
        Bytes::from(json!({"requests": [{"action": "addObject", "body": {"x": 1}}]}).to_string());
    for _ in 0..n {
        loop {
            match fake.batch("p", body.clone(), false).await {
                Ok(_) => break,
                Err(AlgoliaError::Api { status: 429, .. } | AlgoliaError::Unreachable { .. }) => {}
                Err(other) => panic!("{other}"),
            }
        }
    }
    fake.calls().iter().map(|c| c.status).collect()
}

#[tokio::test]
async fn random_faults_are_deterministic_and_never_applied() {
    let run = |seed| async move {
        let fake = FakeAlgolia::builder()
            .faults(Faults::new().random(seed, 0.2, 0.1))
            .build();
        let statuses = push_with_retries(&fake, 200).await;
        // A retrying client ends with every record exactly once, even without objectIDs.
        assert_eq!(fake.record_count("p"), 200);
        statuses
    };
    let first = run(42).await;
    assert_eq!(first, run(42).await);
    assert_ne!(first, run(7).await);
    let count = |status| first.iter().filter(|s| **s == status).count();
    assert_eq!(count(200), 200);
    let (errors, limits) = (count(500), count(429));
    let total = first.len() as f64;
    assert!(
        (0.1..0.3).contains(&(errors as f64 / total)),
        "{errors}/{total}"
    );
    assert!(
        (0.04..0.17).contains(&(limits as f64 / total)),
        "{limits}/{total}"
    );
}

#[tokio::test]
async fn random_faults_only_hit_batches_and_carry_retry_after() {
    let random = RandomFaults {
        retry_after: "3".into(),
        ..RandomFaults::new(1, 0.0, 1.0)
    };
    let fake = FakeAlgolia::builder()
        .faults(Faults::new().random_with(random))
        .build();
    let err = fake.batch("p", one_record("a"), true).await.unwrap_err();
    assert!(matches!(err, AlgoliaError::Api { status: 429, .. }));
    fake.operation(
        "p",
        &Operation::Copy {
            destination: "q".into(),
            scope: vec![],
        },
    )
    .await
    .unwrap();
    assert!(fake.has_index("q") && !fake.has_index("p"));
}

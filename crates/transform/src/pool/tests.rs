use super::*;

/// A record with this attribute makes the worker panic (tests only).
pub(super) fn panic_on_request(records: &[Record]) {
    if records
        .iter()
        .any(|record| record.contains_key("__panic_in_worker__"))
    {
        panic!("panic requested by the test");
    }
}

use serde_json::{Value, json};

use crate::{CodeContext, Emitted, compile_code, compile_no_code};

fn record(value: Value) -> Record {
    value.as_object().unwrap().clone()
}

fn code_pool(code: &str, threads: usize) -> TransformPool {
    let program = compile_code(code, &CodeContext::default()).unwrap();
    TransformPool::new(program.into(), threads).unwrap()
}

#[tokio::test]
async fn a_batch_split_across_threads_comes_back_in_order() {
    let pool = code_pool(
        "async function transform(record) {\n\
           await null;\n\
           if (record.i % 7 === 3) return null;\n\
           if (record.i % 5 === 1) throw new Error('no ' + record.i);\n\
           if (record.i % 11 === 2) return [{ objectID: record.objectID + 'a' }, { objectID: record.objectID + 'b' }];\n\
           return { ...record, doubled: record.i * 2 };\n\
         }",
        8,
    );
    let available = std::thread::available_parallelism().map_or(1, usize::from);
    assert_eq!(pool.threads(), available.min(8));
    let input: Vec<Record> = (0..101)
        .map(|i| record(json!({"objectID": format!("r{i}"), "i": i})))
        .collect();
    for _ in 0..2 {
        let outcomes = pool.transform_batch(input.clone()).await.unwrap();
        assert_eq!(outcomes.len(), input.len());
        for (i, outcome) in outcomes.into_iter().enumerate() {
            let id = format!("r{i}");
            let expected = if i % 7 == 3 {
                Outcome::Dropped
            } else if i % 5 == 1 {
                Outcome::Failed {
                    object_id: Some(id),
                    message: format!("Error: no {i} (line 4)"),
                }
            } else if i % 11 == 2 {
                Outcome::Records(vec![
                    record(json!({"objectID": format!("{id}a")})),
                    record(json!({"objectID": format!("{id}b")})),
                ])
            } else {
                Outcome::Records(vec![record(
                    json!({"objectID": id, "i": i, "doubled": i * 2}),
                )])
            };
            assert_eq!(outcome, expected, "record {i}");
        }
    }
}

#[tokio::test]
async fn small_and_empty_batches() {
    let pool = code_pool("function transform(record) { return record; }", 4);
    assert_eq!(pool.transform_batch(Vec::new()).await.unwrap(), Vec::new());
    let one = record(json!({"objectID": "1"}));
    assert_eq!(
        pool.transform_batch(vec![one.clone()]).await.unwrap(),
        vec![Outcome::Records(vec![one])]
    );
}

#[tokio::test]
async fn console_lines_of_every_worker_reach_the_pool_log() {
    let pool = code_pool(
        "function transform(record) { console.log('saw', record.objectID); }",
        2,
    );
    let input: Vec<Record> = (0..6)
        .map(|i| record(json!({"objectID": i.to_string()})))
        .collect();
    let outcomes = pool.transform_batch(input).await.unwrap();
    assert!(outcomes.iter().all(|outcome| *outcome == Outcome::Dropped));
    let mut lines: Vec<String> = pool
        .take_log()
        .lines
        .into_iter()
        .map(|line| line.message)
        .collect();
    lines.sort();
    assert_eq!(
        lines,
        (0..6).map(|i| format!("saw {i}")).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn a_panicking_worker_fails_the_batch_and_the_pool_goes_on() {
    let pool = code_pool("function transform(record) { return record; }", 2);
    let bad = vec![record(json!({"__panic_in_worker__": true}))];
    assert_eq!(
        pool.transform_batch(bad).await,
        Err(TransformError::WorkerPanicked)
    );
    let good = vec![record(json!({"objectID": "1"}))];
    assert_eq!(
        pool.transform_batch(good.clone()).await.unwrap(),
        vec![Outcome::Records(good)]
    );
}

#[tokio::test]
async fn a_no_code_program_runs_inline() {
    let steps = json!([
        {"type": "removeRecords", "when": {"attribute": "hidden", "operator": "eq", "value": true}},
        {"type": "addAttribute", "attribute": "seen", "value": {"fixed": true}},
    ]);
    let pool = TransformPool::new(compile_no_code(&steps).unwrap().into(), 4).unwrap();
    assert_eq!(pool.threads(), 0);
    let outcomes = pool
        .transform_batch(vec![
            record(json!({"objectID": "1", "hidden": true})),
            record(json!({"objectID": "2"})),
        ])
        .await
        .unwrap();
    assert_eq!(
        outcomes,
        vec![
            Outcome::Dropped,
            Outcome::Records(vec![record(json!({"objectID": "2", "seen": true}))]),
        ]
    );
    assert_eq!(pool.take_log(), ConsoleLog::default());
}

#[test]
fn the_pool_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<TransformPool>();
    assert_send_sync::<Program>();
}

fn json_records(count: usize) -> Vec<JsonRecord> {
    (0..count)
        .map(|i| JsonRecord {
            json: bytes::Bytes::from(json!({"objectID": format!("r{i}"), "i": i}).to_string()),
            object_id: Some(format!("r{i}")),
        })
        .collect()
}

fn emitted(value: Value) -> Emitted {
    Emitted {
        object_id: value["objectID"].as_str().map(str::to_owned),
        json: serde_json::to_vec(&value).unwrap(),
    }
}

#[tokio::test]
async fn json_batches_of_code_come_back_serialized_in_order() {
    let program = compile_code(
        "function transform(record) {\n\
           if (record.i === 1) return null;\n\
           if (record.i === 2) throw new Error('two');\n\
           if (record.i === 3) return [{ objectID: 'x' }, { objectID: 'y' }];\n\
           if (record.i === 4) { delete record.objectID; return record; }\n\
           if (record.i === 5) return { objectID: 'big', pad: 'p'.repeat(300) };\n\
           record.seen = true;\n\
           return record;\n\
         }",
        &CodeContext {
            limits: crate::Limits {
                max_record_bytes: 200,
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .unwrap();
    let pool = TransformPool::new(program.into(), 2).unwrap();
    let out = pool.transform_json_batch(json_records(7)).await.unwrap();
    assert_eq!(out.len(), 7);
    assert_eq!(
        out[0],
        Emission::Records(vec![emitted(
            json!({"objectID": "r0", "i": 0, "seen": true})
        )])
    );
    assert_eq!(out[1], Emission::Dropped);
    assert!(
        matches!(&out[2], Emission::Failed { object_id: Some(id), message }
        if id == "r2" && message.contains("two") && message.contains("line 3"))
    );
    assert_eq!(
        out[3],
        Emission::Records(vec![
            emitted(json!({"objectID": "x"})),
            emitted(json!({"objectID": "y"}))
        ])
    );
    // A single object that lost its objectID keeps the input's.
    assert_eq!(
        out[4],
        Emission::Records(vec![emitted(json!({"i": 4, "objectID": "r4"}))])
    );
    assert!(
        matches!(&out[5], Emission::Failed { message, .. } if message.contains("over the limit of 200 bytes"))
    );
    assert_eq!(
        out[6],
        Emission::Records(vec![emitted(
            json!({"objectID": "r6", "i": 6, "seen": true})
        )])
    );
}

#[tokio::test]
async fn json_batches_of_steps_run_on_the_workers() {
    let program = compile_no_code(&json!([
        {"type": "addAttribute", "attribute": "twice", "value": {"template": "{{i}}{{i}}"}},
        {"type": "removeRecords", "when": {"attribute": "i", "operator": "gt", "value": 60}},
    ]))
    .unwrap();
    let pool = TransformPool::new(program.into(), 4).unwrap();
    let mut input = json_records(64);
    input[1].json = bytes::Bytes::from_static(b"[1, 2]");
    let out = pool.transform_json_batch(input).await.unwrap();
    assert_eq!(out.len(), 64);
    assert_eq!(
        out[0],
        Emission::Records(vec![emitted(
            json!({"i": 0, "objectID": "r0", "twice": "00"})
        )])
    );
    assert!(
        matches!(&out[1], Emission::Failed { object_id: Some(id), message }
        if id == "r1" && message.contains("not a JSON object"))
    );
    assert_eq!(
        out[60],
        Emission::Records(vec![emitted(
            json!({"i": 60, "objectID": "r60", "twice": "6060"})
        )])
    );
    assert!(out[61..].iter().all(|e| *e == Emission::Dropped));
}

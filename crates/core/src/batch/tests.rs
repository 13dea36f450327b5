use proptest::prelude::*;
use serde_json::Value;

use super::*;

fn record(id: Option<&str>, json: &str) -> Record {
    Record::new(id.map(Arc::from), Bytes::copy_from_slice(json.as_bytes()))
}

fn drain(batcher: &mut Batcher, records: Vec<Record>) -> Vec<Batch> {
    let mut batches = Vec::new();
    for record in records {
        if let PushOutcome::Closed(batch) = batcher.push(record) {
            batches.push(batch);
        }
    }
    batches.extend(batcher.finish());
    batches
}

#[test]
fn body_is_the_exact_batch_request() {
    let mut batcher = Batcher::new(BatchAction::AddObject, BatchLimits::default());
    let batches = drain(
        &mut batcher,
        vec![
            record(Some("1"), r#"{"objectID":"1","a":1}"#),
            record(None, r#"{"b":"x"}"#),
        ],
    );
    assert_eq!(batches.len(), 1);
    assert_eq!(
        std::str::from_utf8(&batches[0].body).unwrap(),
        r#"{"requests":[{"action":"addObject","body":{"objectID":"1","a":1}},{"action":"addObject","body":{"b":"x"}}]}"#
    );
    assert_eq!(batches[0].record_json(1).unwrap(), &br#"{"b":"x"}"#[..]);
    assert!(!batches[0].all_have_object_ids());
}

#[test]
fn save_uses_partial_updates() {
    let mut batcher = Batcher::new(BatchAction::PartialUpdateObject, BatchLimits::default());
    let batches = drain(&mut batcher, vec![record(Some("7"), r#"{"objectID":"7"}"#)]);
    assert_eq!(
        std::str::from_utf8(&batches[0].body).unwrap(),
        r#"{"requests":[{"action":"partialUpdateObject","body":{"objectID":"7"}}]}"#
    );
    assert!(batches[0].all_have_object_ids());
}

#[test]
fn closes_at_the_record_count() {
    let limits = BatchLimits::new(2, 10_000, 100).unwrap();
    let mut batcher = Batcher::new(BatchAction::AddObject, limits);
    let records = (0..5)
        .map(|i| record(None, &format!(r#"{{"i":{i}}}"#)))
        .collect();
    let sizes: Vec<usize> = drain(&mut batcher, records)
        .iter()
        .map(Batch::len)
        .collect();
    assert_eq!(sizes, [2, 2, 1]);
}

#[test]
fn closes_before_the_byte_size_is_exceeded() {
    let json = r#"{"text":"0123456789"}"#;
    let one = BODY_PREFIX.len() + BatchAction::AddObject.entry_prefix().len() + json.len() + 1;
    let limits = BatchLimits::new(1000, one + BODY_SUFFIX.len() + 30, json.len()).unwrap();
    let mut batcher = Batcher::new(BatchAction::AddObject, limits);
    let batches = drain(&mut batcher, vec![record(None, json); 3]);
    assert_eq!(batches.len(), 3);
    for batch in &batches {
        assert!(batch.body.len() <= limits.max_bytes());
    }
}

#[test]
fn a_record_over_the_limit_is_refused_and_not_sent() {
    let limits = BatchLimits::new(1000, 10_000, 10).unwrap();
    let mut batcher = Batcher::new(BatchAction::AddObject, limits);
    assert_eq!(
        batcher.push(record(None, r#"{"a":"too long"}"#)),
        PushOutcome::TooBig {
            size: 16,
            limit: 10
        }
    );
    assert_eq!(batcher.pending(), 0);
    assert_eq!(batcher.finish(), None);
}

#[test]
fn limits_that_cannot_work_are_refused() {
    assert_eq!(
        BatchLimits::new(0, 100, 10),
        Err(BatchLimitsError::NoRecords)
    );
    assert_eq!(
        BatchLimits::new(1, 100, 1),
        Err(BatchLimitsError::RecordLimitTooSmall)
    );
    assert!(matches!(
        BatchLimits::new(1, 100, 100),
        Err(BatchLimitsError::BatchTooSmall { .. })
    ));
}

fn arb_record() -> impl Strategy<Value = Record> {
    (any::<Option<u16>>(), "[a-zA-Z0-9 é\"\\\\]{0,40}").prop_map(|(id, text)| {
        let mut object = serde_json::Map::new();
        if let Some(id) = id {
            object.insert("objectID".into(), Value::String(id.to_string()));
        }
        object.insert("text".into(), Value::String(text));
        let json = serde_json::to_vec(&object).unwrap();
        Record::new(id.map(|id| Arc::from(id.to_string())), Bytes::from(json))
    })
}

proptest! {
    #[test]
    fn never_loses_duplicates_reorders_or_exceeds(
        records in proptest::collection::vec(arb_record(), 0..200),
        max_records in 1usize..20,
        extra_bytes in 0usize..400,
    ) {
        let limits = BatchLimits::new(max_records, 200 + extra_bytes, 120).unwrap();
        let mut batcher = Batcher::new(BatchAction::AddObject, limits);
        let mut accepted = Vec::new();
        let mut batches = Vec::new();
        for record in records {
            match batcher.push(record.clone()) {
                PushOutcome::Buffered => accepted.push(record),
                PushOutcome::Closed(batch) => { accepted.push(record); batches.push(batch) }
                PushOutcome::TooBig { size, limit } => {
                    prop_assert!(size > limit);
                    prop_assert_eq!(size, record.json.len());
                }
            }
        }
        batches.extend(batcher.finish());
        let mut seen = Vec::new();
        for batch in &batches {
            prop_assert!(!batch.is_empty());
            prop_assert!(batch.len() <= max_records);
            prop_assert!(batch.body.len() <= limits.max_bytes());
            let body: Value = serde_json::from_slice(&batch.body).unwrap();
            let requests = body["requests"].as_array().unwrap();
            prop_assert_eq!(requests.len(), batch.len());
            for (i, request) in requests.iter().enumerate() {
                prop_assert_eq!(&request["action"], "addObject");
                let json = batch.record_json(i).unwrap();
                let from_body = serde_json::to_vec(&request["body"]).unwrap();
                prop_assert_eq!(&json[..], &from_body[..]);
                seen.push(Record::new(batch.entries[i].object_id.clone(), json));
            }
        }
        prop_assert_eq!(seen, accepted);
    }
}

//! JSON round trips: arrays (compact or pretty) and NDJSON bodies of arbitrary objects, fed to
//! `JsonDecoder` in chunks of any size, give back exactly those objects, byte for byte once
//! minified.

mod common;

use common::decode_in_chunks;
use ingest_connectors::{JsonDecoder, JsonOptions};
use proptest::prelude::*;
use serde_json::{Map, Value};

fn decoder() -> JsonDecoder {
    JsonDecoder::new(JsonOptions {
        unique_id_column: None,
        max_record_bytes: 1 << 20,
    })
}

fn text() -> impl Strategy<Value = String> {
    let special = prop::sample::select(vec![
        '"', '\\', '/', '\n', '\r', '\t', ' ', ',', ':', '[', ']', '{', '}', 'é', '🦀', '\u{0}',
        '\u{2028}',
    ]);
    prop::collection::vec(prop_oneof![2 => any::<char>(), 3 => special], 0..10)
        .prop_map(|chars| chars.into_iter().collect())
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON numbers are finite", |f| f.is_finite())
            .prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(text(), inner, 0..6)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

fn object() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map(text(), value(), 0..6)
        .prop_map(|members| members.into_iter().collect())
}

/// Chunk sizes to cycle through, empty chunks included.
fn chunk_sizes() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(prop_oneof![1 => Just(0usize), 6 => 1..64usize], 1..6)
        .prop_filter("some chunk is not empty", |sizes| {
            sizes.iter().any(|&size| size > 0)
        })
}

/// Checks that `body` decodes to `objects` whatever the chunking.
fn assert_round_trip(
    body: &[u8],
    objects: &[Map<String, Value>],
    sizes: &[usize],
) -> Result<(), TestCaseError> {
    let chunked = decode_in_chunks(decoder(), body, sizes);
    let whole = decode_in_chunks(decoder(), body, &[body.len().max(1)]);
    prop_assert_eq!(&chunked, &whole, "the chunk size changed the output");
    prop_assert_eq!(whole.len(), objects.len());
    for (item, object) in whole.iter().zip(objects) {
        let record = match item {
            Ok(record) => record,
            Err(error) => return Err(TestCaseError::fail(format!("{error:?}"))),
        };
        let minified = serde_json::to_string(object).unwrap();
        prop_assert_eq!(
            std::str::from_utf8(&record.json).unwrap(),
            minified.as_str()
        );
        let parsed: Value = serde_json::from_slice(&record.json).unwrap();
        prop_assert_eq!(parsed, serde_json::from_str::<Value>(&minified).unwrap());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arrays_give_back_their_objects(
        objects in prop::collection::vec(object(), 0..6),
        pretty in any::<bool>(),
        sizes in chunk_sizes(),
    ) {
        let body = if pretty {
            serde_json::to_vec_pretty(&objects).unwrap()
        } else {
            serde_json::to_vec(&objects).unwrap()
        };
        assert_round_trip(&body, &objects, &sizes)?;
    }

    #[test]
    fn ndjson_gives_back_its_objects(
        lines in prop::collection::vec((object(), any::<bool>(), 0..3usize), 0..6),
        sizes in chunk_sizes(),
    ) {
        let mut body = Vec::new();
        for (object, crlf, blank_lines) in &lines {
            body.extend(serde_json::to_vec(object).unwrap());
            body.extend_from_slice(if *crlf { b"\r\n" } else { b"\n" });
            for _ in 0..*blank_lines {
                body.extend_from_slice(b"  \n");
            }
        }
        let objects: Vec<_> = lines.into_iter().map(|(object, ..)| object).collect();
        assert_round_trip(&body, &objects, &sizes)?;
    }
}

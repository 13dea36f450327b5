//! Arbitrary bytes fed to the decoders in arbitrary chunks: no panic, every record is a valid
//! JSON object, a fatal error is the last item, and the chunking never changes the output.

mod common;

use std::collections::HashMap;

use common::decode_in_chunks;
use ingest_connectors::{CsvDecoder, CsvOptions, JsonDecoder, JsonOptions, RecordDecoder};
use ingest_core::{SourceItemError, SourceResult};
use ingest_model::MappingTypeCsv;
use proptest::prelude::*;
use serde::de::IgnoredAny;

/// Bytes biased towards what the parsers care about (structure, BOM, invalid UTF-8).
fn soup() -> impl Strategy<Value = Vec<u8>> {
    let interesting =
        prop::sample::select(b"[]{}\",:;\\ \n\r\t01-+.eEtrufalsn\xEF\xBB\xBF\xFF\xC3\xA9".to_vec());
    let prefix = prop::sample::select(vec![
        &b""[..],
        b"[",
        b"{",
        b"[{\"a\":",
        b"a,b\n",
        b"\xEF\xBB\xBF",
    ]);
    (
        prefix,
        prop::collection::vec(prop_oneof![1 => any::<u8>(), 4 => interesting], 0..300),
    )
        .prop_map(|(prefix, rest)| [prefix, &rest[..]].concat())
}

fn chunk_sizes() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(prop_oneof![1 => Just(0usize), 6 => 1..32usize], 1..6)
        .prop_filter("some chunk is not empty", |sizes| {
            sizes.iter().any(|&size| size > 0)
        })
}

fn check<D: RecordDecoder>(
    make: impl Fn() -> D,
    input: &[u8],
    sizes: &[usize],
) -> Result<(), TestCaseError> {
    let chunked = decode_in_chunks(make(), input, sizes);
    let whole = decode_in_chunks(make(), input, &[input.len().max(1)]);
    prop_assert_eq!(&chunked, &whole, "the chunk size changed the output");
    check_items(&whole)
}

fn check_items(items: &[SourceResult]) -> Result<(), TestCaseError> {
    for (i, item) in items.iter().enumerate() {
        match item {
            Ok(record) => {
                prop_assert!(
                    std::str::from_utf8(&record.json).is_ok(),
                    "a record is not UTF-8"
                );
                // Values are skipped, not built: records may nest up to 128 levels.
                let parsed = serde_json::from_slice::<HashMap<String, IgnoredAny>>(&record.json);
                prop_assert!(
                    parsed.is_ok(),
                    "not a JSON object: {:?} ({:?})",
                    String::from_utf8_lossy(&record.json),
                    parsed.err()
                );
            }
            Err(SourceItemError::Fatal(_)) => {
                prop_assert_eq!(i + 1, items.len(), "items after a fatal error");
            }
            Err(SourceItemError::Rejected(_)) => {}
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn json_soup(input in soup(), sizes in chunk_sizes(), unique_id in any::<bool>()) {
        let make = || {
            JsonDecoder::new(JsonOptions {
                unique_id_column: unique_id.then(|| "a".to_owned()),
                max_record_bytes: 64,
            })
        };
        check(make, &input, &sizes)?;
    }

    #[test]
    fn csv_soup(input in soup(), sizes in chunk_sizes(), delimiter in prop::sample::select(vec![b',', b';', b'\t'])) {
        let make = || {
            CsvDecoder::new(CsvOptions {
                delimiter,
                mapping: Default::default(),
                unique_id_column: None,
                max_record_bytes: 64,
            })
        };
        check(make, &input, &sizes)?;
    }

    #[test]
    fn typed_csv_soup(rows in soup(), sizes in chunk_sizes()) {
        let input = [&b"a,b,c\n"[..], &rows].concat();
        let make = || {
            CsvDecoder::new(CsvOptions {
                delimiter: b',',
                mapping: [
                    ("a".to_owned(), MappingTypeCsv::Json),
                    ("b".to_owned(), MappingTypeCsv::Float),
                    ("c".to_owned(), MappingTypeCsv::Boolean),
                ]
                .into(),
                unique_id_column: Some("c".to_owned()),
                max_record_bytes: 64,
            })
        };
        check(make, &input, &sizes)?;
    }
}

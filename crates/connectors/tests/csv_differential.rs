//! `CsvDecoder` splits rows exactly as the `csv` crate (`csv-core`) reads them: any bytes,
//! malformed quoting included, fed in chunks of any size, give the rows `csv` gives, each either
//! a record `{header: field}` (with its `objectID` when a `uniqueIDColumn` is set) or a
//! rejection at the same row number.

mod common;

use common::decode_in_chunks;
use ingest_connectors::{CsvDecoder, CsvOptions};
use ingest_core::{Position, SourceItemError};
use proptest::prelude::*;
use serde_json::{Map, Value};

const HEADER: [&str; 3] = ["a", "b", "c"];

/// Bytes rich in what CSV treats specially: quotes, delimiters, line breaks, and the halves of
/// multi-byte characters.
fn soup() -> impl Strategy<Value = Vec<u8>> {
    let pieces = prop::sample::select(vec![
        &b"\""[..],
        b"\"\"",
        b",",
        b";",
        b"\t",
        b"\n",
        b"\r",
        b"\r\n",
        b" ",
        b"x",
        b"yz",
        "é".as_bytes(),
        b"\xC3",
        b"\xA9",
        b"\xFF",
        b"\\",
    ]);
    prop::collection::vec(pieces, 0..60).prop_map(|pieces| pieces.concat())
}

/// What the `csv` crate expects of each data row: the record or the rejected row's number.
/// With `unique_id` (an index into [`HEADER`]), that column's text is the `objectID`.
fn expected(input: &[u8], delimiter: u8, unique_id: Option<usize>) -> Vec<Result<Value, u64>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(input);
    let mut rows = Vec::new();
    let mut record = csv::ByteRecord::new();
    let mut row = 0;
    while reader.read_byte_record(&mut record).unwrap() {
        row += 1;
        if row == 1 {
            continue;
        }
        let fields: Option<Vec<&str>> = record
            .iter()
            .map(|field| std::str::from_utf8(field).ok())
            .collect();
        rows.push(match fields {
            Some(fields)
                if fields.len() == HEADER.len()
                    && unique_id.is_none_or(|id| !fields[id].is_empty()) =>
            {
                let mut object: Map<String, Value> = HEADER
                    .iter()
                    .zip(&fields)
                    .map(|(name, field)| (name.to_string(), Value::from(*field)))
                    .collect();
                if let Some(id) = unique_id {
                    object.insert("objectID".to_owned(), Value::from(fields[id]));
                }
                Ok(Value::Object(object))
            }
            _ => Err(row),
        });
    }
    rows
}

fn decoded(
    input: &[u8],
    delimiter: u8,
    unique_id: Option<usize>,
    sizes: &[usize],
) -> Vec<Result<Value, u64>> {
    let decoder = CsvDecoder::new(CsvOptions {
        delimiter,
        mapping: Default::default(),
        unique_id_column: unique_id.map(|id| HEADER[id].to_owned()),
        max_record_bytes: 1 << 20,
    });
    decode_in_chunks(decoder, input, sizes)
        .into_iter()
        .map(|item| match item {
            Ok(record) => Ok(serde_json::from_slice(&record.json).unwrap()),
            Err(SourceItemError::Rejected(rejection)) => match rejection.position {
                Position::Row(row) => Err(row),
                other => panic!("a CSV rejection at {other}"),
            },
            Err(SourceItemError::Fatal(error)) => panic!("fatal: {error}"),
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn rows_split_as_csv_core_splits_them(
        body in soup(),
        delimiter in prop::sample::select(vec![b',', b';', b'\t', b'"']),
        sizes in prop::collection::vec(0usize..9, 1..5),
        crlf_header in any::<bool>(),
        unique_id in prop::option::of(0..HEADER.len()),
    ) {
        prop_assume!(sizes.iter().any(|&size| size > 0));
        let separator = char::from(delimiter).to_string();
        let mut input = HEADER.join(&separator).into_bytes();
        input.extend_from_slice(if crlf_header { b"\r\n" } else { b"\n" });
        input.extend_from_slice(&body);
        let expected = expected(&input, delimiter, unique_id);
        let in_chunks = decoded(&input, delimiter, unique_id, &sizes);
        prop_assert_eq!(in_chunks, expected.clone(), "in chunks");
        let whole = decoded(&input, delimiter, unique_id, &[input.len()]);
        prop_assert_eq!(whole, expected, "whole");
    }
}

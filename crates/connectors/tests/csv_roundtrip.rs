//! CSV round trips: tables written by the `csv` crate, with any delimiter the API allows and
//! cells holding quotes, delimiters, line breaks and any Unicode, read back by `CsvDecoder` fed in
//! chunks of any size, give one record per row equal to `{header: cell}`.

mod common;

use std::collections::BTreeSet;

use common::decode_in_chunks;
use ingest_connectors::{CsvDecoder, CsvOptions};
use proptest::prelude::*;
use serde_json::{Map, Value};

fn options(delimiter: u8) -> CsvOptions {
    CsvOptions {
        delimiter,
        mapping: Default::default(),
        unique_id_column: None,
        max_record_bytes: 1 << 20,
    }
}

/// Text rich in what CSV must quote, and in multi-byte characters.
fn text(max: usize) -> impl Strategy<Value = String> {
    let special = prop::sample::select(vec![
        '"', ',', ';', '\t', '|', '\r', '\n', ' ', '\\', '\'', 'é', '漢', '🦀', '\u{0}', '\u{feff}',
    ]);
    prop::collection::vec(prop_oneof![2 => any::<char>(), 3 => special], 0..max)
        .prop_map(|chars| chars.into_iter().collect())
}

/// Unique, non-empty header names (none starting with U+FEFF, which would read as a BOM when
/// first), in any order.
fn headers() -> impl Strategy<Value = Vec<String>> {
    prop::collection::btree_set(
        text(8).prop_filter("a header name is not empty and not a BOM", |name| {
            !name.is_empty() && !name.starts_with('\u{feff}')
        }),
        1..6,
    )
    .prop_map(|names: BTreeSet<String>| names.into_iter().collect::<Vec<_>>())
    .prop_shuffle()
}

fn table() -> impl Strategy<Value = (Vec<String>, Vec<Vec<String>>)> {
    headers().prop_flat_map(|headers| {
        let columns = headers.len();
        let rows = prop::collection::vec(prop::collection::vec(text(12), columns), 0..8);
        (Just(headers), rows)
    })
}

fn write_csv(headers: &[String], rows: &[Vec<String>], delimiter: u8, crlf: bool) -> Vec<u8> {
    let terminator = if crlf {
        csv::Terminator::CRLF
    } else {
        csv::Terminator::Any(b'\n')
    };
    let mut writer = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .terminator(terminator)
        .from_writer(Vec::new());
    writer.write_record(headers).unwrap();
    for row in rows {
        writer.write_record(row).unwrap();
    }
    writer.into_inner().unwrap()
}

/// Chunk sizes to cycle through, empty chunks included.
fn chunk_sizes() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(prop_oneof![1 => Just(0usize), 6 => 1..64usize], 1..6)
        .prop_filter("some chunk is not empty", |sizes| {
            sizes.iter().any(|&size| size > 0)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_row_comes_back_as_its_object(
        (headers, rows) in table(),
        delimiter in prop::sample::select(vec![b',', b';', b'\t', b'|']),
        crlf in any::<bool>(),
        sizes in chunk_sizes(),
    ) {
        let body = write_csv(&headers, &rows, delimiter, crlf);
        let chunked = decode_in_chunks(CsvDecoder::new(options(delimiter)), &body, &sizes);
        let whole = decode_in_chunks(CsvDecoder::new(options(delimiter)), &body, &[body.len().max(1)]);
        prop_assert_eq!(&chunked, &whole, "the chunk size changed the output");
        let one_byte = decode_in_chunks(CsvDecoder::new(options(delimiter)), &body, &[1]);
        prop_assert_eq!(&one_byte, &whole, "one-byte chunks changed the output");

        prop_assert_eq!(whole.len(), rows.len());
        for (item, row) in whole.iter().zip(&rows) {
            let record = match item {
                Ok(record) => record,
                Err(error) => return Err(TestCaseError::fail(format!("{error:?}"))),
            };
            let actual: Value = serde_json::from_slice(&record.json).unwrap();
            let expected: Map<String, Value> = headers
                .iter()
                .cloned()
                .zip(row.iter().cloned().map(Value::String))
                .collect();
            prop_assert_eq!(actual, Value::Object(expected));
        }
    }
}

#[test]
fn a_bom_split_across_chunks_is_stripped() {
    let body = b"\xEF\xBB\xBFa,b\n1,2\n";
    let whole = decode_in_chunks(CsvDecoder::new(options(b',')), body, &[body.len()]);
    assert_eq!(whole.len(), 1);
    assert_eq!(
        &whole[0].as_ref().unwrap().json[..],
        br#"{"a":"1","b":"2"}"#
    );
    for size in 1..=3 {
        let chunked = decode_in_chunks(CsvDecoder::new(options(b',')), body, &[size]);
        assert_eq!(chunked, whole, "chunks of {size} bytes");
    }
}

#[test]
fn an_empty_chunk_inside_a_row_does_not_end_it() {
    let body = b"a,b
1,2
";
    let whole = decode_in_chunks(CsvDecoder::new(options(b',')), body, &[body.len()]);
    for split in 0..=body.len() {
        let sizes = [split.max(1), 0, body.len()];
        let chunked = decode_in_chunks(CsvDecoder::new(options(b',')), body, &sizes);
        assert_eq!(chunked, whole, "an empty chunk after {split} bytes");
    }
}

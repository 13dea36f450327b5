//! Golden files: each case directory under `tests/golden/{csv,json}/` holds an input file, the
//! source `input` object (`source.json`, whose `url` names the input relative to the case
//! directory) and the expected stream (`expected.jsonl`), one line per item:
//!
//! - `{"record":<the record's JSON, byte for byte>,"objectID":"…"|null}`
//! - `{"rejected":{"position":"row 3","objectID":"…"|null,"reason":"…"}}`
//! - `{"fatal":"message"}`
//!
//! An optional `context.json` (`{"maxRecordBytes": 64}`) changes the record limit.
//!
//! The expected files are the specification (`docs/connectors.md` 1), not snapshots: `UPDATE_GOLDEN=1`
//! rewrites them from what the code does, and every rewritten file must then be read and checked
//! against the rules by hand.

use std::fmt;
use std::path::{Path, PathBuf};

use futures::StreamExt;
use ingest_connectors::http::url_policy::UrlPolicy;
use ingest_connectors::http::{HttpSettings, SourceHttpClient};
use ingest_connectors::{SourceContext, build_source};
use ingest_core::{SourceItemError, SourceResult};
use ingest_model::{SourceInput, SourceType};
use serde::Deserializer as _;
use serde::de::{IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

const DEFAULT_MAX_RECORD_BYTES: usize = 100 * 1024;

macro_rules! golden {
    ($($name:ident => $case:literal,)*) => {
        $(
            #[tokio::test]
            async fn $name() {
                run_case($case).await;
            }
        )*
        const CASES: &[&str] = &[$($case),*];
    };
}

golden! {
    csv_mapping_types => "csv/mapping_types",
    csv_coercion_failures => "csv/coercion_failures",
    csv_empty_typed_cells => "csv/empty_typed_cells",
    csv_unique_id => "csv/unique_id",
    csv_object_id_column => "csv/object_id_column",
    csv_unique_id_with_object_id_column => "csv/unique_id_with_object_id_column",
    csv_mapping_names_no_column => "csv/mapping_names_no_column",
    csv_unique_id_not_in_header => "csv/unique_id_not_in_header",
    csv_duplicate_header => "csv/duplicate_header",
    csv_empty_header => "csv/empty_header",
    csv_bom_crlf => "csv/bom_crlf",
    csv_blank_lines => "csv/blank_lines",
    csv_quoted_fields => "csv/quoted_fields",
    csv_tab_delimiter => "csv/tab_delimiter",
    csv_semicolon_delimiter => "csv/semicolon_delimiter",
    csv_field_count => "csv/field_count",
    csv_invalid_utf8 => "csv/invalid_utf8",
    csv_gzip => "csv/gzip",
    csv_record_too_big => "csv/record_too_big",
    csv_json_cell_nesting => "csv/json_cell_nesting",
    json_array => "json/array",
    json_pretty => "json/pretty",
    json_ndjson => "json/ndjson",
    json_ndjson_rejections => "json/ndjson_rejections",
    json_bom => "json/bom",
    json_not_objects => "json/not_objects",
    json_invalid_elements => "json/invalid_elements",
    json_truncated => "json/truncated",
    json_truncated_after_comma => "json/truncated_after_comma",
    json_garbage_after_array => "json/garbage_after_array",
    json_trailing_comma => "json/trailing_comma",
    json_empty_array => "json/empty_array",
    json_unique_id => "json/unique_id",
    json_existing_object_id => "json/existing_object_id",
    json_deep_nesting => "json/deep_nesting",
    json_deep_nesting_ndjson => "json/deep_nesting_ndjson",
    json_nesting_limit => "json/nesting_limit",
    json_record_too_big => "json/record_too_big",
    json_gzip => "json/gzip",
}

fn golden_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    serde_json::from_slice(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

async fn run_case(case: &str) {
    let dir = golden_root().join(case);
    let source_type = match case.split('/').next() {
        Some("csv") => SourceType::Csv,
        Some("json") => SourceType::Json,
        _ => panic!("{case}: cases live under csv/ or json/"),
    };
    let input = SourceInput::parse(source_type, &read_json(&dir.join("source.json")))
        .unwrap_or_else(|error| panic!("{case}/source.json: {error}"));
    let context_file = dir.join("context.json");
    let max_record_bytes = if context_file.exists() {
        let context = read_json(&context_file);
        let limit = context["maxRecordBytes"].as_u64().expect("maxRecordBytes");
        usize::try_from(limit).expect("maxRecordBytes fits")
    } else {
        DEFAULT_MAX_RECORD_BYTES
    };
    let context = SourceContext {
        http: SourceHttpClient::new(UrlPolicy::default(), HttpSettings::default()).unwrap(),
        max_record_bytes,
        local_files: Some(dir.clone()),
        events: None,
        endpoints: ingest_connectors::Endpoints::default(),
        window: None,
        trigger_event: None,
    };
    let source = build_source(&input, None, &context)
        .unwrap_or_else(|error| panic!("{case}: build_source: {error}"));
    let items: Vec<SourceResult> = source.records().collect().await;
    if let Some(fatal) = items
        .iter()
        .position(|item| matches!(item, Err(SourceItemError::Fatal(_))))
    {
        assert_eq!(fatal + 1, items.len(), "{case}: items after a fatal error");
    }
    let actual: Vec<String> = items.iter().map(|item| render(case, item)).collect();

    let expected_file = dir.join("expected.jsonl");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        let mut text = actual.join("\n");
        if !text.is_empty() {
            text.push('\n');
        }
        std::fs::write(&expected_file, text).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&expected_file).unwrap_or_else(|error| {
        panic!("{case}: {error} (run with UPDATE_GOLDEN=1, then check the file by hand)")
    });
    let expected: Vec<&str> = expected.lines().collect();
    for (i, (actual, expected)) in actual.iter().zip(&expected).enumerate() {
        assert_eq!(
            actual,
            expected,
            "{case}/expected.jsonl line {}: the stream differs",
            i + 1
        );
    }
    assert_eq!(
        actual.len(),
        expected.len(),
        "{case}: {} items streamed, {} expected",
        actual.len(),
        expected.len()
    );
}

/// One item as an `expected.jsonl` line; also checks that a record is a JSON object whose
/// `objectID` attribute agrees with the record's `object_id`.
fn render(case: &str, item: &SourceResult) -> String {
    let string = |text: &str| serde_json::to_string(text).unwrap();
    match item {
        Ok(record) => {
            let json = std::str::from_utf8(&record.json)
                .unwrap_or_else(|_| panic!("{case}: a record is not UTF-8"));
            let attribute = object_id_attribute(json)
                .unwrap_or_else(|error| panic!("{case}: a record is not a JSON object: {error}"));
            if let Some(id) = &record.object_id {
                assert_eq!(
                    attribute.as_deref(),
                    Some(&**id),
                    "{case}: objectID attribute differs from the record's object_id in {json}"
                );
            }
            let object_id = record
                .object_id
                .as_deref()
                .map_or("null".to_owned(), string);
            format!(r#"{{"record":{json},"objectID":{object_id}}}"#)
        }
        Err(SourceItemError::Rejected(rejection)) => {
            let object_id = rejection
                .object_id
                .as_deref()
                .map_or("null".to_owned(), string);
            format!(
                r#"{{"rejected":{{"position":{},"objectID":{object_id},"reason":{}}}}}"#,
                string(&rejection.position.to_string()),
                string(&rejection.reason)
            )
        }
        Err(SourceItemError::Fatal(error)) => format!(r#"{{"fatal":{}}}"#, string(error.message())),
    }
}

/// The `objectID` attribute of a record (a string, or a number as text), read without building
/// the whole record: records may nest deeper than `serde_json::Value` accepts.
fn object_id_attribute(json: &str) -> Result<Option<String>, serde_json::Error> {
    struct TopLevel;

    impl<'de> Visitor<'de> for TopLevel {
        type Value = Option<String>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut id = None;
            while let Some(key) = map.next_key::<String>()? {
                if key == "objectID" {
                    id = match map.next_value::<Value>()? {
                        Value::String(text) => Some(text),
                        Value::Number(number) => Some(number.to_string()),
                        _ => None,
                    };
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(id)
        }
    }

    let mut deserializer = serde_json::Deserializer::from_str(json);
    let id = deserializer.deserialize_map(TopLevel)?;
    deserializer.end()?;
    Ok(id)
}

#[test]
fn every_case_directory_is_listed() {
    for kind in ["csv", "json"] {
        for entry in std::fs::read_dir(golden_root().join(kind)).unwrap() {
            let entry = entry.unwrap();
            if !entry.file_type().unwrap().is_dir() {
                continue;
            }
            let case = format!("{kind}/{}", entry.file_name().to_string_lossy());
            assert!(
                CASES.contains(&case.as_str()),
                "{case} has no test in tests/golden.rs"
            );
        }
    }
}

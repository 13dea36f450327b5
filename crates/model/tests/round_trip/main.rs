//! Serialize → parse → equal for every resource, with the exact JSON checked against literals.

use std::collections::BTreeMap;
use std::fmt::Debug;

use ingest_model::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

const T0: &str = "2023-07-01T12:00:00.000Z";
const T1: &str = "2023-07-02T08:30:00.000Z";

/// `value` serializes to exactly `expected`, and parses back (from a value and from bytes).
fn round_trip<T>(value: &T, expected: Value)
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let json = serde_json::to_value(value).expect("serialize");
    assert_eq!(json, expected);
    assert_eq!(&from_value::<T>(&json).expect("parse value"), value);
    let bytes = serde_json::to_vec(value).expect("serialize bytes");
    assert_eq!(&from_slice::<T>(&bytes).expect("parse bytes"), value);
}

fn text<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("serialize")
}

fn csv_input() -> SourceCsv {
    SourceCsv {
        url: "https://example.com/products.csv".into(),
        unique_id_column: Some("sku".into()),
        mapping: BTreeMap::from([
            ("price".to_owned(), MappingTypeCsv::Float),
            ("stock".to_owned(), MappingTypeCsv::Integer),
        ]),
        method: Some(MethodType::Post),
        delimiter: Some(";".into()),
    }
}

fn source(input: SourceInput) -> Source {
    Source {
        source_id: "a0000000-0000-4000-8000-000000000001".into(),
        source_type: input.source_type(),
        name: "products".into(),
        input,
        authentication_id: Some("a0000000-0000-4000-8000-000000000002".into()),
        created_at: T0.into(),
        updated_at: T1.into(),
    }
}

mod resources;
mod runs;
mod sources;

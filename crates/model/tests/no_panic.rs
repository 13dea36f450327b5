//! Arbitrary JSON never panics any parser: it is accepted or refused with a `ValidationError`.

use ingest_model::*;
use proptest::prelude::*;
use serde_json::{Map, Value};

/// JSON values biased towards the API's field names, so parsers get past the first field.
fn json_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("type".to_owned()),
        Just("name".to_owned()),
        Just("input".to_owned()),
        Just("url".to_owned()),
        Just("delimiter".to_owned()),
        Just("locales".to_owned()),
        Just("trigger".to_owned()),
        Just("cron".to_owned()),
        Just("timeframe".to_owned()),
        Just("startDate".to_owned()),
        Just("endDate".to_owned()),
        Just("indexName".to_owned()),
        Just("indexPrefix".to_owned()),
        Just("failureThreshold".to_owned()),
        Just("code".to_owned()),
        Just("steps".to_owned()),
        Just("sampleRecord".to_owned()),
        ".{0,4}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop_oneof![
            Just("csv".to_owned()),
            Just("schedule".to_owned()),
            Just("2023-07-01T00:00:00Z".to_owned()),
            ".{0,3}",
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn try_all(v: &Value) {
    let _ = from_value::<SourceCreate>(v);
    let _ = from_value::<SourceUpdate>(v);
    let _ = from_value::<Source>(v);
    let _ = from_value::<AuthenticationCreate>(v);
    let _ = from_value::<AuthenticationUpdate>(v);
    let _ = from_value::<DestinationCreate>(v);
    let _ = from_value::<DestinationUpdate>(v);
    let _ = from_value::<TaskCreate>(v);
    let _ = from_value::<TaskUpdate>(v);
    let _ = from_value::<Task>(v);
    let _ = from_value::<TaskInput>(v);
    let _ = from_value::<TransformationCreate>(v);
    let _ = from_value::<TransformationTry>(v);
    let _ = from_value::<Transformation>(v);
    for kind in SourceType::ALL {
        let _ = SourceInput::parse(*kind, v);
        let _ = SourceUpdateInput::parse(*kind, v);
    }
    for kind in AuthenticationType::ALL {
        let _ = AuthInput::parse(*kind, v);
        let _ = AuthInput::parse_update(*kind, v, None);
    }
    let _ = from_slice::<TaskCreate>(v.to_string().as_bytes());
}

proptest! {
    #[test]
    fn parsers_never_panic(v in json_value()) {
        try_all(&v);
        let wrapped = serde_json::json!({"type": "csv", "name": "n", "input": v});
        try_all(&wrapped);
    }

    #[test]
    fn bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = from_slice::<SourceCreate>(&bytes);
        let _ = from_slice::<TaskCreate>(&bytes);
    }
}

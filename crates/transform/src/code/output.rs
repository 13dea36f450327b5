//! What a `transform` call returned (as JSON text) → the record's [`Outcome`].

use serde_json::Value;

use crate::outcome::{Outcome, Record, object_id_of};

/// Classifies the JSON text of the returned object or array. `input_id` is the input record's
/// `objectID` value, given back to a single object that lost its own.
pub(crate) fn classify(json: &str, input_id: Option<&Value>, object_id: Option<String>) -> Outcome {
    let fail = |message: String| Outcome::Failed {
        object_id: object_id.clone(),
        message,
    };
    let value: Value = match serde_json::from_str(json) {
        Ok(value) => value,
        Err(error) => return fail(format!("the returned value is not valid JSON: {error}")),
    };
    match value {
        Value::Null => Outcome::Dropped,
        Value::Object(mut record) => {
            if let Some(id) = input_id
                && record.get("objectID").is_none_or(Value::is_null)
            {
                record.insert("objectID".to_owned(), id.clone());
            }
            Outcome::Records(vec![record])
        }
        Value::Array(items) if items.is_empty() => Outcome::Dropped,
        Value::Array(items) => {
            let mut records: Vec<Record> = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                match item {
                    Value::Object(record) if object_id_of(&record).is_some() => {
                        records.push(record);
                    }
                    Value::Object(_) => {
                        return fail(format!(
                            "element {i} of the returned array has no objectID (each record of a \
                             split needs one)"
                        ));
                    }
                    other => {
                        return fail(format!(
                            "element {i} of the returned array is {}, not an object",
                            kind(&other)
                        ));
                    }
                }
            }
            Outcome::Records(records)
        }
        other => fail(format!(
            "transform returned {}; expected an object, an array of objects, undefined or null",
            kind(&other)
        )),
    }
}

/// "a string", "a number", … for messages.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn records(outcome: Outcome) -> Vec<Value> {
        match outcome {
            Outcome::Records(records) => records.into_iter().map(Value::Object).collect(),
            other => panic!("expected records, got {other:?}"),
        }
    }

    #[test]
    fn a_single_object_keeps_the_input_object_id_when_it_lost_it() {
        let id = json!("in");
        let out = classify(r#"{"a":1}"#, Some(&id), Some("in".into()));
        assert_eq!(records(out), vec![json!({"a": 1, "objectID": "in"})]);
        let out = classify(r#"{"a":1,"objectID":null}"#, Some(&id), None);
        assert_eq!(records(out), vec![json!({"a": 1, "objectID": "in"})]);
        let out = classify(r#"{"objectID":"new"}"#, Some(&id), None);
        assert_eq!(records(out), vec![json!({"objectID": "new"})]);
        let out = classify(r#"{"a":1}"#, None, None);
        assert_eq!(records(out), vec![json!({"a": 1})]);
    }

    #[test]
    fn arrays_split_and_every_element_needs_an_object_id() {
        let out = classify(r#"[{"objectID":"a"},{"objectID":2}]"#, None, None);
        assert_eq!(
            records(out),
            vec![json!({"objectID": "a"}), json!({"objectID": 2})]
        );
        assert_eq!(classify("[]", None, None), Outcome::Dropped);
        assert_eq!(classify("null", None, None), Outcome::Dropped);
        assert_eq!(
            classify(r#"[{"objectID":"a"},{"x":1}]"#, None, Some("in".into())),
            Outcome::Failed {
                object_id: Some("in".into()),
                message: "element 1 of the returned array has no objectID (each record of a \
                          split needs one)"
                    .into()
            }
        );
        assert_eq!(
            classify(r#"[{"objectID":"a"},3]"#, None, None),
            Outcome::Failed {
                object_id: None,
                message: "element 1 of the returned array is a number, not an object".into()
            }
        );
        assert!(matches!(classify("3", None, None), Outcome::Failed { .. }));
        assert!(matches!(classify("{", None, None), Outcome::Failed { .. }));
    }
}

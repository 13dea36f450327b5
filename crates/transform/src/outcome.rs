//! What transforming one record gives, and the checks shared by both kinds of transformation.

use serde_json::{Map, Value};

/// A record: a JSON object.
pub type Record = Map<String, Value>;

/// What became of one input record.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The record(s) to write: one, or several when the transformation split the record.
    Records(Vec<Record>),
    /// The transformation dropped the record (counted as dropped, not failed).
    Dropped,
    /// The record failed; the message says why (with the line for a JavaScript error).
    Failed {
        /// The input record's `objectID`, when it had one.
        object_id: Option<String>,
        /// Why it failed.
        message: String,
    },
}

/// The `objectID` of a record as text: a string as it is, a number written out; `None` when it
/// is absent or of another kind.
pub fn object_id_of(record: &Record) -> Option<String> {
    match record.get("objectID")? {
        Value::String(id) => Some(id.clone()),
        Value::Number(id) => Some(id.to_string()),
        _ => None,
    }
}

/// Fails the outcome when one of its records serializes to more than `max_bytes` bytes.
pub fn enforce_record_size(outcome: Outcome, object_id: Option<&str>, max_bytes: usize) -> Outcome {
    let Outcome::Records(records) = &outcome else {
        return outcome;
    };
    for record in records {
        let bytes = serde_json::to_vec(record).map_or(usize::MAX, |json| json.len());
        if bytes > max_bytes {
            return Outcome::Failed {
                object_id: object_id.map(str::to_owned),
                message: format!(
                    "the transformed record is {bytes} bytes, over the limit of {max_bytes} bytes"
                ),
            };
        }
    }
    outcome
}

/// A transformed record, serialized (minified JSON), as a run sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Emitted {
    /// Its `objectID` as text, when it has one.
    pub object_id: Option<String>,
    /// The JSON object.
    pub json: Vec<u8>,
}

/// What became of one input record, with the records serialized: [`Outcome`] for the paths that
/// send records on ([`TransformPool::transform_json_batch`](crate::TransformPool::transform_json_batch)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Emission {
    /// The record(s) to write.
    Records(Vec<Emitted>),
    /// The transformation dropped the record.
    Dropped,
    /// The record failed; the message says why.
    Failed {
        /// The input record's `objectID`, when it had one.
        object_id: Option<String>,
        /// Why it failed.
        message: String,
    },
}

/// Serializes `outcome`'s records once, failing it when one is over `max_bytes`.
pub fn emit(outcome: Outcome, object_id: Option<&str>, max_bytes: usize) -> Emission {
    let records = match outcome {
        Outcome::Records(records) => records,
        Outcome::Dropped => return Emission::Dropped,
        Outcome::Failed { object_id, message } => return Emission::Failed { object_id, message },
    };
    let mut emitted = Vec::with_capacity(records.len());
    for record in records {
        let id = object_id_of(&record);
        let json = match serde_json::to_vec(&record) {
            Ok(json) => json,
            Err(error) => {
                return Emission::Failed {
                    object_id: object_id.map(str::to_owned),
                    message: format!("the transformed record cannot be serialized: {error}"),
                };
            }
        };
        if json.len() > max_bytes {
            return Emission::Failed {
                object_id: object_id.map(str::to_owned),
                message: format!(
                    "the transformed record is {} bytes, over the limit of {max_bytes} bytes",
                    json.len()
                ),
            };
        }
        emitted.push(Emitted {
            object_id: id,
            json,
        });
    }
    Emission::Records(emitted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn object_ids_are_strings_or_numbers() {
        let id = |v: Value| object_id_of(v.as_object().unwrap());
        assert_eq!(id(json!({"objectID": "a"})), Some("a".into()));
        assert_eq!(id(json!({"objectID": 12})), Some("12".into()));
        assert_eq!(id(json!({"objectID": null})), None);
        assert_eq!(id(json!({"objectID": ["a"]})), None);
        assert_eq!(id(json!({})), None);
    }

    #[test]
    fn oversized_records_fail() {
        let record = json!({"objectID": "1", "text": "x".repeat(100)});
        let outcome = Outcome::Records(vec![record.as_object().unwrap().clone()]);
        assert_eq!(
            enforce_record_size(outcome.clone(), Some("1"), 1000),
            outcome
        );
        let failed = enforce_record_size(outcome, Some("1"), 50);
        assert_eq!(
            failed,
            Outcome::Failed {
                object_id: Some("1".into()),
                message: "the transformed record is 126 bytes, over the limit of 50 bytes".into(),
            }
        );
        assert_eq!(
            enforce_record_size(Outcome::Dropped, None, 0),
            Outcome::Dropped
        );
    }
}

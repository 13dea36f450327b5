//! A destination's `attributesToExclude` (`docs/api.md` D3): attribute paths removed from every
//! record before it is batched, on every connector.
//!
//! `a` removes the attribute `a`; `a.b` removes `b` inside the object `a` (nothing when `a` is not
//! an object); a trailing `.*` (`a.*`) removes the whole object `a`. `objectID` is never removed.
//! Records without any excluded attribute keep their bytes as they are; the others are parsed,
//! trimmed and serialized again (minified; attribute order may change). Deletions pass untouched.

use bytes::Bytes;
use futures::StreamExt;
use serde_json::{Map, Value};

use crate::{Record, RecordStream};

/// The parsed paths of an `attributesToExclude` list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Exclusions {
    paths: Vec<Vec<String>>,
}

impl Exclusions {
    /// The paths of `attributes` (validated by the model: no empty segment, `*` only last).
    pub fn new(attributes: &[String]) -> Self {
        let paths = attributes
            .iter()
            .filter(|path| path.as_str() != "objectID")
            .map(|path| {
                let mut segments: Vec<String> = path.split('.').map(str::to_owned).collect();
                if segments.len() > 1 && segments.last().is_some_and(|s| s == "*") {
                    segments.pop();
                }
                segments
            })
            .filter(|segments| !segments.is_empty())
            .collect();
        Self { paths }
    }

    /// Whether nothing is excluded.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// `record` without the excluded attributes.
    pub fn apply(&self, record: Record) -> Record {
        if self.is_empty() || record.delete || !self.may_touch(&record.json) {
            return record;
        }
        let Ok(mut object) = serde_json::from_slice::<Map<String, Value>>(&record.json) else {
            return record;
        };
        let mut changed = false;
        for path in &self.paths {
            changed |= remove(&mut object, path);
        }
        if !changed {
            return record;
        }
        match serde_json::to_vec(&Value::Object(object)) {
            Ok(json) => Record {
                json: Bytes::from(json),
                ..record
            },
            Err(_) => record,
        }
    }

    /// Whether the record's text names the first segment of some path (a cheap test that lets
    /// most records through without being parsed).
    fn may_touch(&self, json: &[u8]) -> bool {
        self.paths.iter().any(|path| {
            let first = path[0].as_bytes();
            json.windows(first.len()).any(|window| window == first)
        })
    }

    /// Applies the exclusions to every record of `records`.
    pub fn stream(self, records: RecordStream) -> RecordStream {
        if self.is_empty() {
            return records;
        }
        records
            .map(move |item| item.map(|record| self.apply(record)))
            .boxed()
    }
}

/// Removes `path` from `object`; whether something was removed.
fn remove(object: &mut Map<String, Value>, path: &[String]) -> bool {
    match path {
        [] => false,
        [last] => object.remove(last).is_some(),
        [first, rest @ ..] => match object.get_mut(first) {
            Some(Value::Object(inner)) => remove(inner, rest),
            _ => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;

    fn record(value: Value) -> Record {
        Record::new(
            Some(Arc::from("1")),
            Bytes::from(serde_json::to_vec(&value).unwrap()),
        )
    }

    fn trimmed(paths: &[&str], value: Value) -> Value {
        let paths: Vec<String> = paths.iter().map(|p| (*p).to_owned()).collect();
        let out = Exclusions::new(&paths).apply(record(value));
        serde_json::from_slice(&out.json).unwrap()
    }

    #[test]
    fn paths_reach_into_objects_and_stars_remove_them_whole() {
        let value = json!({"objectID": "1", "name": "n", "cost": 3,
            "meta": {"internal": true, "public": 1}, "debug": {"a": 1}, "list": [1]});
        assert_eq!(
            trimmed(&["cost", "meta.internal", "debug.*"], value.clone()),
            json!({"objectID": "1", "name": "n", "meta": {"public": 1}, "list": [1]})
        );
        // A path through something that is not an object, or absent, changes nothing.
        assert_eq!(
            trimmed(&["name.x", "list.0", "absent"], value.clone()),
            value
        );
        // objectID stays, whatever the list says.
        assert_eq!(trimmed(&["objectID"], value.clone()), value);
    }

    #[test]
    fn untouched_records_keep_their_bytes_and_deletions_pass() {
        let exclusions = Exclusions::new(&["secret".to_owned()]);
        let original = Record::new(None, Bytes::from_static(br#"{"b":1,  "a":2}"#));
        assert_eq!(exclusions.apply(original.clone()).json, original.json);
        let deletion = Record::deletion(Arc::from("gone"));
        assert_eq!(exclusions.apply(deletion.clone()), deletion);
    }
}

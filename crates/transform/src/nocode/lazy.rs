//! Applying no-code steps to a record's JSON text without building all of it.
//!
//! Steps name their attributes by path, so the top-level attributes a program can read or write
//! are known when it compiles ([`touched_by`]). A record's text is split at its top level into
//! `(key, raw value)` pairs, checked as JSON but not unescaped or built into values; only the
//! touched attributes are parsed, the steps run on them, and the output is written back as the
//! untouched attributes' raw text (in their input order) followed by the touched ones as the steps
//! left them. The result is the record [`NoCodeProgram::apply`] would give, serialized.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;

use serde::Deserializer;
use serde::de::{MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::NoCodeProgram;
use super::condition::Condition;
use super::steps::{Piece, Source, Step};
use crate::outcome::{Emission, Emitted, Outcome, object_id_of};

/// Adds the top-level attributes `step` reads or writes to `out`.
pub(crate) fn touched_by(step: &Step, out: &mut BTreeSet<String>) {
    let (attribute, value, when) = match step {
        Step::AddAttribute {
            attribute,
            value,
            when,
        } => (Some(attribute), Some(value), when.as_ref()),
        Step::RemoveAttribute { attribute, when } => (Some(attribute), None, when.as_ref()),
        Step::RemoveRecords { when } => (None, None, Some(when)),
    };
    if let Some(attribute) = attribute {
        out.insert(attribute.first().to_owned());
    }
    match value {
        Some(Source::From(path)) => {
            out.insert(path.first().to_owned());
        }
        Some(Source::Template(pieces)) => {
            for piece in pieces {
                if let Piece::Placeholder(path) = piece {
                    out.insert(path.first().to_owned());
                }
            }
        }
        Some(Source::Fixed(_)) | None => {}
    }
    if let Some(condition) = when {
        condition_touches(condition, out);
    }
}

fn condition_touches(condition: &Condition, out: &mut BTreeSet<String>) {
    match condition {
        Condition::All(all) | Condition::Any(all) => {
            for inner in all {
                condition_touches(inner, out);
            }
        }
        Condition::Compare { attribute, .. } => {
            out.insert(attribute.first().to_owned());
        }
    }
}

/// A JSON object's top level: its keys and their values' raw text, in order.
struct TopLevel<'a>(Vec<(Key<'a>, &'a RawValue)>);

/// A key as it is in the text when it has no escape, else unescaped.
struct Key<'a>(Cow<'a, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E>(self, key: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(key)))
            }
            fn visit_str<E>(self, key: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(key.to_owned())))
            }
            fn visit_string<E>(self, key: String) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(key)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

impl<'de> serde::Deserialize<'de> for TopLevel<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = TopLevel<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some((key, value)) = map.next_entry::<Key<'de>, &'de RawValue>()? {
                    entries.push((key, value));
                }
                Ok(TopLevel(entries))
            }
        }
        deserializer.deserialize_map(Entries)
    }
}

impl NoCodeProgram {
    /// Applies the steps to a record given as JSON text: what [`Self::apply`] gives, serialized
    /// once, with the output size checked on those bytes. `object_id` names the record in
    /// messages.
    pub(crate) fn apply_text(&self, json: &[u8], object_id: Option<&str>) -> Emission {
        let failed = |message: String| Emission::Failed {
            object_id: object_id.map(str::to_owned),
            message,
        };
        let top: TopLevel<'_> = match serde_json::from_slice(json) {
            Ok(top) => top,
            Err(error) => return failed(format!("the record is not a JSON object: {error}")),
        };
        let mut touched = Map::new();
        let mut untouched = Vec::with_capacity(top.0.len());
        for (Key(key), raw) in top.0 {
            if !self.touched.contains(key.as_ref()) {
                untouched.push((key, raw));
                continue;
            }
            match serde_json::from_str::<Value>(raw.get()) {
                Ok(value) => {
                    touched.insert(key.into_owned(), value);
                }
                Err(error) => return failed(format!("attribute `{key}`: {error}")),
            }
        }
        let record = match self.apply_unchecked(touched) {
            Outcome::Records(mut records) => match records.pop() {
                Some(record) => record,
                None => return Emission::Dropped,
            },
            Outcome::Dropped => return Emission::Dropped,
            Outcome::Failed { object_id, message } => {
                return Emission::Failed { object_id, message };
            }
        };
        let mut out = Vec::with_capacity(json.len() + 64);
        out.push(b'{');
        let mut first = true;
        let mut write_key = |out: &mut Vec<u8>, key: &str| {
            if !std::mem::take(&mut first) {
                out.push(b',');
            }
            // A key serializes as a JSON string; writing to a Vec cannot fail.
            let _ = serde_json::to_writer(&mut *out, key);
            out.push(b':');
        };
        for (key, raw) in &untouched {
            write_key(&mut out, key);
            out.extend_from_slice(raw.get().as_bytes());
        }
        for (key, value) in &record {
            write_key(&mut out, key);
            if let Err(error) = serde_json::to_writer(&mut out, value) {
                return failed(format!(
                    "the transformed record cannot be serialized: {error}"
                ));
            }
        }
        out.push(b'}');
        if out.len() > self.max_record_bytes {
            return failed(format!(
                "the transformed record is {} bytes, over the limit of {} bytes",
                out.len(),
                self.max_record_bytes
            ));
        }
        Emission::Records(vec![Emitted {
            object_id: object_id_of(&record),
            json: out,
        }])
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::compile_no_code;

    /// `apply_text` gives what `apply` gives, serialized.
    fn same_as_apply(steps: Value, record: Value) {
        let program = compile_no_code(&steps).unwrap();
        let text = serde_json::to_vec(&record).unwrap();
        let id = record["objectID"].as_str();
        let expected = program.apply(record.as_object().unwrap().clone());
        let got = program.apply_text(&text, id);
        match (expected, got) {
            (Outcome::Records(mut records), Emission::Records(mut emitted)) => {
                let (record, emitted) = (records.remove(0), emitted.remove(0));
                let parsed: Value = serde_json::from_slice(&emitted.json).unwrap();
                assert_eq!(parsed, Value::Object(record.clone()), "{steps}");
                assert_eq!(emitted.object_id, object_id_of(&record));
            }
            (Outcome::Dropped, Emission::Dropped) => {}
            (Outcome::Failed { message: a, .. }, Emission::Failed { message: b, .. }) => {
                assert_eq!(a, b)
            }
            (a, b) => panic!("{steps}: apply gave {a:?}, apply_text {b:?}"),
        }
    }

    #[test]
    fn the_json_path_agrees_with_apply() {
        let record = json!({
            "objectID": "p1", "name": "Café \"Ünï\" — ☕\n", "price": 12.5, "stock": 0,
            "tags": ["a", {"deep": [1, 2]}], "meta": {"size": "L", "colour": null},
            "untouched": {"nested": "x\\u0000y"}, "k\"ey": "escaped key"
        });
        let cases = [
            json!([{"type": "addAttribute", "attribute": "seen", "value": {"fixed": true}}]),
            json!([{"type": "addAttribute", "attribute": "label",
                    "value": {"template": "{{name}} at {{price}} ({{meta.size}})"}}]),
            json!([{"type": "addAttribute", "attribute": "meta.copy", "value": {"from": "tags.1.deep"}}]),
            json!([{"type": "removeAttribute", "attribute": "meta.size"},
                   {"type": "removeAttribute", "attribute": "objectID"}]),
            json!([{"type": "addAttribute", "attribute": "objectID", "value": {"fixed": "new"}}]),
            json!([{"type": "removeRecords", "when": {"attribute": "stock", "operator": "eq", "value": 0}}]),
            json!([{"type": "removeRecords", "when": {"any": [
                {"attribute": "price", "operator": "gt", "value": 100},
                {"attribute": "meta.colour", "operator": "notExists"}]}}]),
            json!([{"type": "addAttribute", "attribute": "name.first", "value": {"fixed": 1}}]),
            json!([]),
        ];
        for steps in cases {
            same_as_apply(steps, record.clone());
        }
    }

    #[test]
    fn untouched_attributes_keep_their_text_and_order() {
        let program = compile_no_code(&json!([
            {"type": "addAttribute", "attribute": "seen", "value": {"fixed": true}}
        ]))
        .unwrap();
        let text = br#"{"z":1.50,"objectID":"a","b":"\u00e9"}"#;
        let Emission::Records(out) = program.apply_text(text, Some("a")) else {
            panic!("expected a record");
        };
        assert_eq!(
            String::from_utf8(out[0].json.clone()).unwrap(),
            r#"{"z":1.50,"b":"\u00e9","objectID":"a","seen":true}"#
        );
        assert!(matches!(
            program.apply_text(b"[1]", None),
            Emission::Failed { .. }
        ));
        assert!(matches!(
            program.apply_text(b"{\"a\":", None),
            Emission::Failed { .. }
        ));
    }
}

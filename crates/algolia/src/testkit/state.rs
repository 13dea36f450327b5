//! The fake's indices and what each write does to them.
//!
//! Bodies are parsed outside the lock into the least the semantics need: each record stays the
//! raw JSON it was sent as (a `Bytes` slice of the batch body: no copy per record), with its `objectID` read beside it. A batch is
//! validated as a whole before any of it is applied, so a refused batch changes nothing.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::{Operation, Scope};

/// The settings a copy never carries over (from the operationIndex spec).
const NOT_COPIED: [&str; 3] = ["enableReRanking", "mode", "replicas"];

/// Where Algolia's record-size message points to.
const SIZE_DOC: &str = "https://www.algolia.com/doc/guides/sending-and-managing-data/prepare-your-data/in-depth/index-and-records-size-and-usage-limitations/#record-size-limits";

/// The multiply-rotate hash of rustc (`FxHash`): an index holds millions of short objectIDs,
/// and SipHash's flood resistance buys nothing in a test fake while costing a tenth of its time.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct FxHasher {
    hash: u64,
}

impl FxHasher {
    const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(Self::SEED);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8])));
        }
        let mut tail = [0u8; 8];
        let rest = chunks.remainder();
        tail[..rest.len()].copy_from_slice(rest);
        self.add(u64::from_le_bytes(tail) ^ rest.len() as u64);
    }

    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

/// One index: records by objectID (as sent), settings, synonyms and rules.
#[derive(Clone, Debug, Default)]
pub(crate) struct Index {
    pub(crate) records: HashMap<String, Bytes, BuildHasherDefault<FxHasher>>,
    pub(crate) settings: Map<String, Value>,
    pub(crate) synonyms: Vec<Value>,
    pub(crate) rules: Vec<Value>,
}

impl Index {
    /// A record as a JSON value, with its `objectID` (added when the body had none).
    pub(crate) fn record(&self, object_id: &str) -> Option<Value> {
        let raw = self.records.get(object_id)?;
        let mut value: Value = serde_json::from_slice(raw).expect("stored records are JSON");
        if let Value::Object(map) = &mut value {
            map.entry("objectID")
                .or_insert_with(|| Value::String(object_id.to_owned()));
        }
        Some(value)
    }
}

/// A batch `action`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    Add,
    Update,
    PartialUpdate,
    PartialUpdateNoCreate,
    DeleteObject,
    Delete,
    Clear,
}

impl Action {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "addObject" => Self::Add,
            "updateObject" => Self::Update,
            "partialUpdateObject" => Self::PartialUpdate,
            "partialUpdateObjectNoCreate" => Self::PartialUpdateNoCreate,
            "deleteObject" => Self::DeleteObject,
            "delete" => Self::Delete,
            "clear" => Self::Clear,
            _ => return None,
        })
    }
}

/// One validated entry of a batch.
#[derive(Debug)]
pub(crate) struct Entry {
    action: Action,
    object_id: Option<String>,
    body: Option<Bytes>,
}

#[derive(Deserialize)]
struct BatchBody<'a> {
    #[serde(borrow)]
    requests: Vec<BatchRequest<'a>>,
}

#[derive(Deserialize)]
struct BatchRequest<'a> {
    #[serde(borrow)]
    action: Cow<'a, str>,
    #[serde(borrow, default)]
    body: Option<&'a RawValue>,
}

/// The `objectID` of a record: a walk over the top-level keys of a JSON object that serde has
/// already validated (as a `RawValue`), so that each record is parsed once, not twice. Values
/// other than the `objectID` are skipped by their brackets and quotes, unparsed.
fn object_id_of(json: &str) -> Result<Option<String>, String> {
    let bytes = json.as_bytes();
    let mut i = 1; // past the `{`
    loop {
        skip_space(bytes, &mut i);
        match bytes.get(i) {
            Some(b',') => {
                i += 1;
                skip_space(bytes, &mut i);
            }
            Some(b'}') | None => return Ok(None),
            _ => {}
        }
        let key_end = string_end(bytes, i);
        let key = &json[i..key_end];
        i = key_end;
        skip_space(bytes, &mut i);
        i += 1; // the `:`
        skip_space(bytes, &mut i);
        let value_end = value_end(bytes, i);
        let is_object_id = key == "\"objectID\""
            || (key.contains('\\')
                && serde_json::from_str::<String>(key).is_ok_and(|k| k == "objectID"));
        if is_object_id {
            return match serde_json::from_str::<Value>(&json[i..value_end]) {
                Ok(Value::String(id)) => Ok(Some(id)),
                Ok(Value::Number(number)) => Ok(Some(number.to_string())),
                _ => Err("objectID must be a string".into()),
            };
        }
        i = value_end;
    }
}

fn skip_space(bytes: &[u8], i: &mut usize) {
    while bytes.get(*i).is_some_and(u8::is_ascii_whitespace) {
        *i += 1;
    }
}

/// The index past the closing quote of the string that starts at `i`.
fn string_end(bytes: &[u8], mut i: usize) -> usize {
    i += 1;
    while let Some(&byte) = bytes.get(i) {
        match byte {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The index past the value that starts at `i`.
fn value_end(bytes: &[u8], mut i: usize) -> usize {
    match bytes.get(i) {
        Some(b'"') => string_end(bytes, i),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            while let Some(&byte) = bytes.get(i) {
                match byte {
                    b'"' => {
                        i = string_end(bytes, i);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return i + 1;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            bytes.len()
        }
        _ => {
            while bytes
                .get(i)
                .is_some_and(|b| !matches!(b, b',' | b'}' | b']') && !b.is_ascii_whitespace())
            {
                i += 1;
            }
            i
        }
    }
}

/// Parses and validates a batch body. Returns the number of entries (0 when the body does not
/// parse) and the entries, or the 400 message refusing the whole batch.
pub(crate) fn parse_batch(body: &Bytes, size_limit: usize) -> (usize, Result<Vec<Entry>, String>) {
    let parsed: BatchBody<'_> = match serde_json::from_slice(body) {
        Ok(parsed) => parsed,
        Err(err) => return (0, Err(format!("Invalid batch body: {err}"))),
    };
    let count = parsed.requests.len();
    let mut entries = Vec::with_capacity(count);
    for (position, request) in parsed.requests.into_iter().enumerate() {
        match parse_entry(position, &request, body, size_limit) {
            Ok(entry) => entries.push(entry),
            Err(message) => return (count, Err(message)),
        }
    }
    (count, Ok(entries))
}

fn parse_entry(
    i: usize,
    request: &BatchRequest<'_>,
    body: &Bytes,
    size_limit: usize,
) -> Result<Entry, String> {
    let action = Action::parse(&request.action)
        .ok_or_else(|| format!("Invalid action \"{}\" at the position {i}", request.action))?;
    if matches!(action, Action::Delete | Action::Clear) {
        return Ok(Entry {
            action,
            object_id: None,
            body: None,
        });
    }
    let raw = request
        .body
        .ok_or_else(|| format!("Missing body at the position {i}"))?;
    if !raw.get().starts_with('{') {
        return Err(format!("Record at the position {i} is not a JSON object"));
    }
    let object_id = object_id_of(raw.get())
        .map_err(|err| format!("Record at the position {i} is invalid: {err}"))?;
    let size = raw.get().len();
    if size > size_limit {
        return Err(format!(
            "Record at the position {i} objectID={} is too big size={size}/{size_limit} bytes. \
             Please have a look at {SIZE_DOC}",
            object_id.as_deref().unwrap_or_default()
        ));
    }
    if object_id.is_none() && action != Action::Add {
        return Err(format!("Missing objectID at the position {i}"));
    }
    // The record is kept as a slice of the body it came in (its place found from the borrowed
    // `RawValue`, which points into `body`).
    let start = raw.get().as_ptr() as usize - body.as_ptr() as usize;
    Ok(Entry {
        action,
        object_id,
        body: Some(body.slice(start..start + size)),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OperationBody {
    operation: String,
    destination: String,
    #[serde(default)]
    scope: Option<Vec<String>>,
}

/// Parses an operation body, or the 400 message refusing it.
pub(crate) fn parse_operation(body: &[u8]) -> Result<Operation, String> {
    let parsed: OperationBody =
        serde_json::from_slice(body).map_err(|err| format!("Invalid operation body: {err}"))?;
    match parsed.operation.as_str() {
        "copy" => {
            let scope = parsed
                .scope
                .unwrap_or_default()
                .iter()
                .map(|name| Scope::parse(name).ok_or_else(|| format!("Invalid scope \"{name}\"")))
                .collect::<Result<_, _>>()?;
            Ok(Operation::Copy {
                destination: parsed.destination,
                scope,
            })
        }
        "move" => Ok(Operation::Move {
            destination: parsed.destination,
        }),
        other => Err(format!("Invalid operation \"{other}\"")),
    }
}

/// Every index, plus the counter behind generated objectIDs.
#[derive(Debug, Default)]
pub(crate) struct Indices {
    pub(crate) by_name: HashMap<String, Index>,
    next_object_id: u64,
}

impl Indices {
    /// The index, created empty when missing.
    pub(crate) fn entry(&mut self, name: &str) -> &mut Index {
        if !self.by_name.contains_key(name) {
            self.by_name.insert(name.to_owned(), Index::default());
        }
        self.by_name.get_mut(name).expect("just inserted")
    }

    /// Applies a validated batch in order; returns the objectIDs of the record entries.
    pub(crate) fn apply_batch(&mut self, name: &str, entries: Vec<Entry>) -> Vec<String> {
        let mut object_ids = Vec::with_capacity(entries.len());
        // Taken out for the batch (one lookup, not one per record); `None` once deleted. The
        // batch creates the index even when it holds no entry.
        let mut index = Some(self.by_name.remove(name).unwrap_or_default());
        for Entry {
            action,
            object_id,
            body,
        } in entries
        {
            let records = &mut index.get_or_insert_with(Index::default).records;
            let (id, body) = match (action, object_id, body) {
                (Action::Delete, ..) => {
                    index = None;
                    continue;
                }
                (Action::Clear, ..) => {
                    records.clear();
                    continue;
                }
                (_, Some(id), Some(body)) => (id, body),
                (_, None, Some(body)) => {
                    self.next_object_id += 1;
                    (format!("fake-{}", self.next_object_id), body)
                }
                (_, _, None) => unreachable!("record entries carry a body"),
            };
            match action {
                Action::Add | Action::Update => {
                    records.insert(id.clone(), body);
                }
                Action::PartialUpdate | Action::PartialUpdateNoCreate => {
                    if let Some(existing) = records.get_mut(&id) {
                        *existing = merge(existing, &body);
                    } else if action == Action::PartialUpdate {
                        records.insert(id.clone(), body);
                    }
                }
                Action::DeleteObject => {
                    records.remove(&id);
                }
                Action::Delete | Action::Clear => unreachable!("handled above"),
            }
            object_ids.push(id);
        }
        if let Some(index) = index {
            self.by_name.insert(name.to_owned(), index);
        }
        object_ids
    }

    /// A copy or move of `source`; `Err` is a 400 message.
    pub(crate) fn operate(&mut self, source: &str, operation: &Operation) -> Result<(), String> {
        match operation {
            Operation::Copy { destination, scope } => self.copy(source, destination, scope),
            Operation::Move { destination } => {
                if source != destination
                    && let Some(index) = self.by_name.remove(source)
                {
                    release(self.by_name.insert(destination.clone(), index));
                }
                Ok(())
            }
        }
    }

    fn copy(&mut self, source: &str, destination: &str, scope: &[Scope]) -> Result<(), String> {
        let has_replicas = self
            .by_name
            .get(destination)
            .and_then(|index| index.settings.get("replicas"))
            .and_then(Value::as_array)
            .is_some_and(|replicas| !replicas.is_empty());
        if has_replicas {
            return Err(format!(
                "Cannot copy to index {destination}: it has replicas"
            ));
        }
        if source == destination {
            return Ok(());
        }
        // A missing source reads as an empty index with default settings. Only what the scope
        // names is cloned (records are the bulk of an index).
        let from = self.by_name.get(source);
        let mut settings = from.map(|i| i.settings.clone()).unwrap_or_default();
        for key in NOT_COPIED {
            settings.remove(key);
        }
        let synonyms = || from.map(|i| i.synonyms.clone()).unwrap_or_default();
        let rules = || from.map(|i| i.rules.clone()).unwrap_or_default();
        if scope.is_empty() {
            let index = Index {
                records: from.map(|i| i.records.clone()).unwrap_or_default(),
                settings,
                synonyms: synonyms(),
                rules: rules(),
            };
            release(self.by_name.insert(destination.to_owned(), index));
            return Ok(());
        }
        let (synonyms, rules) = (
            scope.contains(&Scope::Synonyms).then(synonyms),
            scope.contains(&Scope::Rules).then(rules),
        );
        let to = self.entry(destination);
        if scope.contains(&Scope::Settings) {
            to.settings = settings;
        }
        if let Some(synonyms) = synonyms {
            to.synonyms = synonyms;
        }
        if let Some(rules) = rules {
            to.rules = rules;
        }
        Ok(())
    }
}

/// Frees an overwritten index on another thread: dropping millions of records would otherwise
/// hold the fake's lock (and stall every client) for a noticeable time.
fn release(replaced: Option<Index>) {
    if let Some(index) = replaced
        && index.records.len() > 10_000
    {
        std::thread::spawn(move || drop(index));
    }
}

/// `existing` with the top-level attributes of `update` set over it.
fn merge(existing: &[u8], update: &[u8]) -> Bytes {
    let mut record: Map<String, Value> =
        serde_json::from_slice(existing).expect("stored records are JSON objects");
    let changes: Map<String, Value> =
        serde_json::from_slice(update).expect("validated records are JSON objects");
    record.extend(changes);
    Bytes::from(serde_json::to_vec(&record).expect("a map serializes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_entries_keep_raw_bodies_and_read_object_ids() {
        let body = br#"{"requests":[
            {"action":"addObject","body":{"a":1, "objectID":"x"}},
            {"action":"updateObject","body":{"objectID":7,"b":[1,{"objectID":"nested"}]}},
            {"action":"clear"}
        ]}"#;
        let (count, entries) = parse_batch(&Bytes::from_static(body), 100);
        let entries = entries.unwrap();
        assert_eq!(count, 3);
        assert_eq!(entries[0].object_id.as_deref(), Some("x"));
        assert_eq!(
            entries[0].body.as_deref().unwrap(),
            br#"{"a":1, "objectID":"x"}"#
        );
        assert_eq!(entries[1].object_id.as_deref(), Some("7"));
        assert_eq!(entries[2].action, Action::Clear);
    }

    #[test]
    fn invalid_batches_name_the_position() {
        let refused = |body: &str| {
            parse_batch(&Bytes::copy_from_slice(body.as_bytes()), 100)
                .1
                .unwrap_err()
        };
        assert!(refused(r#"{"requests":[{"action":"nope","body":{}}]}"#).contains("position 0"));
        assert!(
            refused(r#"{"requests":[{"action":"addObject","body":{}},{"action":"updateObject","body":{}}]}"#)
                .starts_with("Missing objectID at the position 1")
        );
        assert!(
            refused(r#"{"requests":[{"action":"addObject","body":[1]}]}"#)
                .contains("not a JSON object")
        );
        assert!(refused(r#"{"requests":[{"action":"addObject"}]}"#).starts_with("Missing body"));
        assert!(refused("{").starts_with("Invalid batch body"));
        assert!(
            refused(r#"{"requests":[{"action":"addObject","body":{"objectID":[]}}]}"#)
                .contains("invalid")
        );
    }

    #[test]
    fn operations_parse() {
        assert_eq!(
            parse_operation(br#"{"operation":"copy","destination":"b","scope":["rules"]}"#),
            Ok(Operation::Copy {
                destination: "b".into(),
                scope: vec![Scope::Rules]
            })
        );
        assert!(
            parse_operation(br#"{"operation":"copy","destination":"b","scope":["x"]}"#).is_err()
        );
        assert!(parse_operation(br#"{"operation":"rename","destination":"b"}"#).is_err());
    }
}

#[cfg(test)]
mod object_id_tests {
    use super::object_id_of;

    #[test]
    fn reads_the_top_level_object_id_only() {
        let id = |json: &str| object_id_of(json).unwrap();
        assert_eq!(id(r#"{"objectID":"a"}"#), Some("a".into()));
        assert_eq!(
            id(r#"{ "x" : {"objectID":"nested"} , "objectID" : 7 }"#),
            Some("7".into())
        );
        assert_eq!(
            id(r#"{"t":"a \"objectID\": \\","l":[1,{"objectID":"n"}],"objectID":"b"}"#),
            Some("b".into())
        );
        assert_eq!(
            id(r#"{"obj\u0065ctID":"escaped key"}"#),
            Some("escaped key".into())
        );
        assert_eq!(id(r#"{"objectID":"q\"uote"}"#), Some("q\"uote".into()));
        assert_eq!(id(r#"{"n":null,"b":true,"f":-1.5e3}"#), None);
        assert_eq!(id("{}"), None);
        assert!(object_id_of(r#"{"objectID":["a"]}"#).is_err());
    }
}

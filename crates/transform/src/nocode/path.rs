//! Dotted attribute paths (`a.b.c`): reading through objects and arrays, writing and removing
//! through objects.

use serde_json::{Map, Value};
use std::fmt;

/// A dotted attribute path, validated: at least one segment and no empty segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    text: String,
    segments: Vec<String>,
}

impl Path {
    /// Parses `a.b.c`; the error says what is wrong (for a message at the field's position).
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.is_empty() {
            return Err("the path is empty".to_owned());
        }
        let segments: Vec<String> = text.split('.').map(str::to_owned).collect();
        if segments.iter().any(String::is_empty) {
            return Err(format!("invalid path \"{text}\": empty segment"));
        }
        Ok(Self {
            text: text.to_owned(),
            segments,
        })
    }

    /// The first segment: the top-level attribute the path starts at.
    pub(crate) fn first(&self) -> &str {
        self.segments.first().map_or("", String::as_str)
    }

    /// The value at this path; a segment made of digits indexes an array.
    pub fn get<'a>(&self, record: &'a Map<String, Value>) -> Option<&'a Value> {
        let (first, rest) = self.segments.split_first()?;
        let mut current = record.get(first)?;
        for segment in rest {
            current = match current {
                Value::Object(map) => map.get(segment)?,
                Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(current)
    }

    /// Sets the value at this path, creating missing intermediate objects. An intermediate value
    /// that exists and is not an object is an error (the record is left as it was).
    pub fn set(&self, record: &mut Map<String, Value>, value: Value) -> Result<(), String> {
        let Some((last, parents)) = self.segments.split_last() else {
            return Err("the path is empty".to_owned());
        };
        let mut current = record;
        for (depth, segment) in parents.iter().enumerate() {
            let slot = current
                .entry(segment.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            current = match slot {
                Value::Object(map) => map,
                _ => {
                    let prefix = self.segments[..=depth].join(".");
                    return Err(format!(
                        "cannot set \"{}\": \"{prefix}\" is not an object",
                        self.text
                    ));
                }
            };
        }
        current.insert(last.clone(), value);
        Ok(())
    }

    /// Removes the attribute at this path; nothing happens when it is absent or when an
    /// intermediate value is not an object.
    pub fn remove(&self, record: &mut Map<String, Value>) -> Option<Value> {
        let (last, parents) = self.segments.split_last()?;
        let mut current = record;
        for segment in parents {
            current = match current.get_mut(segment)? {
                Value::Object(map) => map,
                _ => return None,
            };
        }
        current.remove(last)
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn parse_refuses_empty_paths_and_segments() {
        assert_eq!(Path::parse(""), Err("the path is empty".to_owned()));
        for bad in [".", "a.", ".a", "a..b"] {
            assert_eq!(
                Path::parse(bad),
                Err(format!("invalid path \"{bad}\": empty segment"))
            );
        }
        assert_eq!(Path::parse("a.b").map(|p| p.to_string()), Ok("a.b".into()));
    }

    #[test]
    fn get_walks_objects_and_array_indexes() -> Result<(), String> {
        let r = record(json!({"a": {"b": [10, {"c": "x"}]}, "n": null}));
        assert_eq!(Path::parse("a.b.0")?.get(&r), Some(&json!(10)));
        assert_eq!(Path::parse("a.b.1.c")?.get(&r), Some(&json!("x")));
        assert_eq!(Path::parse("n")?.get(&r), Some(&Value::Null));
        assert_eq!(Path::parse("a.b.2")?.get(&r), None);
        assert_eq!(Path::parse("a.b.x")?.get(&r), None);
        assert_eq!(Path::parse("a.b.0.z")?.get(&r), None);
        assert_eq!(Path::parse("missing.x")?.get(&r), None);
        Ok(())
    }

    #[test]
    fn set_creates_intermediate_objects_and_refuses_non_objects() -> Result<(), String> {
        let mut r = record(json!({"a": 1}));
        Path::parse("x.y.z")?.set(&mut r, json!(true))?;
        assert_eq!(
            Value::Object(r.clone()),
            json!({"a": 1, "x": {"y": {"z": true}}})
        );
        Path::parse("a")?.set(&mut r, json!(2))?;
        assert_eq!(r.get("a"), Some(&json!(2)));
        let err = Path::parse("a.b")?.set(&mut r, json!(3));
        assert_eq!(
            err,
            Err("cannot set \"a.b\": \"a\" is not an object".to_owned())
        );
        assert_eq!(r.get("a"), Some(&json!(2)));
        Ok(())
    }

    #[test]
    fn remove_through_objects_only() -> Result<(), String> {
        let mut r = record(json!({"a": {"b": 1, "c": 2}, "l": [{"x": 1}]}));
        assert_eq!(Path::parse("a.b")?.remove(&mut r), Some(json!(1)));
        assert_eq!(Path::parse("a.zz")?.remove(&mut r), None);
        assert_eq!(Path::parse("l.0.x")?.remove(&mut r), None);
        assert_eq!(Path::parse("nope.x")?.remove(&mut r), None);
        assert_eq!(Value::Object(r), json!({"a": {"c": 2}, "l": [{"x": 1}]}));
        Ok(())
    }
}

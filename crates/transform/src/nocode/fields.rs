//! Reading the step JSON with errors that name the field's position
//! (`input.steps[2].when.operator: …`).

use serde_json::{Map, Value};

use super::path::Path;
use crate::TransformError;

/// An error at the position `at`.
pub fn invalid(at: &str, message: impl Into<String>) -> TransformError {
    TransformError::InvalidSteps {
        at: at.to_owned(),
        message: message.into(),
    }
}

/// The object at `at`, or an error.
pub fn object<'a>(value: &'a Value, at: &str) -> Result<&'a Map<String, Value>, TransformError> {
    value
        .as_object()
        .ok_or_else(|| invalid(at, "expected an object"))
}

/// The string at `at`, or an error.
pub fn string<'a>(value: &'a Value, at: &str) -> Result<&'a str, TransformError> {
    value
        .as_str()
        .ok_or_else(|| invalid(at, "expected a string"))
}

/// The field `key` of `map` (at `at`), which must be there.
pub fn required<'a>(
    map: &'a Map<String, Value>,
    at: &str,
    key: &str,
) -> Result<&'a Value, TransformError> {
    map.get(key)
        .ok_or_else(|| invalid(&format!("{at}.{key}"), "is required"))
}

/// Refuses any field of `map` not in `allowed` (a typo would otherwise be silently ignored).
/// Fields are checked in the object's order.
pub fn only(map: &Map<String, Value>, at: &str, allowed: &[&str]) -> Result<(), TransformError> {
    match map.keys().find(|key| !allowed.contains(&key.as_str())) {
        Some(key) => Err(invalid(
            &format!("{at}.{key}"),
            format!("unknown field \"{key}\""),
        )),
        None => Ok(()),
    }
}

/// The path held by the string at `at`.
pub fn path(value: &Value, at: &str) -> Result<Path, TransformError> {
    Path::parse(string(value, at)?).map_err(|message| invalid(at, message))
}

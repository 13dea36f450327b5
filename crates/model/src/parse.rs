//! Parsing JSON into the model with errors a user can act on, and the field validators shared by
//! the resource modules.
//!
//! [`from_value`] and [`from_slice`] run serde through `serde_path_to_error`, so every error names
//! the field it is about. Serde's messages are rewritten where they are unclear: an unknown field
//! becomes `input.foo: unknown field` (the path names the field itself), a missing one
//! `input.url: missing field`; type and enum errors keep serde's wording
//! (`mapping.price: unknown variant `floaty`, expected one of ...`).

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use serde_path_to_error::{Path, Segment};

use crate::error::{ValidationError, join_path, take_pending};
use crate::strict::Strict;

/// Parses a JSON value into `T`, naming the offending field on failure.
/// A struct is only read from a JSON object (serde alone would also take an array of its
/// fields), at any depth.
pub fn from_value<T: DeserializeOwned>(value: &Value) -> Result<T, ValidationError> {
    take_pending();
    serde_path_to_error::deserialize(Strict(value)).map_err(|err| {
        let path = render_path(err.path());
        convert(&path, err.into_inner())
    })
}

/// Parses a JSON body (bytes as received) into `T`, naming the offending field on failure.
/// Invalid JSON (including trailing content after the value) is an `invalid JSON: ...` error.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ValidationError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|err| convert("", err))?;
    from_value(&value)
}

/// Renders a serde path the way our messages write it: `input.locales[1]`, `mapping.price`.
fn render_path(path: &Path) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } => out = join_path(&out, key),
            Segment::Enum { variant } => out = join_path(&out, variant),
            Segment::Unknown => {}
        }
    }
    out
}

fn convert(path: &str, err: serde_json::Error) -> ValidationError {
    use serde_json::error::Category;

    let full = err.to_string();
    if let Some(pending) = take_pending()
        && full.starts_with(&pending.to_string())
    {
        return pending.prefixed(path);
    }
    match err.classify() {
        Category::Data => {
            let suffix = format!(" at line {} column {}", err.line(), err.column());
            let message = full.strip_suffix(&suffix).unwrap_or(&full);
            humanize(path, message)
        }
        Category::Syntax | Category::Eof | Category::Io => {
            ValidationError::new(path, format!("invalid JSON: {full}"))
        }
    }
}

/// Rewrites serde's "missing/unknown field `x`" so the path names the field.
fn humanize(path: &str, message: &str) -> ValidationError {
    let field_of = |rest: &'_ str| -> String {
        rest.split_once("`, ")
            .map(|(field, _)| field)
            .or_else(|| rest.strip_suffix('`'))
            .unwrap_or(rest)
            .to_owned()
    };
    if let Some(rest) = message.strip_prefix("missing field `") {
        // Raised by the struct: the path is the struct's.
        return ValidationError::new(join_path(path, &field_of(rest)), "missing field");
    }
    if let Some(rest) = message.strip_prefix("unknown field `") {
        // Raised while reading the key: the path usually ends with it already.
        let field = field_of(rest);
        let named = path == field || path.ends_with(&format!(".{field}"));
        let path = if named {
            path.to_owned()
        } else {
            join_path(path, &field)
        };
        return ValidationError::new(path, "unknown field");
    }
    ValidationError::new(path, message)
}

/// `deserialize_with` for a required string that must not be blank.
pub(crate) fn non_empty<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    if s.trim().is_empty() {
        return Err(D::Error::custom("must not be empty"));
    }
    Ok(s)
}

/// `deserialize_with` for a URL a connector will call: not blank, and without credentials in it
/// (`https://user:password@host/`): those belong in an authentication, where they are kept
/// secret, never shown back and never logged.
pub(crate) fn source_url<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = non_empty(d)?;
    if has_userinfo(&s) {
        return Err(D::Error::custom(
            "must not hold credentials (`user:password@`): use a `basic` authentication instead",
        ));
    }
    Ok(s)
}

/// Whether a URL's authority names a user (`scheme://user[:password]@host`).
fn has_userinfo(url: &str) -> bool {
    let Some((_, rest)) = url.split_once("://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    authority.contains('@')
}

/// Whether `s` can be an Algolia application ID: 1 to 64 ASCII letters, digits or `_`. The
/// engine builds hosts from it (`{appID}.algolia.net`), so nothing that could end a host name or
/// start a port, a path or a user (`.`, `:`, `/`, `#`, `@`, …) may be in it. (Real IDs are
/// uppercase letters and digits; `_` is accepted for the placeholders of Algolia's own client
/// tests, such as `ALGOLIA_APPLICATION_ID`.)
pub fn is_app_id(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `deserialize_with` for an Algolia application ID ([`is_app_id`]).
pub(crate) fn app_id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    if !is_app_id(&s) {
        return Err(D::Error::custom(
            "must be an Algolia application ID: 1 to 64 letters, digits or `_`",
        ));
    }
    Ok(s)
}

/// Whether `s` is a key that may be put into a URL path as one segment: 1 to 256 ASCII letters,
/// digits, `_` or `-` (commercetools project and store keys).
fn is_url_key(s: &str) -> bool {
    (1..=256).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// `deserialize_with` for a key put into URL paths ([`is_url_key`]).
pub(crate) fn url_key<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    if !is_url_key(&s) {
        return Err(D::Error::custom(
            "must be 1 to 256 letters, digits, `_` or `-`",
        ));
    }
    Ok(s)
}

/// `deserialize_with` for an optional list of keys put into URL paths ([`is_url_key`]); the
/// error names the entry (`storeKeys[1]`).
pub(crate) fn opt_url_keys<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Vec<String>>, D::Error> {
    let Some(keys) = Option::<Vec<String>>::deserialize(d)? else {
        return Ok(None);
    };
    if let Some((i, _)) = keys.iter().enumerate().find(|(_, k)| !is_url_key(k)) {
        return Err(D::Error::custom(format!(
            "entry {i} must be 1 to 256 letters, digits, `_` or `-`"
        )));
    }
    Ok(Some(keys))
}

/// `deserialize_with` for a BigCommerce store hash: 1 to 64 ASCII letters or digits (it names
/// the store in API paths).
pub(crate) fn store_hash<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    if !(1..=64).contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(D::Error::custom("must be 1 to 64 letters or digits"));
    }
    Ok(s)
}

/// `deserialize_with` for an optional string that, when given, must not be blank.
pub(crate) fn opt_non_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Option::<String>::deserialize(d)? {
        Some(s) if s.trim().is_empty() => Err(D::Error::custom("must not be empty")),
        other => Ok(other),
    }
}

/// `deserialize_with` for a field a client may not change: always an error naming it.
pub(crate) fn immutable<'de, D: Deserializer<'de>>(_: D) -> Result<Option<()>, D::Error> {
    Err(D::Error::custom("cannot be changed"))
}

/// `deserialize_with` for `failureThreshold`: an integer from 0 to 100.
pub(crate) fn failure_threshold<'de, D: Deserializer<'de>>(d: D) -> Result<u8, D::Error> {
    threshold_in_range(i64::deserialize(d)?)
}

/// `deserialize_with` for an optional `failureThreshold`.
pub(crate) fn opt_failure_threshold<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<u8>, D::Error> {
    Option::<i64>::deserialize(d)?
        .map(threshold_in_range::<D::Error>)
        .transpose()
}

fn threshold_in_range<E: serde::de::Error>(n: i64) -> Result<u8, E> {
    u8::try_from(n)
        .ok()
        .filter(|n| *n <= 100)
        .ok_or_else(|| E::custom(format!("must be between 0 and 100, got {n}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "only the parse errors matter here")]
    struct Inner {
        url: String,
        n: Option<u32>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "only the parse errors matter here")]
    struct Outer {
        input: Inner,
        list: Option<Vec<Inner>>,
    }

    fn err(v: Value) -> String {
        from_value::<Outer>(&v).unwrap_err().to_string()
    }

    #[test]
    fn paths_name_the_field() {
        assert_eq!(
            err(json!({"input": {"url": "x", "foo": 1}})),
            "input.foo: unknown field"
        );
        assert_eq!(err(json!({"input": {}})), "input.url: missing field");
        assert_eq!(err(json!({})), "input: missing field");
        assert_eq!(
            err(json!({"input": {"url": 1}})),
            "input.url: invalid type: integer `1`, expected a string"
        );
        assert_eq!(
            err(json!({"input": {"url": "x"}, "list": [{"url": "y"}, {"url": "z", "n": -1}]})),
            "list[1].n: invalid value: integer `-1`, expected u32"
        );
    }

    #[test]
    fn slices_report_syntax_errors_and_trailing_data() {
        let e = from_slice::<Outer>(b"{\"input\":").unwrap_err();
        assert!(e.message.starts_with("invalid JSON: EOF"), "{e}");
        let e = from_slice::<Outer>(br#"{"input":{"url":"x"}} x"#).unwrap_err();
        assert!(
            e.message.starts_with("invalid JSON: trailing characters"),
            "{e}"
        );
        let e = from_slice::<Outer>(br#"{"input":{"url":"x","bar":true}}"#).unwrap_err();
        assert_eq!(e.to_string(), "input.bar: unknown field");
    }
}

//! A scanned element turned into a record: validated, its `objectID` found or spliced in.

use std::sync::Arc;

use bytes::{BufMut, BytesMut};

use crate::json_text::validate::{Member, Validator, valid_element};
use crate::json_text::{MAX_NESTING, excerpt, write_string};

/// Checks a minified element: valid UTF-8 and JSON, nested [`MAX_NESTING`] levels at most, an
/// object. `validator` then holds its members.
///
/// This is the slow path, for the elements the decoder's fast pass did not take (split across
/// chunks, or refused by it): the reason for a refusal is worded by `serde_json`.
pub(crate) fn check_element<'a>(
    element: &'a [u8],
    validator: &mut Validator,
) -> Result<&'a str, String> {
    let Some(text) = valid_element(validator, element) else {
        return Err(invalid_reason(element));
    };
    if !text.starts_with('{') {
        return Err(format!(
            "expected a JSON object, found {}",
            excerpt(element)
        ));
    }
    Ok(text)
}

/// Why an element the validator refused is invalid.
fn invalid_reason(element: &[u8]) -> String {
    if std::str::from_utf8(element).is_err() {
        return "invalid UTF-8".to_owned();
    }
    match serde_json::from_slice::<serde::de::IgnoredAny>(element) {
        Err(error) => format!("invalid JSON: {error}"),
        // serde_json skips values without a depth limit; the decoder checks the depth before.
        Ok(_) => format!("the record nests arrays and objects deeper than {MAX_NESTING} levels"),
    }
}

/// The `objectID` of a valid, minified object kept as it is (without `uniqueIDColumn`): the text of
/// its `objectID` attribute, when that is a non-empty string or an integer. `members` are its
/// top-level members.
pub(crate) fn existing_object_id(element: &str, members: &[Member]) -> Option<Arc<str>> {
    let at = find_member(element, members, "objectID")?;
    let (object_id, _) = id_text(element, members, at).ok().flatten()?;
    Some(object_id)
}

/// Appends the record JSON of a valid, minified object to `out`: `objectID` first, taken from
/// the attribute `column`, then the other members but an existing `objectID`. `members` are its
/// top-level members. Returns the `objectID`.
pub(crate) fn splice_object_id(
    element: &str,
    members: &[Member],
    column: &str,
    out: &mut BytesMut,
) -> Result<Arc<str>, String> {
    let (existing, member) = find_members(element, members, column);
    let member = member.ok_or_else(|| format!("`{column}` (uniqueIDColumn) is missing"))?;
    let (object_id, id_json) = id_text(element, members, member)?.ok_or_else(|| {
        format!("`{column}` (uniqueIDColumn) must be a non-empty string or an integer")
    })?;
    out.extend_from_slice(b"{\"objectID\":");
    match id_json {
        IdJson::Raw(json) => out.extend_from_slice(json.as_bytes()),
        IdJson::Quoted(digits) => {
            out.put_u8(b'"');
            out.extend_from_slice(digits.as_bytes());
            out.put_u8(b'"');
        }
        IdJson::Escaped => {
            let mut json = Vec::with_capacity(object_id.len() + 8);
            write_string(&mut json, object_id.as_bytes());
            out.extend_from_slice(&json);
        }
    }
    // The members but the existing `objectID`: those before it, then those after it, each run
    // copied at once (members are separated by one `,` in a minified object).
    let element = element.as_bytes();
    let close = element.len() - 1;
    let after = match existing {
        Some(at) => {
            if at > 0 {
                out.put_u8(b',');
                out.extend_from_slice(&element[members[0].start..members[at].start - 1]);
            }
            at + 1
        }
        None => 0,
    };
    if let Some(first) = members.get(after) {
        out.put_u8(b',');
        out.extend_from_slice(&element[first.start..close]);
    }
    out.put_u8(b'}');
    Ok(object_id)
}

/// Whether the key of `member` is `name`.
#[inline(always)]
fn key_is(element: &str, member: &Member, name: &str) -> bool {
    if member.escaped_key {
        return escaped_key_is(element, member, name);
    }
    // The key without its quotes; its length is compared first, which settles most cases.
    let (start, end) = (member.start + 1, member.value - 2);
    end - start == name.len() && element.as_bytes().get(start..end) == Some(name.as_bytes())
}

#[cold]
fn escaped_key_is(element: &str, member: &Member, name: &str) -> bool {
    let key = &element.as_bytes()[member.start..member.value - 1];
    serde_json::from_slice::<String>(key).is_ok_and(|key| key == name)
}

/// The index of the first member named `name`.
fn find_member(element: &str, members: &[Member], name: &str) -> Option<usize> {
    members
        .iter()
        .position(|member| key_is(element, member, name))
}

/// The indexes of the first member named `objectID` and the first named `column`, in one pass.
fn find_members(element: &str, members: &[Member], column: &str) -> (Option<usize>, Option<usize>) {
    let (mut existing, mut found) = (None, None);
    for (at, member) in members.iter().enumerate() {
        if existing.is_none() && key_is(element, member, "objectID") {
            existing = Some(at);
        }
        if found.is_none() && key_is(element, member, column) {
            found = Some(at);
        }
        if existing.is_some() && found.is_some() {
            break;
        }
    }
    (existing, found)
}

/// How to write an ID as a JSON string.
enum IdJson<'a> {
    /// The value as it is in the element: a string without escapes.
    Raw(&'a str),
    /// Digits to put between quotes.
    Quoted(&'a str),
    /// A string whose escapes were decoded: escape it again.
    Escaped,
}

/// The text of the value of `members[at]` as an ID: a string as is, an integer rendered as text;
/// `None` for anything else or an empty string.
fn id_text<'a>(
    element: &'a str,
    members: &[Member],
    at: usize,
) -> Result<Option<(Arc<str>, IdJson<'a>)>, String> {
    let end = members
        .get(at + 1)
        .map_or(element.len() - 1, |next| next.start - 1);
    let value = element.get(members[at].value..end).unwrap_or_default();
    match value.as_bytes().first() {
        Some(b'"') => {
            let text = &value[1..value.len() - 1];
            if text.is_empty() {
                Ok(None)
            } else if members[at].escaped_value {
                let text =
                    serde_json::from_str::<String>(value).map_err(|error| error.to_string())?;
                Ok((!text.is_empty()).then(|| (Arc::from(text), IdJson::Escaped)))
            } else {
                Ok(Some((Arc::from(text), IdJson::Raw(value))))
            }
        }
        Some(b'-' | b'0'..=b'9') if !value.bytes().any(|b| matches!(b, b'.' | b'e' | b'E')) => {
            Ok(Some((Arc::from(value), IdJson::Quoted(value))))
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(element: &str, column: Option<&str>) -> Result<(String, Option<String>), String> {
        let mut scanner = super::super::scanner::ElementScanner::new(
            super::super::scanner::Framing::Line,
            10_000,
        );
        scanner.scan(element.as_bytes());
        let mut validator = Validator::default();
        let element = check_element(&scanner.buf, &mut validator)?;
        let Some(column) = column else {
            let id = existing_object_id(element, &validator.members);
            return Ok((element.to_owned(), id.map(|id| id.to_string())));
        };
        let mut out = BytesMut::new();
        let id = splice_object_id(element, &validator.members, column, &mut out)?;
        Ok((
            String::from_utf8(out.to_vec()).unwrap(),
            Some(id.to_string()),
        ))
    }

    #[test]
    fn splices_object_id_from_the_unique_column() {
        assert_eq!(
            build(r#"{"sku": "A-1", "price": 1.50}"#, Some("sku")).unwrap(),
            (
                r#"{"objectID":"A-1","sku":"A-1","price":1.50}"#.into(),
                Some("A-1".into())
            )
        );
        assert_eq!(
            build(
                r#"{"id": 42, "objectID": "old", "x": {"id": 1}}"#,
                Some("id")
            )
            .unwrap(),
            (
                r#"{"objectID":"42","id":42,"x":{"id":1}}"#.into(),
                Some("42".into())
            )
        );
        assert_eq!(
            build(r#"{"a\"b": "q\"t"}"#, Some("a\"b")).unwrap().1,
            Some("q\"t".into())
        );
        assert_eq!(
            build(r#"{"objectID": 7}"#, Some("objectID")).unwrap().0,
            r#"{"objectID":"7"}"#
        );
        assert_eq!(
            build(
                r#"{"a":1,"objectID":"x","sku":"\u0041\n","objectID":"y"}"#,
                Some("sku")
            )
            .unwrap(),
            (
                r#"{"objectID":"A\n","a":1,"sku":"\u0041\n","objectID":"y"}"#.into(),
                Some("A\n".into())
            )
        );
        assert_eq!(
            build(r#"{"a":1,"b":2,"sku":-3,"objectID":"x"}"#, Some("sku"))
                .unwrap()
                .0,
            r#"{"objectID":"-3","a":1,"b":2,"sku":-3}"#
        );
        assert_eq!(
            build(r#"{"sku":"caf\u00e9 é"}"#, Some("sku")).unwrap().0,
            r#"{"objectID":"café é","sku":"caf\u00e9 é"}"#
        );
        assert_eq!(
            build(r#"{"sku":"a\"b","x":"\u0041"}"#, Some("sku")).unwrap(),
            (
                r#"{"objectID":"a\"b","sku":"a\"b","x":"\u0041"}"#.into(),
                Some("a\"b".into())
            )
        );
        assert_eq!(
            build(r#"{"x":"\u0041","sku":"plain"}"#, Some("sku"))
                .unwrap()
                .0,
            r#"{"objectID":"plain","x":"\u0041","sku":"plain"}"#
        );
        assert_eq!(
            build(r#"{"s\u006bu":"k"}"#, Some("sku")).unwrap().0,
            r#"{"objectID":"k","s\u006bu":"k"}"#
        );
    }

    #[test]
    fn keeps_an_existing_object_id_without_unique_column() {
        assert_eq!(
            build(r#"{"objectID":"x1","n":1e3}"#, None).unwrap(),
            (r#"{"objectID":"x1","n":1e3}"#.into(), Some("x1".into()))
        );
        assert_eq!(build(r#"{"n":1}"#, None).unwrap().1, None);
    }

    #[test]
    fn refuses_bad_ids_and_non_objects() {
        for (element, reason) in [
            (r#"{"a":1}"#, "`sku` (uniqueIDColumn) is missing"),
            (
                r#"{"sku":null}"#,
                "`sku` (uniqueIDColumn) must be a non-empty string or an integer",
            ),
            (
                r#"{"sku":""}"#,
                "`sku` (uniqueIDColumn) must be a non-empty string or an integer",
            ),
            (
                r#"{"sku":[1]}"#,
                "`sku` (uniqueIDColumn) must be a non-empty string or an integer",
            ),
            (
                r#"{"sku":1.5}"#,
                "`sku` (uniqueIDColumn) must be a non-empty string or an integer",
            ),
            ("[1,2]", "expected a JSON object, found \"[1,2]\""),
        ] {
            assert_eq!(
                build(element, Some("sku")).unwrap_err(),
                reason,
                "{element}"
            );
        }
        assert!(
            build(r#"{"a":}"#, None)
                .unwrap_err()
                .starts_with("invalid JSON")
        );
    }
}

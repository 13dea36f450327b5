//! A scanned element turned into a record: validated, its `objectID` found or spliced in.

use std::sync::Arc;

use crate::json_text::{excerpt, write_string};

/// Checks a minified element and writes its record JSON into `out`; returns its `objectID`.
///
/// `members` holds the offsets of the top-level keys' opening quotes.
pub(crate) fn build_record(
    element: &[u8],
    members: &[usize],
    is_object: bool,
    unique_id_column: Option<&str>,
    out: &mut Vec<u8>,
) -> Result<Option<Arc<str>>, String> {
    if std::str::from_utf8(element).is_err() {
        return Err("invalid UTF-8".to_owned());
    }
    if let Err(error) = serde_json::from_slice::<serde::de::IgnoredAny>(element) {
        return Err(format!("invalid JSON: {error}"));
    }
    if !is_object {
        return Err(format!("expected a JSON object, found {}", excerpt(element)));
    }
    let spans = member_spans(element, members);
    let existing = find_member(element, &spans, "objectID")?;
    out.clear();
    let Some(column) = unique_id_column else {
        out.extend_from_slice(element);
        let object_id = existing.and_then(|member| id_text(element, &member).ok().flatten());
        return Ok(object_id);
    };
    let member = find_member(element, &spans, column)?
        .ok_or_else(|| format!("`{column}` (uniqueIDColumn) is missing"))?;
    let object_id = id_text(element, &member)?
        .ok_or_else(|| format!("`{column}` (uniqueIDColumn) must be a non-empty string or an integer"))?;
    out.push(b'{');
    out.extend_from_slice(b"\"objectID\":");
    write_string(out, object_id.as_bytes());
    for span in &spans {
        if existing.as_ref().is_some_and(|member| member.start == span.start) {
            continue;
        }
        out.push(b',');
        out.extend_from_slice(&element[span.start..span.end]);
    }
    out.push(b'}');
    Ok(Some(object_id))
}

/// A top-level member: the bytes from its key's quote to the end of its value.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Member {
    start: usize,
    value: usize,
    end: usize,
}

fn member_spans(element: &[u8], members: &[usize]) -> Vec<Member> {
    let close = element.len() - 1;
    members
        .iter()
        .enumerate()
        .map(|(i, &start)| {
            let end = members.get(i + 1).map_or(close, |&next| next - 1);
            let value = key_end(element, start) + 1;
            Member { start, value, end }
        })
        .collect()
}

/// The offset of the `:` after the key starting at `start` (the element is valid JSON).
fn key_end(element: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < element.len() {
        match element[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    element.len()
}

fn find_member(element: &[u8], spans: &[Member], name: &str) -> Result<Option<Member>, String> {
    for member in spans {
        let key = &element[member.start..member.value - 1];
        let matches = if key.contains(&b'\\') {
            serde_json::from_slice::<String>(key).is_ok_and(|key| key == name)
        } else {
            &key[1..key.len() - 1] == name.as_bytes()
        };
        if matches {
            return Ok(Some(member.clone()));
        }
    }
    Ok(None)
}

/// The text of an ID value: a string as is, an integer rendered as text; `None` for anything else
/// or an empty string.
fn id_text(element: &[u8], member: &Member) -> Result<Option<Arc<str>>, String> {
    let value = &element[member.value..member.end];
    match value.first() {
        Some(b'"') => {
            let text = if value.contains(&b'\\') {
                serde_json::from_slice::<String>(value).map_err(|error| error.to_string())?
            } else {
                String::from_utf8_lossy(&value[1..value.len() - 1]).into_owned()
            };
            Ok((!text.is_empty()).then(|| Arc::from(text)))
        }
        Some(b'-' | b'0'..=b'9') if !value.iter().any(|b| matches!(b, b'.' | b'e' | b'E')) => {
            Ok(Some(Arc::from(String::from_utf8_lossy(value))))
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
        let mut out = Vec::new();
        let id = build_record(
            &scanner.buf,
            &scanner.members,
            scanner.is_object,
            column,
            &mut out,
        )?;
        Ok((String::from_utf8(out).unwrap(), id.map(|id| id.to_string())))
    }

    #[test]
    fn splices_object_id_from_the_unique_column() {
        assert_eq!(
            build(r#"{"sku": "A-1", "price": 1.50}"#, Some("sku")).unwrap(),
            (r#"{"objectID":"A-1","sku":"A-1","price":1.50}"#.into(), Some("A-1".into()))
        );
        assert_eq!(
            build(r#"{"id": 42, "objectID": "old", "x": {"id": 1}}"#, Some("id")).unwrap(),
            (r#"{"objectID":"42","id":42,"x":{"id":1}}"#.into(), Some("42".into()))
        );
        assert_eq!(
            build(r#"{"a\"b": "q\"t"}"#, Some("a\"b")).unwrap().1,
            Some("q\"t".into())
        );
        assert_eq!(
            build(r#"{"objectID": 7}"#, Some("objectID")).unwrap().0,
            r#"{"objectID":"7"}"#
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
            (r#"{"sku":null}"#, "`sku` (uniqueIDColumn) must be a non-empty string or an integer"),
            (r#"{"sku":""}"#, "`sku` (uniqueIDColumn) must be a non-empty string or an integer"),
            (r#"{"sku":[1]}"#, "`sku` (uniqueIDColumn) must be a non-empty string or an integer"),
            (r#"{"sku":1.5}"#, "`sku` (uniqueIDColumn) must be a non-empty string or an integer"),
            ("[1,2]", "expected a JSON object, found \"[1,2]\""),
        ] {
            assert_eq!(build(element, Some("sku")).unwrap_err(), reason, "{element}");
        }
        assert!(build(r#"{"a":}"#, None).unwrap_err().starts_with("invalid JSON"));
    }
}

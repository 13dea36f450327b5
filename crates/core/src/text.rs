//! Text that came from outside (a peer's error message, a record's field) made safe to store and
//! show: [`sanitize`] replaces NUL and the other control characters a terminal or a database may
//! choke on, and caps the length on a character boundary. PostgreSQL refuses NUL in text, so an
//! unsanitized remote message could make a run impossible to finish.

use std::borrow::Cow;

/// The longest text kept by default (4 KiB), enough for any message a user reads.
pub const MAX_TEXT_BYTES: usize = 4096;

/// `text` without NUL or control characters other than tab and line breaks (each becomes
/// U+FFFD), at most `max_bytes` long (cut on a character boundary, ending with `…` when cut).
pub fn sanitize(text: &str, max_bytes: usize) -> Cow<'_, str> {
    let clean = |c: char| !c.is_control() || matches!(c, '\t' | '\n' | '\r');
    if text.len() <= max_bytes && text.chars().all(clean) {
        return Cow::Borrowed(text);
    }
    let ellipsis = '…';
    let budget = max_bytes.saturating_sub(ellipsis.len_utf8());
    let mut out = String::with_capacity(text.len().min(max_bytes));
    let mut cut = false;
    for c in text.chars() {
        let c = if clean(c) {
            c
        } else {
            char::REPLACEMENT_CHARACTER
        };
        if out.len() + c.len_utf8() > budget && text.len() > max_bytes {
            cut = true;
            break;
        }
        out.push(c);
    }
    if cut {
        out.push(ellipsis);
    }
    Cow::Owned(out)
}

/// Sanitizes every string inside a JSON value, in place ([`sanitize`] with `max_bytes` each).
pub fn sanitize_json(value: &mut serde_json::Value, max_bytes: usize) {
    match value {
        serde_json::Value::String(text) => {
            if let Cow::Owned(clean) = sanitize(text, max_bytes) {
                *text = clean;
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                sanitize_json(item, max_bytes);
            }
        }
        serde_json::Value::Object(fields) => sanitize_object(fields, max_bytes),
        _ => {}
    }
}

/// Sanitizes every key and string of a JSON object, in place ([`sanitize_json`]).
pub fn sanitize_object(fields: &mut serde_json::Map<String, serde_json::Value>, max_bytes: usize) {
    let dirty: Vec<String> = fields
        .keys()
        .filter(|k| matches!(sanitize(k, max_bytes), Cow::Owned(_)))
        .cloned()
        .collect();
    for key in dirty {
        if let Some(v) = fields.remove(&key) {
            fields.insert(sanitize(&key, max_bytes).into_owned(), v);
        }
    }
    for item in fields.values_mut() {
        sanitize_json(item, max_bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_text_is_borrowed() {
        assert!(matches!(sanitize("a\tb\nc", 100), Cow::Borrowed(_)));
    }

    #[test]
    fn nul_and_controls_are_replaced() {
        assert_eq!(sanitize("a\0b\x1bc", 100), "a\u{FFFD}b\u{FFFD}c");
    }

    #[test]
    fn long_text_is_cut_on_a_character_boundary() {
        let text = "é".repeat(100);
        let cut = sanitize(&text, 11);
        assert!(cut.len() <= 11, "{cut}");
        assert_eq!(cut, "éééé…");
        assert_eq!(sanitize("abc", 3), "abc");
        assert_eq!(sanitize("abcd", 3), "…");
    }

    #[test]
    fn json_strings_and_keys_are_sanitized() {
        let mut value = serde_json::json!({"m\0": ["x\0y", {"k": "long text"}], "n": 1});
        sanitize_json(&mut value, 6);
        assert_eq!(
            value,
            serde_json::json!({"m\u{FFFD}": ["x\u{FFFD}y", {"k": "lon…"}], "n": 1})
        );
    }
}

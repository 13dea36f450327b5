//! Writing JSON text by hand: escaped strings, number syntax, minification.
//!
//! The hot path never builds a `serde_json::Value`: rows and elements are written straight into
//! byte buffers with these helpers.

/// Bytes that cannot appear raw inside a JSON string.
static NEEDS_ESCAPE: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        table[i] = true;
        i += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends `text` as a JSON string (with its quotes). `text` must be valid UTF-8 (it is taken
/// as bytes so that callers that validated a whole row once need not re-check each field).
pub(crate) fn write_string(out: &mut Vec<u8>, text: &[u8]) {
    out.reserve(text.len() + 2);
    out.push(b'"');
    let mut start = 0;
    for (i, &byte) in text.iter().enumerate() {
        if !NEEDS_ESCAPE[byte as usize] {
            continue;
        }
        out.extend_from_slice(&text[start..i]);
        match byte {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            _ => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(byte >> 4) as usize],
                HEX[(byte & 0xf) as usize],
            ]),
        }
        start = i + 1;
    }
    out.extend_from_slice(&text[start..]);
    out.push(b'"');
}

/// Whether `text` is a number in JSON's grammar (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`).
pub(crate) fn is_json_number(text: &[u8]) -> bool {
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < text.len() && text[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > start
    };
    if text.first() == Some(&b'-') {
        i += 1;
    }
    match text.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            digits(&mut i);
        }
        _ => return false,
    }
    if text.get(i) == Some(&b'.') {
        i += 1;
        if !digits(&mut i) {
            return false;
        }
    }
    if matches!(text.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(text.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !digits(&mut i) {
            return false;
        }
    }
    i == text.len()
}

/// Appends `json` without the whitespace outside its strings. `json` is expected to be valid;
/// invalid input is copied in the same way and left for validation to refuse.
pub(crate) fn write_minified(out: &mut Vec<u8>, json: &[u8]) {
    let mut in_string = false;
    let mut escaped = false;
    for &byte in json {
        if in_string {
            out.push(byte);
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
        } else if !matches!(byte, b' ' | b'\t' | b'\n' | b'\r') {
            if byte == b'"' {
                in_string = true;
            }
            out.push(byte);
        }
    }
}

/// A short, printable excerpt of a value for error messages.
pub(crate) fn excerpt(text: &[u8]) -> String {
    const MAX: usize = 64;
    let lossy = String::from_utf8_lossy(text);
    let mut shown: String = lossy.chars().take(MAX).collect();
    if lossy.chars().nth(MAX).is_some() {
        shown.push('…');
    }
    format!("{shown:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(text: &str) -> String {
        let mut out = Vec::new();
        write_string(&mut out, text.as_bytes());
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn strings_match_serde_json() {
        for text in [
            "",
            "plain",
            "quote \" and \\ backslash",
            "lines\n\r\ttab",
            "\u{0}\u{1}\u{1f}\u{7f}",
            "unicode é 漢字 🦀",
            "\u{2028}",
        ] {
            assert_eq!(string(text), serde_json::to_string(text).unwrap());
        }
    }

    #[test]
    fn json_number_grammar() {
        for ok in ["0", "-0", "12", "-3", "3.14", "1e-3", "2E+10", "0.5e7"] {
            assert!(is_json_number(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "", "+1", "01", ".5", "1.", "1e", "1e+", "NaN", "inf", "-", "1.5.2", " 1",
        ] {
            assert!(!is_json_number(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn minify_keeps_strings_intact() {
        let mut out = Vec::new();
        write_minified(&mut out, b" { \"a b\" : [ 1 , \"x \\\" y\" ] }\r\n");
        assert_eq!(out, br#"{"a b":[1,"x \" y"]}"#);
    }

    #[test]
    fn excerpts_are_short_and_quoted() {
        assert_eq!(excerpt(b"abc"), "\"abc\"");
        assert_eq!(excerpt(&[b'x'; 100]).chars().count(), 67);
    }
}

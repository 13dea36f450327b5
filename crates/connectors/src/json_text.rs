//! Writing JSON text by hand: escaped strings, number syntax, minification; and reading it in one
//! pass ([`validate`]).
//!
//! The hot path never builds a `serde_json::Value`: rows and elements are written straight into
//! byte buffers with these helpers, and a JSON element or a CSV cell typed `json` is checked and
//! minified by the [`validate::Validator`]. Shared by the connectors; it names none of them.

pub(crate) mod validate;

/// The deepest nesting of arrays and objects a record may have, the record object itself being
/// level 1 (`docs/connectors.md` 3: deeper records are rejected).
///
/// Validation with `serde::de::IgnoredAny` does not apply serde_json's recursion limit (it skips
/// values iteratively), so the depth is checked separately.
pub(crate) const MAX_NESTING: u32 = 128;

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

/// Whether `byte` cannot appear raw inside a JSON string (the bytes [`escape_mask`] flags).
#[inline(always)]
pub(crate) fn needs_escape(byte: u8) -> bool {
    NEEDS_ESCAPE[byte as usize]
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// A growable byte buffer that JSON text is written into: a `Vec<u8>`, or the `BytesMut` that a
/// record is then split off without a copy.
pub(crate) trait JsonOut {
    /// Appends bytes.
    fn extend_from_slice(&mut self, bytes: &[u8]);
    /// Appends one byte.
    fn push(&mut self, byte: u8);
    /// Makes room for `additional` more bytes.
    fn reserve(&mut self, additional: usize);
}

impl JsonOut for Vec<u8> {
    #[inline]
    fn extend_from_slice(&mut self, bytes: &[u8]) {
        Vec::extend_from_slice(self, bytes);
    }
    #[inline]
    fn push(&mut self, byte: u8) {
        Vec::push(self, byte);
    }
    #[inline]
    fn reserve(&mut self, additional: usize) {
        Vec::reserve(self, additional);
    }
}

impl JsonOut for bytes::BytesMut {
    #[inline]
    fn extend_from_slice(&mut self, bytes: &[u8]) {
        bytes::BytesMut::extend_from_slice(self, bytes);
    }
    #[inline]
    fn push(&mut self, byte: u8) {
        bytes::BufMut::put_u8(self, byte);
    }
    #[inline]
    fn reserve(&mut self, additional: usize) {
        bytes::BytesMut::reserve(self, additional);
    }
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `word` (eight bytes, little-endian) that is a control character,
/// `"` or `\\`: the bytes a JSON string cannot hold raw. Bytes above a flagged one may be flagged
/// wrongly (borrows), but the lowest flagged byte is always right.
#[inline(always)]
pub(crate) fn escape_mask(word: u64) -> u64 {
    let control = word.wrapping_sub(LO * 0x20) & !word & HI;
    control | byte_mask(word, b'"') | byte_mask(word, b'\\')
}

/// The high bit of each byte of `word` equal to `byte` (bytes above a flagged one may be flagged
/// wrongly, by borrows, but the lowest flagged byte is always right).
#[inline(always)]
pub(crate) fn byte_mask(word: u64, byte: u8) -> u64 {
    let diff = word ^ (LO * u64::from(byte));
    diff.wrapping_sub(LO) & !diff & HI
}

/// The index of the first byte from `input[from]` that `is_wanted`, eight bytes at a time with
/// `mask` (which flags, in each word, the wanted bytes as [`byte_mask`] does).
#[inline(always)]
pub(crate) fn find(
    input: &[u8],
    mut from: usize,
    mask: impl Fn(u64) -> u64,
    is_wanted: impl Fn(u8) -> bool,
) -> Option<usize> {
    while let Some(word) = input.get(from..from + 8) {
        let found = mask(u64::from_le_bytes(word.try_into().unwrap_or([0; 8])));
        if found != 0 {
            return Some(from + (found.trailing_zeros() / 8) as usize);
        }
        from += 8;
    }
    let offset = input
        .get(from..)?
        .iter()
        .position(|&byte| is_wanted(byte))?;
    Some(from + offset)
}

/// Appends `text` as a JSON string (with its quotes). `text` must be valid UTF-8 (it is taken
/// as bytes so that callers that validated a whole row once need not re-check each field).
pub(crate) fn write_string<O: JsonOut>(out: &mut O, text: &[u8]) {
    out.reserve(text.len() + 2);
    out.push(b'"');
    let mut start = 0;
    // Eight bytes at a time, jumping straight to the next byte that needs an escape.
    while let Some(at) = find(text, start, escape_mask, needs_escape) {
        out.extend_from_slice(&text[start..at]);
        write_escape(out, text[at]);
        start = at + 1;
    }
    out.extend_from_slice(&text[start..]);
    out.push(b'"');
}

/// Appends the JSON escape of `byte`, one of the bytes [`escape_mask`] flags.
pub(crate) fn write_escape<O: JsonOut>(out: &mut O, byte: u8) {
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

/// The deepest nesting of arrays and objects in `json` (0 for a scalar), strings skipped: the
/// slow, obvious reference the validator's tests compare with.
#[cfg(test)]
pub(crate) fn nesting_depth(json: &[u8]) -> u32 {
    let (mut depth, mut deepest) = (0u32, 0u32);
    let mut in_string = false;
    let mut escaped = false;
    for &byte in json {
        if in_string {
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
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
            "eight ch\"ars and then some more text \\ with\u{1}escapes",
            "0123456\"",
            "01234567\n",
        ] {
            assert_eq!(string(text), serde_json::to_string(text).unwrap());
        }
    }

    proptest::proptest! {
        #[test]
        fn any_string_escapes_as_serde_json_does(
            text in "[a-z\"\\\\\u{0}-\u{1f}é漢🦀 ]{0,40}",
            other in proptest::prelude::any::<String>(),
        ) {
            proptest::prop_assert_eq!(string(&text), serde_json::to_string(&text).unwrap());
            proptest::prop_assert_eq!(string(&other), serde_json::to_string(&other).unwrap());
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
    fn nesting_depth_skips_strings() {
        assert_eq!(nesting_depth(b"1"), 0);
        assert_eq!(nesting_depth(br#"{"a":[1,{"b":[]}],"c":{}}"#), 4);
        assert_eq!(nesting_depth(br#"["[[[\"{{", {}]"#), 2);
    }

    #[test]
    fn excerpts_are_short_and_quoted() {
        assert_eq!(excerpt(b"abc"), "\"abc\"");
        assert_eq!(excerpt(&[b'x'; 100]).chars().count(), 67);
    }
}

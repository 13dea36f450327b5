//! A CSV field written straight as a JSON string: one pass finds where the field ends, takes its
//! quotes out and escapes what JSON must escape, with the grammar of [`super::split`].

use crate::json_text::{JsonOut, byte_mask, escape_mask, find, needs_escape, write_escape};

const QUOTE: u8 = b'"';

/// The index of the first byte from `input[from]` that a JSON string cannot hold raw (a control
/// character, line breaks included, `"` or `\`), or, when `delimiter` is given, that is the
/// delimiter.
#[inline(always)]
fn next_special(input: &[u8], from: usize, delimiter: Option<u8>) -> Option<usize> {
    match delimiter {
        Some(delimiter) => find(
            input,
            from,
            |word| escape_mask(word) | byte_mask(word, delimiter),
            |byte| needs_escape(byte) || byte == delimiter,
        ),
        None => find(input, from, escape_mask, needs_escape),
    }
}

/// Writes the field that starts at `input[at]` to `out` as a JSON string (with its quotes).
///
/// Returns the index of the byte that ends the field (a delimiter, a line break or
/// `input.len()`) and whether the row ends there too, or `None` when more input is needed
/// (what was written to `out` is then to be discarded). The bytes are copied as they are: the
/// caller checks the row's UTF-8.
pub(super) fn write_string_field<O: JsonOut>(
    input: &[u8],
    at: usize,
    delimiter: u8,
    at_end: bool,
    out: &mut O,
) -> Option<(usize, bool)> {
    out.push(b'"');
    let mut copy_from = at;
    let mut from = at;
    if input.get(at) == Some(&QUOTE) {
        copy_from = at + 1;
        from = at + 1;
        // Inside quotes: delimiters and line breaks are text; a quote closes, or is `""`.
        loop {
            let Some(special) = next_special(input, from, None) else {
                return end_of_input(input, copy_from, at_end, out);
            };
            let byte = input[special];
            out.extend_from_slice(&input[copy_from..special]);
            if byte != QUOTE {
                write_escape(out, byte);
                copy_from = special + 1;
                from = special + 1;
                continue;
            }
            match input.get(special + 1).copied() {
                Some(QUOTE) => {
                    out.extend_from_slice(b"\\\"");
                    copy_from = special + 2;
                    from = special + 2;
                }
                None if !at_end => return None,
                None => {
                    out.push(b'"');
                    return Some((input.len(), true));
                }
                Some(next) if next == delimiter => {
                    out.push(b'"');
                    return Some((special + 1, false));
                }
                Some(b'\n' | b'\r') => {
                    out.push(b'"');
                    return Some((special + 1, true));
                }
                // Text after the closing quote is kept as it is, up to the field's end.
                Some(_) => {
                    copy_from = special + 1;
                    from = special + 1;
                    break;
                }
            }
        }
    }
    // Outside quotes: the field ends at the delimiter or a line break; a quote is text.
    loop {
        let Some(special) = next_special(input, from, Some(delimiter)) else {
            return end_of_input(input, copy_from, at_end, out);
        };
        let byte = input[special];
        out.extend_from_slice(&input[copy_from..special]);
        if byte == delimiter || byte == b'\n' || byte == b'\r' {
            out.push(b'"');
            return Some((special, byte != delimiter));
        }
        write_escape(out, byte);
        copy_from = special + 1;
        from = special + 1;
    }
}

/// The input ended inside the field: more is needed, or, at the very end, the field (and the
/// row) ends there, with the bytes from `copy_from` still to copy.
fn end_of_input<O: JsonOut>(
    input: &[u8],
    copy_from: usize,
    at_end: bool,
    out: &mut O,
) -> Option<(usize, bool)> {
    if !at_end {
        return None;
    }
    out.extend_from_slice(&input[copy_from..]);
    out.push(b'"');
    Some((input.len(), true))
}

#[cfg(test)]
mod tests {
    use super::super::split::{Fields, split_field};
    use super::*;
    use crate::json_text::write_string;

    /// The field at `at` written in one pass, against split then escaped.
    fn both(input: &[u8], at: usize, delimiter: u8, at_end: bool) {
        let mut direct = Vec::new();
        let fused = write_string_field(input, at, delimiter, at_end, &mut direct);
        let mut fields = Fields::default();
        let split = split_field(input, at, delimiter, at_end, &mut fields);
        assert_eq!(fused, split, "{input:?} at {at}");
        if split.is_some() {
            let mut escaped = Vec::new();
            write_string(&mut escaped, fields.get(input, 0));
            assert_eq!(direct, escaped, "{input:?} at {at}");
        }
    }

    #[test]
    fn writes_what_splitting_then_escaping_writes() {
        let inputs: &[&[u8]] = &[
            b"plain,next",
            b"\"quoted, with \"\"quotes\"\"\",x",
            b"\"line\nbreak\"\r\n",
            b"back\\slash\ttab\"quote\"\n",
            b"\"closed\"then text\"here;x,y",
            b"",
            b",",
            b"\"",
            b"\"\"",
            b"\"a\"\"",
            b"eight by\x01tes and a control",
            b"\"long quoted text that spans several words\" ,z",
        ];
        for input in inputs {
            for delimiter in [b',', b';', b'\t', b'"', b'\\'] {
                for at_end in [false, true] {
                    both(input, 0, delimiter, at_end);
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn any_field_is_written_as_split_then_escaped(
            input in proptest::collection::vec(proptest::sample::select(
                vec![b'"', b',', b'\n', b'\r', b'\\', b'\t', 0x01, b'a', b' ', 0xC3, 0xA9],
            ), 0..40),
            delimiter in proptest::sample::select(vec![b',', b'\t', b'"', b'\\']),
            at_end in proptest::prelude::any::<bool>(),
        ) {
            both(&input, 0, delimiter, at_end);
        }
    }
}

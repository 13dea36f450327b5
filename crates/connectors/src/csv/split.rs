//! Splitting CSV rows into fields, with the grammar of `csv-core`'s default reader.
//!
//! The rules (RFC 4180 as `csv-core` reads it): a row ends at `\n`, `\r` or `\r\n` outside
//! quotes; empty lines are skipped; a field that starts with `"` is quoted (delimiters and line
//! breaks inside are text, `""` is one quote); after the closing quote, anything up to the next
//! delimiter or line break is appended as is; a `"` anywhere else is text. At the end of the
//! input the last row ends, even inside quotes.
//!
//! Fields are not copied: a field is a range of the row's bytes, except a field whose quotes
//! must be taken out (`""` inside it, or text after its closing quote), which is unquoted into a
//! scratch buffer. Fields are scanned eight bytes at a time (SWAR), so a row costs a few word
//! operations per eight bytes instead of a state transition per byte.

use crate::json_text::{byte_mask, find};

const QUOTE: u8 = b'"';

/// The index of the first delimiter or line break from `input[from]`.
#[inline(always)]
fn field_end(input: &[u8], from: usize, delimiter: u8) -> Option<usize> {
    find(
        input,
        from,
        |word| byte_mask(word, delimiter) | byte_mask(word, b'\n') | byte_mask(word, b'\r'),
        |byte| byte == delimiter || byte == b'\n' || byte == b'\r',
    )
}

/// The index of the first quote from `input[from]`.
#[inline(always)]
fn next_quote(input: &[u8], from: usize) -> Option<usize> {
    find(
        input,
        from,
        |word| byte_mask(word, QUOTE),
        |byte| byte == QUOTE,
    )
}

/// Where a field's text is: in the row's bytes or in the splitter's scratch buffer.
#[derive(Clone, Copy, Debug)]
struct FieldRange {
    start: usize,
    end: usize,
    unquoted: bool,
}

/// The fields of the last row split, reused from row to row.
#[derive(Debug, Default)]
pub(super) struct Fields {
    ranges: Vec<FieldRange>,
    scratch: Vec<u8>,
}

impl Fields {
    /// Fields in the row.
    pub(super) fn len(&self) -> usize {
        self.ranges.len()
    }

    /// The text of field `index` of the row `row` (the bytes [`split_row`] was given).
    pub(super) fn get<'a>(&'a self, row: &'a [u8], index: usize) -> &'a [u8] {
        let FieldRange {
            start,
            end,
            unquoted,
        } = self.ranges[index];
        if unquoted {
            &self.scratch[start..end]
        } else {
            &row[start..end]
        }
    }

    /// Forgets the fields of the last row.
    pub(super) fn clear(&mut self) {
        self.ranges.clear();
        self.scratch.clear();
    }

    fn push(&mut self, start: usize, end: usize) {
        self.ranges.push(FieldRange {
            start,
            end,
            unquoted: false,
        });
    }
}

/// Splits the row that starts at `input[start]` (not a line break) into `fields`.
///
/// Returns the index of the byte that ends the row (its line break, or `input.len()`), or `None`
/// when the input ends before the row does and `at_end` is false (more input is needed).
pub(super) fn split_row(
    input: &[u8],
    start: usize,
    delimiter: u8,
    at_end: bool,
    fields: &mut Fields,
) -> Option<usize> {
    fields.clear();
    let mut at = start;
    loop {
        match split_field(input, at, delimiter, at_end, fields)? {
            (end, true) => return Some(end),
            (end, false) => at = end + 1,
        }
    }
}

/// Splits the field that starts at `input[at]`, appending it to `fields`. Returns the index of
/// the byte that ends the field (a delimiter, a line break or `input.len()`) and whether the row
/// ends there too, or `None` when more input is needed.
pub(super) fn split_field(
    input: &[u8],
    at: usize,
    delimiter: u8,
    at_end: bool,
    fields: &mut Fields,
) -> Option<(usize, bool)> {
    if input.get(at) == Some(&QUOTE) {
        return split_quoted(input, at + 1, delimiter, at_end, fields);
    }
    match field_end(input, at, delimiter) {
        Some(end) => {
            fields.push(at, end);
            Some((end, input[end] != delimiter))
        }
        None if at_end => {
            fields.push(at, input.len());
            Some((input.len(), true))
        }
        None => None,
    }
}

/// Splits the quoted field whose text starts at `input[at]` (after its opening quote). Returns
/// the index of the byte that ends the field and whether that byte also ends the row.
fn split_quoted(
    input: &[u8],
    mut at: usize,
    delimiter: u8,
    at_end: bool,
    fields: &mut Fields,
) -> Option<(usize, bool)> {
    let text_start = at;
    // Where the text not yet copied to scratch starts, once the field needs scratch.
    let mut scratch_from: Option<usize> = None;
    let scratch_start = fields.scratch.len();
    let (close, after) = loop {
        let Some(quote) = next_quote(input, at) else {
            if !at_end {
                return None;
            }
            break (input.len(), input.len());
        };
        match input.get(quote + 1) {
            Some(&QUOTE) => {
                let from = scratch_from.unwrap_or(text_start);
                fields.scratch.extend_from_slice(&input[from..=quote]);
                at = quote + 2;
                scratch_from = Some(at);
            }
            None if !at_end => return None,
            _ => break (quote, quote + 1),
        }
    };
    let next = input.get(after).copied();
    let ends_field =
        next.is_none() || next == Some(delimiter) || matches!(next, Some(b'\n' | b'\r'));
    if ends_field && scratch_from.is_none() {
        fields.push(text_start, close);
        return Some((after, next != Some(delimiter)));
    }
    // The field's text goes to scratch: the quoted part, then anything up to the next delimiter
    // or line break, as is.
    let from = scratch_from.unwrap_or(text_start);
    fields.scratch.extend_from_slice(&input[from..close]);
    let end = if ends_field {
        after
    } else {
        match field_end(input, after, delimiter) {
            Some(end) => end,
            None if at_end => input.len(),
            None => return None,
        }
    };
    fields.scratch.extend_from_slice(&input[after..end]);
    fields.ranges.push(FieldRange {
        start: scratch_start,
        end: fields.scratch.len(),
        unquoted: true,
    });
    Some((end, input.get(end) != Some(&delimiter)))
}

/// Finds where a row ends in input that arrives in pieces, remembering the quoting state from
/// one piece to the next (for the rare row that spans two chunks).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum RowScan {
    /// At the start of a field.
    #[default]
    FieldStart,
    /// In a field that is not (or no longer) quoted.
    Unquoted,
    /// Inside quotes.
    Quoted,
    /// Just after a quote inside quotes: the closing quote, or the first of `""`.
    QuoteInQuoted,
}

impl RowScan {
    /// Scans `input`, which continues the row; returns the index of the line break that ends it.
    pub(super) fn find_end(&mut self, input: &[u8], delimiter: u8) -> Option<usize> {
        use RowScan::*;
        for (index, &byte) in input.iter().enumerate() {
            let line_break = byte == b'\n' || byte == b'\r';
            *self = match (*self, byte) {
                (Quoted, QUOTE) => QuoteInQuoted,
                (Quoted, _) => Quoted,
                (FieldStart | QuoteInQuoted, QUOTE) => Quoted,
                _ if line_break => return Some(index),
                _ if byte == delimiter => FieldStart,
                _ => Unquoted,
            };
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rows of `input` as `split_row` reads them, the whole input at hand.
    fn rows(input: &[u8]) -> Vec<Vec<Vec<u8>>> {
        let mut fields = Fields::default();
        let mut rows = Vec::new();
        let mut at = 0;
        loop {
            while matches!(input.get(at), Some(b'\n' | b'\r')) {
                at += 1;
            }
            if at == input.len() {
                return rows;
            }
            let end = split_row(input, at, b',', true, &mut fields).unwrap();
            rows.push(
                (0..fields.len())
                    .map(|i| fields.get(input, i).to_vec())
                    .collect(),
            );
            at = end;
        }
    }

    fn strings(rows: &[&[&str]]) -> Vec<Vec<Vec<u8>>> {
        rows.iter()
            .map(|row| row.iter().map(|field| field.as_bytes().to_vec()).collect())
            .collect()
    }

    #[test]
    fn the_grammar_of_csv_core() {
        let cases: &[(&str, &[&[&str]])] = &[
            ("a,b\n1,2\n", &[&["a", "b"], &["1", "2"]]),
            ("a,b\r\n\r\n\n1,2", &[&["a", "b"], &["1", "2"]]),
            ("\"a,b\",\"c\nd\"\r", &[&["a,b", "c\nd"]]),
            ("\"say \"\"hi\"\"\",x", &[&["say \"hi\"", "x"]]),
            ("\"ab\"cd\"e,f", &[&["abcd\"e", "f"]]),
            ("a\"b\",c", &[&["a\"b\"", "c"]]),
            (",\n", &[&["", ""]]),
            ("\"\"\n", &[&[""]]),
            ("a,", &[&["a", ""]]),
            ("\"unterminated,\nrow", &[&["unterminated,\nrow"]]),
            ("\"a\"\"", &[&["a\""]]),
            (" \"a\" ,b", &[&[" \"a\" ", "b"]]),
        ];
        for (input, expected) in cases {
            assert_eq!(rows(input.as_bytes()), strings(expected), "{input:?}");
        }
    }

    #[test]
    fn needs_more_input_until_the_row_ends() {
        let mut fields = Fields::default();
        for partial in ["a,b", "a,", "\"a", "\"a\"", "\"a\"\"b\"", "\"a\"b"] {
            assert_eq!(
                split_row(partial.as_bytes(), 0, b',', false, &mut fields),
                None,
                "{partial:?}"
            );
        }
        assert_eq!(split_row(b"\"a\"\n", 0, b',', false, &mut fields), Some(3));
    }

    #[test]
    fn the_scan_state_carries_over() {
        let mut scan = RowScan::default();
        assert_eq!(scan.find_end(b"a,\"b\n", b','), None);
        assert_eq!(scan.find_end(b"c\"\"", b','), None);
        assert_eq!(scan.find_end(b"\n\"x\nz", b','), Some(3));
        let mut scan = RowScan::default();
        assert_eq!(scan.find_end(b"a\"b\nc", b','), Some(3));
    }
}

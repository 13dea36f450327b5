//! A JSON body (one top-level array, or NDJSON) to records, fed in chunks.

use std::collections::VecDeque;
use std::sync::Arc;

use ingest_core::{
    Position, Record, RecordRejection, SourceError, SourceItemError, SourceResult, too_big_reason,
};

use super::element::{check_element, existing_object_id, splice_object_id};
use super::scanner::{ElementScanner, Framing, Scan};
use crate::arena::RecordArena;
use crate::decode::{BomStripper, RecordDecoder};
use crate::json_text::MAX_NESTING;
use crate::json_text::validate::{Member, Validator};

/// How to read one JSON source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonOptions {
    /// The top-level attribute whose value becomes `objectID`.
    pub unique_id_column: Option<String>,
    /// The largest record accepted, in bytes of minified JSON.
    pub max_record_bytes: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Before the first non-whitespace byte, which decides the format.
    Detect,
    /// Inside the array, before an element (or `]` when `first`).
    BeforeElement { first: bool },
    /// Inside an element of the array.
    InElement,
    /// After an element, before `,` or `]`.
    AfterElement,
    /// After the closing `]`.
    Closed,
    /// NDJSON: at the start of a line, or inside one (`open`: its first bytes were scanned).
    Line { open: bool },
    /// A fatal error was emitted.
    Failed,
}

/// Decodes a JSON array or NDJSON body into records; see `docs/connectors.md` 3 for the rules.
#[derive(Debug)]
pub struct JsonDecoder {
    options: JsonOptions,
    state: State,
    bom: BomStripper,
    scanner: ElementScanner,
    validator: Validator,
    /// The index of the next array element, or the number of the current line.
    count: u64,
    /// Bytes consumed so far, for messages about the container.
    offset: u64,
    arena: RecordArena,
}

fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r')
}

impl JsonDecoder {
    /// A decoder for one JSON body.
    pub fn new(options: JsonOptions) -> Self {
        let limit = options.max_record_bytes;
        Self {
            options,
            state: State::Detect,
            bom: BomStripper::default(),
            scanner: ElementScanner::new(Framing::ArrayElement, limit),
            validator: Validator::default(),
            count: 0,
            offset: 0,
            arena: RecordArena::default(),
        }
    }

    fn fail(&mut self, message: String, out: &mut VecDeque<SourceResult>) {
        self.state = State::Failed;
        out.push_back(Err(SourceItemError::Fatal(SourceError::new(message))));
    }

    fn parse(&mut self, input: &[u8], out: &mut VecDeque<SourceResult>) {
        // UTF-8 is checked once for the whole input: the fast path then checks only the elements
        // that reach past the valid part.
        let text = utf8_prefix(input);
        let mut i = 0;
        while i < input.len() {
            match self.state {
                State::Failed => return,
                State::Detect => {
                    let byte = input[i];
                    if is_space(byte) {
                        i += 1;
                    } else if byte == b'[' {
                        self.state = State::BeforeElement { first: true };
                        i += 1;
                    } else {
                        self.scanner =
                            ElementScanner::new(Framing::Line, self.options.max_record_bytes);
                        self.count = 1;
                        self.state = State::Line { open: false };
                    }
                }
                State::BeforeElement { first } => {
                    let byte = input[i];
                    if is_space(byte) {
                        i += 1;
                    } else if byte == b']' && first {
                        self.state = State::Closed;
                        i += 1;
                    } else if byte == b']' || byte == b',' {
                        let at = self.offset + i as u64;
                        self.fail(
                            format!("malformed JSON array: unexpected `{}` at byte {at}, where element {} should start", byte as char, self.count),
                            out,
                        );
                    } else if let Some(n) = self.fast_element(input, i, text, out) {
                        i += n;
                        self.state = State::AfterElement;
                        // Straight to the next element when a `,` follows (what `AfterElement`
                        // and `BeforeElement` would do, byte by byte).
                        i += input[i..]
                            .iter()
                            .take_while(|&&byte| is_space(byte))
                            .count();
                        if input.get(i) == Some(&b',') {
                            i += 1;
                            i += input[i..]
                                .iter()
                                .take_while(|&&byte| is_space(byte))
                                .count();
                            self.state = State::BeforeElement { first: false };
                        }
                    } else {
                        self.scanner.reset();
                        self.state = State::InElement;
                    }
                }
                State::InElement => match self.scanner.scan(&input[i..]) {
                    Scan::More => i = input.len(),
                    Scan::Ended(n) => {
                        i += n;
                        let position = Position::Element(self.count);
                        self.count += 1;
                        self.emit(position, out);
                        self.state = State::AfterElement;
                    }
                },
                State::AfterElement => {
                    let byte = input[i];
                    i += 1;
                    match byte {
                        b',' => self.state = State::BeforeElement { first: false },
                        b']' => self.state = State::Closed,
                        byte if is_space(byte) => {}
                        byte => {
                            let at = self.offset + i as u64 - 1;
                            self.fail(
                                format!("malformed JSON array: expected `,` or `]` after element {}, found `{}` at byte {at}", self.count - 1, byte.escape_ascii()),
                                out,
                            );
                        }
                    }
                }
                State::Closed => {
                    let byte = input[i];
                    if !is_space(byte) {
                        let at = self.offset + i as u64;
                        self.fail(
                            format!("malformed JSON: unexpected data at byte {at}, after the array's closing `]`"),
                            out,
                        );
                    }
                    i += 1;
                }
                State::Line { open } => {
                    if !open && let Some(n) = self.fast_line(input, i, text, out) {
                        i += n;
                        continue;
                    }
                    let rest = &input[i..];
                    match memchr::memchr(b'\n', rest) {
                        None => {
                            self.scanner.scan(rest);
                            i = input.len();
                            self.state = State::Line { open: true };
                        }
                        Some(at) => {
                            self.scanner.scan(&rest[..at]);
                            i += at + 1;
                            self.state = State::Line { open: false };
                            self.end_line(out);
                        }
                    }
                }
            }
        }
        self.offset += input.len() as u64;
    }

    /// The fast path for an array element that starts at `input[start]`: when the element is an
    /// object that ends within `input`, is valid and not too big, emits its record and returns the
    /// number of bytes it took. Otherwise (`None`) the scanner takes the element from its start.
    ///
    /// `text` is the part of `input` known to be UTF-8.
    fn fast_element(
        &mut self,
        input: &[u8],
        start: usize,
        text: &str,
        out: &mut VecDeque<SourceResult>,
    ) -> Option<usize> {
        let input = &input[start..];
        if input.first() != Some(&b'{') {
            return None;
        }
        let end = self
            .validator
            .scan(input, self.options.max_record_bytes, false)?;
        let element = self
            .validator
            .minified_text(&input[..end], text.get(start..start + end))?;
        let position = Position::Element(self.count);
        self.count += 1;
        out.push_back(record(
            element,
            &self.validator.members,
            position,
            &self.options,
            &mut self.arena,
        ));
        Some(end)
    }

    /// The fast path for the NDJSON line that starts at `input[start]`: when the line is blank, or
    /// holds one valid object (not too big) and ends within `input`, emits its record (if any)
    /// and returns the number of bytes it took, its `\n` included. Otherwise (`None`) the scanner
    /// takes the line from its start. `text` is the part of `input` known to be UTF-8.
    fn fast_line(
        &mut self,
        input: &[u8],
        start: usize,
        text: &str,
        out: &mut VecDeque<SourceResult>,
    ) -> Option<usize> {
        let line_space = |byte: &u8| matches!(byte, b' ' | b'\t' | b'\r');
        let rest = &input[start..];
        let skip = rest.iter().position(|byte| !line_space(byte))?;
        match rest[skip] {
            b'\n' => {
                self.count += 1;
                return Some(skip + 1);
            }
            b'{' => {}
            _ => return None,
        }
        let element = &rest[skip..];
        // Not past the newline: an object that goes on on the next line is the scanner's.
        let end = self
            .validator
            .scan(element, self.options.max_record_bytes, true)?;
        let after = end + element[end..].iter().position(|byte| !line_space(byte))?;
        if element[after] != b'\n' {
            return None;
        }
        let at = start + skip;
        let element = self
            .validator
            .minified_text(&element[..end], text.get(at..at + end))?;
        out.push_back(record(
            element,
            &self.validator.members,
            Position::Line(self.count),
            &self.options,
            &mut self.arena,
        ));
        self.count += 1;
        Some(skip + after + 1)
    }

    fn end_line(&mut self, out: &mut VecDeque<SourceResult>) {
        if self.scanner.started() {
            self.emit(Position::Line(self.count), out);
        }
        self.scanner.reset();
        self.count += 1;
    }

    fn emit(&mut self, position: Position, out: &mut VecDeque<SourceResult>) {
        let scanner = &self.scanner;
        if scanner.oversize() {
            let reason = too_big(scanner.len, &self.options);
            out.push_back(reject(position, None, reason));
        } else if scanner.is_open() {
            let reason = "invalid JSON: the value is not closed".to_owned();
            out.push_back(reject(position, None, reason));
        } else if scanner.max_depth > MAX_NESTING {
            let reason =
                format!("the record nests arrays and objects deeper than {MAX_NESTING} levels");
            out.push_back(reject(position, None, reason));
        } else {
            out.push_back(match check_element(&scanner.buf, &mut self.validator) {
                Ok(element) => record(
                    element,
                    &self.validator.members,
                    position,
                    &self.options,
                    &mut self.arena,
                ),
                Err(reason) => reject(position, None, reason),
            });
        }
    }
}

/// The longest start of `input` that is UTF-8 (a character cut at its end is left out).
fn utf8_prefix(input: &[u8]) -> &str {
    // Leave out a last character that may be cut, so that the common case takes one pass.
    let mut end = input.len();
    for back in 1..=input.len().min(4) {
        let byte = input[input.len() - back];
        if byte < 0x80 {
            break;
        }
        if byte >= 0xc0 {
            end = input.len() - back;
            break;
        }
    }
    if let Ok(text) = simdutf8::basic::from_utf8(&input[..end]) {
        return text;
    }
    let valid = match simdutf8::compat::from_utf8(input) {
        Ok(text) => return text,
        Err(error) => error.valid_up_to(),
    };
    simdutf8::basic::from_utf8(&input[..valid]).unwrap_or_default()
}

/// The record (or the rejection) of a valid, minified object with its top-level `members`.
fn record(
    element: &str,
    members: &[Member],
    position: Position,
    options: &JsonOptions,
    arena: &mut RecordArena,
) -> SourceResult {
    let Some(column) = options.unique_id_column.as_deref() else {
        let object_id = existing_object_id(element, members);
        if element.len() > options.max_record_bytes {
            return reject(position, object_id, too_big(element.len(), options));
        }
        return Ok(Record::new(object_id, arena.freeze(element.as_bytes())));
    };
    let out = arena.writer(element.len() + 64);
    match splice_object_id(element, members, column, out) {
        Ok(object_id) if out.len() > options.max_record_bytes => {
            let reason = too_big(out.len(), options);
            arena.discard();
            reject(position, Some(object_id), reason)
        }
        Ok(object_id) => Ok(Record::new(Some(object_id), arena.take())),
        Err(reason) => {
            arena.discard();
            reject(position, None, reason)
        }
    }
}

fn too_big(size: usize, options: &JsonOptions) -> String {
    too_big_reason(size, options.max_record_bytes)
}

fn reject(position: Position, object_id: Option<Arc<str>>, reason: String) -> SourceResult {
    Err(SourceItemError::Rejected(RecordRejection {
        position,
        object_id,
        reason,
    }))
}

impl RecordDecoder for JsonDecoder {
    fn feed(&mut self, chunk: &[u8], out: &mut VecDeque<SourceResult>) {
        let input = self.bom.strip(chunk);
        self.parse(&input, out);
    }

    fn finish(&mut self, out: &mut VecDeque<SourceResult>) {
        let held = self.bom.finish();
        self.parse(&held, out);
        match self.state {
            State::Detect | State::Closed | State::Failed => {}
            State::Line { .. } => self.end_line(out),
            State::BeforeElement { .. } | State::InElement | State::AfterElement => {
                let elements = self.count;
                self.fail(
                    format!("truncated JSON: the top-level array never closes (the body ended after {elements} complete elements, at byte {})", self.offset),
                    out,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::Value;

    /// Every item, fed in chunks whose sizes cycle through `sizes`, as `Debug` text.
    fn decode(input: &[u8], sizes: &[usize], column: Option<&str>, limit: usize) -> Vec<String> {
        let mut decoder = JsonDecoder::new(JsonOptions {
            unique_id_column: column.map(str::to_owned),
            max_record_bytes: limit,
        });
        let mut out = VecDeque::new();
        let mut rest = input;
        for &size in sizes.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (chunk, tail) = rest.split_at(size.clamp(1, rest.len()));
            decoder.feed(chunk, &mut out);
            rest = tail;
        }
        decoder.finish(&mut out);
        out.iter().map(|item| format!("{item:?}")).collect()
    }

    /// Fed whole, elements take the fast path; byte by byte, they all take the scanner's.
    fn both_paths(input: &str, column: Option<&str>, limit: usize) -> Vec<String> {
        let whole = decode(input.as_bytes(), &[input.len()], column, limit);
        assert_eq!(
            whole,
            decode(input.as_bytes(), &[1], column, limit),
            "{input}"
        );
        whole
    }

    #[test]
    fn fast_and_slow_paths_agree_on_edge_cases() {
        for input in [
            "[{\"id\":\"a\",\"n\":1.50} , {\"id\":2}\n,{ \"id\" : \"c\" , \"x\" : [ 1 , 2 ] }]",
            "[{\"id\":\"a\"},{\"id\":\"b\"}} ,{\"id\":\"c\"}]",
            "[{\"id\":\"a\",\"x\":[1}],{\"id\":\"b\"}]",
            "[{\"id\":\"\\u0041\\n\"},{\"id\":\"\\ud800\"},{\"objectID\":1,\"id\":3,\"objectID\":2}]",
            "[{\"id\":\"a\",\"s\":\"tab\there\"},{\"id\":\"\u{e9}\"},{\"id\":1e3},{\"id\":-7}]",
            "{\"id\":\"a\"}\n{\"id\":\n\"b\"}\n\n  \r\n{\"id\":\"c\"} x\n{\"id\":\"d\"}\r\n{\"id\":\"e\"}",
            "{\"id\":\"a\"}\n[1]\n\"s\"\n{\"id\":\"b\"}}\n{\"id\":{\"deep\":[[[]]]}}\n{}",
            "\u{feff}[{\"id\":\"bom\"}]",
            "[{\"id\":\"a\"}] x",
            "[{\"id\":\"a\"},",
            "[{\"id\":\"a\" , \"pad\" : \"0123456789012345678901234567890123456789\" }]",
        ] {
            for column in [None, Some("id")] {
                for limit in [40, 100_000] {
                    both_paths(input, column, limit);
                }
            }
        }
    }

    #[test]
    fn ndjson_elements_never_span_lines() {
        let items = both_paths("{\"a\":\n1}\n{\"b\": 2 }\n", None, 100);
        assert_eq!(items.len(), 3);
        assert!(items[0].contains("Line(1)") && items[0].contains("not closed"));
        assert!(items[1].contains("Line(2)") && items[1].contains("trailing characters"));
        assert_eq!(
            items[2],
            r#"Ok(Record { object_id: None, json: "{\"b\":2}", delete: false })"#
        );
    }

    #[test]
    fn nesting_past_the_limit_is_refused_without_recursion() {
        for levels in [129, 5_000, 1_000_000] {
            let deep = format!("{}1{}", "{\"a\":".repeat(levels), "}".repeat(levels));
            let items = decode(
                format!("[{deep},{{\"b\":2}}]").as_bytes(),
                &[1 << 20],
                None,
                usize::MAX,
            );
            assert_eq!(items.len(), 2, "{levels}");
            assert!(items[0].contains("deeper than 128 levels"), "{}", items[0]);
            assert!(items[1].starts_with("Ok"), "{}", items[1]);
        }
    }

    fn object() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            "[a-z\"\\\\\u{e9}\u{1f980}\n ]{0,8}".prop_map(Value::String),
        ];
        let value = leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec(("[a-z\"]{0,3}", inner), 0..4)
                    .prop_map(|members| Value::Object(members.into_iter().collect())),
            ]
        });
        let id = prop_oneof![
            "[a-z0-9\"\\\\]{1,6}".prop_map(Value::String),
            any::<u32>().prop_map(Value::from)
        ];
        (prop::collection::vec(("[a-z]{1,3}", value), 0..5), id).prop_map(|(members, id)| {
            let mut object: serde_json::Map<String, Value> = members.into_iter().collect();
            object.insert("id".to_owned(), id);
            Value::Object(object)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        #[test]
        fn records_hold_the_minified_objects(
            objects in prop::collection::vec(object(), 0..8),
            framing in 0..3u8,
            sizes in prop::collection::vec(1..80usize, 1..4),
            column in prop::sample::select(vec![None, Some("id")]),
        ) {
            let text: Vec<String> = objects.iter().map(|object| match framing {
                1 => serde_json::to_string_pretty(object).unwrap(),
                _ => serde_json::to_string(object).unwrap(),
            }).collect();
            let input = match framing {
                2 => text.join("\r\n") + "\n",
                _ => format!("[\n{}\n]", text.join(",\n")),
            };
            let whole = decode(input.as_bytes(), &[input.len()], column, 100_000);
            prop_assert_eq!(&whole, &decode(input.as_bytes(), &sizes, column, 100_000));
            prop_assert_eq!(whole.len(), objects.len());
            let mut decoder = JsonDecoder::new(JsonOptions { unique_id_column: column.map(str::to_owned), max_record_bytes: 100_000 });
            let mut out = VecDeque::new();
            decoder.feed(input.as_bytes(), &mut out);
            decoder.finish(&mut out);
            for (item, object) in out.into_iter().zip(&objects) {
                let record = item.map_err(|error| TestCaseError::fail(format!("{error:?}")))?;
                let mut parsed: serde_json::Map<String, Value> = serde_json::from_slice(&record.json).unwrap();
                let id = match &object["id"] {
                    Value::String(id) => id.clone(),
                    id => id.to_string(),
                };
                if column.is_some() {
                    prop_assert_eq!(parsed.remove("objectID"), Some(Value::String(id.clone())));
                    prop_assert_eq!(record.object_id.as_deref(), Some(id.as_str()));
                    let prefix: &[u8] = b"{\"objectID\":";
                    prop_assert!(record.json.starts_with(prefix), "objectID first");
                } else {
                    prop_assert_eq!(record.json.len(), serde_json::to_string(object).unwrap().len());
                }
                // serde_json's float parsing may differ from the value in the last digit.
                let reparsed: Value = serde_json::from_str(&serde_json::to_string(object).unwrap()).unwrap();
                prop_assert_eq!(&Value::Object(parsed), &reparsed);
            }
        }
    }
}

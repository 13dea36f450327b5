//! A JSON body (one top-level array, or NDJSON) to records, fed in chunks.

use std::collections::VecDeque;
use std::sync::Arc;

use ingest_core::{Position, Record, RecordRejection, SourceError, SourceItemError, SourceResult};

use super::element::build_record;
use super::scanner::{ElementScanner, Framing, Scan};
use crate::arena::RecordArena;
use crate::decode::{BomStripper, RecordDecoder};

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
    /// NDJSON: inside a line.
    Line,
    /// A fatal error was emitted.
    Failed,
}

/// Decodes a JSON array or NDJSON body into records; see `connectors.md` for the rules.
#[derive(Debug)]
pub struct JsonDecoder {
    options: JsonOptions,
    state: State,
    bom: BomStripper,
    scanner: ElementScanner,
    /// The index of the next array element, or the number of the current line.
    count: u64,
    /// Bytes consumed so far, for messages about the container.
    offset: u64,
    json: Vec<u8>,
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
            count: 0,
            offset: 0,
            json: Vec::with_capacity(4096),
            arena: RecordArena::default(),
        }
    }

    fn fail(&mut self, message: String, out: &mut VecDeque<SourceResult>) {
        self.state = State::Failed;
        out.push_back(Err(SourceItemError::Fatal(SourceError::new(message))));
    }

    fn parse(&mut self, input: &[u8], out: &mut VecDeque<SourceResult>) {
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
                        self.scanner = ElementScanner::new(Framing::Line, self.options.max_record_bytes);
                        self.count = 1;
                        self.state = State::Line;
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
                State::Line => {
                    let rest = &input[i..];
                    match memchr::memchr(b'\n', rest) {
                        None => {
                            self.scanner.scan(rest);
                            i = input.len();
                        }
                        Some(at) => {
                            self.scanner.scan(&rest[..at]);
                            i += at + 1;
                            self.end_line(out);
                        }
                    }
                }
            }
        }
        self.offset += input.len() as u64;
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
        let result = if scanner.oversize() {
            Err(format!(
                "record is too big: {} bytes of minified JSON, the limit is {}",
                scanner.len, self.options.max_record_bytes
            ))
        } else if scanner.is_open() {
            Err("invalid JSON: the value is not closed".to_owned())
        } else {
            build_record(
                &scanner.buf,
                &scanner.members,
                scanner.is_object,
                self.options.unique_id_column.as_deref(),
                &mut self.json,
            )
        };
        out.push_back(match result {
            Ok(object_id) => {
                if self.json.len() > self.options.max_record_bytes {
                    reject(position, object_id, format!(
                        "record is too big: {} bytes of minified JSON, the limit is {}",
                        self.json.len(),
                        self.options.max_record_bytes
                    ))
                } else {
                    Ok(Record::new(object_id, self.arena.freeze(&self.json)))
                }
            }
            Err(reason) => reject(position, None, reason),
        });
    }
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
        let mut bom = std::mem::take(&mut self.bom);
        let input = bom.strip(chunk);
        self.parse(&input, out);
        drop(input);
        self.bom = bom;
    }

    fn finish(&mut self, out: &mut VecDeque<SourceResult>) {
        let held = self.bom.finish();
        self.parse(&held, out);
        match self.state {
            State::Detect | State::Closed | State::Failed => {}
            State::Line => self.end_line(out),
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

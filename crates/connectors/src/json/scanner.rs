//! One JSON element, scanned byte by byte across chunks: minified into a buffer until the element
//! ends, by bracket and quote structure alone (validation comes after).
//!
//! This is the slow path of the decoder: it takes the elements that do not lie within one chunk
//! and those the fast pass (`json_text::validate`) refused, so that an invalid element still ends
//! where its structure says and the following elements are read.

use memchr::memchr2;

/// How an element ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    /// An element of an array: it ends with its closing bracket or quote, or, for another scalar,
    /// before the next `,`, `]` or whitespace.
    ArrayElement,
    /// A line of NDJSON: the caller ends it at the newline.
    Line,
}

/// The element being scanned.
#[derive(Debug)]
pub(crate) struct ElementScanner {
    framing: Framing,
    limit: usize,
    /// The minified element, up to `limit` bytes.
    pub(crate) buf: Vec<u8>,
    /// The minified length, even past `limit`.
    pub(crate) len: usize,
    depth: u32,
    /// The deepest nesting reached (the element itself is level 1).
    pub(crate) max_depth: u32,
    in_string: bool,
    escaped: bool,
    started: bool,
    /// A scalar other than a string: it ends at a delimiter.
    bare_scalar: bool,
}

/// What [`ElementScanner::scan`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scan {
    /// Every byte was consumed; the element goes on.
    More,
    /// The element ended after `n` bytes of the input.
    Ended(usize),
}

fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r')
}

impl ElementScanner {
    pub(crate) fn new(framing: Framing, limit: usize) -> Self {
        Self {
            framing,
            limit,
            buf: Vec::with_capacity(1024),
            len: 0,
            depth: 0,
            max_depth: 0,
            in_string: false,
            escaped: false,
            started: false,
            bare_scalar: false,
        }
    }

    /// Forgets the element, keeping the buffers.
    pub(crate) fn reset(&mut self) {
        self.buf.clear();
        self.len = 0;
        self.depth = 0;
        self.max_depth = 0;
        self.in_string = false;
        self.escaped = false;
        self.started = false;
        self.bare_scalar = false;
    }

    /// Whether any non-whitespace byte was seen.
    pub(crate) fn started(&self) -> bool {
        self.started
    }

    /// Whether the element grew past the limit (its bytes were not all kept).
    pub(crate) fn oversize(&self) -> bool {
        self.len > self.limit
    }

    /// Whether a string or a nested value is still open.
    pub(crate) fn is_open(&self) -> bool {
        self.in_string || self.depth > 0
    }

    fn keep(&mut self, bytes: &[u8]) {
        let room = self.limit.saturating_sub(self.len);
        let kept = bytes.len().min(room);
        if kept > 0 {
            self.buf.extend_from_slice(&bytes[..kept]);
        }
        self.len += bytes.len();
    }

    /// Scans `input`, which continues the element.
    pub(crate) fn scan(&mut self, input: &[u8]) -> Scan {
        let mut i = 0;
        while i < input.len() {
            if self.in_string {
                let rest = &input[i..];
                if self.escaped {
                    self.escaped = false;
                    self.keep(&rest[..1]);
                    i += 1;
                    continue;
                }
                match memchr2(b'"', b'\\', rest) {
                    None => {
                        self.keep(rest);
                        return Scan::More;
                    }
                    Some(at) => {
                        self.keep(&rest[..=at]);
                        i += at + 1;
                        if rest[at] == b'\\' {
                            self.escaped = true;
                        } else {
                            self.in_string = false;
                            if self.depth == 0 && self.framing == Framing::ArrayElement {
                                return Scan::Ended(i);
                            }
                        }
                    }
                }
                continue;
            }
            let byte = input[i];
            if is_space(byte) {
                if self.bare_scalar && self.framing == Framing::ArrayElement {
                    return Scan::Ended(i);
                }
                i += 1;
                continue;
            }
            if !self.started {
                self.started = true;
                self.bare_scalar = !matches!(byte, b'{' | b'[' | b'"');
            }
            match byte {
                b'"' => self.in_string = true,
                b'{' | b'[' => {
                    self.depth += 1;
                    self.max_depth = self.max_depth.max(self.depth);
                }
                b'}' | b']' => {
                    if self.depth > 0 {
                        self.depth -= 1;
                        if self.depth == 0 && self.framing == Framing::ArrayElement {
                            self.keep(&[byte]);
                            return Scan::Ended(i + 1);
                        }
                    } else if self.framing == Framing::ArrayElement {
                        // A delimiter of the enclosing array, after a bare scalar.
                        return Scan::Ended(i);
                    }
                    // A stray closing bracket on a line is kept: validation refuses the line.
                }
                b',' if self.depth == 0 && self.framing == Framing::ArrayElement => {
                    return Scan::Ended(i);
                }
                _ => {}
            }
            self.keep(&[byte]);
            i += 1;
        }
        Scan::More
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_all(framing: Framing, chunks: &[&str]) -> (String, Option<usize>) {
        let mut scanner = ElementScanner::new(framing, 1000);
        let mut ended = None;
        for chunk in chunks {
            if let Scan::Ended(n) = scanner.scan(chunk.as_bytes()) {
                ended = Some(n);
                break;
            }
        }
        (String::from_utf8(scanner.buf.clone()).unwrap(), ended)
    }

    #[test]
    fn objects_end_at_their_closing_brace_across_chunks() {
        let (json, ended) = scan_all(
            Framing::ArrayElement,
            &[" { \"a\" : [1, {\"b\":", "2}], \"c\\\"\" : \"}\" } , {"],
        );
        assert_eq!(json, r#"{"a":[1,{"b":2}],"c\"":"}"}"#);
        assert_eq!(ended, Some(18));
    }

    #[test]
    fn scalars_end_at_delimiters() {
        assert_eq!(scan_all(Framing::ArrayElement, &["12,"]).1, Some(2));
        assert_eq!(scan_all(Framing::ArrayElement, &["true]"]).1, Some(4));
        assert_eq!(scan_all(Framing::ArrayElement, &["null "]).1, Some(4));
        assert_eq!(scan_all(Framing::ArrayElement, &["\"s\","]).1, Some(3));
    }

    #[test]
    fn lines_never_end_by_themselves() {
        let (json, ended) = scan_all(Framing::Line, &["{\"a\": 1, \"b\" : 2} "]);
        assert_eq!(json, r#"{"a":1,"b":2}"#);
        assert_eq!(ended, None);
    }

    #[test]
    fn keeps_counting_past_the_limit() {
        let mut scanner = ElementScanner::new(Framing::ArrayElement, 4);
        assert_eq!(scanner.scan(b"{\"abcdef\":1}"), Scan::Ended(12));
        assert!(scanner.oversize());
        assert_eq!(scanner.len, 12);
        assert_eq!(scanner.buf, b"{\"ab");
    }
}

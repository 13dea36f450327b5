//! One pass over a JSON value: validates its grammar, finds its end, records the top-level members
//! of an object and minifies it (zero-copy when it holds no insignificant whitespace).
//!
//! The grammar is the one `serde_json` applies when it skips a value (`IgnoredAny`): strings with
//! the escapes `\" \\ \/ \b \f \n \r \t \uXXXX` (any four hex digits) and no raw control character,
//! numbers `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, `true`, `false`, `null`, objects and
//! arrays. UTF-8 is not checked here (see [`valid_element`]). Nesting is tracked in a bit stack of
//! [`MAX_NESTING`] levels, never by recursion, and refused past it, so hostile input cannot
//! overflow anything.

use crate::json_text::{MAX_NESTING, escape_mask};

/// A top-level member of an object, as offsets in the minified element: its key's opening quote
/// and the first byte of its value (which ends one byte before the next member's start, or before
/// the closing `}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Member {
    pub(crate) start: usize,
    pub(crate) value: usize,
    /// Whether the key holds an escape (its bytes then differ from its text).
    pub(crate) escaped_key: bool,
    /// Whether the value is a string that holds an escape.
    pub(crate) escaped_value: bool,
}

/// Reused state of [`Validator::scan`]: the minified copy and the members of the last value.
#[derive(Debug, Default)]
pub(crate) struct Validator {
    /// The minified value, when the input had insignificant whitespace.
    buf: Vec<u8>,
    /// Whether `buf` holds the value (otherwise the input slice is already minified).
    copied: bool,
    /// The top-level members of the last value, when it is an object.
    pub(crate) members: Vec<Member>,
    /// How deep the last value nests (a scalar is 0, `[]` is 1).
    pub(crate) depth: usize,
}

#[inline(always)]
fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r')
}

/// The eight bytes at `i`, if there are eight.
#[inline(always)]
fn word_at(input: &[u8], i: usize) -> Option<u64> {
    let bytes = input.get(i..i + 8)?;
    Some(u64::from_le_bytes(bytes.try_into().ok()?))
}

/// The offset of the first byte from `i` on that is a control character, `"` or `\\`, or an
/// offset at most seven bytes before the end of `input` (the rest is for the caller to look at).
#[inline(always)]
fn plain_end(input: &[u8], mut i: usize) -> usize {
    // Eight bytes first (most keys and many values are short), then sixteen at a time.
    let Some(word) = word_at(input, i) else {
        return i;
    };
    let stops = escape_mask(word);
    if stops != 0 {
        return i + (stops.trailing_zeros() / 8) as usize;
    }
    i += 8;
    while let (Some(low), Some(high)) = (word_at(input, i), word_at(input, i + 8)) {
        let (low, high) = (escape_mask(low), escape_mask(high));
        if low | high != 0 {
            return i + if low != 0 {
                (low.trailing_zeros() / 8) as usize
            } else {
                8 + (high.trailing_zeros() / 8) as usize
            };
        }
        i += 16;
    }
    if let Some(word) = word_at(input, i) {
        let stops = escape_mask(word);
        if stops != 0 {
            return i + (stops.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i
}

/// The offset of the closing quote of the string whose contents start at `i`, and whether the
/// string holds an escape; `None` if the string is invalid or not closed in `input`.
#[inline(always)]
fn string_end(input: &[u8], mut i: usize) -> Option<(usize, bool)> {
    let mut escaped = false;
    loop {
        i = plain_end(input, i);
        match *input.get(i)? {
            b'"' => return Some((i, escaped)),
            b'\\' => match *input.get(i + 1)? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {
                    escaped = true;
                    i += 2;
                }
                b'u' => {
                    let hex = input.get(i + 2..i + 6)?;
                    if !hex.iter().all(u8::is_ascii_hexdigit) {
                        return None;
                    }
                    escaped = true;
                    i += 6;
                }
                _ => return None,
            },
            0..=0x1f => return None,
            _ => i += 1,
        }
    }
}

/// The offset after the number starting at `i` (a `-` or a digit), or `None` if it breaks the
/// grammar. The number may end at the end of `input`.
#[inline(always)]
fn number_end(input: &[u8], mut i: usize) -> Option<usize> {
    let at = |i: usize| input.get(i).copied().unwrap_or(0);
    let digits = |mut i: usize| {
        while at(i).is_ascii_digit() {
            i += 1;
        }
        i
    };
    if at(i) == b'-' {
        i += 1;
    }
    match at(i) {
        b'0' => i += 1,
        b'1'..=b'9' => i = digits(i + 1),
        _ => return None,
    }
    if at(i) == b'.' {
        if !at(i + 1).is_ascii_digit() {
            return None;
        }
        i = digits(i + 2);
    }
    if matches!(at(i), b'e' | b'E') {
        i += 1;
        if matches!(at(i), b'+' | b'-') {
            i += 1;
        }
        if !at(i).is_ascii_digit() {
            return None;
        }
        i = digits(i + 1);
    }
    Some(i)
}

impl Validator {
    /// Validates the JSON value at the start of `input` (after optional whitespace) and returns
    /// the offset just past it; the rest of `input` is not looked at.
    ///
    /// `None` when the value is invalid, not complete in `input` (or, with `one_line`, not
    /// complete before a newline), nests deeper than [`MAX_NESTING`] levels or is longer than
    /// `limit` bytes once minified: the caller then falls back to a slower path that tells which.
    pub(crate) fn scan(&mut self, input: &[u8], limit: usize, one_line: bool) -> Option<usize> {
        self.buf.clear();
        self.members.clear();
        self.copied = false;
        self.depth = 0;
        let mut i = 0;
        // The start of the bytes not yet copied to `buf`, and how many whitespace bytes were left
        // out before `i` (so `i - removed` is `i`'s offset in the minified value).
        let mut run_start = 0;
        let mut removed = 0;
        let mut depth = 0usize;
        // Bit `n % 64` of `objects[n / 64]` set: level `n + 1` is an object.
        let mut objects = [0u64; MAX_NESTING.div_ceil(64) as usize];
        // Whether the innermost open container is an object.
        let mut object = false;

        // The next byte that is not whitespace (which is left out of the minified value).
        macro_rules! next {
            () => {{
                let mut byte = *input.get(i)?;
                if is_space(byte) {
                    self.buf.extend_from_slice(&input[run_start..i]);
                    let first = i;
                    while is_space(byte) {
                        if one_line && byte == b'\n' {
                            return None;
                        }
                        i += 1;
                        byte = *input.get(i)?;
                    }
                    removed += i - first;
                    run_start = i;
                    if self.buf.len() > limit {
                        return None;
                    }
                }
                byte
            }};
        }
        // A key at `i` (its opening quote is `byte`), then the `:`.
        macro_rules! key {
            ($byte:expr) => {{
                if $byte != b'"' {
                    return None;
                }
                let start = i - removed;
                let (quote, escaped_key) = string_end(input, i + 1)?;
                i = quote + 1;
                if next!() != b':' {
                    return None;
                }
                if depth == 1 {
                    let value = i - removed + 1;
                    self.members.push(Member {
                        start,
                        value,
                        escaped_key,
                        escaped_value: false,
                    });
                }
                i += 1;
            }};
        }

        'value: loop {
            match next!() {
                byte @ (b'{' | b'[') => {
                    object = byte == b'{';
                    let word = objects.get_mut(depth / 64)?;
                    let bit = 1 << (depth % 64);
                    *word = if object { *word | bit } else { *word & !bit };
                    depth += 1;
                    self.depth = self.depth.max(depth);
                    i += 1;
                    let byte = next!();
                    if byte == if object { b'}' } else { b']' } {
                        i += 1;
                        depth -= 1;
                        object = depth > 0 && is_object(&objects, depth - 1);
                    } else {
                        if object {
                            key!(byte);
                        }
                        continue 'value;
                    }
                }
                b'"' => {
                    let (quote, escaped) = string_end(input, i + 1)?;
                    if escaped
                        && depth == 1
                        && object
                        && let Some(member) = self.members.last_mut()
                    {
                        member.escaped_value = true;
                    }
                    i = quote + 1;
                }
                b'-' | b'0'..=b'9' => i = number_end(input, i)?,
                b't' => i = literal(input, i, b"true")?,
                b'f' => i = literal(input, i, b"false")?,
                b'n' => i = literal(input, i, b"null")?,
                _ => return None,
            }
            // After a value: close the containers it ends, up to the next value.
            loop {
                if depth == 0 {
                    return self.finish(input, i, run_start, removed, limit);
                }
                let byte = next!();
                i += 1;
                match byte {
                    b',' => {
                        if object {
                            let byte = next!();
                            key!(byte);
                        }
                        continue 'value;
                    }
                    b'}' if object => {}
                    b']' if !object => {}
                    _ => return None,
                }
                depth -= 1;
                object = depth > 0 && is_object(&objects, depth - 1);
            }
        }
    }

    fn finish(
        &mut self,
        input: &[u8],
        end: usize,
        run_start: usize,
        removed: usize,
        limit: usize,
    ) -> Option<usize> {
        if end - removed > limit {
            return None;
        }
        if removed > 0 {
            self.buf.extend_from_slice(&input[run_start..end]);
            self.copied = true;
        }
        Some(end)
    }

    /// The minified value found by the last successful [`scan`](Self::scan), given the `input`
    /// it scanned up to the offset it returned.
    pub(crate) fn minified<'a>(&'a self, scanned: &'a [u8]) -> &'a [u8] {
        if self.copied { &self.buf } else { scanned }
    }

    /// [`minified`](Self::minified) as text, given the text of `scanned` when the caller knows it
    /// is UTF-8; `None` if it is not UTF-8.
    pub(crate) fn minified_text<'a>(
        &'a self,
        scanned: &'a [u8],
        text: Option<&'a str>,
    ) -> Option<&'a str> {
        match text {
            Some(text) if !self.copied => Some(text),
            _ => simdutf8::basic::from_utf8(self.minified(scanned)).ok(),
        }
    }
}

/// Whether level `level + 1` is an object, in the bit stack of [`Validator::scan`].
#[inline(always)]
fn is_object(objects: &[u64], level: usize) -> bool {
    objects
        .get(level / 64)
        .is_some_and(|word| word >> (level % 64) & 1 == 1)
}

#[inline(always)]
fn literal(input: &[u8], i: usize, word: &[u8]) -> Option<usize> {
    let end = i + word.len();
    (input.get(i..end)? == word).then_some(end)
}

/// `element` as text, if it is one valid JSON value, surrounded by whitespace at most, in UTF-8
/// and nested [`MAX_NESTING`] levels at most; `validator` then holds its members.
pub(crate) fn valid_element<'a>(validator: &mut Validator, element: &'a [u8]) -> Option<&'a str> {
    let text = simdutf8::basic::from_utf8(element).ok()?;
    let end = validator.scan(element, usize::MAX, false)?;
    element[end..]
        .iter()
        .all(|&byte| is_space(byte))
        .then_some(text)
}

#[cfg(test)]
mod tests;

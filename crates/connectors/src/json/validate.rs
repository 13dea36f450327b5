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
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::de::IgnoredAny;

    fn valid(text: &[u8]) -> bool {
        valid_element(&mut Validator::default(), text).is_some()
    }

    /// What the decoder accepted before this validator: UTF-8, `serde_json` skipping the value,
    /// and the nesting limit.
    fn oracle(text: &[u8]) -> bool {
        std::str::from_utf8(text).is_ok()
            && serde_json::from_slice::<IgnoredAny>(text).is_ok()
            && crate::json_text::nesting_depth(text) <= MAX_NESTING
    }

    fn minify(text: &str) -> (String, Vec<Member>) {
        let mut validator = Validator::default();
        let end = validator
            .scan(text.as_bytes(), usize::MAX, false)
            .expect(text);
        let minified = validator.minified(&text.as_bytes()[..end]).to_vec();
        (String::from_utf8(minified).unwrap(), validator.members)
    }

    #[test]
    fn accepts_valid_json() {
        for text in [
            "{}",
            "[]",
            " { } ",
            "0",
            "-0",
            "1.50",
            "-12.5e+3",
            "1E-7",
            "0.0e0",
            "true",
            "false",
            "null",
            r#""""#,
            r#""plain text that is longer than eight bytes""#,
            r#""\" \\ \/ \b \f \n \r \t \u00e9 \uD83E\uDD80 \ud800""#,
            "\"caf\u{e9} \u{6f22}\u{5b57} \u{1f980} \u{7f}\"",
            r#"{"a":1,"b":[true,false,null,{"c":"d"}],"e":{}}"#,
            "\t{\r\n \"a\" : [ 1 , 2 ] ,\"b\":{ }\n}\n",
            r#"{"a":1,"a":2}"#,
            "[[[[[[[[[[]]]]]]]]]]",
        ] {
            assert!(valid(text.as_bytes()), "{text}");
            assert!(oracle(text.as_bytes()), "{text}");
        }
    }

    #[test]
    fn refuses_invalid_json() {
        for text in [
            &b""[..],
            b" ",
            b"{",
            b"}",
            b"{]",
            b"[}",
            b"{\"a\"}",
            b"{\"a\":}",
            b"{\"a\" 1}",
            b"{\"a\":1,}",
            b"{,}",
            b"{1:2}",
            b"{'a':1}",
            b"[1,]",
            b"[,1]",
            b"[1 2]",
            b"{\"a\":1}}",
            b"{\"a\":1} x",
            b"{\"a\":1}{}",
            b"01",
            b"-",
            b"-a",
            b"+1",
            b".5",
            b"1.",
            b"1.e3",
            b"1e",
            b"1e+",
            b"0x10",
            b"NaN",
            b"Infinity",
            b"tru",
            b"truex",
            b"nul",
            b"True",
            b"\"abc",
            b"\"\\x\"",
            b"\"\\u12\"",
            b"\"\\u12g4\"",
            b"\"\\",
            b"\"tab\there\"",
            b"\"new\nline\"",
            b"\"nul\x00\"",
            b"\"\x1f\"",
            b"\"\xff\"",
            b"\"\xc3\"",
            b"\"\xed\xa0\x80\"",
            b"{\"a\xff\":1}",
            b"[1]\xef\xbb\xbf",
            b"\xef\xbb\xbf[1]",
            b"[1]\x0b",
            b"{\"a\":1}\x00",
        ] {
            assert!(!valid(text), "{}", text.escape_ascii());
            assert!(!oracle(text), "{}", text.escape_ascii());
        }
    }

    #[test]
    fn refuses_nesting_past_the_limit_without_recursion() {
        let nested = |levels: usize| format!("{}{}", "[".repeat(levels), "]".repeat(levels));
        assert!(valid(nested(128).as_bytes()));
        assert!(!valid(nested(129).as_bytes()));
        let object = format!("{}1{}", "{\"a\":".repeat(128), "}".repeat(128));
        assert!(valid(object.as_bytes()));
        assert!(!valid(format!("[{object}]").as_bytes()));
        for levels in [5_000, 1_000_000] {
            assert!(!valid(nested(levels).as_bytes()));
            assert!(!valid("[".repeat(levels).as_bytes()));
        }
    }

    #[test]
    fn minifies_and_finds_members() {
        let (json, members) =
            minify("{ \"a\" : [1, {\"b\":\n2}], \"c\\\"\" : \"} x\" , \"d\":{} } , {");
        assert_eq!(json, r#"{"a":[1,{"b":2}],"c\"":"} x","d":{}}"#);
        let ends = members
            .iter()
            .skip(1)
            .map(|m| m.start - 1)
            .chain([json.len() - 1]);
        let spans: Vec<_> = members
            .iter()
            .zip(ends)
            .map(|(m, end)| {
                (
                    &json[m.start..m.value - 1],
                    &json[m.value..end],
                    m.escaped_key,
                )
            })
            .collect();
        assert_eq!(
            spans,
            [
                ("\"a\"", "[1,{\"b\":2}]", false),
                ("\"c\\\"\"", "\"} x\"", true),
                ("\"d\"", "{}", false),
            ]
        );
        assert_eq!(minify("[ \"a b\" ,1.50 ]").0, r#"["a b",1.50]"#);
        assert!(minify("[1]").1.is_empty());
    }

    #[test]
    fn zero_copy_without_whitespace() {
        let mut validator = Validator::default();
        let input = br#"{"a":[1,2],"b":"x y"},{"c":3}"#;
        let end = validator.scan(input, 1000, false).unwrap();
        assert_eq!(end, 21);
        assert!(std::ptr::eq(
            validator.minified(&input[..end]),
            &input[..end]
        ));
    }

    #[test]
    fn stops_at_the_end_of_input_or_past_the_limit() {
        let mut validator = Validator::default();
        for prefix in [
            &b"{\"a\":1"[..],
            b"{\"a\":1,",
            b"{\"a\":\"x",
            b"{\"a\":1.",
            b"[1",
        ] {
            assert_eq!(
                validator.scan(prefix, 1000, false),
                None,
                "{}",
                prefix.escape_ascii()
            );
        }
        assert_eq!(validator.scan(b"{\"abc\":1}", 9, false), Some(9));
        assert_eq!(validator.scan(b"{\"abc\":1}", 8, false), None);
        assert_eq!(validator.scan(b"{\"abc\" : 1}", 9, false), Some(11));
        assert_eq!(validator.scan(b"{ \"abc\" : 1 }", 8, false), None);
        assert_eq!(validator.scan(b"12 ", 8, false), Some(2));
        assert_eq!(
            validator.scan(b"{\"a\": 1,\r\n\"b\":2}", 99, false),
            Some(16)
        );
        assert_eq!(validator.scan(b"{\"a\": 1,\r\n\"b\":2}", 99, true), None);
        assert_eq!(
            validator.scan(b"{\"a\": 1,\r\t\"b\":2}\n", 99, true),
            Some(16)
        );
    }

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        use serde_json::Value;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            ".{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(6, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((".{0,6}", inner), 0..6)
                    .prop_map(|members| Value::Object(members.into_iter().collect())),
            ]
        })
    }

    /// Bytes that are mostly JSON tokens, so that the cases reach deep into the grammar.
    fn json_soup() -> impl Strategy<Value = Vec<u8>> {
        const TOKENS: &[&[u8]] = &[
            b"{",
            b"}",
            b"[",
            b"]",
            b",",
            b":",
            b" ",
            b"\n",
            b"\"",
            b"\"k\"",
            b"\\",
            b"\\u00e9",
            b"\\n",
            b"1",
            b"0",
            b"-",
            b".",
            b"e",
            b"+",
            b"true",
            b"nul",
            b"\xc3\xa9",
            b"\xff",
            b"\t",
            b"\x01",
        ];
        let token = prop::sample::select(TOKENS).prop_map(<[u8]>::to_vec);
        prop::collection::vec(prop_oneof![token, any::<u8>().prop_map(|b| vec![b])], 0..40)
            .prop_map(|tokens| tokens.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        #[test]
        fn agrees_with_serde_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(valid(&bytes), oracle(&bytes));
        }

        #[test]
        fn agrees_with_serde_on_json_soup(bytes in json_soup()) {
            prop_assert_eq!(valid(&bytes), oracle(&bytes), "{}", bytes.escape_ascii());
        }

        #[test]
        fn accepts_documents_and_minifies_them(value in json_value(), pretty in any::<bool>()) {
            let text = if pretty {
                serde_json::to_string_pretty(&value).unwrap()
            } else {
                serde_json::to_string(&value).unwrap()
            };
            prop_assert!(valid(text.as_bytes()));
            let (minified, members) = minify(&text);
            let parsed: serde_json::Value = serde_json::from_str(&minified).unwrap();
            prop_assert_eq!(parsed, serde_json::from_str::<serde_json::Value>(&text).unwrap());
            prop_assert_eq!(minified, serde_json::to_string(&value).unwrap());
            if let serde_json::Value::Object(object) = &value {
                prop_assert_eq!(members.len(), object.len());
            }
        }
    }
}

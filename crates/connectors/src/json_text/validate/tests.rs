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

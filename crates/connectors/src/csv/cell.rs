//! Writing one CSV cell as a JSON value, by its mapping type.

use ingest_model::MappingTypeCsv;

use crate::json_text::validate::Validator;
use crate::json_text::{JsonOut, MAX_NESTING, excerpt, is_json_number, write_string};

/// Appends the JSON value of `cell` (valid UTF-8) typed as `kind`, or says why it cannot be.
pub(crate) fn write_cell<O: JsonOut>(
    out: &mut O,
    kind: MappingTypeCsv,
    column: &str,
    cell: &[u8],
    validator: &mut Validator,
) -> Result<(), String> {
    let trimmed = cell.trim_ascii();
    let failed = |expected: &str| {
        format!(
            "failed to parse `{column}` as {}: {}{expected}",
            kind_name(kind),
            excerpt(cell)
        )
    };
    match kind {
        MappingTypeCsv::String => write_string(out, cell),
        _ if trimmed.is_empty() => out.extend_from_slice(b"null"),
        MappingTypeCsv::Integer if is_canonical_integer(trimmed) => out.extend_from_slice(trimmed),
        MappingTypeCsv::Integer => {
            let text = std::str::from_utf8(trimmed).map_err(|_| failed(""))?;
            let value: i64 = text
                .parse()
                .map_err(|_| failed(" (expected a signed 64-bit integer)"))?;
            out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
        }
        // A plain decimal in JSON's grammar is finite below ~1.8e308, so it is written as is
        // without being parsed.
        MappingTypeCsv::Float if is_plain_decimal(trimmed) => out.extend_from_slice(trimmed),
        MappingTypeCsv::Float => {
            let text = std::str::from_utf8(trimmed).map_err(|_| failed(""))?;
            let value: f64 = text.parse().map_err(|_| failed(""))?;
            if !value.is_finite() {
                let why = if text
                    .to_ascii_lowercase()
                    .trim_start_matches(['+', '-'])
                    .starts_with(['i', 'n'])
                {
                    " (JSON has no NaN or infinity)"
                } else {
                    " (out of the range of a 64-bit float)"
                };
                return Err(failed(why));
            }
            if is_json_number(trimmed) {
                out.extend_from_slice(trimmed);
            } else {
                out.extend_from_slice(ryu::Buffer::new().format_finite(value).as_bytes());
            }
        }
        MappingTypeCsv::Boolean => {
            let value = if trimmed.eq_ignore_ascii_case(b"true") || trimmed == b"1" {
                true
            } else if trimmed.eq_ignore_ascii_case(b"false") || trimmed == b"0" {
                false
            } else {
                return Err(failed(" (expected true, false, 1 or 0)"));
            };
            out.extend_from_slice(if value { b"true" } else { b"false" });
        }
        MappingTypeCsv::Json => {
            // The cell sits inside the record object, one level down.
            let valid = validator
                .scan(trimmed, usize::MAX, false)
                .filter(|&end| end == trimmed.len() && (validator.depth as u32) < MAX_NESTING);
            match valid {
                Some(end) => out.extend_from_slice(validator.minified(&trimmed[..end])),
                None => return Err(json_cell_error(column, cell, trimmed)),
            }
        }
    }
    Ok(())
}

fn kind_name(kind: MappingTypeCsv) -> &'static str {
    match kind {
        MappingTypeCsv::String => "string",
        MappingTypeCsv::Integer => "integer",
        MappingTypeCsv::Float => "float",
        MappingTypeCsv::Boolean => "boolean",
        MappingTypeCsv::Json => "json",
    }
}

/// An integer already written as JSON writes it (no `+`, no leading zero, no `-0`) and short
/// enough to fit in an `i64` whatever its digits.
fn is_canonical_integer(text: &[u8]) -> bool {
    let digits = text.strip_prefix(b"-").unwrap_or(text);
    match digits {
        [b'0'] => digits.len() == text.len(),
        [b'1'..=b'9', rest @ ..] => rest.len() < 18 && rest.iter().all(u8::is_ascii_digit),
        _ => false,
    }
}

/// A number in JSON's grammar without an exponent and with fewer than 300 digits before the
/// point: always a finite `f64`.
fn is_plain_decimal(text: &[u8]) -> bool {
    let integer_digits = text.iter().take_while(|&&byte| byte != b'.').count();
    integer_digits < 300
        && !text.iter().any(|&byte| matches!(byte, b'e' | b'E'))
        && is_json_number(text)
}

/// Why a `json` cell is refused, worded by serde_json when the grammar is at fault.
fn json_cell_error(column: &str, cell: &[u8], trimmed: &[u8]) -> String {
    match serde_json::from_slice::<serde::de::IgnoredAny>(trimmed) {
        Err(error) => format!(
            "failed to parse `{column}` as json: {} ({error})",
            excerpt(cell)
        ),
        Ok(_) => format!(
            "`{column}` nests arrays and objects deeper than the {MAX_NESTING} levels a record may have"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(kind: MappingTypeCsv, text: &str) -> Result<String, String> {
        let mut out = Vec::new();
        write_cell(
            &mut out,
            kind,
            "c",
            text.as_bytes(),
            &mut Validator::default(),
        )
        .map(|()| String::from_utf8(out).unwrap())
    }

    #[test]
    fn coercions() {
        use MappingTypeCsv::*;
        let ok = [
            (String, "", "\"\""),
            (String, " a,\"b\" ", "\" a,\\\"b\\\" \""),
            (Integer, "+12", "12"),
            (Integer, "-3", "-3"),
            (Integer, "0", "0"),
            (Integer, "-0", "0"),
            (Integer, "007", "7"),
            (Integer, "123456789012345678", "123456789012345678"),
            (Integer, "-1234567890123456789", "-1234567890123456789"),
            (Integer, " 7 ", "7"),
            (Integer, "", "null"),
            (Integer, "9223372036854775807", "9223372036854775807"),
            (Float, "3.14", "3.14"),
            (Float, "-2", "-2"),
            (Float, "1e-3", "1e-3"),
            (Float, "+1.5", "1.5"),
            (Float, ".5", "0.5"),
            (Float, "249.90", "249.90"),
            (Float, "-0.000", "-0.000"),
            (Float, "1e308", "1e308"),
            (Float, "", "null"),
            (Boolean, "TRUE", "true"),
            (Boolean, "False", "false"),
            (Boolean, "1", "true"),
            (Boolean, "0", "false"),
            (Boolean, "", "null"),
            (Json, "{ \"a\" : [1, 2] }", "{\"a\":[1,2]}"),
            (Json, "null", "null"),
            (Json, "\"s\"", "\"s\""),
            (Json, "", "null"),
        ];
        for (kind, input, expected) in ok {
            assert_eq!(
                cell(kind, input).as_deref(),
                Ok(expected),
                "{kind:?} {input:?}"
            );
        }
        let bad = [
            (Integer, "1.5"),
            (Integer, "1e3"),
            (Integer, "abc"),
            (Integer, "12a"),
            (Integer, "-"),
            (Integer, "9223372036854775808"),
            (Float, "NaN"),
            (Float, "inf"),
            (Float, "1e400"),
            (Float, "1.5.2"),
            (Float, "1,5"),
            (Float, "abc"),
            (Boolean, "yes"),
            (Json, "{\"a\":"),
            (Json, "[1,]"),
        ];
        for (kind, input) in bad {
            assert!(cell(kind, input).is_err(), "{kind:?} {input:?}");
        }
        assert_eq!(
            cell(Float, "abc").unwrap_err(),
            "failed to parse `c` as float: \"abc\""
        );
    }
}

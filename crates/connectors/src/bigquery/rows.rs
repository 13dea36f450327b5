//! Rows to records: each cell typed by its column, written straight to JSON bytes.
//!
//! The typing rules (`docs/connectors.md` 4): INTEGER is a number when it fits in 53 bits, else a
//! string (JavaScript and Algolia read numbers as doubles); FLOAT is a number (`NaN` and
//! infinities, which JSON cannot hold, become `null`); NUMERIC and BIGNUMERIC are numbers,
//! written with the exact digits BigQuery sent; BOOLEAN is a bool; TIMESTAMP (asked for as
//! microseconds) is an RFC 3339 string in UTC with microseconds; JSON columns are embedded as
//! JSON; RECORD is an object; REPEATED is an array (empty, never null). Every other type (STRING,
//! DATE, TIME, DATETIME, BYTES as base64, GEOGRAPHY as WKT, INTERVAL, RANGE) stays a string.
//!
//! With `uniqueIDColumn`, that column's value (a string, or an integer as text) becomes the
//! record's first attribute, `objectID`; the column stays in the record, and a column itself
//! named `objectID` is dropped. Without it, a top-level `objectID` string column is the record's
//! objectID.

use std::sync::Arc;

use bytes::Bytes;
use ingest_core::{Position, Record, RecordRejection, SourceError, too_big_reason};

use super::wire::{Cell, FieldSchema, Row};
use crate::arena::RecordArena;
use crate::json_text::{JsonOut, is_json_number, write_string};

/// The largest integer a double holds exactly (2^53 - 1).
const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Text,
    Integer,
    Float,
    Numeric,
    Boolean,
    Timestamp,
    Json,
    Record,
}

/// A column, compiled for writing.
#[derive(Debug)]
struct Column {
    name: String,
    /// `"name":`, escaped once.
    key: Box<[u8]>,
    kind: Kind,
    repeated: bool,
    fields: Vec<Column>,
}

impl Column {
    fn compile(field: &FieldSchema) -> Self {
        let kind = match field.field_type.to_ascii_uppercase().as_str() {
            "INTEGER" | "INT64" => Kind::Integer,
            "FLOAT" | "FLOAT64" => Kind::Float,
            "NUMERIC" | "BIGNUMERIC" | "DECIMAL" | "BIGDECIMAL" => Kind::Numeric,
            "BOOLEAN" | "BOOL" => Kind::Boolean,
            "TIMESTAMP" => Kind::Timestamp,
            "JSON" => Kind::Json,
            "RECORD" | "STRUCT" => Kind::Record,
            _ => Kind::Text,
        };
        let mut key = Vec::with_capacity(field.name.len() + 3);
        write_string(&mut key, field.name.as_bytes());
        key.push(b':');
        Self {
            name: field.name.clone(),
            key: key.into_boxed_slice(),
            kind,
            repeated: field
                .mode
                .as_deref()
                .is_some_and(|mode| mode.eq_ignore_ascii_case("REPEATED")),
            fields: field.fields.iter().map(Column::compile).collect(),
        }
    }
}

/// Where the objectID comes from.
#[derive(Debug)]
enum IdSource {
    /// `uniqueIDColumn`: this column; an `objectID` column (at `shadowed`) is dropped.
    Column {
        index: usize,
        shadowed: Option<usize>,
    },
    /// No `uniqueIDColumn`, but a top-level `objectID` column.
    Existing(usize),
    /// Records carry no objectID.
    None,
}

/// Writes the rows of one result schema as records.
#[derive(Debug)]
pub struct RowWriter {
    columns: Vec<Column>,
    id: IdSource,
    max_record_bytes: usize,
    arena: RecordArena,
    scratch: Vec<u8>,
}

impl RowWriter {
    /// A writer for rows of `schema`; `unique_id_column` must name a top-level column.
    pub(crate) fn new(
        schema: &[FieldSchema],
        unique_id_column: Option<&str>,
        max_record_bytes: usize,
    ) -> Result<Self, SourceError> {
        let columns: Vec<Column> = schema.iter().map(Column::compile).collect();
        let object_id_column = columns.iter().position(|c| c.name == "objectID");
        let id = match unique_id_column {
            Some(name) => {
                let Some(index) = columns.iter().position(|c| c.name == name) else {
                    let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
                    return Err(SourceError::new(format!(
                        "uniqueIDColumn `{name}` is not a column of the result (columns: {})",
                        names.join(", ")
                    )));
                };
                let column = &columns[index];
                if column.repeated || column.kind == Kind::Record {
                    return Err(SourceError::new(format!(
                        "uniqueIDColumn `{name}` is a {} column; it must hold one string or integer per row",
                        if column.repeated {
                            "REPEATED"
                        } else {
                            "RECORD"
                        }
                    )));
                }
                IdSource::Column {
                    index,
                    shadowed: object_id_column.filter(|&at| at != index),
                }
            }
            None => match object_id_column {
                Some(index) if !columns[index].repeated && columns[index].kind != Kind::Record => {
                    IdSource::Existing(index)
                }
                _ => IdSource::None,
            },
        };
        Ok(Self {
            columns,
            id,
            max_record_bytes,
            arena: RecordArena::default(),
            scratch: Vec::with_capacity(1024),
        })
    }

    /// The record of `row`, or why it is rejected. `position` says where it was.
    pub(crate) fn write(
        &mut self,
        row: &Row<'_>,
        position: Position,
    ) -> Result<Record, RecordRejection> {
        let reject = |object_id: Option<Arc<str>>, reason: String| RecordRejection {
            position: position.clone(),
            object_id,
            reason,
        };
        if row.f.len() != self.columns.len() {
            return Err(reject(
                None,
                format!(
                    "the row has {} cells but the schema has {} columns",
                    row.f.len(),
                    self.columns.len()
                ),
            ));
        }
        let object_id: Option<Arc<str>> = match self.id {
            IdSource::Column { index, .. } => {
                let name = &self.columns[index].name;
                match &row.f[index] {
                    Cell::Text(text) if !text.is_empty() => Some(Arc::from(text.as_ref())),
                    Cell::Text(_) => {
                        return Err(reject(
                            None,
                            format!(
                                "uniqueIDColumn `{name}` is empty (Algolia refuses an empty objectID)"
                            ),
                        ));
                    }
                    _ => {
                        return Err(reject(
                            None,
                            format!("uniqueIDColumn `{name}` is null: the record has no objectID"),
                        ));
                    }
                }
            }
            IdSource::Existing(index) => match &row.f[index] {
                Cell::Text(text) if !text.is_empty() => Some(Arc::from(text.as_ref())),
                Cell::Text(_) => {
                    return Err(reject(
                        None,
                        "`objectID` is empty (Algolia refuses an empty objectID)".into(),
                    ));
                }
                _ => None,
            },
            IdSource::None => None,
        };
        let skip = match self.id {
            IdSource::Column { shadowed, .. } => shadowed,
            _ => None,
        };
        let out = &mut self.scratch;
        out.clear();
        out.push(b'{');
        let mut first = true;
        if let (IdSource::Column { .. }, Some(id)) = (&self.id, &object_id) {
            out.extend_from_slice(b"\"objectID\":");
            write_string(out, id.as_bytes());
            first = false;
        }
        for (at, (column, cell)) in self.columns.iter().zip(&row.f).enumerate() {
            if Some(at) == skip {
                continue;
            }
            if !first {
                out.push(b',');
            }
            first = false;
            out.extend_from_slice(&column.key);
            if let Err(reason) = write_value(out, column, cell) {
                return Err(reject(object_id, reason));
            }
        }
        out.push(b'}');
        if out.len() > self.max_record_bytes {
            let size = out.len();
            return Err(reject(
                object_id,
                too_big_reason(size, self.max_record_bytes),
            ));
        }
        let json: Bytes = self.arena.freeze(out);
        Ok(Record::new(object_id, json))
    }
}

fn write_value(out: &mut Vec<u8>, column: &Column, cell: &Cell<'_>) -> Result<(), String> {
    if !column.repeated {
        return write_one(out, column, cell);
    }
    match cell {
        Cell::Null => out.extend_from_slice(b"[]"),
        Cell::List(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_one(out, column, item)?;
            }
            out.push(b']');
        }
        _ => {
            return Err(format!(
                "column `{}` is REPEATED but its cell is not a list",
                column.name
            ));
        }
    }
    Ok(())
}

fn write_one(out: &mut Vec<u8>, column: &Column, cell: &Cell<'_>) -> Result<(), String> {
    let text = match cell {
        Cell::Null => {
            out.extend_from_slice(b"null");
            return Ok(());
        }
        Cell::Record(cells) if column.kind == Kind::Record => {
            if cells.len() != column.fields.len() {
                return Err(format!(
                    "column `{}` has {} sub-fields but its cell has {}",
                    column.name,
                    column.fields.len(),
                    cells.len()
                ));
            }
            out.push(b'{');
            for (i, (field, cell)) in column.fields.iter().zip(cells).enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(&field.key);
                write_value(out, field, cell)?;
            }
            out.push(b'}');
            return Ok(());
        }
        Cell::Text(text) if column.kind != Kind::Record => text.as_ref(),
        _ => {
            return Err(format!(
                "column `{}` ({:?}) holds a value of another shape",
                column.name, column.kind
            ));
        }
    };
    match column.kind {
        Kind::Text | Kind::Record => write_string(out, text.as_bytes()),
        Kind::Integer => match text.parse::<i64>() {
            Ok(n) if (-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).contains(&n) => {
                out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
            }
            Ok(_) => write_string(out, text.as_bytes()),
            Err(_) => {
                return Err(format!(
                    "column `{}` is INTEGER but holds {text:?}",
                    column.name
                ));
            }
        },
        Kind::Float => match text.parse::<f64>() {
            Ok(x) if x.is_finite() => {
                out.extend_from_slice(ryu::Buffer::new().format_finite(x).as_bytes())
            }
            Ok(_) => out.extend_from_slice(b"null"),
            Err(_) => {
                return Err(format!(
                    "column `{}` is FLOAT but holds {text:?}",
                    column.name
                ));
            }
        },
        Kind::Numeric => {
            if is_json_number(text.as_bytes()) {
                out.extend_from_slice(text.as_bytes());
            } else {
                write_string(out, text.as_bytes());
            }
        }
        Kind::Boolean => match text {
            "true" | "TRUE" | "True" => out.extend_from_slice(b"true"),
            "false" | "FALSE" | "False" => out.extend_from_slice(b"false"),
            _ => {
                return Err(format!(
                    "column `{}` is BOOLEAN but holds {text:?}",
                    column.name
                ));
            }
        },
        Kind::Timestamp => match timestamp_micros(text) {
            Some(micros) => write_rfc3339_micros(out, micros),
            None => write_string(out, text.as_bytes()),
        },
        Kind::Json => match serde_json::from_str::<serde_json::Value>(text) {
            Ok(value) => {
                serde_json::to_writer(&mut *out, &value).map_err(|error| error.to_string())?;
            }
            Err(_) => write_string(out, text.as_bytes()),
        },
    }
    Ok(())
}

/// Microseconds since the epoch of a TIMESTAMP cell: an integer of microseconds (what
/// `useInt64Timestamp` asks for) or float seconds (`1.475735115E9`, the default format).
/// `None` for anything else (an ISO string is then kept as it is).
fn timestamp_micros(text: &str) -> Option<i64> {
    if let Ok(micros) = text.parse::<i64>() {
        return Some(micros);
    }
    let seconds: f64 = text.parse().ok()?;
    let micros = (seconds * 1e6).round();
    (micros.is_finite() && micros.abs() < 9.0e18).then_some(micros as i64)
}

/// Writes `"YYYY-MM-DDTHH:MM:SS.ffffffZ"`.
pub(crate) fn write_rfc3339_micros<O: JsonOut>(out: &mut O, micros: i64) {
    let seconds = micros.div_euclid(1_000_000);
    let fraction = micros.rem_euclid(1_000_000);
    let days = seconds.div_euclid(86_400);
    let of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let text = format!(
        "\"{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{fraction:06}Z\"",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    );
    out.extend_from_slice(text.as_bytes());
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
pub(crate) fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_in_every_wire_form() {
        let render = |text: &str| {
            let mut out = Vec::new();
            write_rfc3339_micros(&mut out, timestamp_micros(text).unwrap());
            String::from_utf8(out).unwrap()
        };
        assert_eq!(
            render("1717200000123456"),
            "\"2024-06-01T00:00:00.123456Z\""
        );
        assert_eq!(render("1.475735115E9"), "\"2016-10-06T06:25:15.000000Z\"");
        assert_eq!(render("0"), "\"1970-01-01T00:00:00.000000Z\"");
        assert_eq!(render("-1"), "\"1969-12-31T23:59:59.999999Z\"");
        assert_eq!(timestamp_micros("2016-10-06T06:25:15Z"), None);
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_875), (2024, 6, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}

//! One CSV data row to one record, in a single pass over the row's bytes.
//!
//! String columns are written as JSON strings by the same scan that finds where they end
//! ([`write_string_field`]); the `objectID` source and typed columns are split first, then
//! converted by [`write_cell`]. Nothing of the row is copied on the way except into the record.

use std::sync::Arc;

use bytes::BytesMut;
use ingest_core::{Record, too_big_reason};

use super::cell::write_cell;
use super::plan::{Column, Plan};
use super::split::{Fields, split_field, split_row};
use super::string_field::write_string_field;
use crate::arena::RecordArena;
use crate::json_text::validate::Validator;
use crate::json_text::write_string;

/// Why a row gives no record, and its `objectID` when that was known.
pub(super) type Refusal = (Option<Arc<str>>, String);

/// A row read to its end: the index of the byte that ended it, and its record or refusal.
pub(super) type RowResult = (usize, Result<Record, Refusal>);

/// Where a row may end, and how big it may be.
#[derive(Clone, Copy, Debug)]
pub(super) struct RowLimits {
    /// The field delimiter.
    pub(super) delimiter: u8,
    /// Whether the input ends with the bytes given (the last row ends there, even in quotes).
    pub(super) at_end: bool,
    /// The largest raw row, quotes and delimiters included.
    pub(super) max_row_bytes: usize,
    /// The largest record, in bytes of minified JSON.
    pub(super) max_record_bytes: usize,
    /// How many bytes at the start of the input are known to be valid UTF-8: a row within them
    /// (rows start after a line break, on a character boundary) needs no check of its own.
    pub(super) valid_up_to: usize,
}

/// Why a row of more than `limit` raw bytes is refused.
pub(super) fn row_too_big(limit: usize) -> String {
    format!("row is too big: more than {limit} bytes")
}

/// Appends `column`'s member with the value of `cell`, unless the column is skipped or the record
/// has already failed; a cell that does not convert fails it.
fn write_column(
    json: &mut BytesMut,
    column: &Column,
    cell: &[u8],
    validator: &mut Validator,
    failure: &mut Option<String>,
) {
    if column.skip || failure.is_some() {
        return;
    }
    json.extend_from_slice(&column.key);
    *failure = write_cell(json, column.kind, &column.name, cell, validator).err();
}

/// Writes rows into records, reusing its buffers from row to row.
#[derive(Debug, Default)]
pub(super) struct RowWriter {
    fields: Fields,
    arena: RecordArena,
    validator: Validator,
    /// The length of the last row, to size the next record's buffer.
    last_row: usize,
}

impl RowWriter {
    /// Reads the row that starts at `input[start]` (not a line break) into a record, or returns
    /// `None` when the input ends before the row does (the row is then to be read again, whole).
    pub(super) fn write(
        &mut self,
        plan: &Plan,
        input: &[u8],
        start: usize,
        limits: RowLimits,
    ) -> Option<RowResult> {
        let RowLimits {
            delimiter, at_end, ..
        } = limits;
        let Self {
            fields,
            arena,
            validator,
            last_row,
        } = self;
        fields.clear();
        let columns = &plan.columns;
        let json = arena.writer(*last_row * 2 + plan.key_bytes + 16);
        json.extend_from_slice(b"{");
        // The fields up to the uniqueIDColumn are split before anything is written: `objectID`
        // opens the record. From there on, string columns are written as they are found.
        let prefix = plan.unique_id.map_or(0, |id| id + 1);
        let mut at = start;
        let mut count = 0;
        let mut row_end = None;
        let mut failure: Option<String> = None;
        // The field of `fields` that holds the objectID's text.
        let mut id_field = None;
        while row_end.is_none() {
            let column = columns.get(count);
            let direct = column.filter(|c| c.direct && count >= prefix && failure.is_none());
            let (end, ends_row) = if let Some(column) = direct {
                json.extend_from_slice(&column.key);
                write_string_field(input, at, delimiter, at_end, json)?
            } else {
                let field = fields.len();
                let split = split_field(input, at, delimiter, at_end, fields)?;
                if plan.object_id_column == Some(count) {
                    id_field = Some(field);
                }
                if count >= prefix
                    && let Some(column) = column
                {
                    write_column(
                        json,
                        column,
                        fields.get(input, field),
                        validator,
                        &mut failure,
                    );
                }
                split
            };
            count += 1;
            if count == prefix {
                // Every field so far was split, so field `i` is column `i`.
                id_field = plan.unique_id;
                json.extend_from_slice(b"\"objectID\":");
                write_string(json, fields.get(input, count - 1));
                for (index, column) in columns[..count].iter().enumerate() {
                    write_column(
                        json,
                        column,
                        fields.get(input, index),
                        validator,
                        &mut failure,
                    );
                }
            }
            if ends_row {
                row_end = Some(end);
            } else {
                at = end + 1;
            }
        }
        json.extend_from_slice(b"}");
        let size = json.len();
        let end = row_end.unwrap_or(input.len());
        *last_row = end - start;
        let refuse = |arena: &mut RecordArena, object_id, reason| {
            arena.discard();
            Some((end, Err((object_id, reason))))
        };
        if end - start > limits.max_row_bytes {
            return refuse(arena, None, row_too_big(limits.max_row_bytes));
        }
        if count != columns.len() {
            let reason = format!("row has {count} fields, the header has {}", columns.len());
            return refuse(arena, None, reason);
        }
        // The raw row is checked at once; only when it fails are its fields checked one by one
        // (a quote taken out may join the two halves of a character split by it).
        if end > limits.valid_up_to && simdutf8::basic::from_utf8(&input[start..end]).is_err() {
            split_row(input, start, delimiter, at_end, fields);
            id_field = plan.unique_id.or(plan.object_id_column);
            let invalid =
                (0..fields.len()).find(|&i| std::str::from_utf8(fields.get(input, i)).is_err());
            if let Some(column) = invalid {
                let name = &columns[column].name;
                return refuse(arena, None, format!("invalid UTF-8 in column `{name}`"));
            }
        }
        let object_id: Option<Arc<str>> = match id_field {
            Some(field) => {
                let text = fields.get(input, field);
                if text.is_empty() {
                    let reason = match plan.unique_id {
                        Some(id) => format!("`{}` (uniqueIDColumn) is empty", columns[id].name),
                        None => {
                            "`objectID` is empty (Algolia refuses an empty objectID)".to_owned()
                        }
                    };
                    return refuse(arena, None, reason);
                }
                // Valid UTF-8: checked with the row above.
                std::str::from_utf8(text).ok().map(Arc::from)
            }
            None => None,
        };
        if let Some(reason) = failure {
            return refuse(arena, object_id, reason);
        }
        if size > limits.max_record_bytes {
            return refuse(
                arena,
                object_id,
                too_big_reason(size, limits.max_record_bytes),
            );
        }
        Some((end, Ok(Record::new(object_id, arena.take()))))
    }
}

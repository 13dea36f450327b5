//! CSV rows to JSON records, fed in chunks of any size.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::ops::Range;
use std::sync::Arc;

use ingest_core::{
    Position, Record, RecordRejection, SourceError, SourceItemError, SourceResult, too_big_reason,
};
use ingest_model::MappingTypeCsv;

use super::cell::write_cell;
use super::split::{Fields, RowScan, split_row};
use crate::arena::RecordArena;
use crate::decode::{BomStripper, RecordDecoder};
use crate::json::validate::Validator;
use crate::json_text::write_string;

/// How to read one CSV source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvOptions {
    /// The field delimiter, one ASCII byte.
    pub delimiter: u8,
    /// Column → type; unmapped columns are strings.
    pub mapping: BTreeMap<String, MappingTypeCsv>,
    /// The column whose text becomes `objectID`.
    pub unique_id_column: Option<String>,
    /// The largest record accepted, in bytes of minified JSON.
    pub max_record_bytes: usize,
}

/// One output column, decided once from the header.
#[derive(Debug)]
struct Column {
    name: String,
    /// `"name":`, preceded by `,` unless it is the first member written.
    key: Vec<u8>,
    kind: MappingTypeCsv,
    /// A column named `objectID` when `objectID` comes from `uniqueIDColumn`.
    skip: bool,
}

#[derive(Debug)]
struct Plan {
    columns: Vec<Column>,
    /// The column written first as `objectID`.
    unique_id: Option<usize>,
    /// Without `uniqueIDColumn`, a column named `objectID` gives records their ID.
    object_id_column: Option<usize>,
    /// The bytes of every key written, for sizing a record's buffer.
    key_bytes: usize,
}

/// Decodes CSV bytes into records; see `connectors.md` for the rules.
#[derive(Debug)]
pub struct CsvDecoder {
    options: CsvOptions,
    bom: BomStripper,
    fields: Fields,
    /// The bytes of a row that began in an earlier chunk and has not ended yet.
    carry: Vec<u8>,
    /// Whether a row is being carried over from chunk to chunk.
    carrying: bool,
    /// The quoting state at the end of the carried row, to find where it ends.
    scan: RowScan,
    /// The carried row is larger than the raw-row cap: its bytes are being discarded.
    oversize: bool,
    plan: Option<Plan>,
    row: u64,
    arena: RecordArena,
    validator: Validator,
    failed: bool,
}

impl CsvDecoder {
    /// A decoder for one CSV body.
    pub fn new(options: CsvOptions) -> Self {
        Self {
            options,
            bom: BomStripper::default(),
            fields: Fields::default(),
            carry: Vec::new(),
            carrying: false,
            scan: RowScan::default(),
            oversize: false,
            plan: None,
            row: 0,
            arena: RecordArena::default(),
            validator: Validator::default(),
            failed: false,
        }
    }

    /// The largest raw row accepted, quotes and delimiters included.
    fn max_row_bytes(&self) -> usize {
        self.options.max_record_bytes.saturating_mul(2) + 64 * 1024
    }

    fn parse(&mut self, input: &[u8], out: &mut VecDeque<SourceResult>) {
        let delimiter = self.options.delimiter;
        let mut at = 0;
        if self.carrying {
            match self.scan.find_end(input, delimiter) {
                None => return self.carry_more(input),
                Some(end) => {
                    self.carry_more(&input[..end]);
                    self.complete_carried_row(out);
                    at = end;
                }
            }
        }
        loop {
            if self.failed {
                return;
            }
            // Line breaks between rows: the end of the last row, and empty lines.
            while matches!(input.get(at), Some(b'\n' | b'\r')) {
                at += 1;
            }
            if at == input.len() {
                return;
            }
            match split_row(input, at, delimiter, false, &mut self.fields) {
                Some(end) => {
                    self.emit_row(input, at..end, out);
                    at = end;
                }
                None => {
                    // The row goes on in the next chunk.
                    self.carrying = true;
                    self.scan = RowScan::default();
                    let found = self.scan.find_end(&input[at..], delimiter);
                    debug_assert_eq!(found, None, "the splitter and the scan agree");
                    self.carry.clear();
                    return self.carry_more(&input[at..]);
                }
            }
        }
    }

    fn carry_more(&mut self, bytes: &[u8]) {
        if self.oversize {
            return;
        }
        if self.carry.len() + bytes.len() > self.max_row_bytes() {
            self.oversize = true;
            self.carry = Vec::new();
        } else {
            self.carry.extend_from_slice(bytes);
        }
    }

    fn complete_carried_row(&mut self, out: &mut VecDeque<SourceResult>) {
        self.carrying = false;
        if std::mem::take(&mut self.oversize) {
            self.row += 1;
            let item = self.oversize_row();
            return self.push(item, out);
        }
        let carry = std::mem::take(&mut self.carry);
        let end = split_row(&carry, 0, self.options.delimiter, true, &mut self.fields)
            .unwrap_or(carry.len());
        self.emit_row(&carry, 0..end, out);
        self.carry = carry;
        self.carry.clear();
    }

    fn emit_row(&mut self, input: &[u8], row: Range<usize>, out: &mut VecDeque<SourceResult>) {
        self.row += 1;
        let item = if row.len() > self.max_row_bytes() {
            self.oversize_row()
        } else {
            self.complete_row(input, row)
        };
        self.push(item, out);
    }

    fn push(&mut self, item: Option<SourceResult>, out: &mut VecDeque<SourceResult>) {
        if let Some(item) = item {
            if matches!(item, Err(SourceItemError::Fatal(_))) {
                self.failed = true;
            }
            out.push_back(item);
        }
    }

    fn oversize_row(&self) -> Option<SourceResult> {
        let limit = self.max_row_bytes();
        if self.plan.is_none() {
            let message = format!("the CSV header row is too big: more than {limit} bytes");
            return Some(Err(SourceItemError::Fatal(SourceError::new(message))));
        }
        self.reject(None, format!("row is too big: more than {limit} bytes"))
    }

    fn reject(&self, object_id: Option<Arc<str>>, reason: String) -> Option<SourceResult> {
        Some(Err(SourceItemError::Rejected(RecordRejection {
            position: Position::Row(self.row),
            object_id,
            reason,
        })))
    }

    /// The record of the row `input[row]`, whose fields `self.fields` holds.
    fn complete_row(&mut self, input: &[u8], row: Range<usize>) -> Option<SourceResult> {
        let Some(plan) = &self.plan else {
            return match self.read_header(input) {
                Ok(plan) => {
                    self.plan = Some(plan);
                    None
                }
                Err(message) => Some(Err(SourceItemError::Fatal(SourceError::new(message)))),
            };
        };
        let fields = &self.fields;
        let field = |i: usize| fields.get(input, i);
        if fields.len() != plan.columns.len() {
            let reason = format!(
                "row has {} fields, the header has {}",
                fields.len(),
                plan.columns.len()
            );
            return self.reject(None, reason);
        }
        // The raw row is checked at once; only when it fails are its fields checked one by one
        // (a quote taken out may join the two halves of a character split by it).
        if simdutf8::basic::from_utf8(&input[row.clone()]).is_err() {
            let invalid = (0..fields.len()).find(|&i| std::str::from_utf8(field(i)).is_err());
            if let Some(column) = invalid {
                let name = &plan.columns[column].name;
                return self.reject(None, format!("invalid UTF-8 in column `{name}`"));
            }
        }
        let object_id: Option<Arc<str>> = match plan.unique_id.or(plan.object_id_column) {
            Some(i) => {
                let text = field(i);
                if text.is_empty() {
                    let name = &plan.columns[i].name;
                    let reason = if plan.unique_id.is_some() {
                        format!("`{name}` (uniqueIDColumn) is empty")
                    } else {
                        "`objectID` is empty (Algolia refuses an empty objectID)".to_owned()
                    };
                    return self.reject(None, reason);
                } else {
                    // Validated as UTF-8 with the whole row above.
                    std::str::from_utf8(text).ok().map(Arc::from)
                }
            }
            None => None,
        };
        let max_record_bytes = self.options.max_record_bytes;
        let validator = &mut self.validator;
        let json = self.arena.writer(row.len() * 2 + plan.key_bytes + 16);
        json.extend_from_slice(b"{");
        if let Some(i) = plan.unique_id {
            json.extend_from_slice(b"\"objectID\":");
            write_string(json, field(i));
        }
        for (i, column) in plan.columns.iter().enumerate() {
            if column.skip {
                continue;
            }
            json.extend_from_slice(&column.key);
            let cell = field(i);
            if let Err(reason) = write_cell(json, column.kind, &column.name, cell, validator) {
                self.arena.discard();
                return self.reject(object_id, reason);
            }
        }
        json.extend_from_slice(b"}");
        let size = json.len();
        if size > max_record_bytes {
            self.arena.discard();
            return self.reject(object_id, too_big_reason(size, max_record_bytes));
        }
        let bytes = self.arena.take();
        Some(Ok(Record::new(object_id, bytes)))
    }

    fn read_header(&self, input: &[u8]) -> Result<Plan, String> {
        let mut names = Vec::with_capacity(self.fields.len());
        for i in 0..self.fields.len() {
            let name = std::str::from_utf8(self.fields.get(input, i))
                .map_err(|_| format!("the CSV header has invalid UTF-8 in column {}", i + 1))?;
            if name.is_empty() {
                return Err(format!("the CSV header's column {} has no name", i + 1));
            }
            names.push(name.to_owned());
        }
        let mut seen = HashSet::new();
        for name in &names {
            if !seen.insert(name.as_str()) {
                return Err(format!("the CSV header names column `{name}` twice"));
            }
        }
        for column in self.options.mapping.keys() {
            if !seen.contains(column.as_str()) {
                return Err(format!(
                    "mapping names column `{column}`, which is not in the CSV header"
                ));
            }
        }
        let unique_id = match &self.options.unique_id_column {
            Some(unique) => Some(names.iter().position(|name| name == unique).ok_or_else(
                || format!("uniqueIDColumn `{unique}` is not a column of the CSV header"),
            )?),
            None => None,
        };
        let object_id_column = match unique_id {
            Some(_) => None,
            None => names.iter().position(|name| name == "objectID"),
        };
        let mut first = unique_id.is_none();
        let columns: Vec<Column> = names
            .into_iter()
            .map(|name| {
                let skip = unique_id.is_some() && name == "objectID";
                let mut key = Vec::with_capacity(name.len() + 4);
                if !skip {
                    if !first {
                        key.push(b',');
                    }
                    first = false;
                }
                write_string(&mut key, name.as_bytes());
                key.push(b':');
                let kind = self
                    .options
                    .mapping
                    .get(&name)
                    .copied()
                    .unwrap_or(MappingTypeCsv::String);
                Column {
                    name,
                    key,
                    kind,
                    skip,
                }
            })
            .collect();
        let key_bytes = columns.iter().map(|column| column.key.len()).sum();
        Ok(Plan {
            columns,
            unique_id,
            object_id_column,
            key_bytes,
        })
    }
}

impl RecordDecoder for CsvDecoder {
    fn feed(&mut self, chunk: &[u8], out: &mut VecDeque<SourceResult>) {
        let input = self.bom.strip(chunk);
        self.parse(&input, out);
    }

    fn finish(&mut self, out: &mut VecDeque<SourceResult>) {
        let held = self.bom.finish();
        self.parse(&held, out);
        if self.carrying && !self.failed {
            self.complete_carried_row(out);
        }
    }
}

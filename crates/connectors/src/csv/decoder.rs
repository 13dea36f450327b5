//! CSV rows to JSON records, fed in chunks (`csv-core`, one reused row buffer).

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::Arc;

use csv_core::{ReadRecordResult, Reader, ReaderBuilder};
use ingest_core::{
    Position, Record, RecordRejection, SourceError, SourceItemError, SourceResult, too_big_reason,
};
use ingest_model::MappingTypeCsv;

use super::cell::write_cell;
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
    reader: Reader,
    bom: BomStripper,
    fields: Vec<u8>,
    fields_len: usize,
    ends: Vec<usize>,
    ends_len: usize,
    /// The current row is larger than the raw-row cap: its bytes are being discarded.
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
        let reader = ReaderBuilder::new().delimiter(options.delimiter).build();
        Self {
            options,
            reader,
            bom: BomStripper::default(),
            fields: vec![0; 4096],
            fields_len: 0,
            ends: vec![0; 64],
            ends_len: 0,
            oversize: false,
            plan: None,
            row: 0,
            arena: RecordArena::default(),
            validator: Validator::default(),
            failed: false,
        }
    }

    fn max_row_bytes(&self) -> usize {
        self.options.max_record_bytes.saturating_mul(2) + 64 * 1024
    }

    fn parse(&mut self, mut input: &[u8], out: &mut VecDeque<SourceResult>) {
        loop {
            if self.failed {
                return;
            }
            let (result, read, written, ended) = self.reader.read_record(
                input,
                &mut self.fields[self.fields_len..],
                &mut self.ends[self.ends_len..],
            );
            input = &input[read..];
            self.fields_len += written;
            self.ends_len += ended;
            match result {
                ReadRecordResult::InputEmpty => return,
                ReadRecordResult::End => return,
                ReadRecordResult::OutputFull => {
                    if self.fields.len() >= self.max_row_bytes() {
                        self.oversize = true;
                        self.fields_len = 0;
                    } else {
                        let grown = (self.fields.len() * 2).min(self.max_row_bytes());
                        self.fields.resize(grown, 0);
                    }
                }
                ReadRecordResult::OutputEndsFull => {
                    if self.ends.len() >= self.max_row_bytes() {
                        self.oversize = true;
                        self.ends_len = 0;
                    } else {
                        let grown = self.ends.len() * 2;
                        self.ends.resize(grown, 0);
                    }
                }
                ReadRecordResult::Record => {
                    self.row += 1;
                    let item = self.complete_row();
                    self.fields_len = 0;
                    self.ends_len = 0;
                    self.oversize = false;
                    if let Some(item) = item {
                        if matches!(item, Err(SourceItemError::Fatal(_))) {
                            self.failed = true;
                        }
                        out.push_back(item);
                    }
                }
            }
        }
    }

    fn reject(&self, object_id: Option<Arc<str>>, reason: String) -> Option<SourceResult> {
        Some(Err(SourceItemError::Rejected(RecordRejection {
            position: Position::Row(self.row),
            object_id,
            reason,
        })))
    }

    fn complete_row(&mut self) -> Option<SourceResult> {
        if self.oversize {
            let limit = self.max_row_bytes();
            return self.reject(None, format!("row is too big: more than {limit} bytes"));
        }
        let Some(plan) = &self.plan else {
            return match self.read_header() {
                Ok(plan) => {
                    self.plan = Some(plan);
                    None
                }
                Err(message) => Some(Err(SourceItemError::Fatal(SourceError::new(message)))),
            };
        };
        let fields = &self.fields[..self.fields_len];
        let ends = &self.ends[..self.ends_len];
        let field = |i: usize| &fields[if i == 0 { 0 } else { ends[i - 1] }..ends[i]];
        if ends.len() != plan.columns.len() {
            let reason = format!(
                "row has {} fields, the header has {}",
                ends.len(),
                plan.columns.len()
            );
            return self.reject(None, reason);
        }
        if simdutf8::basic::from_utf8(fields).is_err() {
            let at = std::str::from_utf8(fields)
                .err()
                .map_or(0, |error| error.valid_up_to());
            let column = ends.iter().position(|&end| at < end).unwrap_or(0);
            let name = &plan.columns[column].name;
            return self.reject(None, format!("invalid UTF-8 in column `{name}`"));
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
        let json = self.arena.writer(self.fields_len * 2 + plan.key_bytes + 16);
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

    fn read_header(&self) -> Result<Plan, String> {
        let fields = &self.fields[..self.fields_len];
        let ends = &self.ends[..self.ends_len];
        let mut names = Vec::with_capacity(ends.len());
        let mut start = 0;
        for (i, &end) in ends.iter().enumerate() {
            let name = std::str::from_utf8(&fields[start..end])
                .map_err(|_| format!("the CSV header has invalid UTF-8 in column {}", i + 1))?;
            if name.is_empty() {
                return Err(format!("the CSV header's column {} has no name", i + 1));
            }
            names.push(name.to_owned());
            start = end;
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
        // csv-core reads an empty input as the end of the data (it would end the current row),
        // so an empty chunk, or one held back by the BOM check, is not passed on.
        if !input.is_empty() {
            self.parse(&input, out);
        }
    }

    fn finish(&mut self, out: &mut VecDeque<SourceResult>) {
        let held = self.bom.finish();
        self.parse(&held, out);
        // An empty input tells csv-core that the data has ended.
        self.parse(&[], out);
    }
}

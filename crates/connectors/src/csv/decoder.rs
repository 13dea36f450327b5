//! CSV rows to JSON records, fed in chunks of any size.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use ingest_core::{Position, RecordRejection, SourceError, SourceItemError, SourceResult};
use ingest_model::MappingTypeCsv;

use super::plan::Plan;
use super::row::{RowLimits, RowWriter, row_too_big};
use super::split::{Fields, RowScan, split_row};
use crate::decode::{BomStripper, RecordDecoder};

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

/// Decodes CSV bytes into records; see `docs/connectors.md` 2 for the rules.
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
    rows: RowWriter,
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
            rows: RowWriter::default(),
            failed: false,
        }
    }

    /// The largest raw row accepted, quotes and delimiters included.
    fn max_row_bytes(&self) -> usize {
        self.options.max_record_bytes.saturating_mul(2) + 64 * 1024
    }

    fn parse(&mut self, input: &[u8], out: &mut VecDeque<SourceResult>) {
        if self.failed {
            return;
        }
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
        // One check of the rest of the chunk (from a line break or the chunk's start) is much
        // cheaper than one per row.
        let valid_up_to = match simdutf8::compat::from_utf8(&input[at..]) {
            Ok(_) => input.len(),
            Err(error) => at + error.valid_up_to(),
        };
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
            match self.read_row(input, at, false, valid_up_to) {
                Some((end, item)) => {
                    self.push(item, out);
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
        if let Some((_, item)) = self.read_row(&carry, 0, true, 0) {
            self.push(item, out);
        }
        self.carry = carry;
        self.carry.clear();
    }

    /// Reads the row that starts at `input[at]`: the header, then records. Returns the index of
    /// the byte that ended it and what it gave, or `None` when the input ends before the row.
    /// The first `valid_up_to` bytes of `input` are known to be UTF-8.
    fn read_row(
        &mut self,
        input: &[u8],
        at: usize,
        at_end: bool,
        valid_up_to: usize,
    ) -> Option<(usize, Option<SourceResult>)> {
        let limits = RowLimits {
            delimiter: self.options.delimiter,
            at_end,
            max_row_bytes: self.max_row_bytes(),
            max_record_bytes: self.options.max_record_bytes,
            valid_up_to,
        };
        let Some(plan) = &self.plan else {
            let end = split_row(input, at, limits.delimiter, at_end, &mut self.fields)?;
            self.row += 1;
            if end - at > limits.max_row_bytes {
                return Some((end, self.oversize_row()));
            }
            let item = match self.read_header(input) {
                Ok(plan) => {
                    self.plan = Some(plan);
                    None
                }
                Err(message) => Some(Err(SourceItemError::Fatal(SourceError::new(message)))),
            };
            return Some((end, item));
        };
        let (end, result) = self.rows.write(plan, input, at, limits)?;
        self.row += 1;
        let item = match result {
            Ok(record) => Some(Ok(record)),
            Err((object_id, reason)) => self.reject(object_id, reason),
        };
        Some((end, item))
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
        self.reject(None, row_too_big(limit))
    }

    fn reject(&self, object_id: Option<Arc<str>>, reason: String) -> Option<SourceResult> {
        Some(Err(SourceItemError::Rejected(RecordRejection {
            position: Position::Row(self.row),
            object_id,
            reason,
        })))
    }

    /// Reads the header row that split into `self.fields`.
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
        Plan::new(names, &self.options)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(input: &[u8], chunk: usize) -> Vec<SourceResult> {
        let mut decoder = CsvDecoder::new(CsvOptions {
            delimiter: b',',
            mapping: Default::default(),
            unique_id_column: None,
            max_record_bytes: 100,
        });
        let mut out = VecDeque::new();
        for piece in input.chunks(chunk) {
            decoder.feed(piece, &mut out);
        }
        decoder.finish(&mut out);
        out.into()
    }

    fn reason(item: &SourceResult) -> String {
        match item {
            Ok(record) => format!("record {}", String::from_utf8_lossy(&record.json)),
            Err(SourceItemError::Rejected(rejection)) => rejection.to_string(),
            Err(SourceItemError::Fatal(error)) => format!("fatal: {error}"),
        }
    }

    #[test]
    fn a_row_past_the_raw_cap_is_rejected_and_the_next_one_read() {
        let huge = format!("\"{}\"", "x,\n".repeat(30_000));
        let input = format!("a,b\n1,{huge}\n2,ok\n");
        for chunk in [input.len(), 64 * 1024, 4096, 7] {
            let items: Vec<String> = decode(input.as_bytes(), chunk).iter().map(reason).collect();
            assert_eq!(items.len(), 2, "chunk {chunk}: {items:?}");
            assert!(
                items[0].starts_with("row 2: row is too big: more than 65736 bytes"),
                "chunk {chunk}: {}",
                items[0]
            );
            assert_eq!(items[1], r#"record {"a":"2","b":"ok"}"#, "chunk {chunk}");
        }
    }

    #[test]
    fn utf8_is_checked_per_field_when_the_raw_row_fails() {
        // A quote taken out joins the halves of `é`: the field is valid, the raw row is not.
        let joined = b"a,b\n\"\xC3\"\xA9,x\n";
        // A half character left alone in a field is refused, naming the column.
        let split = b"a,b\nok,\xC3\n\xA9,x\n";
        for chunk in [1, 3, 64] {
            let items: Vec<String> = decode(joined, chunk).iter().map(reason).collect();
            assert_eq!(items, [r#"record {"a":"é","b":"x"}"#], "chunk {chunk}");
            let items: Vec<String> = decode(split, chunk).iter().map(reason).collect();
            assert_eq!(
                items,
                [
                    "row 2: invalid UTF-8 in column `b`",
                    "row 3: invalid UTF-8 in column `a`"
                ],
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn a_header_past_the_raw_cap_ends_the_source() {
        let input = format!("{}\n1\n", "h".repeat(70_000));
        for chunk in [input.len(), 4096] {
            let items: Vec<String> = decode(input.as_bytes(), chunk).iter().map(reason).collect();
            assert_eq!(
                items,
                ["fatal: the CSV header row is too big: more than 65736 bytes"],
                "chunk {chunk}"
            );
        }
    }
}

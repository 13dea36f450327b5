//! Packing records into Algolia batch request bodies.
//!
//! A batch body is exactly what `POST /1/indexes/{index}/batch` takes:
//! `{"requests":[{"action":"addObject","body":{...}},...]}`. Each record's JSON is copied once
//! into the body buffer; its byte range is kept so that a pusher can resend part of a batch
//! without re-serializing anything.

use std::ops::Range;
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};

use crate::record::Record;

const BODY_PREFIX: &[u8] = b"{\"requests\":[";
const BODY_SUFFIX: &[u8] = b"]}";

/// The `action` of every request in a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BatchAction {
    /// Add or replace whole records (task action `replace`).
    AddObject,
    /// Replace whole records by `objectID`, creating missing ones (pushes' `updateObject`).
    UpdateObject,
    /// Update attributes, creating records that are missing (task actions `save`, `partial`).
    PartialUpdateObject,
    /// Update attributes of existing records only (task action `partialNoCreate`).
    PartialUpdateObjectNoCreate,
    /// Delete records by `objectID` (the body holds only `{"objectID": ...}`).
    DeleteObject,
}

impl BatchAction {
    /// The action's name in Algolia's batch API.
    pub fn as_str(self) -> &'static str {
        match self {
            BatchAction::AddObject => "addObject",
            BatchAction::UpdateObject => "updateObject",
            BatchAction::PartialUpdateObject => "partialUpdateObject",
            BatchAction::PartialUpdateObjectNoCreate => "partialUpdateObjectNoCreate",
            BatchAction::DeleteObject => "deleteObject",
        }
    }

    fn entry_prefix(self) -> &'static [u8] {
        match self {
            BatchAction::AddObject => b"{\"action\":\"addObject\",\"body\":",
            BatchAction::UpdateObject => b"{\"action\":\"updateObject\",\"body\":",
            BatchAction::PartialUpdateObject => b"{\"action\":\"partialUpdateObject\",\"body\":",
            BatchAction::PartialUpdateObjectNoCreate => {
                b"{\"action\":\"partialUpdateObjectNoCreate\",\"body\":"
            }
            BatchAction::DeleteObject => b"{\"action\":\"deleteObject\",\"body\":",
        }
    }
}

/// Why a record of `size` bytes is refused under a record limit of `limit` bytes: the one wording
/// every source and the batcher use.
pub fn too_big_reason(size: usize, limit: usize) -> String {
    format!("record is too big: {size} bytes of minified JSON, the limit is {limit}")
}

/// When a batch closes, and how big one record may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchLimits {
    max_records: usize,
    max_bytes: usize,
    max_record_bytes: usize,
}

/// Limits that cannot work together.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BatchLimitsError {
    /// A batch must hold at least one record.
    #[error("batch max records must be at least 1")]
    NoRecords,
    /// The smallest record (`{}`) must be allowed.
    #[error("record max bytes must be at least 2")]
    RecordLimitTooSmall,
    /// A record at the record limit must fit in an empty batch.
    #[error(
        "batch max bytes ({max_bytes}) must leave room for one record of record max bytes ({max_record_bytes}) plus {overhead} bytes of envelope"
    )]
    BatchTooSmall {
        /// The configured batch byte limit.
        max_bytes: usize,
        /// The configured record byte limit.
        max_record_bytes: usize,
        /// The envelope bytes one record needs around it.
        overhead: usize,
    },
}

impl BatchLimits {
    /// Algolia's recommended batch: 1000 records.
    pub const DEFAULT_MAX_RECORDS: usize = 1000;
    /// Algolia's recommended batch: 10 MB.
    pub const DEFAULT_MAX_BYTES: usize = 10_000_000;
    /// Algolia's per-record limit on paid plans: 100 KB of minified JSON.
    pub const DEFAULT_MAX_RECORD_BYTES: usize = 100_000;

    /// Checks that the limits can work together.
    pub fn new(
        max_records: usize,
        max_bytes: usize,
        max_record_bytes: usize,
    ) -> Result<Self, BatchLimitsError> {
        if max_records == 0 {
            return Err(BatchLimitsError::NoRecords);
        }
        if max_record_bytes < 2 {
            return Err(BatchLimitsError::RecordLimitTooSmall);
        }
        let overhead = worst_entry_overhead() + BODY_PREFIX.len() + BODY_SUFFIX.len();
        if max_bytes < max_record_bytes.saturating_add(overhead) {
            return Err(BatchLimitsError::BatchTooSmall {
                max_bytes,
                max_record_bytes,
                overhead,
            });
        }
        Ok(Self {
            max_records,
            max_bytes,
            max_record_bytes,
        })
    }

    /// Records per batch at most.
    pub fn max_records(&self) -> usize {
        self.max_records
    }

    /// Bytes per batch body at most.
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// Bytes of minified JSON per record at most.
    pub fn max_record_bytes(&self) -> usize {
        self.max_record_bytes
    }
}

impl Default for BatchLimits {
    fn default() -> Self {
        Self {
            max_records: Self::DEFAULT_MAX_RECORDS,
            max_bytes: Self::DEFAULT_MAX_BYTES,
            max_record_bytes: Self::DEFAULT_MAX_RECORD_BYTES,
        }
    }
}

fn worst_entry_overhead() -> usize {
    [
        BatchAction::AddObject,
        BatchAction::UpdateObject,
        BatchAction::PartialUpdateObject,
        BatchAction::PartialUpdateObjectNoCreate,
        BatchAction::DeleteObject,
    ]
    .iter()
    .map(|action| action.entry_prefix().len())
    .max()
    .unwrap_or(0)
        + 2 // the entry's closing `}` and the `,` before it
}

/// One record inside a batch body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchEntry {
    /// The record's `objectID`, when it has one.
    pub object_id: Option<Arc<str>>,
    /// Where the record's JSON lies in the body.
    pub json: Range<usize>,
}

/// A closed batch: the request body and what it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    /// The action of every request in the body.
    pub action: BatchAction,
    /// The exact body of `POST /1/indexes/{index}/batch`.
    pub body: Bytes,
    /// The records, in order.
    pub entries: Vec<BatchEntry>,
}

impl Batch {
    /// Records in the batch.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the batch holds no record (never true for a batch the batcher closed).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The JSON of the record at `index`, sharing the body's memory.
    pub fn record_json(&self, index: usize) -> Option<Bytes> {
        self.entries
            .get(index)
            .map(|entry| self.body.slice(entry.json.clone()))
    }

    /// Whether every record carries an `objectID` (a retried batch is then idempotent).
    pub fn all_have_object_ids(&self) -> bool {
        self.entries.iter().all(|entry| entry.object_id.is_some())
    }
}

/// What happened to a record given to [`Batcher::push`].
#[derive(Debug, PartialEq, Eq)]
pub enum PushOutcome {
    /// The record joined the open batch.
    Buffered,
    /// The record joined a new batch; the previous one, full, is returned to be sent.
    Closed(Batch),
    /// The record is larger than the record limit and was not added.
    TooBig {
        /// The record's size in bytes.
        size: usize,
        /// The record limit in bytes.
        limit: usize,
    },
}

/// Packs records into batch bodies, in order, within [`BatchLimits`].
///
/// A batch is closed when the next record would exceed the record count or the byte size, so
/// every closed batch respects both limits and holds at least one record.
#[derive(Debug)]
pub struct Batcher {
    action: BatchAction,
    limits: BatchLimits,
    body: BytesMut,
    entries: Vec<BatchEntry>,
    capacity_hint: usize,
}

impl Batcher {
    /// A batcher writing `action` requests.
    pub fn new(action: BatchAction, limits: BatchLimits) -> Self {
        let capacity_hint = 64 * 1024;
        Self {
            action,
            limits,
            body: new_body(capacity_hint),
            entries: Vec::new(),
            capacity_hint,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> BatchLimits {
        self.limits
    }

    /// Records in the open batch.
    pub fn pending(&self) -> usize {
        self.entries.len()
    }

    /// Adds a record, closing the open batch first when the record would not fit in it.
    pub fn push(&mut self, record: Record) -> PushOutcome {
        let size = record.json.len();
        if size > self.limits.max_record_bytes {
            return PushOutcome::TooBig {
                size,
                limit: self.limits.max_record_bytes,
            };
        }
        let prefix = self.action.entry_prefix();
        let separator = usize::from(!self.entries.is_empty());
        let grown = self.body.len() + separator + prefix.len() + size + 1 + BODY_SUFFIX.len();
        let closed = if !self.entries.is_empty()
            && (self.entries.len() >= self.limits.max_records || grown > self.limits.max_bytes)
        {
            self.close()
        } else {
            None
        };
        if !self.entries.is_empty() {
            self.body.put_u8(b',');
        }
        self.body.extend_from_slice(prefix);
        let start = self.body.len();
        self.body.extend_from_slice(&record.json);
        let end = self.body.len();
        self.body.put_u8(b'}');
        self.entries.push(BatchEntry {
            object_id: record.object_id,
            json: start..end,
        });
        match closed {
            Some(batch) => PushOutcome::Closed(batch),
            None => PushOutcome::Buffered,
        }
    }

    /// Closes the open batch, if it holds any record.
    pub fn finish(&mut self) -> Option<Batch> {
        self.close()
    }

    fn close(&mut self) -> Option<Batch> {
        if self.entries.is_empty() {
            return None;
        }
        self.body.extend_from_slice(BODY_SUFFIX);
        self.capacity_hint = self.body.len().min(self.limits.max_bytes);
        let body = std::mem::replace(&mut self.body, new_body(self.capacity_hint)).freeze();
        let next = Vec::with_capacity(self.entries.len());
        let entries = std::mem::replace(&mut self.entries, next);
        Some(Batch {
            action: self.action,
            body,
            entries,
        })
    }
}

fn new_body(capacity: usize) -> BytesMut {
    let mut body = BytesMut::with_capacity(capacity.max(BODY_PREFIX.len() + BODY_SUFFIX.len()));
    body.extend_from_slice(BODY_PREFIX);
    body
}

#[cfg(test)]
mod tests;

//! One record, the stream of them a source produces, and what can go wrong on the way.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::BoxStream;

/// One record: a JSON object serialized once, minified, ready to be spliced into a batch body.
#[derive(Clone, PartialEq, Eq)]
pub struct Record {
    /// The record's `objectID`, when it has one (it is also inside `json`).
    pub object_id: Option<Arc<str>>,
    /// The minified JSON object.
    pub json: Bytes,
    /// Whether the record is to be deleted from the index (`json` is then `{"objectID":…}`).
    pub delete: bool,
}

impl Record {
    /// A record from its serialized JSON object and its `objectID`, if any.
    pub fn new(object_id: Option<Arc<str>>, json: Bytes) -> Self {
        Self {
            object_id,
            json,
            delete: false,
        }
    }

    /// The deletion of the record `object_id` (a `deleteObject` request).
    pub fn deletion(object_id: Arc<str>) -> Self {
        let mut json = Vec::with_capacity(object_id.len() + 16);
        json.extend_from_slice(b"{\"objectID\":\"");
        for byte in object_id.bytes() {
            match byte {
                b'"' => json.extend_from_slice(b"\\\""),
                b'\\' => json.extend_from_slice(b"\\\\"),
                0..=0x1f => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    json.extend_from_slice(b"\\u00");
                    json.push(HEX[usize::from(byte >> 4)]);
                    json.push(HEX[usize::from(byte & 0xf)]);
                }
                _ => json.push(byte),
            }
        }
        json.extend_from_slice(b"\"}");
        Self {
            object_id: Some(object_id),
            json: Bytes::from(json),
            delete: true,
        }
    }
}

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Record")
            .field("object_id", &self.object_id)
            .field("json", &String::from_utf8_lossy(&self.json))
            .field("delete", &self.delete)
            .finish()
    }
}

/// Where a record came from, for the messages users read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Position {
    /// A CSV row, counted as a spreadsheet does: the header is row 1, the first data row is row 2.
    Row(u64),
    /// A line of newline-delimited JSON, from 1.
    Line(u64),
    /// An element of a top-level JSON array, from 0.
    Element(u64),
    /// The n-th record the source produced (from 1), when nothing more precise is known.
    Record(u64),
    /// A record of a paged API: the page (from 1) and the offset within it (from 0).
    Page {
        /// The page number, from 1.
        page: u64,
        /// The record's offset within the page, from 0.
        offset: u64,
    },
    /// The n-th record given to the destination's transformation (from 1), which failed it.
    Transformation(u64),
    /// A record Algolia refused: the batch (from 1) and the record's place in it (from 0).
    Batch {
        /// The batch number, from 1.
        batch: u64,
        /// The record's place in the batch, from 0.
        entry: u64,
    },
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Position::Row(row) => write!(f, "row {row}"),
            Position::Line(line) => write!(f, "line {line}"),
            Position::Element(index) => write!(f, "element {index}"),
            Position::Record(number) | Position::Transformation(number) => {
                write!(f, "record {number}")
            }
            Position::Page { page, offset } => write!(f, "page {page} offset {offset}"),
            Position::Batch { batch, entry } => write!(f, "batch {batch} record {entry}"),
        }
    }
}

/// A record refused by the source or the batcher; the rest of the stream goes on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordRejection {
    /// Where the record was in the input.
    pub position: Position,
    /// Its `objectID`, when it was known before the problem was found.
    pub object_id: Option<Arc<str>>,
    /// Why it was refused, in a sentence a user can act on.
    pub reason: String,
}

impl fmt::Display for RecordRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.position)?;
        if let Some(id) = &self.object_id {
            write!(f, " (objectID {id:?})")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// A problem with the source as a whole: the run ends with it.
///
/// The message names what failed (the URL without credentials, the HTTP status, the first bytes of
/// an error body) so that a user can act on it. It never holds a secret.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SourceError {
    message: String,
    refusal: Option<HttpRefusal>,
}

/// The answer of a server that refused a source's request for good: what connectors read to
/// tell "renew the token" from "wait" from "fix the query".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRefusal {
    /// The HTTP status (a 4xx, or a 5xx that outlasted the retries).
    pub status: u16,
    /// The first bytes of the body (up to 4 KiB), lossily decoded.
    pub body: String,
}

impl SourceError {
    /// A source error with its message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            refusal: None,
        }
    }

    /// A source error for a request the server refused with `refusal`.
    pub fn refused(message: impl Into<String>, refusal: HttpRefusal) -> Self {
        Self {
            message: message.into(),
            refusal: Some(refusal),
        }
    }

    /// The message, as users read it.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The server's answer, when the error is a refusal.
    pub fn refusal(&self) -> Option<&HttpRefusal> {
        self.refusal.as_ref()
    }
}

/// The error half of a stream item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceItemError {
    /// One record was refused; the stream goes on.
    Rejected(RecordRejection),
    /// The source failed; this is the stream's last item.
    Fatal(SourceError),
}

impl From<RecordRejection> for SourceItemError {
    fn from(rejection: RecordRejection) -> Self {
        SourceItemError::Rejected(rejection)
    }
}

impl From<SourceError> for SourceItemError {
    fn from(error: SourceError) -> Self {
        SourceItemError::Fatal(error)
    }
}

/// One item of a record stream.
pub type SourceResult = Result<Record, SourceItemError>;

/// The records of one source, in order. After a [`SourceItemError::Fatal`] item it yields nothing.
pub type RecordStream = BoxStream<'static, SourceResult>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deletion_carries_its_escaped_object_id() {
        let record = Record::deletion("a\"b\\c\n".into());
        assert!(record.delete);
        assert_eq!(record.json, r#"{"objectID":"a\"b\\c\u000a"}"#);
        let parsed: serde_json::Value = serde_json::from_slice(&record.json).unwrap();
        assert_eq!(parsed["objectID"], "a\"b\\c\n");
    }

    #[test]
    fn positions_read_as_users_expect() {
        assert_eq!(Position::Row(2).to_string(), "row 2");
        assert_eq!(Position::Line(7).to_string(), "line 7");
        assert_eq!(Position::Element(0).to_string(), "element 0");
        assert_eq!(Position::Record(5).to_string(), "record 5");
        assert_eq!(
            Position::Page { page: 3, offset: 4 }.to_string(),
            "page 3 offset 4"
        );
    }

    #[test]
    fn rejection_names_position_object_and_reason() {
        let rejection = RecordRejection {
            position: Position::Row(42),
            object_id: Some("sku-1".into()),
            reason: "failed to parse `price` as float: \"abc\"".into(),
        };
        assert_eq!(
            rejection.to_string(),
            "row 42 (objectID \"sku-1\"): failed to parse `price` as float: \"abc\""
        );
    }
}

//! Events: what happened during a run (`docs/api.md` A9, `docs/api.md` C12).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{EventStatus, EventType};

/// An event as the API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// `eventID`.
    #[serde(rename = "eventID")]
    pub event_id: String,
    /// `runID`.
    #[serde(rename = "runID")]
    pub run_id: String,
    /// `parentID`: the event that caused this one.
    #[serde(rename = "parentID", default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// `status`.
    pub status: EventStatus,
    /// `type`.
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// `data`: a free-form object (URL, bytes, index, reason ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Map<String, Value>>,
    /// `batchSize`: the number of records the event covers, 0 when none (`docs/api.md` C19).
    #[serde(rename = "batchSize", default)]
    pub batch_size: u64,
    /// `publishedAt` (RFC 3339).
    #[serde(rename = "publishedAt")]
    pub published_at: String,
}

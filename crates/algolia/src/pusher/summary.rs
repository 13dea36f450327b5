//! What a run did: counts, the first rejections, and the outcome judged from them.

use std::time::Duration;

use ingest_core::{Position, RecordRejection};
use ingest_model::{EventStatus, EventType, RunEvent, RunOutcome, RunReasonCode, RunRecorder};
use serde::Serialize;
use serde_json::json;

/// At most this many rejections are listed in a summary.
pub const MAX_LISTED_REJECTIONS: usize = 100;

/// One rejected record, as the summary lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RejectionSummary {
    /// Where it was (`row 42`, `element 3`, `batch 2 record 7`).
    pub position: String,
    /// Its objectID, when known.
    #[serde(rename = "objectID")]
    pub object_id: Option<String>,
    /// Why it was rejected.
    pub reason: String,
}

impl From<&RecordRejection> for RejectionSummary {
    fn from(rejection: &RecordRejection) -> Self {
        Self {
            position: rejection.position.to_string(),
            object_id: rejection.object_id.as_ref().map(|id| id.to_string()),
            reason: rejection.reason.clone(),
        }
    }
}

/// What a run did, with the API's names where they overlap.
///
/// `recordsRead = recordsPushed + recordsRejected` always holds: records that were read but
/// not sent because the run failed count as rejected (and the reason says how many).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    /// `success` or `failure`.
    pub outcome: RunOutcome,
    /// `ok`, `no_events`, `too_many_errors` or `critical`.
    #[serde(rename = "reasonCode")]
    pub reason_code: RunReasonCode,
    /// A sentence a user can act on.
    pub reason: String,
    /// Records the source produced, rejected ones included.
    #[serde(rename = "recordsRead")]
    pub records_read: u64,
    /// Records Algolia accepted.
    #[serde(rename = "recordsPushed")]
    pub records_pushed: u64,
    /// Records rejected (by the source, for their size, by Algolia) or left unsent by a failure.
    #[serde(rename = "recordsRejected")]
    pub records_rejected: u64,
    /// Batches Algolia accepted.
    pub batches: u64,
    /// Bytes of the batch bodies Algolia accepted.
    pub bytes: u64,
    /// Wall time of the run.
    #[serde(rename = "durationMs")]
    pub duration_ms: u64,
    /// The first rejections.
    pub rejections: Vec<RejectionSummary>,
}

/// Running counts of a run.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    pub read: u64,
    pub pushed: u64,
    pub rejected: u64,
    pub unsent: u64,
    pub batches: u64,
    pub bytes: u64,
    pub rejections: Vec<RejectionSummary>,
}

impl Counts {
    /// Counts a rejected record, lists it among the first ones, and records it as a `failed`
    /// `record` event while fewer than `max_events` were.
    pub fn reject(
        &mut self,
        rejection: RecordRejection,
        recorder: &dyn RunRecorder,
        max_events: usize,
    ) {
        self.rejected += 1;
        if self.rejections.len() < MAX_LISTED_REJECTIONS {
            self.rejections.push((&rejection).into());
        }
        if self.rejected as usize <= max_events {
            // A record the destination's transformation failed is a `transform` event.
            let event_type = match rejection.position {
                Position::Transformation(_) => EventType::Transform,
                _ => EventType::Record,
            };
            recorder.event(RunEvent::new(
                event_type,
                EventStatus::Failed,
                1,
                json!({
                    "position": rejection.position.to_string(),
                    "objectID": rejection.object_id.as_deref(),
                    "reason": rejection.reason,
                }),
            ));
        }
    }

    /// Whether more records were rejected than `threshold` percent of those read.
    pub fn over_threshold(&self, threshold: u8) -> bool {
        self.rejected * 100 > u64::from(threshold) * self.read
    }
}

/// How a run ended, before judging.
#[derive(Debug)]
pub(crate) enum Ending {
    /// Everything was sent (and, for `replace`, moved into place).
    Completed,
    /// Nothing could be pushed; the destination was left as it was.
    NothingPushed,
    /// Too many records were rejected; a `replace` did not move.
    TooManyErrors,
    /// A fatal source or destination error.
    Failed(String),
}

/// Where a run's records went, for the wording of its reason.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Target<'a> {
    /// An index (pushed by the pusher).
    Index(&'a str),
    /// The Insights API (sent as events).
    Insights,
}

pub(crate) fn judge(
    counts: Counts,
    ending: Ending,
    threshold: u8,
    elapsed: Duration,
    target: Target<'_>,
) -> RunSummary {
    let unsent = counts.unsent;
    let (outcome, reason_code, reason) = match ending {
        Ending::Failed(reason) => {
            let reason = if unsent > 0 {
                let noun = match target {
                    Target::Index(_) => "records",
                    Target::Insights => "events",
                };
                format!("{reason} ({unsent} {noun} read were not sent)")
            } else {
                reason
            };
            (RunOutcome::Failure, RunReasonCode::Critical, reason)
        }
        Ending::TooManyErrors => (
            RunOutcome::Failure,
            RunReasonCode::TooManyErrors,
            format!(
                "{} of {} records were rejected ({:.1}%), more than the task's failureThreshold of {threshold}%",
                counts.rejected,
                counts.read,
                counts.rejected as f64 * 100.0 / counts.read.max(1) as f64
            ),
        ),
        Ending::NothingPushed => (
            RunOutcome::Success,
            RunReasonCode::NoEvents,
            match (target, counts.read) {
                (Target::Index(index), 0) => {
                    format!("the source yielded no records; `{index}` was left as it was")
                }
                (Target::Index(index), read) => format!(
                    "none of the {read} records could be pushed ({} rejected); `{index}` was left as it was",
                    counts.rejected
                ),
                (Target::Insights, 0) => "the source yielded no events".to_owned(),
                (Target::Insights, read) => format!(
                    "none of the {read} records could be sent ({} rejected)",
                    counts.rejected
                ),
            },
        ),
        Ending::Completed => (
            RunOutcome::Success,
            RunReasonCode::Ok,
            match target {
                Target::Index(index) => format!(
                    "{} records pushed to `{index}` in {} batch(es), {} rejected",
                    counts.pushed, counts.batches, counts.rejected
                ),
                Target::Insights => format!(
                    "{} events sent to the Insights API in {} request(s), {} rejected",
                    counts.pushed, counts.batches, counts.rejected
                ),
            },
        ),
    };
    RunSummary {
        outcome,
        reason_code,
        reason,
        records_read: counts.read,
        records_pushed: counts.pushed,
        records_rejected: counts.rejected + unsent,
        batches: counts.batches,
        bytes: counts.bytes,
        duration_ms: elapsed.as_millis() as u64,
        rejections: counts.rejections,
    }
}

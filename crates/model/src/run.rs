//! Runs: one execution of a task (`docs/api.md` A8, `docs/api.md` C11).

use serde::{Deserialize, Serialize};

use crate::{RunOutcome, RunReasonCode, RunStatus, RunType};

/// A run as the API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Run {
    /// `runID`.
    #[serde(rename = "runID")]
    pub run_id: String,
    /// `appID`: the Algolia application the run belongs to.
    #[serde(rename = "appID")]
    pub app_id: String,
    /// `taskID`.
    #[serde(rename = "taskID")]
    pub task_id: String,
    /// `status`.
    pub status: RunStatus,
    /// `progress`, omitted until there is some.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<RunProgress>,
    /// `outcome` of a finished run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<RunOutcome>,
    /// `reason`: a sentence a user can act on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `reasonCode`: the machine code that goes with `reason`.
    #[serde(
        rename = "reasonCode",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub reason_code: Option<RunReasonCode>,
    /// `type`: `reindex` for `replace`, `update` for `save`.
    #[serde(rename = "type")]
    pub run_type: RunType,
    /// `failureThreshold` of the task when the run was created.
    #[serde(
        rename = "failureThreshold",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub failure_threshold: Option<u8>,
    /// `createdAt` (RFC 3339).
    #[serde(rename = "createdAt")]
    pub created_at: String,
    /// `updatedAt` (RFC 3339).
    #[serde(rename = "updatedAt")]
    pub updated_at: String,
    /// `startedAt` (RFC 3339).
    #[serde(rename = "startedAt", default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// `finishedAt` (RFC 3339).
    #[serde(
        rename = "finishedAt",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub finished_at: Option<String>,
    /// `runMetadata`: the object given to `POST /2/tasks/{taskID}/run` (`docs/api.md` D2),
    /// omitted when none was.
    #[serde(
        rename = "runMetadata",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub run_metadata: Option<serde_json::Map<String, serde_json::Value>>,
}

/// A run's progress; both counts are always present (`docs/api.md` C19).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunProgress {
    /// `expectedNbOfEvents`: set once the source is exhausted.
    #[serde(rename = "expectedNbOfEvents", default)]
    pub expected_nb_of_events: u64,
    /// `receivedNbOfEvents`: finished batch events so far.
    #[serde(rename = "receivedNbOfEvents", default)]
    pub received_nb_of_events: u64,
}

/// The response of `POST /1/tasks/{taskID}/run`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunResponse {
    /// `runID`.
    #[serde(rename = "runID")]
    pub run_id: String,
    /// `createdAt` (RFC 3339).
    #[serde(rename = "createdAt")]
    pub created_at: String,
}

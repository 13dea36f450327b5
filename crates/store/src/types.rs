//! Values the store returns or takes beyond the API's own resources: an authentication with its
//! secrets (for workers), new events, and the worker and scheduler shapes (claims, outcomes).

use ingest_model::{
    AuthInput, Authentication, EventStatus, EventType, Run, RunOutcome, RunProgress, RunReasonCode,
    Task, Timestamp,
};
use serde_json::{Map, Value};

/// An authentication with its decrypted credentials, for the worker that calls a source or
/// Algolia. Never return it from the API: `Debug` hides the secrets ([`AuthInput`] holds them as
/// `Secret`s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticationWithSecrets {
    /// The authentication as the API shows it (secrets `null` in `input`).
    pub authentication: Authentication,
    /// The full credentials.
    pub input: AuthInput,
}

/// An event to append to a run (Part C 12). The store assigns `eventID`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// `parentID`: the event that caused this one.
    pub parent_id: Option<String>,
    /// `status`.
    pub status: EventStatus,
    /// `type`.
    pub event_type: EventType,
    /// `data`: URL without credentials, bytes, index, reason ... Never a secret.
    pub data: Option<Map<String, Value>>,
    /// `batchSize`: the records the event covers (0 when none).
    pub batch_size: u64,
    /// `publishedAt`.
    pub published_at: Timestamp,
}

/// A run a worker claimed with [`crate::Store::claim_next_run`]: the run (now `started`), its
/// task, and the lease that fences every later change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedRun {
    /// The run, status `started`, `startedAt` set. `run.app_id` scopes the task's resources.
    pub run: Run,
    /// The task, as it was when the run was claimed.
    pub task: Task,
    /// The lease token: pass it to `heartbeat`, `record_events` and `finish_run`.
    pub lease_token: String,
    /// 1 for the first execution, 2 after one requeue, ...
    pub attempt: u32,
    /// When the lease ends unless renewed by a heartbeat.
    pub lease_expires_at: Timestamp,
    /// The payload of the event that triggered a subscription run
    /// ([`crate::Store::create_triggered_run`]); `None` for other runs.
    pub trigger_payload: Option<Value>,
}

/// How a run ended, for [`crate::Store::finish_run`] (Part C 11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFinish {
    /// `outcome`.
    pub outcome: RunOutcome,
    /// `reasonCode`.
    pub reason_code: RunReasonCode,
    /// `reason`: a sentence a user can act on.
    pub reason: Option<String>,
    /// The final progress, if known (it replaces the stored one).
    pub progress: Option<RunProgress>,
}

/// The result of [`crate::Store::finish_run`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedRun {
    /// The run, status `finished`.
    pub run: Run,
    /// Whether this failure was the [`crate::AUTO_DISABLE_AFTER`]th in a row and disabled the
    /// task (Part C 14); a `log` event says so.
    pub task_disabled: bool,
}

/// The result of [`crate::Store::requeue_expired`]: the runs whose lease had expired.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requeued {
    /// Back to `created`, for another worker to claim.
    pub requeued: Vec<String>,
    /// Out of attempts: `finished` with outcome `failure`, reason code `internal`.
    pub failed: Vec<String>,
    /// The application of each run in `failed`, in the same order.
    pub failed_apps: Vec<String>,
}

/// An enabled schedule task whose `nextRun` has come, from [`crate::Store::due_schedules`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueSchedule {
    /// The application the task belongs to.
    pub app_id: String,
    /// The task (its trigger is a schedule).
    pub task: Task,
    /// The `nextRun` that is due: pass it back to `fire_schedule` as the expected value.
    pub next_run: Timestamp,
}

//! Tasks: a source, a destination, a trigger and an action (`docs/api.md` A7).
//!
//! [`Trigger`] is the trigger as stored and returned (with `lastRun`/`nextRun`);
//! [`TaskCreateTrigger`] is what clients send. [`TaskInput`] is the date window of a BigQuery
//! task, chosen by its fields (`startDate`+`endDate` or `timeframe`).

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};

use crate::Timestamp;
use crate::error::into_de_error;
use crate::parse::{failure_threshold, immutable, non_empty, opt_failure_threshold, opt_non_empty};
use crate::{
    ActionType, Notifications, Policies, TaskOptions, TaskOptionsUpdate, TriggerType,
    ValidationError,
};

/// A task's trigger as stored and returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum Trigger {
    /// `{type: "onDemand", lastRun?}`.
    #[serde(rename = "onDemand")]
    OnDemand {
        /// `lastRun` (RFC 3339): when a run last started.
        #[serde(rename = "lastRun", default, skip_serializing_if = "Option::is_none")]
        last_run: Option<String>,
    },
    /// `{type: "schedule", cron, lastRun?, nextRun}`.
    #[serde(rename = "schedule")]
    Schedule {
        /// `cron`: 5 fields, UTC.
        cron: String,
        /// `lastRun` (RFC 3339).
        #[serde(rename = "lastRun", default, skip_serializing_if = "Option::is_none")]
        last_run: Option<String>,
        /// `nextRun` (RFC 3339).
        #[serde(rename = "nextRun")]
        next_run: String,
    },
    /// `{type: "subscription"}`.
    #[serde(rename = "subscription")]
    Subscription,
}

impl Trigger {
    /// The trigger's type.
    pub fn trigger_type(&self) -> TriggerType {
        match self {
            Self::OnDemand { .. } => TriggerType::OnDemand,
            Self::Schedule { .. } => TriggerType::Schedule,
            Self::Subscription => TriggerType::Subscription,
        }
    }
}

/// A trigger as a client sends it, on create (`{type}` or `{type: "schedule", cron}`) and on
/// update, where `{cron}` alone (today's clients) also means a schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type")]
pub enum TaskCreateTrigger {
    /// `{type: "onDemand"}`.
    #[serde(rename = "onDemand")]
    OnDemand,
    /// `{type: "schedule", cron}`; the cron expression is checked by the scheduler's parser.
    #[serde(rename = "schedule")]
    Schedule {
        /// `cron` (not blank).
        cron: String,
    },
    /// `{type: "subscription"}`.
    #[serde(rename = "subscription")]
    Subscription,
}

impl TaskCreateTrigger {
    /// The trigger's type.
    pub fn trigger_type(&self) -> TriggerType {
        match self {
            Self::OnDemand => TriggerType::OnDemand,
            Self::Schedule { .. } => TriggerType::Schedule,
            Self::Subscription => TriggerType::Subscription,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a trigger object")]
struct RawTrigger {
    #[serde(rename = "type", default)]
    kind: Option<TriggerType>,
    #[serde(default)]
    cron: Option<String>,
}

impl RawTrigger {
    fn validate(self, type_required: bool) -> Result<TaskCreateTrigger, ValidationError> {
        let kind = match (self.kind, &self.cron) {
            (Some(kind), _) => kind,
            (None, Some(_)) if !type_required => TriggerType::Schedule,
            (None, _) => return Err(ValidationError::new("type", "missing field")),
        };
        match (kind, self.cron) {
            (TriggerType::Streaming, _) => Err(ValidationError::new(
                "type",
                "streaming tasks are not supported by this engine",
            )),
            (TriggerType::Schedule, Some(cron)) if cron.trim().is_empty() => {
                Err(ValidationError::new("cron", "must not be empty"))
            }
            (TriggerType::Schedule, Some(cron)) => Ok(TaskCreateTrigger::Schedule { cron }),
            (TriggerType::Schedule, None) => Err(ValidationError::new(
                "cron",
                "missing field: a schedule trigger needs a cron expression",
            )),
            (_, Some(_)) => Err(ValidationError::new(
                "cron",
                "only allowed with a `schedule` trigger",
            )),
            (TriggerType::OnDemand, None) => Ok(TaskCreateTrigger::OnDemand),
            (TriggerType::Subscription, None) => Ok(TaskCreateTrigger::Subscription),
        }
    }
}

impl<'de> Deserialize<'de> for TaskCreateTrigger {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        RawTrigger::deserialize(d)?
            .validate(true)
            .map_err(into_de_error)
    }
}

/// The update form of a trigger, where `{cron}` alone means a schedule.
struct UpdateTrigger(TaskCreateTrigger);

impl<'de> Deserialize<'de> for UpdateTrigger {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        RawTrigger::deserialize(d)?
            .validate(false)
            .map(Self)
            .map_err(into_de_error)
    }
}

fn opt_update_trigger<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<TaskCreateTrigger>, D::Error> {
    Ok(Option::<UpdateTrigger>::deserialize(d)?.map(|t| t.0))
}

/// The date window of a task (BigQuery sources), chosen by its fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum TaskInput {
    /// `{startDate, endDate}`: a fixed range, RFC 3339, `startDate` < `endDate`.
    OnDemandDateUtilsInput {
        /// `startDate`.
        #[serde(rename = "startDate")]
        start_date: String,
        /// `endDate`.
        #[serde(rename = "endDate")]
        end_date: String,
    },
    /// `{timeframe}`: the last N days (1 to 30), up to today.
    ScheduleDateUtilsInput {
        /// `timeframe`.
        timeframe: u8,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a task input object")]
struct RawTaskInput {
    #[serde(rename = "startDate", default)]
    start_date: Option<String>,
    #[serde(rename = "endDate", default)]
    end_date: Option<String>,
    #[serde(default, deserialize_with = "opt_timeframe")]
    timeframe: Option<u8>,
    /// Today's `streams` (docker and shopify sources): read only to refuse it clearly.
    #[serde(default)]
    streams: Option<serde::de::IgnoredAny>,
}

fn opt_timeframe<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u8>, D::Error> {
    let Some(n) = Option::<i64>::deserialize(d)? else {
        return Ok(None);
    };
    match u8::try_from(n) {
        Ok(n) if (1..=30).contains(&n) => Ok(Some(n)),
        _ => Err(D::Error::custom(format!(
            "must be between 1 and 30 days, got {n}"
        ))),
    }
}

fn timestamp(field: &str, value: &str) -> Result<Timestamp, ValidationError> {
    Timestamp::parse(value).map_err(|e| ValidationError::new(field, e.to_string()))
}

impl RawTaskInput {
    fn validate(self) -> Result<TaskInput, ValidationError> {
        if self.streams.is_some() {
            return Err(ValidationError::new(
                "streams",
                "stream selection is for docker and shopify sources, which this engine does not support",
            ));
        }
        match (self.start_date, self.end_date, self.timeframe) {
            (None, None, Some(timeframe)) => Ok(TaskInput::ScheduleDateUtilsInput { timeframe }),
            (Some(start_date), Some(end_date), None) => {
                let start = timestamp("startDate", &start_date)?;
                let end = timestamp("endDate", &end_date)?;
                if start >= end {
                    return Err(ValidationError::new("endDate", "must be after `startDate`"));
                }
                Ok(TaskInput::OnDemandDateUtilsInput {
                    start_date,
                    end_date,
                })
            }
            (None, None, None) => Err(ValidationError::here(
                "needs `startDate` and `endDate`, or `timeframe`",
            )),
            (_, _, Some(_)) => Err(ValidationError::new(
                "timeframe",
                "cannot be given with `startDate` or `endDate`",
            )),
            (Some(_), None, None) => Err(ValidationError::new("endDate", "missing field")),
            (None, Some(_), None) => Err(ValidationError::new("startDate", "missing field")),
        }
    }
}

impl<'de> Deserialize<'de> for TaskInput {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        RawTaskInput::deserialize(d)?
            .validate()
            .map_err(into_de_error)
    }
}

/// A task as the API returns it. `failureThreshold` and `updatedAt` are always present
/// (`docs/api.md` C13, C19).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Task {
    /// `taskID`.
    #[serde(rename = "taskID")]
    pub task_id: String,
    /// `sourceID`.
    #[serde(rename = "sourceID")]
    pub source_id: String,
    /// `destinationID`.
    #[serde(rename = "destinationID")]
    pub destination_id: String,
    /// `trigger`.
    pub trigger: Trigger,
    /// `input`, omitted when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<TaskInput>,
    /// `enabled`.
    pub enabled: bool,
    /// `action`.
    pub action: ActionType,
    /// `failureThreshold`: the percentage of rejected records a run may have (0 to 100).
    #[serde(
        rename = "failureThreshold",
        default,
        deserialize_with = "failure_threshold"
    )]
    pub failure_threshold: u8,
    /// `subscriptionAction` (`docs/api.md` D2), omitted when unset.
    #[serde(
        rename = "subscriptionAction",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub subscription_action: Option<ActionType>,
    /// `cursor` (D2), omitted when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// `notifications` (D2), omitted when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notifications: Option<Notifications>,
    /// `policies` (D2), omitted when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policies: Option<Policies>,
    /// `createdAt` (RFC 3339).
    #[serde(rename = "createdAt")]
    pub created_at: String,
    /// `updatedAt` (RFC 3339).
    #[serde(rename = "updatedAt")]
    pub updated_at: String,
}

fn yes() -> bool {
    true
}

/// The body of `POST /1/tasks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a task object")]
pub struct TaskCreate {
    /// `sourceID`.
    #[serde(rename = "sourceID", deserialize_with = "non_empty")]
    pub source_id: String,
    /// `destinationID`.
    #[serde(rename = "destinationID", deserialize_with = "non_empty")]
    pub destination_id: String,
    /// `trigger`.
    pub trigger: TaskCreateTrigger,
    /// `action`.
    pub action: ActionType,
    /// `enabled`, default `true`.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// `input`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<TaskInput>,
    /// `failureThreshold` (0 to 100), default 0.
    #[serde(
        rename = "failureThreshold",
        default,
        deserialize_with = "failure_threshold"
    )]
    pub failure_threshold: u8,
    /// The v2 fields (`docs/api.md` D2): set by `POST /2/tasks`, never read from a v1 body
    /// (where they are unknown fields).
    #[serde(skip)]
    pub options: TaskOptions,
}

/// The body of `PATCH /1/tasks/{taskID}`: every field optional; `sourceID` and `action` are
/// refused (`action: cannot be changed`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct TaskUpdate {
    /// `destinationID`.
    #[serde(rename = "destinationID", skip_serializing_if = "Option::is_none")]
    pub destination_id: Option<String>,
    /// `trigger`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trigger: Option<TaskCreateTrigger>,
    /// `input`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<TaskInput>,
    /// `enabled`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// `failureThreshold` (0 to 100).
    #[serde(rename = "failureThreshold", skip_serializing_if = "Option::is_none")]
    pub failure_threshold: Option<u8>,
    /// The v2 fields a `PATCH /2/tasks/{taskID}` may change; never read from a v1 body.
    #[serde(skip)]
    pub options: TaskOptionsUpdate,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a task update object")]
#[expect(dead_code, reason = "some fields are read only to refuse them")]
struct RawTaskUpdate {
    #[serde(rename = "destinationID", default, deserialize_with = "opt_non_empty")]
    destination_id: Option<String>,
    #[serde(default, deserialize_with = "opt_update_trigger")]
    trigger: Option<TaskCreateTrigger>,
    #[serde(default)]
    input: Option<TaskInput>,
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(
        rename = "failureThreshold",
        default,
        deserialize_with = "opt_failure_threshold"
    )]
    failure_threshold: Option<u8>,
    #[serde(rename = "sourceID", default, deserialize_with = "immutable")]
    source_id: Option<()>,
    #[serde(default, deserialize_with = "immutable")]
    action: Option<()>,
}

impl<'de> Deserialize<'de> for TaskUpdate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawTaskUpdate::deserialize(d)?;
        Ok(Self {
            destination_id: raw.destination_id,
            trigger: raw.trigger,
            input: raw.input,
            enabled: raw.enabled,
            failure_threshold: raw.failure_threshold,
            options: TaskOptionsUpdate::default(),
        })
    }
}

//! `/2/tasks` (`docs/api.md` D2): the same tasks as `/1/tasks`, seen without a `trigger` object.
//!
//! One stored [`Task`] has two views. The v2 bodies ([`TaskCreateV2`], [`TaskReplaceV2`],
//! [`TaskUpdateV2`]) carry `cron` and `subscriptionAction` at the top level; they are turned into
//! the v1 inputs the store takes, with the trigger **derived**: `cron` set → `schedule`;
//! `subscriptionAction` set (and no `cron`) → `subscription`; otherwise `onDemand` (a task stored
//! with `subscription` keeps it on a replace: the store decides that). [`TaskV2`] is the response.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};

use crate::parse::{failure_threshold, non_empty, opt_failure_threshold, opt_non_empty};
use crate::{ActionType, Pagination, Task, TaskCreate, TaskCreateTrigger, TaskInput, TaskUpdate};

/// `notifications`: `{email: {enabled}}`. Stored and returned; this engine sends no e-mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notifications {
    /// `email`.
    pub email: EmailNotifications,
}

/// `notifications.email`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailNotifications {
    /// `enabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// `policies`: `{criticalThreshold}`, the failed runs in a row after which the task is disabled
/// (1 to 10, default 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policies {
    /// `criticalThreshold` (1 to 10).
    #[serde(
        rename = "criticalThreshold",
        default,
        deserialize_with = "opt_critical_threshold",
        skip_serializing_if = "Option::is_none"
    )]
    pub critical_threshold: Option<u8>,
}

/// The failed runs in a row that disable a task when its `policies` say nothing.
pub const DEFAULT_CRITICAL_THRESHOLD: u8 = 5;

fn opt_critical_threshold<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u8>, D::Error> {
    let Some(n) = Option::<i64>::deserialize(d)? else {
        return Ok(None);
    };
    match u8::try_from(n) {
        Ok(n) if (1..=10).contains(&n) => Ok(Some(n)),
        _ => Err(D::Error::custom(format!(
            "must be between 1 and 10, got {n}"
        ))),
    }
}

/// The fields a task has beyond the v1 shape (`docs/api.md` D2); the v1 routes neither take nor
/// change them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TaskOptions {
    /// `subscriptionAction`: the action of runs a subscription triggers (webhooks, runSource
    /// with `entityIDs`); the task's `action` when unset.
    pub subscription_action: Option<ActionType>,
    /// `cursor`: stored and returned.
    pub cursor: Option<String>,
    /// `notifications`.
    pub notifications: Option<Notifications>,
    /// `policies`.
    pub policies: Option<Policies>,
}

/// What a v2 PATCH changes beyond the v1 fields (each `None` leaves the value alone).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TaskOptionsUpdate {
    /// `subscriptionAction`.
    pub subscription_action: Option<ActionType>,
    /// `notifications`.
    pub notifications: Option<Notifications>,
    /// `policies`.
    pub policies: Option<Policies>,
}

/// The trigger a v2 body means (`docs/api.md` D2).
fn derived_trigger(cron: Option<String>, subscription: bool) -> TaskCreateTrigger {
    match cron {
        Some(cron) => TaskCreateTrigger::Schedule { cron },
        None if subscription => TaskCreateTrigger::Subscription,
        None => TaskCreateTrigger::OnDemand,
    }
}

fn yes() -> bool {
    true
}

/// The body of `POST /2/tasks`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a task object")]
pub struct TaskCreateV2 {
    /// `sourceID`.
    #[serde(rename = "sourceID", deserialize_with = "non_empty")]
    pub source_id: String,
    /// `destinationID`.
    #[serde(rename = "destinationID", deserialize_with = "non_empty")]
    pub destination_id: String,
    /// `action`.
    pub action: ActionType,
    /// `subscriptionAction`.
    #[serde(rename = "subscriptionAction", default)]
    pub subscription_action: Option<ActionType>,
    /// `cron`: a schedule (5 fields, UTC).
    #[serde(default, deserialize_with = "opt_non_empty")]
    pub cron: Option<String>,
    /// `enabled`, default `true`.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// `failureThreshold` (0 to 100), default 0.
    #[serde(
        rename = "failureThreshold",
        default,
        deserialize_with = "failure_threshold"
    )]
    pub failure_threshold: u8,
    /// `input`.
    #[serde(default)]
    pub input: Option<TaskInput>,
    /// `cursor`.
    #[serde(default)]
    pub cursor: Option<String>,
    /// `notifications`.
    #[serde(default)]
    pub notifications: Option<Notifications>,
    /// `policies`.
    #[serde(default)]
    pub policies: Option<Policies>,
}

impl From<TaskCreateV2> for TaskCreate {
    fn from(v2: TaskCreateV2) -> Self {
        TaskCreate {
            source_id: v2.source_id,
            destination_id: v2.destination_id,
            trigger: derived_trigger(v2.cron, v2.subscription_action.is_some()),
            action: v2.action,
            enabled: v2.enabled,
            input: v2.input,
            failure_threshold: v2.failure_threshold,
            options: TaskOptions {
                subscription_action: v2.subscription_action,
                cursor: v2.cursor,
                notifications: v2.notifications,
                policies: v2.policies,
            },
        }
    }
}

/// The body of `PUT /2/tasks/{taskID}`: the whole task but its source; optional fields left out
/// go back to their defaults.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a task object")]
pub struct TaskReplaceV2 {
    /// `destinationID`.
    #[serde(rename = "destinationID", deserialize_with = "non_empty")]
    pub destination_id: String,
    /// `action`.
    pub action: ActionType,
    /// `subscriptionAction`.
    #[serde(rename = "subscriptionAction", default)]
    pub subscription_action: Option<ActionType>,
    /// `cron`.
    #[serde(default, deserialize_with = "opt_non_empty")]
    pub cron: Option<String>,
    /// `enabled`, default `true`.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// `failureThreshold`, default 0.
    #[serde(
        rename = "failureThreshold",
        default,
        deserialize_with = "failure_threshold"
    )]
    pub failure_threshold: u8,
    /// `input`.
    #[serde(default)]
    pub input: Option<TaskInput>,
    /// `cursor`.
    #[serde(default)]
    pub cursor: Option<String>,
    /// `notifications`.
    #[serde(default)]
    pub notifications: Option<Notifications>,
    /// `policies`.
    #[serde(default)]
    pub policies: Option<Policies>,
}

/// A replace as the store takes it: every column's new value (the source stays).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskReplace {
    /// `destinationID`.
    pub destination_id: String,
    /// `action`.
    pub action: ActionType,
    /// The derived trigger (the store keeps a stored `subscription` over a derived `onDemand`).
    pub trigger: TaskCreateTrigger,
    /// `enabled`.
    pub enabled: bool,
    /// `failureThreshold`.
    pub failure_threshold: u8,
    /// `input`.
    pub input: Option<TaskInput>,
    /// The v2 fields.
    pub options: TaskOptions,
}

impl From<TaskReplaceV2> for TaskReplace {
    fn from(v2: TaskReplaceV2) -> Self {
        TaskReplace {
            destination_id: v2.destination_id,
            action: v2.action,
            trigger: derived_trigger(v2.cron, v2.subscription_action.is_some()),
            enabled: v2.enabled,
            failure_threshold: v2.failure_threshold,
            input: v2.input,
            options: TaskOptions {
                subscription_action: v2.subscription_action,
                cursor: v2.cursor,
                notifications: v2.notifications,
                policies: v2.policies,
            },
        }
    }
}

/// The body of `PATCH /2/tasks/{taskID}`: no `action`, no `cursor`, no `sourceID`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a task update object")]
pub struct TaskUpdateV2 {
    /// `destinationID`.
    #[serde(rename = "destinationID", default, deserialize_with = "opt_non_empty")]
    pub destination_id: Option<String>,
    /// `cron`: makes the task a schedule.
    #[serde(default, deserialize_with = "opt_non_empty")]
    pub cron: Option<String>,
    /// `input`.
    #[serde(default)]
    pub input: Option<TaskInput>,
    /// `enabled`.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// `subscriptionAction`.
    #[serde(rename = "subscriptionAction", default)]
    pub subscription_action: Option<ActionType>,
    /// `failureThreshold`.
    #[serde(
        rename = "failureThreshold",
        default,
        deserialize_with = "opt_failure_threshold"
    )]
    pub failure_threshold: Option<u8>,
    /// `notifications`.
    #[serde(default)]
    pub notifications: Option<Notifications>,
    /// `policies`.
    #[serde(default)]
    pub policies: Option<Policies>,
}

impl From<TaskUpdateV2> for TaskUpdate {
    fn from(v2: TaskUpdateV2) -> Self {
        TaskUpdate {
            destination_id: v2.destination_id,
            trigger: v2.cron.map(|cron| TaskCreateTrigger::Schedule { cron }),
            input: v2.input,
            enabled: v2.enabled,
            failure_threshold: v2.failure_threshold,
            options: TaskOptionsUpdate {
                subscription_action: v2.subscription_action,
                notifications: v2.notifications,
                policies: v2.policies,
            },
        }
    }
}

/// A task as `/2/tasks` returns it: the trigger's `cron`, `lastRun` and `nextRun` at the top
/// level, no `trigger` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskV2 {
    /// `taskID`.
    #[serde(rename = "taskID")]
    pub task_id: String,
    /// `sourceID`.
    #[serde(rename = "sourceID")]
    pub source_id: String,
    /// `destinationID`.
    #[serde(rename = "destinationID")]
    pub destination_id: String,
    /// `cron`, for a schedule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
    /// `lastRun` (RFC 3339).
    #[serde(rename = "lastRun", skip_serializing_if = "Option::is_none")]
    pub last_run: Option<String>,
    /// `nextRun` (RFC 3339), for a schedule.
    #[serde(rename = "nextRun", skip_serializing_if = "Option::is_none")]
    pub next_run: Option<String>,
    /// `input`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<TaskInput>,
    /// `enabled`.
    pub enabled: bool,
    /// `failureThreshold`.
    #[serde(rename = "failureThreshold")]
    pub failure_threshold: u8,
    /// `action`.
    pub action: ActionType,
    /// `subscriptionAction`.
    #[serde(rename = "subscriptionAction", skip_serializing_if = "Option::is_none")]
    pub subscription_action: Option<ActionType>,
    /// `cursor`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// `notifications`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notifications: Option<Notifications>,
    /// `policies`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policies: Option<Policies>,
    /// `createdAt` (RFC 3339).
    #[serde(rename = "createdAt")]
    pub created_at: String,
    /// `updatedAt` (RFC 3339).
    #[serde(rename = "updatedAt")]
    pub updated_at: String,
}

impl From<Task> for TaskV2 {
    fn from(task: Task) -> Self {
        let (cron, last_run, next_run) = match task.trigger {
            crate::Trigger::OnDemand { last_run } => (None, last_run, None),
            crate::Trigger::Schedule {
                cron,
                last_run,
                next_run,
            } => (Some(cron), last_run, Some(next_run)),
            crate::Trigger::Subscription => (None, None, None),
        };
        TaskV2 {
            task_id: task.task_id,
            source_id: task.source_id,
            destination_id: task.destination_id,
            cron,
            last_run,
            next_run,
            input: task.input,
            enabled: task.enabled,
            failure_threshold: task.failure_threshold,
            action: task.action,
            subscription_action: task.subscription_action,
            cursor: task.cursor,
            notifications: task.notifications,
            policies: task.policies,
            created_at: task.created_at,
            updated_at: task.updated_at,
        }
    }
}

/// `GET /2/tasks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListTasksResponseV2 {
    /// `tasks`.
    pub tasks: Vec<TaskV2>,
    /// `pagination`.
    pub pagination: Pagination,
}

/// The optional body of `POST /2/tasks/{taskID}/run`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a run task payload object")]
pub struct RunTaskPayload {
    /// `runMetadata`: any JSON object, stored on the run and returned with it.
    #[serde(rename = "runMetadata", default)]
    pub run_metadata: Option<serde_json::Map<String, serde_json::Value>>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::from_value;

    #[test]
    fn the_trigger_is_derived_from_cron_and_subscription_action() {
        let base = json!({"sourceID": "s", "destinationID": "d", "action": "replace"});
        let create = |extra: serde_json::Value| {
            let mut body = base.clone();
            body.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            TaskCreate::from(from_value::<TaskCreateV2>(&body).unwrap())
        };
        assert_eq!(create(json!({})).trigger, TaskCreateTrigger::OnDemand);
        assert_eq!(
            create(json!({"cron": "0 * * * *"})).trigger,
            TaskCreateTrigger::Schedule {
                cron: "0 * * * *".into()
            }
        );
        let sub = create(json!({"subscriptionAction": "partial"}));
        assert_eq!(sub.trigger, TaskCreateTrigger::Subscription);
        assert_eq!(sub.options.subscription_action, Some(ActionType::Partial));
        assert!(matches!(
            create(json!({"cron": "0 * * * *", "subscriptionAction": "save"})).trigger,
            TaskCreateTrigger::Schedule { .. }
        ));
    }

    #[test]
    fn bad_v2_bodies_name_the_field() {
        let cases = [
            (
                json!({"sourceID": "s", "destinationID": "d", "action": "replace", "policies": {"criticalThreshold": 11}}),
                "policies.criticalThreshold",
            ),
            (
                json!({"sourceID": "s", "destinationID": "d", "action": "replace", "trigger": {"type": "onDemand"}}),
                "trigger",
            ),
            (
                json!({"sourceID": "s", "destinationID": "d", "action": "stream"}),
                "action",
            ),
            (json!({"sourceID": "s", "action": "save"}), "destinationID"),
        ];
        for (body, path) in cases {
            let error = from_value::<TaskCreateV2>(&body).unwrap_err();
            assert!(error.to_string().contains(path), "{body}: {error}");
        }
        let update = from_value::<TaskUpdateV2>(&json!({"action": "save"})).unwrap_err();
        assert!(update.to_string().contains("action"), "{update}");
    }

    #[test]
    fn v2_views_flatten_the_trigger() {
        let task = Task {
            task_id: "t".into(),
            source_id: "s".into(),
            destination_id: "d".into(),
            trigger: crate::Trigger::Schedule {
                cron: "0 0 * * *".into(),
                last_run: None,
                next_run: "2026-01-01T00:00:00.000Z".into(),
            },
            input: None,
            enabled: true,
            action: ActionType::Append,
            failure_threshold: 0,
            subscription_action: None,
            cursor: Some("c1".into()),
            notifications: Some(Notifications {
                email: EmailNotifications {
                    enabled: Some(true),
                },
            }),
            policies: Some(Policies {
                critical_threshold: Some(3),
            }),
            created_at: "2026-01-01T00:00:00.000Z".into(),
            updated_at: "2026-01-01T00:00:00.000Z".into(),
        };
        let json = serde_json::to_value(TaskV2::from(task)).unwrap();
        assert_eq!(json["cron"], "0 0 * * *");
        assert_eq!(json["nextRun"], "2026-01-01T00:00:00.000Z");
        assert!(json.get("trigger").is_none());
        assert_eq!(json["notifications"], json!({"email": {"enabled": true}}));
        assert_eq!(json["policies"], json!({"criticalThreshold": 3}));
        assert_eq!(json["cursor"], "c1");
    }
}

//! Stored rows to API resources: the column list each resource is read with, and the function
//! that builds the resource from a row. A stored value that does not parse is
//! [`StoreError::Internal`]: the store only writes what the model accepted.

use ingest_model::{
    Authentication, Destination, DestinationInput, Event, RedactedAuthInput, Run, RunProgress,
    Source, SourceInput, Task, TaskInput, Trigger, TriggerType,
};
use serde_json::Value;

use crate::StoreError;
use crate::db::Row;
use crate::error::StoreResult;

fn from_json<T: serde::de::DeserializeOwned>(column: &str, value: Value) -> StoreResult<T> {
    serde_json::from_value(value)
        .map_err(|_| StoreError::internal(format!("column `{column}` holds an unexpected value")))
}

/// The columns [`authentication`] reads.
pub(crate) const AUTHENTICATION_COLUMNS: &str =
    "id, type, name, platform, input, created_at, updated_at";

/// An authentication from its row; `input` is the stored redacted input (secrets `null`).
pub(crate) fn authentication(row: &Row) -> StoreResult<Authentication> {
    let input: RedactedAuthInput = from_json("input", row.json("input")?)?;
    Ok(Authentication {
        authentication_id: row.text("id")?,
        auth_type: row.parsed("type")?,
        name: row.text("name")?,
        platform: row.opt_parsed("platform")?,
        input,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

/// The columns [`destination`] reads.
pub(crate) const DESTINATION_COLUMNS: &str =
    "id, type, name, input, authentication_id, created_at, updated_at";

/// A destination from its row.
pub(crate) fn destination(row: &Row) -> StoreResult<Destination> {
    let input: DestinationInput = from_json("input", row.json("input")?)?;
    Ok(Destination {
        destination_id: row.text("id")?,
        destination_type: row.parsed("type")?,
        name: row.text("name")?,
        input,
        authentication_id: row.opt_text("authentication_id")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

/// The columns [`source`] reads.
pub(crate) const SOURCE_COLUMNS: &str =
    "id, type, name, input, authentication_id, created_at, updated_at";

/// A source from its row; the input is parsed by the stored type.
pub(crate) fn source(row: &Row) -> StoreResult<Source> {
    let source_type = row.parsed("type")?;
    let input = SourceInput::parse(source_type, &row.json("input")?)
        .map_err(|_| StoreError::internal("column `input` holds an unexpected source input"))?;
    Ok(Source {
        source_id: row.text("id")?,
        source_type,
        name: row.text("name")?,
        input,
        authentication_id: row.opt_text("authentication_id")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

/// The columns [`task`] reads.
pub(crate) const TASK_COLUMNS: &str = "id, source_id, destination_id, trigger_type, cron, action, \
     enabled, input, failure_threshold, last_run, next_run, created_at, updated_at";

/// A task from its row.
pub(crate) fn task(row: &Row) -> StoreResult<Task> {
    let last_run = row.opt_time("last_run")?;
    let trigger = match row.parsed::<TriggerType>("trigger_type")? {
        TriggerType::OnDemand => Trigger::OnDemand { last_run },
        TriggerType::Subscription => Trigger::Subscription,
        TriggerType::Schedule => Trigger::Schedule {
            cron: row
                .opt_text("cron")?
                .ok_or_else(|| StoreError::internal("a schedule task without `cron`"))?,
            last_run,
            next_run: row
                .opt_time("next_run")?
                .ok_or_else(|| StoreError::internal("a schedule task without `next_run`"))?,
        },
    };
    let input: Option<TaskInput> = match row.opt_text("input")? {
        None => None,
        Some(text) => Some(from_json(
            "input",
            serde_json::from_str(&text)
                .map_err(|_| StoreError::internal("column `input` holds invalid JSON"))?,
        )?),
    };
    let threshold = row.int("failure_threshold")?;
    Ok(Task {
        task_id: row.text("id")?,
        source_id: row.text("source_id")?,
        destination_id: row.text("destination_id")?,
        trigger,
        input,
        enabled: row.flag("enabled")?,
        action: row.parsed("action")?,
        failure_threshold: u8::try_from(threshold)
            .map_err(|_| StoreError::internal("a failure threshold out of range"))?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

/// The columns [`run`] reads.
pub(crate) const RUN_COLUMNS: &str = "id, app_id, task_id, status, type, outcome, reason, \
     reason_code, failure_threshold, expected_events, received_events, created_at, updated_at, \
     started_at, finished_at";

fn count(value: Option<i64>) -> u64 {
    value.and_then(|n| u64::try_from(n).ok()).unwrap_or(0)
}

/// A run from its row. `progress` is present once either count was set.
pub(crate) fn run(row: &Row) -> StoreResult<Run> {
    let expected = row.opt_int("expected_events")?;
    let received = row.opt_int("received_events")?;
    let progress = (expected.is_some() || received.is_some()).then(|| RunProgress {
        expected_nb_of_events: count(expected),
        received_nb_of_events: count(received),
    });
    Ok(Run {
        run_id: row.text("id")?,
        app_id: row.text("app_id")?,
        task_id: row.text("task_id")?,
        status: row.parsed("status")?,
        progress,
        outcome: row.opt_parsed("outcome")?,
        reason: row.opt_text("reason")?,
        reason_code: row.opt_parsed("reason_code")?,
        run_type: row.parsed("type")?,
        failure_threshold: row
            .opt_int("failure_threshold")?
            .and_then(|n| u8::try_from(n).ok()),
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
        started_at: row.opt_time("started_at")?,
        finished_at: row.opt_time("finished_at")?,
    })
}

/// The columns [`event`] reads.
pub(crate) const EVENT_COLUMNS: &str =
    "id, run_id, parent_id, status, type, data, batch_size, published_at";

/// An event from its row.
pub(crate) fn event(row: &Row) -> StoreResult<Event> {
    let data = match row.opt_text("data")? {
        None => None,
        Some(text) => Some(
            serde_json::from_str(&text)
                .map_err(|_| StoreError::internal("column `data` holds invalid JSON"))?,
        ),
    };
    Ok(Event {
        event_id: row.text("id")?,
        run_id: row.text("run_id")?,
        parent_id: row.opt_text("parent_id")?,
        status: row.parsed("status")?,
        event_type: row.parsed("type")?,
        data,
        batch_size: count(row.opt_int("batch_size")?),
        published_at: row.time("published_at")?,
    })
}

//! The Push connector's routes (`docs/api.md` D4): `POST /1/push/{indexName}` and
//! `POST /2/tasks/{taskID}/push`.
//!
//! A push is checked whole (action, every record's `objectID`, at most
//! [`PushRouteSettings::max_body_bytes`]), committed to the store, and answered at once with the
//! run and the event it will become; a worker applies it later (`ingest_engine`). With
//! `watch=true` the answer waits until it is applied. Each application has its own budget of
//! pushes per period, apart from the per-IP limits.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ingest_model::{SourceType, Task};
use ingest_store::{NewPush, StoreError};
use serde::Deserialize;
use serde_json::error::Category;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::ApiState;
use crate::body::read_limited;
use crate::error::ApiError;
use crate::extract::{App, Ids, QueryParams};
use crate::rate_limit::Limit;

/// Settings of the push routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PushRouteSettings {
    /// Largest push body (413 past it): 5 MB.
    pub max_body_bytes: usize,
    /// How long `watch=true` waits for the push to be applied.
    pub watch_timeout: Duration,
    /// Pushes per application and period.
    pub rate: Limit,
}

impl Default for PushRouteSettings {
    fn default() -> Self {
        Self {
            max_body_bytes: 5_000_000,
            watch_timeout: Duration::from_secs(180),
            rate: Limit {
                requests: 500,
                period: Duration::from_secs(60),
            },
        }
    }
}

/// The batch actions a push may carry.
const ACTIONS: &[&str] = &[
    "addObject",
    "updateObject",
    "partialUpdateObject",
    "partialUpdateObjectNoCreate",
    "deleteObject",
    "delete",
    "clear",
];

/// The longest index name Algolia accepts, in bytes.
const MAX_INDEX_NAME_BYTES: usize = 512;

/// Push budgets per application: a fixed window each, bounded in memory by the number of
/// applications the server serves.
#[derive(Debug, Default)]
pub struct PushBudgets {
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

impl PushBudgets {
    /// Counts one push of `app`; the seconds to wait when over `limit`.
    fn take(&self, app: &str, limit: Limit, now: Instant) -> Result<(), u64> {
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        let (start, count) = windows.entry(app.to_owned()).or_insert((now, 0));
        if now.duration_since(*start) >= limit.period {
            *start = now;
            *count = 0;
        }
        if *count >= limit.requests {
            let left = limit.period.saturating_sub(now.duration_since(*start));
            return Err(left.as_secs().max(1));
        }
        *count += 1;
        Ok(())
    }
}

/// A checked push body: the action and the records as JSON text.
struct Payload {
    action: String,
    records: String,
    count: u64,
}

/// Reads a push body without building a tree of its records: the top level and each record's
/// `objectID` are checked, and the records are kept as the text received (a copy of the
/// `records` array), which the workers split again when they apply the push.
fn parse_payload(body: &[u8]) -> Result<Payload, ApiError> {
    let fields: BTreeMap<String, &RawValue> =
        serde_json::from_slice(body).map_err(|error| match error.classify() {
            Category::Data => ApiError::invalid("", "the body must be a JSON object"),
            _ => ApiError::invalid("", format!("the body is not valid JSON: {error}")),
        })?;
    if let Some(unknown) = fields.keys().find(|k| *k != "action" && *k != "records") {
        return Err(ApiError::invalid(
            crate::error::printable(unknown),
            "unknown field",
        ));
    }
    let action = match fields.get("action") {
        None => return Err(ApiError::invalid("action", "missing field")),
        Some(raw) => serde_json::from_str::<String>(raw.get())
            .map_err(|_| ApiError::invalid("action", "must be a string"))?,
    };
    if !ACTIONS.contains(&action.as_str()) {
        return Err(ApiError::invalid(
            "action",
            format!(
                "unknown variant `{}`, expected one of {}",
                crate::error::printable(&action),
                ACTIONS
                    .iter()
                    .map(|a| format!("`{a}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    let Some(records_text) = fields.get("records") else {
        return Err(ApiError::invalid("records", "missing field"));
    };
    let records: Vec<&RawValue> = serde_json::from_str(records_text.get())
        .map_err(|_| ApiError::invalid("records", "must be an array"))?;
    let whole_index = action == "clear" || action == "delete";
    if records.is_empty() && !whole_index {
        return Err(ApiError::invalid(
            "records",
            "must hold at least one record",
        ));
    }
    for (i, record) in records.iter().enumerate() {
        if !record.get().starts_with('{') {
            return Err(ApiError::invalid(
                format!("records[{i}]"),
                "must be an object",
            ));
        }
        let head: RecordHead = serde_json::from_str(record.get())
            .map_err(|error| ApiError::invalid(format!("records[{i}]"), error.to_string()))?;
        match head.object_id.map(RawValue::get) {
            Some(id) if id.starts_with('"') && id != "\"\"" => {}
            Some(_) => {
                return Err(ApiError::invalid(
                    format!("records[{i}].objectID"),
                    "must be a non-empty string",
                ));
            }
            None => {
                return Err(ApiError::invalid(
                    format!("records[{i}].objectID"),
                    "missing field",
                ));
            }
        }
    }
    Ok(Payload {
        action,
        records: records_text.get().to_owned(),
        count: records.len() as u64,
    })
}

/// What the push route reads of a record: its `objectID` as written (other fields skipped).
#[derive(Deserialize)]
struct RecordHead<'a> {
    #[serde(rename = "objectID", borrow, default, deserialize_with = "present")]
    object_id: Option<&'a RawValue>,
}

/// `Some` for any value, `null` included (a plain `Option` reads `null` as absent).
fn present<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(deserializer).map(Some)
}

fn check_index_name(index: &str) -> Result<(), ApiError> {
    if index.trim().is_empty() || index.len() > MAX_INDEX_NAME_BYTES || index.contains('\0') {
        return Err(ApiError::invalid(
            "indexName",
            format!("must be 1 to {MAX_INDEX_NAME_BYTES} bytes, not blank, without NUL"),
        ));
    }
    Ok(())
}

/// Algolia's own error body for the push routes: `{"error": {"code"}, "message", "status"}`.
fn push_error(status: StatusCode, code: &str, message: String) -> Response {
    let body = json!({"error": {"code": code}, "message": message, "status": status.as_u16()});
    (status, Json(body)).into_response()
}

/// `POST /1/push/{indexName}?watch=&referenceIndexName=`.
pub async fn push(
    State(state): State<ApiState>,
    App(app): App,
    Path(index): Path<String>,
    QueryParams(params): QueryParams,
    req: Request,
) -> Result<Response, ApiError> {
    check_index_name(&index)?;
    let reference = params.single("referenceIndexName")?.map(str::to_owned);
    let watch = params.boolean("watch")?.unwrap_or(false);
    let wanted = reference.as_deref().unwrap_or(&index);
    let candidates: Vec<Task> = state
        .store
        .push_tasks(&app)
        .await?
        .into_iter()
        .filter(|t| t.index == wanted)
        .map(|t| t.task)
        .collect();
    let task = match candidates.as_slice() {
        [] => {
            return Ok(push_error(
                StatusCode::NOT_FOUND,
                "resource_not_found",
                format!("cannot find task {wanted}"),
            ));
        }
        [task] => task.clone(),
        several => {
            let ids: Vec<&str> = several.iter().map(|t| t.task_id.as_str()).collect();
            return Ok(push_error(
                StatusCode::BAD_REQUEST,
                "invalid_payload",
                format!(
                    "multiple tasks ({}) found for the Push connector with indexName {wanted}, please use /2/tasks/:id/push instead",
                    ids.join(", ")
                ),
            ));
        }
    };
    accept(&state, &app, &task, &index, watch, req).await
}

/// `POST /2/tasks/{taskID}/push?watch=`.
pub async fn push_task(
    State(state): State<ApiState>,
    App(app): App,
    Ids(id): Ids<String>,
    QueryParams(params): QueryParams,
    req: Request,
) -> Result<Response, ApiError> {
    let watch = params.boolean("watch")?.unwrap_or(false);
    let task = state.store.get_task(&app, &id).await?;
    let source = state.store.get_source(&app, &task.source_id).await?;
    if source.source_type != SourceType::Push {
        return Err(ApiError::invalid(
            "taskID",
            format!(
                "task `{id}` reads a `{}` source: only tasks of a `push` source take pushes",
                source.source_type
            ),
        ));
    }
    let destination = state
        .store
        .get_destination(&app, &task.destination_id)
        .await?;
    let index = destination.input.index_for(&source.name);
    accept(&state, &app, &task, &index, watch, req).await
}

/// Checks the budget and the body, stores the push, and answers (after it is applied, with
/// `watch`).
async fn accept(
    state: &ApiState,
    app: &str,
    task: &Task,
    index: &str,
    watch: bool,
    req: Request,
) -> Result<Response, ApiError> {
    if !task.enabled {
        return Err(ApiError::invalid(
            "taskID",
            format!("task `{}` is disabled: enable it to push", task.task_id),
        ));
    }
    state
        .pushes
        .take(app, state.push.rate, Instant::now())
        .map_err(|retry_after| ApiError::RateLimited { retry_after })?;
    let body = read_limited(req, state.push.max_body_bytes).await?;
    let payload = parse_payload(&body)?;
    drop(body);
    let accepted = state
        .store
        .accept_push(
            app,
            &NewPush {
                task_id: &task.task_id,
                index,
                action: &payload.action,
                records: &payload.records,
                record_count: payload.count,
            },
            state.clock.now(),
        )
        .await?;
    tracing::info!(
        app,
        task_id = task.task_id,
        index,
        records = payload.count,
        run_id = accepted.run_id,
        "push accepted"
    );
    let mut response = json!({
        "runID": accepted.run_id,
        "eventID": accepted.event_id,
        "message": "OK",
        "createdAt": accepted.created_at,
    });
    if !watch {
        return Ok(Json(response).into_response());
    }
    let deadline = Instant::now() + state.push.watch_timeout;
    let mut delay = Duration::from_millis(10);
    loop {
        match state
            .store
            .get_event(app, &accepted.run_id, &accepted.event_id)
            .await
        {
            Ok(event) => {
                let failed = event.status == ingest_model::EventStatus::Failed;
                let message = event
                    .data
                    .as_ref()
                    .and_then(|d| d.get("message"))
                    .and_then(Value::as_str)
                    .unwrap_or("OK")
                    .to_owned();
                response["message"] = json!(message);
                response["events"] = json!([event]);
                let status = if failed {
                    StatusCode::BAD_REQUEST
                } else {
                    StatusCode::OK
                };
                return Ok((status, Json(response)).into_response());
            }
            Err(StoreError::NotFound { .. }) if Instant::now() < deadline => {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_millis(500));
            }
            Err(StoreError::NotFound { .. }) => {
                response["message"] = json!(format!(
                    "accepted; not applied yet after {} s: poll GET /1/runs/{}/events/{}",
                    state.push.watch_timeout.as_secs(),
                    accepted.run_id,
                    accepted.event_id
                ));
                return Ok(Json(response).into_response());
            }
            Err(error) => return Err(error.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(body: &str) -> String {
        match parse_payload(body.as_bytes()) {
            Ok(_) => "ok".into(),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn bodies_are_checked_whole() {
        assert_eq!(
            message(r#"{"action":"addObject","records":[{"objectID":"a","x":1}]}"#),
            "ok"
        );
        assert_eq!(message(r#"{"action":"clear","records":[]}"#), "ok");
        assert!(
            message(r#"{"action":"upsert","records":[]}"#).starts_with("action: unknown variant")
        );
        assert!(
            message(r#"{"action":"addObject","records":[{"objectID":"a"},{"x":1}]}"#)
                .starts_with("records[1].objectID: missing field")
        );
        assert!(
            message(r#"{"action":"addObject","records":[{"objectID":7}]}"#)
                .starts_with("records[0].objectID")
        );
        assert!(message(r#"{"action":"addObject","records":[]}"#).starts_with("records:"));
        assert!(message(r#"{"action":"addObject","records":[1]}"#).starts_with("records[0]"));
        assert!(message(r#"{"action":"addObject","records":[],"x":1}"#).starts_with("x: unknown"));
        assert!(message("{").contains("not valid JSON"));
        assert!(
            message(r#"{"action":"addObject","records":[{"a":1} x]}"#).contains("not valid JSON")
        );
        assert_eq!(message("[1]"), "the body must be a JSON object");
        assert_eq!(
            message(r#"{"action":7,"records":[]}"#),
            "action: must be a string"
        );
        assert_eq!(message(r#"{"records":[]}"#), "action: missing field");
        assert_eq!(message(r#"{"action":"clear"}"#), "records: missing field");
        assert_eq!(
            message(r#"{"action":"clear","records":{"objectID":"a"}}"#),
            "records: must be an array"
        );
        for id in ["null", r#""""#, "[]", "{}"] {
            let body = format!(r#"{{"action":"addObject","records":[{{"objectID":{id}}}]}}"#);
            assert_eq!(
                message(&body),
                "records[0].objectID: must be a non-empty string",
                "{id}"
            );
        }
        assert!(
            message(r#"{"action":"addObject","records":[{"objectID":"a","objectID":"b"}]}"#)
                .starts_with("records[0]: duplicate field")
        );
    }

    #[test]
    fn records_are_kept_as_received() {
        let records = r#"[ {"objectID": "a\u00e9", "n": {"deep": [1, 2.50, "x"]}},
            {"b": null, "objectID": "b"} ]"#;
        let body = format!(r#"{{"records": {records}, "action": "partialUpdateObject"}}"#);
        let payload = parse_payload(body.as_bytes()).unwrap();
        assert_eq!(payload.records, records);
        assert_eq!(payload.count, 2);
        assert_eq!(payload.action, "partialUpdateObject");
    }

    #[test]
    fn budgets_are_per_application_and_window() {
        let budgets = PushBudgets::default();
        let limit = Limit {
            requests: 2,
            period: Duration::from_secs(60),
        };
        let t0 = Instant::now();
        assert!(budgets.take("a", limit, t0).is_ok());
        assert!(budgets.take("a", limit, t0).is_ok());
        assert_eq!(budgets.take("a", limit, t0), Err(60));
        assert!(budgets.take("b", limit, t0).is_ok());
        assert!(
            budgets
                .take("a", limit, t0 + Duration::from_secs(61))
                .is_ok()
        );
    }

    #[test]
    fn index_names_are_checked() {
        assert!(check_index_name("products").is_ok());
        assert!(check_index_name(" ").is_err());
        assert!(check_index_name(&"x".repeat(513)).is_err());
    }
}

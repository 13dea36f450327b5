//! Creating a task (`POST /2/tasks`) and editing one (`PATCH /1/tasks/{id}`, which can also turn
//! a schedule back into on demand), through the API's routes.

use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use ingest_model::{Task, Trigger};
use ingest_store::{DestinationQuery, PageRequest, SourceQuery};
use maud::html;
use serde_json::{Map, Value};

use crate::Console;
use crate::forms::{FormError, Kind, Values, field, form_alert, render_fields, select_field};
use crate::layout::{Section, csrf, page};
use crate::pages::encode;
use crate::pages::tasks::ACTIONS;
use crate::pages::{api_error, respond, store_error};
use crate::session::{SignedForm, SignedIn};

/// What the form shows: a new task, or the stored one, or a refused submission.
struct Shown<'a> {
    source: &'a str,
    destination: &'a str,
    action: &'a str,
    cron: String,
    enabled: bool,
    threshold: String,
    input: String,
}

async fn options(console: &Console, app: &str) -> (Vec<(String, String)>, Vec<(String, String)>) {
    let all = PageRequest {
        page: 1,
        items_per_page: ingest_store::MAX_ITEMS_PER_PAGE,
    };
    let sources = console
        .store()
        .list_sources(
            app,
            &SourceQuery {
                page: all,
                ..SourceQuery::default()
            },
        )
        .await
        .map(|p| p.items)
        .unwrap_or_default()
        .into_iter()
        .map(|s| {
            (
                s.source_id,
                format!("{} ({})", s.name, s.source_type.as_str()),
            )
        })
        .collect();
    let destinations = console
        .store()
        .list_destinations(
            app,
            &DestinationQuery {
                page: all,
                ..DestinationQuery::default()
            },
        )
        .await
        .map(|p| p.items)
        .unwrap_or_default()
        .into_iter()
        .map(|d| {
            (
                d.destination_id,
                format!("{} ({})", d.name, d.destination_type.as_str()),
            )
        })
        .collect();
    (sources, destinations)
}

async fn form_page(
    console: &Console,
    session: &SignedIn,
    editing: Option<&Task>,
    shown: &Shown<'_>,
    error: Option<&FormError>,
    status: StatusCode,
) -> Response {
    let (sources, destinations) = options(console, &session.app).await;
    let (title, action) = match editing {
        Some(task) => (
            "Edit task".to_owned(),
            format!("/console/tasks/{}/edit", encode(&task.task_id)),
        ),
        None => ("New task".to_owned(), "/console/tasks/new".to_owned()),
    };
    let action_options: Vec<(String, String)> = ACTIONS
        .iter()
        .map(|a| ((*a).to_owned(), (*a).to_owned()))
        .collect();
    let stored = serde_json::json!({
        "cron": shown.cron,
        "failureThreshold": shown.threshold,
        "input": shown.input,
        "enabled": shown.enabled,
    });
    let rest = [
        field(
            "cron",
            "Schedule (cron, UTC)",
            Kind::Text,
            "Five fields, e.g. 0 2 * * * for every day at 02:00. Empty: the task runs on demand.",
        ),
        field("enabled", "Enabled", Kind::Checkbox, ""),
        field(
            "failureThreshold",
            "Failure threshold (%)",
            Kind::Number,
            "The share of records that may be rejected before the run fails (0 to 100).",
        ),
        field(
            "input",
            "Input (JSON, optional)",
            Kind::Text,
            "For example {\"startDate\": \"2026-01-01T00:00:00Z\", \"endDate\": \"2026-02-01T00:00:00Z\"}.",
        ),
    ];
    let body = html! {
        p.sub { a href="/console/tasks" { "Tasks" } " /" }
        h1 { (title) }
        (form_alert(&["sourceID", "destinationID", "action", "cron", "enabled", "failureThreshold", "input"], error))
        @if sources.is_empty() && editing.is_none() {
            div.alert { "There is no source yet: " a href="/console/sources/new" { "create one first" } "." }
        }
        form.stacked.card method="post" action=(action) novalidate {
            (csrf(session))
            @if let Some(task) = editing {
                div.field {
                    span { b { "Source" } }
                    p { (sources.iter().find(|(id, _)| *id == task.source_id).map_or(task.source_id.as_str(), |(_, name)| name.as_str())) }
                    p.help { "A task's source never changes." }
                }
            } @else {
                (select_field("sourceID", "Source", &sources, shown.source, Some("Choose a source"), "", error))
            }
            (select_field("destinationID", "Destination", &destinations, shown.destination, Some("Choose a destination"), "", error))
            @if editing.is_some() {
                div.field { span { b { "Action" } } p.help { (shown.action) " (an action cannot be changed)" } }
            } @else {
                (select_field("action", "Action", &action_options, shown.action, None, "replace rewrites the index through a temporary one; save and the partial actions update records in place.", error))
            }
            (render_fields(&rest, Values::Stored(&stored), error))
            div.actions {
                button type="submit" { @if editing.is_some() { "Save changes" } @else { "Create task" } }
                a.button.secondary href="/console/tasks" { "Cancel" }
            }
        }
    };
    respond(status, page(&title, Section::Tasks, Some(session), body))
}

/// `GET /console/tasks/new`.
pub async fn new(State(console): State<Console>, session: SignedIn) -> Response {
    let shown = Shown {
        source: "",
        destination: "",
        action: "replace",
        cron: String::new(),
        enabled: true,
        threshold: String::new(),
        input: String::new(),
    };
    form_page(&console, &session, None, &shown, None, StatusCode::OK).await
}

/// The error of a task form: the v1 trigger's paths belong to the cron field.
fn task_error(failure: &crate::api_call::ApiFailure) -> FormError {
    let mut error = FormError::from_api(failure);
    if error
        .field
        .as_deref()
        .is_some_and(|f| f.starts_with("trigger"))
    {
        error.field = Some("cron".to_owned());
    }
    error
}

fn input_value(form: &SignedForm) -> Result<Option<Value>, FormError> {
    let raw = form.get("input");
    if raw.is_empty() {
        return Ok(None);
    }
    serde_json::from_str(raw)
        .map(Some)
        .map_err(|error| FormError {
            field: Some("input".into()),
            message: format!("input: is not valid JSON ({error})"),
        })
}

fn threshold_value(form: &SignedForm) -> Option<Value> {
    let raw = form.get("failureThreshold");
    (!raw.is_empty()).then(|| {
        raw.parse::<i64>()
            .map_or_else(|_| Value::String(raw.to_owned()), Value::from)
    })
}

fn shown_from<'a>(form: &'a SignedForm, task: Option<&'a Task>) -> Shown<'a> {
    Shown {
        source: form.get("sourceID"),
        destination: form.get("destinationID"),
        action: task.map_or_else(|| form.get("action"), |t| t.action.as_str()),
        cron: form.get("cron").to_owned(),
        enabled: form.get("enabled") == "true",
        threshold: form.get("failureThreshold").to_owned(),
        input: form.get("input").to_owned(),
    }
}

/// `POST /console/tasks/new`.
pub async fn create(State(console): State<Console>, form: SignedForm) -> Response {
    let refused = |error: FormError| {
        let console = console.clone();
        let form = &form;
        async move {
            form_page(
                &console,
                &form.session,
                None,
                &shown_from(form, None),
                Some(&error),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    };
    let mut body = Map::new();
    for key in ["sourceID", "destinationID", "action", "cron"] {
        if !form.get(key).is_empty() {
            body.insert(key.to_owned(), Value::String(form.get(key).to_owned()));
        }
    }
    body.insert("enabled".into(), Value::Bool(form.get("enabled") == "true"));
    if let Some(threshold) = threshold_value(&form) {
        body.insert("failureThreshold".into(), threshold);
    }
    match input_value(&form) {
        Ok(Some(input)) => {
            body.insert("input".into(), input);
        }
        Ok(None) => {}
        Err(error) => return refused(error).await,
    }
    match console
        .api(
            &form.session.app,
            Method::POST,
            "/2/tasks",
            Some(&Value::Object(body)),
        )
        .await
    {
        Ok(answer) => {
            let id = answer.get("taskID").and_then(Value::as_str).unwrap_or("");
            Redirect::to(&format!("/console/tasks/{}?done=created", encode(id))).into_response()
        }
        Err(failure) => refused(task_error(&failure)).await,
    }
}

/// `GET /console/tasks/{id}/edit`.
pub async fn edit(
    State(console): State<Console>,
    session: SignedIn,
    Path(id): Path<String>,
) -> Response {
    let task = match console.store().get_task(&session.app, &id).await {
        Ok(task) => task,
        Err(error) => return store_error(error),
    };
    let shown = Shown {
        source: &task.source_id,
        destination: &task.destination_id,
        action: task.action.as_str(),
        cron: match &task.trigger {
            Trigger::Schedule { cron, .. } => cron.clone(),
            _ => String::new(),
        },
        enabled: task.enabled,
        threshold: task.failure_threshold.to_string(),
        input: task
            .input
            .as_ref()
            .and_then(|i| serde_json::to_string(i).ok())
            .unwrap_or_default(),
    };
    form_page(
        &console,
        &session,
        Some(&task),
        &shown,
        None,
        StatusCode::OK,
    )
    .await
}

/// `POST /console/tasks/{id}/edit`.
pub async fn update(
    State(console): State<Console>,
    Path(id): Path<String>,
    form: SignedForm,
) -> Response {
    let task = match console.store().get_task(&form.session.app, &id).await {
        Ok(task) => task,
        Err(error) => return store_error(error),
    };
    let refused = |error: FormError| {
        let console = console.clone();
        let form = &form;
        let task = &task;
        async move {
            form_page(
                &console,
                &form.session,
                Some(task),
                &shown_from(form, Some(task)),
                Some(&error),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    };
    let mut body = Map::new();
    if !form.get("destinationID").is_empty() {
        body.insert(
            "destinationID".into(),
            Value::String(form.get("destinationID").to_owned()),
        );
    }
    let cron = form.get("cron");
    let trigger = match (&task.trigger, cron.is_empty()) {
        (Trigger::Subscription, true) => None,
        (Trigger::Schedule { cron: old, .. }, false) if old == cron => None,
        (Trigger::OnDemand { .. }, true) => None,
        (_, true) => Some(serde_json::json!({"type": "onDemand"})),
        (_, false) => Some(serde_json::json!({"type": "schedule", "cron": cron})),
    };
    if let Some(trigger) = trigger {
        body.insert("trigger".into(), trigger);
    }
    body.insert("enabled".into(), Value::Bool(form.get("enabled") == "true"));
    if let Some(threshold) = threshold_value(&form) {
        body.insert("failureThreshold".into(), threshold);
    }
    match input_value(&form) {
        Ok(Some(input)) => {
            body.insert("input".into(), input);
        }
        Ok(None) => {}
        Err(error) => return refused(error).await,
    }
    let path = format!("/1/tasks/{}", encode(&id));
    match console
        .api(
            &form.session.app,
            Method::PATCH,
            &path,
            Some(&Value::Object(body)),
        )
        .await
    {
        Ok(_) => {
            Redirect::to(&format!("/console/tasks/{}?done=saved", encode(&id))).into_response()
        }
        Err(failure) if failure.status == 404 => api_error(&failure),
        Err(failure) => refused(task_error(&failure)).await,
    }
}

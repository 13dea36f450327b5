//! Tasks: the list (source → destination, action, trigger in words with the next run, enabled,
//! last run; filters and paging; run now, enable, disable, delete with a confirmation step) and
//! a task's page (its configuration, its run history with a chart, run now).

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use ingest_model::cron::Schedule;
use ingest_model::{ActionType, Run, Task, Trigger, TriggerType};
use ingest_store::{PageRequest, RunQuery, TaskQuery};
use maud::{Markup, html};

use crate::Console;
use crate::layout::{Section, badge, number, page, pager, post_button, time};
use crate::pages::runs::{history_chart, records_per_run, run_badge, run_duration};
use crate::pages::{
    api_error, confirm_delete, delete_then_list, encode, page_number, pairs, param, respond,
    store_error,
};
use crate::session::{SignedForm, SignedIn};

/// The actions a task may have.
pub const ACTIONS: &[&str] = &["replace", "save", "partial", "partialNoCreate", "append"];

/// The trigger of a task in words: "on demand", "At 02:00 (cron `0 2 * * *`)".
pub fn trigger_words(trigger: &Trigger, now: ingest_model::Timestamp) -> Markup {
    match trigger {
        Trigger::OnDemand { .. } => html! { "On demand" },
        Trigger::Subscription => html! { "On a webhook event" },
        Trigger::Schedule { cron, next_run, .. } => {
            let words = Schedule::parse(cron).map_or_else(|_| cron.clone(), |s| s.describe());
            html! {
                (words) " " span.id { "(" code { (cron) } ", UTC)" }
                br;
                span.sub { "next " (time(next_run, now)) }
            }
        }
    }
}

/// Names of sources and destinations by ID, for the tasks shown.
pub async fn names(
    console: &Console,
    app: &str,
    tasks: &[Task],
) -> (HashMap<String, String>, HashMap<String, String>) {
    let source_ids: Vec<String> = tasks.iter().map(|t| t.source_id.clone()).collect();
    let destination_ids: Vec<String> = tasks.iter().map(|t| t.destination_id.clone()).collect();
    let sources = console
        .store()
        .search_sources(app, &source_ids)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|s| (s.source_id, s.name))
        .collect();
    let destinations = console
        .store()
        .search_destinations(app, &destination_ids)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|d| (d.destination_id, d.name))
        .collect();
    (sources, destinations)
}

fn enabled_badge(enabled: bool) -> Markup {
    if enabled {
        badge("ok", "enabled")
    } else {
        badge("neutral", "disabled")
    }
}

/// `GET /console/tasks`.
pub async fn list(State(console): State<Console>, session: SignedIn, uri: Uri) -> Response {
    let query = pairs(uri.query());
    let now = console.now();
    let mut task_query = TaskQuery {
        page: PageRequest {
            page: page_number(&query),
            items_per_page: 25,
        },
        ..TaskQuery::default()
    };
    let enabled = param(&query, "enabled");
    task_query.enabled = match enabled {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    };
    let action = param(&query, "action");
    if let Ok(action) = action.parse::<ActionType>() {
        task_query.actions = vec![action];
    }
    let trigger = param(&query, "trigger");
    if let Ok(trigger) = trigger.parse::<TriggerType>() {
        task_query.trigger_types = vec![trigger];
    }
    let source = param(&query, "source");
    if !source.is_empty() {
        task_query.source_ids = vec![source.to_owned()];
    }
    let tasks = match console.store().list_tasks(&session.app, &task_query).await {
        Ok(tasks) => tasks,
        Err(error) => return store_error(error),
    };
    let ids: Vec<String> = tasks.items.iter().map(|t| t.task_id.clone()).collect();
    let last_runs = console
        .store()
        .last_runs(&session.app, &ids)
        .await
        .unwrap_or_default();
    let records = records_per_run(&console, &session.app, last_runs.values()).await;
    let (sources, destinations) = names(&console, &session.app, &tasks.items).await;
    let done = param(&query, "done");
    let filtered =
        !(enabled.is_empty() && action.is_empty() && trigger.is_empty() && source.is_empty());
    let body = html! {
        h1 { "Tasks" }
        p.sub { "What runs: a source read into a destination, on demand, on a schedule or on a webhook." }
        @if let Some(notice) = notice(done) { div.notice role="status" { (notice) } }
        div.actions { a.button href="/console/tasks/new" { "New task" } }
        form.filters method="get" action="/console/tasks" {
            div.field {
                label for="filter-enabled" { "State" }
                select #filter-enabled name="enabled" {
                    option value="" { "any" }
                    option value="true" selected[enabled == "true"] { "enabled" }
                    option value="false" selected[enabled == "false"] { "disabled" }
                }
            }
            div.field {
                label for="filter-action" { "Action" }
                select #filter-action name="action" {
                    option value="" { "any" }
                    @for a in ACTIONS { option value=(a) selected[*a == action] { (a) } }
                }
            }
            div.field {
                label for="filter-trigger" { "Trigger" }
                select #filter-trigger name="trigger" {
                    option value="" { "any" }
                    @for (value, label) in [("onDemand", "on demand"), ("schedule", "schedule"), ("subscription", "webhook")] {
                        option value=(value) selected[value == trigger] { (label) }
                    }
                }
            }
            @if !source.is_empty() { input type="hidden" name="source" value=(source); }
            button.secondary type="submit" { "Filter" }
            @if filtered { a href="/console/tasks" { "Clear filters" } }
        }
        @if tasks.items.is_empty() {
            div.card.empty {
                @if filtered { "No task matches these filters." }
                @else { "No task yet. A task reads a source into a destination: " a href="/console/sources/new" { "create a source" } ", " a href="/console/destinations/new" { "a destination" } ", then " a href="/console/tasks/new" { "a task" } "." }
            }
        } @else {
            div.table-wrap {
                table.stack #tasks {
                    thead { tr {
                        th { "Source → destination" } th { "Action" } th { "Trigger" } th { "State" }
                        th { "Last run" } th { span.skip { "Actions" } }
                    } }
                    tbody {
                        @for task in &tasks.items {
                            @let last = last_runs.get(&task.task_id);
                            tr data-task=(task.task_id) {
                                td data-label="Task" {
                                    a href={ "/console/tasks/" (task.task_id) } {
                                        (sources.get(&task.source_id).map_or("(deleted source)", String::as_str))
                                        " → "
                                        (destinations.get(&task.destination_id).map_or("(deleted destination)", String::as_str))
                                    }
                                }
                                td data-label="Action" { (task.action.as_str()) }
                                td data-label="Trigger" { (trigger_words(&task.trigger, now)) }
                                td data-label="State" { (enabled_badge(task.enabled)) }
                                td data-label="Last run" { (last_run_cell(last, &records, now)) }
                                td data-label="Actions" { (task_actions(&session, task)) }
                            }
                        }
                    }
                }
            }
            (pager("/console/tasks", &[("enabled", enabled.to_owned()), ("action", action.to_owned()), ("trigger", trigger.to_owned()), ("source", source.to_owned())], tasks.pagination.page, tasks.pagination.nb_pages, tasks.pagination.nb_items))
        }
    };
    respond(
        StatusCode::OK,
        page("Tasks", Section::Tasks, Some(&session), body),
    )
}

/// The sentence of a `done=` notice (fixed sentences: the query string cannot put text here).
fn notice(done: &str) -> Option<&'static str> {
    Some(match done {
        "enabled" => "The task is enabled.",
        "disabled" => "The task is disabled: it runs again only when enabled or run by hand.",
        "deleted" => "The task is deleted. Its runs stay in the history.",
        "created" => "The task is created.",
        "saved" => "The changes are saved.",
        _ => return None,
    })
}

fn last_run_cell(
    last: Option<&Run>,
    records: &HashMap<String, u64>,
    now: ingest_model::Timestamp,
) -> Markup {
    match last {
        None => html! { span.sub { "never run" } },
        Some(run) => html! {
            a href={ "/console/runs/" (run.run_id) } { (run_badge(run)) }
            " " (time(&run.created_at, now))
            @if let Some(n) = records.get(&run.run_id) { br; span.sub { (number(*n)) " records" } }
        },
    }
}

fn task_actions(session: &SignedIn, task: &Task) -> Markup {
    let base = format!("/console/tasks/{}", task.task_id);
    html! {
        div.row-actions {
            (post_button(session, &format!("{base}/run"), "Run now", "small"))
            @if task.enabled {
                (post_button(session, &format!("{base}/disable"), "Disable", "small secondary"))
            } @else {
                (post_button(session, &format!("{base}/enable"), "Enable", "small secondary"))
            }
            a.button.small.secondary href={ (base) "/edit" } { "Edit" }
            a.button.small.secondary href={ (base) "/delete" } { "Delete" }
        }
    }
}

/// `GET /console/tasks/{id}`.
pub async fn detail(
    State(console): State<Console>,
    session: SignedIn,
    Path(id): Path<String>,
    uri: Uri,
) -> Response {
    let query = pairs(uri.query());
    let now = console.now();
    let task = match console.store().get_task(&session.app, &id).await {
        Ok(task) => task,
        Err(error) => return store_error(error),
    };
    let runs = match console
        .store()
        .list_runs(
            &session.app,
            &RunQuery {
                page: PageRequest {
                    page: page_number(&query),
                    items_per_page: 30,
                },
                task_id: Some(id.clone()),
                ..RunQuery::default()
            },
        )
        .await
    {
        Ok(runs) => runs,
        Err(error) => return store_error(error),
    };
    let records = records_per_run(&console, &session.app, &runs.items).await;
    let (sources, destinations) = names(&console, &session.app, std::slice::from_ref(&task)).await;
    let source_name = sources
        .get(&task.source_id)
        .cloned()
        .unwrap_or_else(|| "(deleted source)".into());
    let destination_name = destinations
        .get(&task.destination_id)
        .cloned()
        .unwrap_or_else(|| "(deleted destination)".into());
    let title = format!("{source_name} → {destination_name}");
    let done = param(&query, "done");
    let body = html! {
        p.sub { a href="/console/tasks" { "Tasks" } " /" }
        h1 { (title) }
        p.sub { "Task " span.id { (task.task_id) } }
        (crate::layout::api_paths(&[format!("GET /2/tasks/{}", task.task_id), format!("GET /1/runs?taskID={}", task.task_id)]))
        @if let Some(notice) = notice(done) { div.notice role="status" { (notice) } }
        (task_actions(&session, &task))
        div.card {
            dl.props {
                dt { "Source" } dd { a href={ "/console/sources/" (task.source_id) } { (source_name) } }
                dt { "Destination" } dd { a href={ "/console/destinations/" (task.destination_id) } { (destination_name) } }
                dt { "Action" } dd { (task.action.as_str()) }
                dt { "Trigger" } dd { (trigger_words(&task.trigger, now)) }
                dt { "State" } dd { (enabled_badge(task.enabled)) }
                dt { "Failure threshold" } dd { (task.failure_threshold) " % of records may be rejected" }
                @if let Some(input) = &task.input {
                    dt { "Input" } dd { pre { (serde_json::to_string_pretty(input).unwrap_or_default()) } }
                }
                dt { "Created" } dd { (time(&task.created_at, now)) }
                dt { "Updated" } dd { (time(&task.updated_at, now)) }
            }
        }
        h2 { "Runs" }
        @if runs.items.is_empty() {
            div.card.empty { "This task has not run yet. Use " b { "Run now" } " above to start it." }
        } @else {
            (history_chart(&runs.items, &records))
            div.table-wrap {
                table {
                    thead { tr { th { "Run" } th { "Outcome" } th { "Created" } th.num { "Records" } th.num { "Duration" } th.hide-narrow { "Reason" } } }
                    tbody {
                        @for run in &runs.items {
                            tr {
                                td { a.id href={ "/console/runs/" (run.run_id) } { (crate::layout::short_id(&run.run_id)) } }
                                td { (run_badge(run)) }
                                td { (time(&run.created_at, now)) }
                                td.num { (records.get(&run.run_id).map_or_else(|| "—".to_owned(), |n| number(*n))) }
                                td.num { (run_duration(run)) }
                                td.hide-narrow { (run.reason.as_deref().unwrap_or("")) }
                            }
                        }
                    }
                }
            }
            (pager(&format!("/console/tasks/{}", task.task_id), &[], runs.pagination.page, runs.pagination.nb_pages, runs.pagination.nb_items))
        }
    };
    respond(
        StatusCode::OK,
        page(&title, Section::Tasks, Some(&session), body),
    )
}

/// `POST /console/tasks/{id}/run`: a run, then its page.
pub async fn run(
    State(console): State<Console>,
    Path(id): Path<String>,
    form: SignedForm,
) -> Response {
    let path = format!("/2/tasks/{}/run", encode(&id));
    match console
        .api(&form.session.app, Method::POST, &path, None)
        .await
    {
        Ok(answer) => match answer.get("runID").and_then(|v| v.as_str()) {
            Some(run_id) => {
                Redirect::to(&format!("/console/runs/{}", encode(run_id))).into_response()
            }
            None => Redirect::to(&format!("/console/tasks/{}", encode(&id))).into_response(),
        },
        Err(failure) => api_error(&failure),
    }
}

/// `POST /console/tasks/{id}/enable`.
pub async fn enable(
    State(console): State<Console>,
    Path(id): Path<String>,
    form: SignedForm,
) -> Response {
    switch(&console, &form, &id, "enable", "enabled").await
}

/// `POST /console/tasks/{id}/disable`.
pub async fn disable(
    State(console): State<Console>,
    Path(id): Path<String>,
    form: SignedForm,
) -> Response {
    switch(&console, &form, &id, "disable", "disabled").await
}

async fn switch(
    console: &Console,
    form: &SignedForm,
    id: &str,
    verb: &str,
    done: &str,
) -> Response {
    let path = format!("/2/tasks/{}/{verb}", encode(id));
    match console
        .api(&form.session.app, Method::PUT, &path, None)
        .await
    {
        Ok(_) => {
            Redirect::to(&format!("/console/tasks/{}?done={done}", encode(id))).into_response()
        }
        Err(failure) => api_error(&failure),
    }
}

/// `GET /console/tasks/{id}/delete`: the confirmation step.
pub async fn confirm_delete_task(
    State(console): State<Console>,
    session: SignedIn,
    Path(id): Path<String>,
) -> Response {
    match console.store().get_task(&session.app, &id).await {
        Ok(task) => confirm_delete(
            &session,
            Section::Tasks,
            "task",
            &task.task_id,
            &format!("/console/tasks/{}/delete", encode(&id)),
            &format!("/console/tasks/{}", encode(&id)),
        ),
        Err(error) => store_error(error),
    }
}

/// `POST /console/tasks/{id}/delete`.
pub async fn delete(
    State(console): State<Console>,
    Path(id): Path<String>,
    form: SignedForm,
) -> Response {
    let path = format!("/2/tasks/{}", encode(&id));
    delete_then_list(&console, &form.session.app, &path, "/console/tasks").await
}

pub use crate::pages::task_form::{create, edit, new, update};

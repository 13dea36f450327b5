//! Runs: the list (filters in the query string), a run's page (status, outcome, the reason in
//! full, a progress bar refreshed live while it runs, counts, the events as a timeline, the
//! rejected records filterable) and the live fragment; and the pieces the task pages share
//! (outcome badges, durations, the history chart).

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use ingest_model::{Event, EventStatus, EventType, Run, RunOutcome, RunStatus, Timestamp};
use ingest_store::{EventQuery, PageRequest, RunQuery, RunTotals};
use maud::{Markup, html};
use serde_json::Value;

use crate::Console;
use crate::layout::{
    Section, badge, bytes, duration_ms, json_text, millis_between, number, page, pager, time,
    time_or_dash,
};
use crate::pages::encode;
use crate::pages::{page_number, pairs, param, respond, store_error};
use crate::session::SignedIn;

/// A run's state as a badge: succeeded, failed, running, queued, skipped.
pub fn run_badge(run: &Run) -> Markup {
    match (run.status, run.outcome) {
        (RunStatus::Finished, Some(RunOutcome::Success)) => badge("ok", "succeeded"),
        (RunStatus::Finished, Some(RunOutcome::Failure)) => badge("bad", "failed"),
        (RunStatus::Finished, _) => badge("neutral", "finished"),
        (RunStatus::Started, _) => badge("warn", "running"),
        (RunStatus::Created, _) => badge("neutral", "queued"),
        (RunStatus::Idled, _) => badge("neutral", "idle"),
        (RunStatus::Skipped, _) => badge("neutral", "skipped"),
    }
}

/// How long a run took (or has been running), or a dash.
pub fn run_duration(run: &Run) -> String {
    match (&run.started_at, &run.finished_at) {
        (Some(start), Some(end)) => duration_ms(millis_between(start, end)),
        _ => "—".to_owned(),
    }
}

/// An inline SVG of the runs shown (oldest on the left): a bar per run for its records (red
/// when it failed) and a line for its duration, each scaled to its own maximum.
pub fn history_chart(runs: &[Run], records: &HashMap<String, u64>) -> Markup {
    let ordered: Vec<&Run> = runs.iter().rev().collect();
    // At least 20 slots, the latest run on the right: one run is a bar, not a wall.
    let slots = ordered.len().max(20);
    let offset = (slots - ordered.len()) as f64;
    let (width, height, top) = (600.0_f64, 120.0_f64, 10.0_f64);
    let slot = width / slots as f64;
    let max_records = ordered
        .iter()
        .map(|r| records.get(&r.run_id).copied().unwrap_or(0))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let durations: Vec<u64> = ordered
        .iter()
        .map(|r| match (&r.started_at, &r.finished_at) {
            (Some(s), Some(f)) => millis_between(s, f),
            _ => 0,
        })
        .collect();
    let max_duration = durations.iter().copied().max().unwrap_or(0).max(1) as f64;
    let points: Vec<String> = durations
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let x = slot * (offset + i as f64 + 0.5);
            let y = top + (height - top) * (1.0 - *d as f64 / max_duration);
            format!("{x:.1},{y:.1}")
        })
        .collect();
    let total_records: u64 = ordered
        .iter()
        .map(|r| records.get(&r.run_id).copied().unwrap_or(0))
        .sum();
    let description = format!(
        "{} runs, {} records in all; the longest took {}.",
        ordered.len(),
        number(total_records),
        duration_ms(max_duration as u64)
    );
    html! {
        figure.chart.card {
            svg viewBox={ "0 0 " (width) " " (height + 16.0) } role="img" aria-label=(description) {
                line.axis x1="0" y1=(height) x2=(width) y2=(height) {}
                @for (i, run) in ordered.iter().enumerate() {
                    @let n = records.get(&run.run_id).copied().unwrap_or(0) as f64;
                    @let h = (height - top) * n / max_records;
                    @let failed = run.outcome == Some(RunOutcome::Failure);
                    rect class=(if failed { "bar failed" } else { "bar" })
                        x=(format!("{:.1}", slot * (offset + i as f64) + slot * 0.15)) y=(format!("{:.1}", height - h))
                        width=(format!("{:.1}", slot * 0.7)) height=(format!("{:.1}", h.max(if failed { 2.0 } else { 0.0 }))) {
                        title { (run.created_at) ": " (number(n as u64)) " records, " (run_duration(run)) }
                    }
                }
                polyline.dur points=(points.join(" ")) {}
                text x="0" y=(height + 13.0) { "oldest" }
                text x=(width) y=(height + 13.0) text-anchor="end" { "latest" }
            }
            figcaption.sub { "Bars: records pushed per run (red: failed). Line: duration. " (description) }
        }
    }
}

/// Records pushed by each of `runs`, by run ID (a run without a successful batch is absent; a
/// store failure shows no counts rather than no page).
pub async fn records_per_run<'a>(
    console: &Console,
    app: &str,
    runs: impl IntoIterator<Item = &'a Run>,
) -> HashMap<String, u64> {
    let run_ids: Vec<String> = runs.into_iter().map(|r| r.run_id.clone()).collect();
    console
        .store()
        .records_per_run(app, &run_ids)
        .await
        .unwrap_or_default()
}

/// "source → destination" of the tasks of `runs`, by task ID.
pub async fn task_titles(console: &Console, app: &str, runs: &[Run]) -> HashMap<String, String> {
    let mut ids: Vec<String> = runs
        .iter()
        .filter(|r| !r.task_id.is_empty())
        .map(|r| r.task_id.clone())
        .collect();
    ids.sort();
    ids.dedup();
    let tasks = console
        .store()
        .search_tasks(app, &ids)
        .await
        .unwrap_or_default();
    let (sources, destinations) = crate::pages::tasks::names(console, app, &tasks).await;
    tasks
        .iter()
        .map(|t| {
            let source = sources
                .get(&t.source_id)
                .map_or("(deleted source)", String::as_str);
            let destination = destinations
                .get(&t.destination_id)
                .map_or("(deleted destination)", String::as_str);
            (t.task_id.clone(), format!("{source} → {destination}"))
        })
        .collect()
}

/// A table of runs: outcome, task, when, records, duration, reason.
pub fn runs_table(
    runs: &[Run],
    records: &HashMap<String, u64>,
    titles: &HashMap<String, String>,
    now: Timestamp,
) -> Markup {
    html! {
        div.table-wrap {
            table.stack #runs {
                thead { tr { th { "Run" } th { "Outcome" } th { "Task" } th { "Created" } th.num { "Records" } th.num { "Duration" } th.hide-narrow { "Reason" } } }
                tbody {
                    @for run in runs {
                        tr {
                            td data-label="Run" { a.id href={ "/console/runs/" (run.run_id) } { (crate::layout::short_id(&run.run_id)) } }
                            td data-label="Outcome" { (run_badge(run)) " " span.sub { (run.run_type.as_str()) } }
                            td data-label="Task" {
                                @if run.task_id.is_empty() { span.sub { "(source validation)" } }
                                @else {
                                    a href={ "/console/tasks/" (run.task_id) } {
                                        (titles.get(&run.task_id).map_or(crate::layout::short_id(&run.task_id), String::as_str))
                                    }
                                }
                            }
                            td data-label="Created" { (time(&run.created_at, now)) }
                            td.num data-label="Records" { (records.get(&run.run_id).map_or_else(|| "—".to_owned(), |n| number(*n))) }
                            td.num data-label="Duration" { (run_duration(run)) }
                            td.hide-narrow data-label="Reason" { (run.reason.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /console/runs`.
pub async fn list(State(console): State<Console>, session: SignedIn, uri: Uri) -> Response {
    let query = pairs(uri.query());
    let now = console.now();
    let status = param(&query, "status");
    let outcome = param(&query, "outcome");
    let task = param(&query, "task");
    let since = param(&query, "since");
    let mut run_query = RunQuery {
        page: PageRequest {
            page: page_number(&query),
            items_per_page: 50,
        },
        ..RunQuery::default()
    };
    if let Ok(status) = status.parse::<RunStatus>() {
        run_query.statuses = vec![status];
    }
    if let Ok(outcome) = outcome.parse::<RunOutcome>() {
        run_query.outcomes = vec![outcome];
    }
    if !task.is_empty() {
        run_query.task_id = Some(task.to_owned());
    }
    if let Ok(since) = Timestamp::parse(since) {
        run_query.start_date = Some(since);
    }
    let runs = match console.store().list_runs(&session.app, &run_query).await {
        Ok(runs) => runs,
        Err(error) => return store_error(error),
    };
    let records = records_per_run(&console, &session.app, &runs.items).await;
    let titles = task_titles(&console, &session.app, &runs.items).await;
    let filtered =
        !(status.is_empty() && outcome.is_empty() && task.is_empty() && since.is_empty());
    let body = html! {
        h1 { "Runs" }
        p.sub { "Every execution of a task, newest first." }
        form.filters method="get" action="/console/runs" {
            div.field {
                label for="filter-status" { "Status" }
                select #filter-status name="status" {
                    option value="" { "any" }
                    @for (value, label) in [("created", "queued"), ("started", "running"), ("finished", "finished"), ("skipped", "skipped")] {
                        option value=(value) selected[value == status] { (label) }
                    }
                }
            }
            div.field {
                label for="filter-outcome" { "Outcome" }
                select #filter-outcome name="outcome" {
                    option value="" { "any" }
                    option value="success" selected[outcome == "success"] { "succeeded" }
                    option value="failure" selected[outcome == "failure"] { "failed" }
                }
            }
            @if !task.is_empty() { input type="hidden" name="task" value=(task); }
            @if !since.is_empty() { input type="hidden" name="since" value=(since); }
            button.secondary type="submit" { "Filter" }
            @if filtered { a href="/console/runs" { "Clear filters" } }
        }
        @if !since.is_empty() { p.sub { "Created since " (time(since, now)) "." } }
        @if runs.items.is_empty() {
            div.card.empty {
                @if filtered { "No run matches these filters." }
                @else { "No run yet. Runs appear here when a task runs: " a href="/console/tasks" { "run a task" } "." }
            }
        } @else {
            (runs_table(&runs.items, &records, &titles, now))
            (pager("/console/runs", &[("status", status.to_owned()), ("outcome", outcome.to_owned()), ("task", task.to_owned()), ("since", since.to_owned())], runs.pagination.page, runs.pagination.nb_pages, runs.pagination.nb_items))
        }
    };
    respond(
        StatusCode::OK,
        page("Runs", Section::Runs, Some(&session), body),
    )
}

/// The live part of a run's page: state, reason, progress, counts.
fn summary(run: &Run, totals: &RunTotals, now: Timestamp) -> Markup {
    let done = matches!(run.status, RunStatus::Finished | RunStatus::Skipped);
    let progress = run.progress.unwrap_or_default();
    html! {
        div data-state=(if done { "done" } else { "live" }) #run-summary {
            p { (run_badge(run)) " " span.sub { (run.run_type.as_str()) " run" } }
            @if let Some(reason) = &run.reason {
                p #run-reason { (reason) }
            }
            @if done {
                progress max="1" value="1" aria-label="Progress" {}
                p.sub { "Finished " (time_or_dash(run.finished_at.as_deref(), now)) " · took " (run_duration(run)) }
            } @else if progress.expected_nb_of_events > 0 {
                progress max=(progress.expected_nb_of_events) value=(progress.received_nb_of_events) aria-label="Progress" {}
                p.sub { (number(progress.received_nb_of_events)) " of " (number(progress.expected_nb_of_events)) " batches" }
            } @else {
                progress aria-label="Progress" {}
                p.sub {
                    @if run.status == RunStatus::Created { "Waiting for a worker…" }
                    @else { "Reading the source: " (number(progress.received_nb_of_events)) " batches so far." }
                }
            }
            div.counts {
                div { b #count-pushed { (number(totals.pushed)) } "records pushed" }
                div { b #count-rejected { (number(totals.rejected)) } "rejected" }
                div { b #count-batches { (number(totals.batches)) } "batches" }
                div { b { (bytes(totals.pushed_bytes)) } "sent" }
                div { b { (number(totals.fetches)) } "source reads (" (bytes(totals.fetched_bytes)) ")" }
                div { b { (number(totals.retried)) } "batches retried" }
            }
        }
    }
}

/// What an event says, in words.
fn describe(event: &Event) -> (String, String) {
    let data = event.data.as_ref();
    let get = |key: &str| data.and_then(|d| d.get(key));
    let text = |key: &str| get(key).map(json_text).unwrap_or_default();
    let what = match (event.event_type, event.status) {
        (EventType::Fetch, EventStatus::Failed) => {
            format!("Reading the source failed: {}", text("error"))
        }
        (EventType::Fetch, _) => format!(
            "Read {} from the source",
            get("bytes")
                .and_then(Value::as_u64)
                .map_or_else(|| "a page".to_owned(), bytes)
        ),
        (EventType::Record, EventStatus::Succeeded) => format!(
            "Batch {} sent to {}: {} records, {}",
            text("batch"),
            index_words(&text("index")),
            text("records"),
            get("bytes")
                .and_then(Value::as_u64)
                .map(bytes)
                .unwrap_or_default()
        ),
        (EventType::Record, EventStatus::Retried) => {
            format!("Batch {} retried ({})", text("batch"), text("retries"))
        }
        (EventType::Record | EventType::Transform, EventStatus::Failed)
            if get("position").is_some() =>
        {
            format!("Record {} rejected: {}", text("position"), text("reason"))
        }
        (EventType::Record, EventStatus::Failed) => {
            format!("Batch {} failed: {}", text("batch"), text("error"))
        }
        (EventType::Transform, _) if get("recordsIn").is_some() => format!(
            "Transformation: {} records in, {} out, {} dropped, {} failed",
            text("recordsIn"),
            text("recordsOut"),
            text("dropped"),
            text("failed")
        ),
        (EventType::Log, _) if get("message").is_some() => text("message"),
        _ => data
            .map(|d| Value::Object(d.clone()).to_string())
            .unwrap_or_default(),
    };
    let mut meta = Vec::new();
    if let Some(url) = get("url") {
        meta.push(json_text(url));
    }
    if let Some(task) = get("taskID") {
        meta.push(format!("Algolia task {}", json_text(task)));
    }
    if let Some(ms) = get("durationMs").and_then(Value::as_u64) {
        meta.push(duration_ms(ms));
    }
    if let Some(id) = get("objectID") {
        meta.push(format!("objectID {}", json_text(id)));
    }
    (what, meta.join(" · "))
}

/// An index name as a person reads it: a run's temporary index is "the temporary index of X".
fn index_words(index: &str) -> String {
    match index.split_once("_tmp_") {
        Some((production, _)) => format!("the temporary index of {production}"),
        None => format!("index {index}"),
    }
}

fn status_class(status: EventStatus) -> &'static str {
    match status {
        EventStatus::Failed | EventStatus::Critical => "failed",
        EventStatus::Succeeded => "succeeded",
        _ => "",
    }
}

/// `GET /console/runs/{id}`.
pub async fn detail(
    State(console): State<Console>,
    session: SignedIn,
    Path(id): Path<String>,
    uri: Uri,
) -> Response {
    let query = pairs(uri.query());
    let now = console.now();
    let store = console.store();
    let run = match store.get_run(&session.app, &id).await {
        Ok(run) => run,
        Err(error) => return store_error(error),
    };
    let totals = match store.run_totals(&session.app, &id).await {
        Ok(totals) => totals,
        Err(error) => return store_error(error),
    };
    let event_type = param(&query, "type");
    let event_status = param(&query, "status");
    let mut event_query = EventQuery {
        page: PageRequest {
            page: page_number(&query),
            items_per_page: 50,
        },
        order: ingest_model::Order::Asc,
        ..EventQuery::default()
    };
    if let Ok(kind) = event_type.parse::<EventType>() {
        event_query.types = vec![kind];
    }
    if let Ok(status) = event_status.parse::<EventStatus>() {
        event_query.statuses = vec![status];
    }
    let events = match store.list_events(&session.app, &id, &event_query).await {
        Ok(events) => events,
        Err(error) => return store_error(error),
    };
    let needle = param(&query, "q");
    let rejected_page = param(&query, "rpage")
        .parse::<u64>()
        .ok()
        .filter(|p| *p >= 1)
        .unwrap_or(1);
    let rejections = match store
        .rejections(
            &session.app,
            &id,
            Some(needle),
            &PageRequest {
                page: rejected_page,
                items_per_page: 50,
            },
        )
        .await
    {
        Ok(rejections) => rejections,
        Err(error) => return store_error(error),
    };
    let titles = task_titles(&console, &session.app, std::slice::from_ref(&run)).await;
    let live = format!("/console/runs/{}/progress", encode(&id));
    let title = format!("Run {}", crate::layout::short_id(&run.run_id));
    let body = html! {
        p.sub { a href="/console/runs" { "Runs" } " /" }
        h1 { (title) }
        p.sub {
            span.id { (run.run_id) }
            @if !run.task_id.is_empty() {
                " · task " a href={ "/console/tasks/" (run.task_id) } {
                    (titles.get(&run.task_id).map_or(crate::layout::short_id(&run.task_id), String::as_str))
                }
            }
            " · created " (time(&run.created_at, now))
        }
        (crate::layout::api_paths(&[format!("GET /1/runs/{}", run.run_id), format!("GET /1/runs/{}/events", run.run_id)]))
        section.card aria-label="Progress" data-live=(live) aria-live="polite" {
            (summary(&run, &totals, now))
        }
        h2 #rejected { "Rejected records" }
        form.filters method="get" action={ "/console/runs/" (run.run_id) "#rejected" } {
            div.field.wide {
                label for="rejected-q" { "Find in rejected records" }
                input #rejected-q type="search" name="q" value=(needle) placeholder="objectID, position or reason";
            }
            @if !event_type.is_empty() { input type="hidden" name="type" value=(event_type); }
            @if !event_status.is_empty() { input type="hidden" name="status" value=(event_status); }
            button.secondary #rejected-find type="submit" { "Find" }
        }
        @if rejections.items.is_empty() {
            div.card.empty { @if needle.is_empty() { "No record was rejected." } @else { "No rejected record matches." } }
        } @else {
            div.table-wrap {
                table #rejections {
                    thead { tr { th { "Position" } th { "objectID" } th { "Why" } th.hide-narrow { "When" } } }
                    tbody {
                        @for event in &rejections.items {
                            @let data = event.data.as_ref();
                            @let field = |key: &str| data.and_then(|d| d.get(key)).map(json_text).unwrap_or_default();
                            tr {
                                td.mono { (field("position")) @if data.is_some_and(|d| d.contains_key("batch")) { "batch " (field("batch")) } }
                                td.mono { (field("objectID")) }
                                td { (field("reason")) (field("error")) }
                                td.hide-narrow { (time(&event.published_at, now)) }
                            }
                        }
                    }
                }
            }
            (pager(&format!("/console/runs/{}", run.run_id), &[("q", needle.to_owned())], rejections.pagination.page, rejections.pagination.nb_pages, rejections.pagination.nb_items))
        }
        h2 #events { "Events" }
        form.filters method="get" action={ "/console/runs/" (run.run_id) "#events" } {
            div.field {
                label for="event-type" { "Type" }
                select #event-type name="type" {
                    option value="" { "any" }
                    @for t in ["fetch", "record", "log", "transform"] { option value=(t) selected[t == event_type] { (t) } }
                }
            }
            div.field {
                label for="event-status" { "Status" }
                select #event-status name="status" {
                    option value="" { "any" }
                    @for s in ["succeeded", "failed", "retried", "started"] { option value=(s) selected[s == event_status] { (s) } }
                }
            }
            button.secondary type="submit" { "Filter" }
        }
        @if events.items.is_empty() {
            div.card.empty { @if run.status == RunStatus::Created { "No event yet: the run waits for a worker." } @else { "No event matches." } }
        } @else {
            div.card {
                ol.timeline #timeline {
                    @for event in &events.items {
                        @let (what, meta) = describe(event);
                        li class=(status_class(event.status)) {
                            span.what { (what) }
                            " "
                            span.meta {
                                (event.event_type.as_str()) " " (event.status.as_str()) " · " (time(&event.published_at, now))
                                @if !meta.is_empty() { " · " (meta) }
                            }
                        }
                    }
                }
            }
            (pager(&format!("/console/runs/{}", run.run_id), &[("type", event_type.to_owned()), ("status", event_status.to_owned())], events.pagination.page, events.pagination.nb_pages, events.pagination.nb_items))
        }
    };
    respond(
        StatusCode::OK,
        page(&title, Section::Runs, Some(&session), body),
    )
}

/// `GET /console/runs/{id}/progress`: the live fragment.
pub async fn progress(
    State(console): State<Console>,
    session: SignedIn,
    Path(id): Path<String>,
) -> Response {
    let now = console.now();
    let run = match console.store().get_run(&session.app, &id).await {
        Ok(run) => run,
        Err(error) => return store_error(error),
    };
    let totals = match console.store().run_totals(&session.app, &id).await {
        Ok(totals) => totals,
        Err(error) => return store_error(error),
    };
    respond(StatusCode::OK, summary(&run, &totals, now))
}

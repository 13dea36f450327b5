//! The overview: runs of the last 24 hours by outcome, runs queued and running, records pushed
//! today, tasks whose last run failed; every number links to the list it counts.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use ingest_core::time::sub;
use ingest_model::Timestamp;
use maud::html;

use crate::Console;
use crate::layout::{Section, number, page, time_or_dash};
use crate::pages::{respond, store_error};
use crate::session::SignedIn;

/// The start of `now`'s UTC day.
fn day_start(now: Timestamp) -> Timestamp {
    Timestamp::from_unix(
        now.unix_seconds() - now.unix_seconds().rem_euclid(86_400),
        0,
    )
}

/// `GET /console/`.
pub async fn show(State(console): State<Console>, session: SignedIn) -> Response {
    let now = console.now();
    let since = sub(now, Duration::from_secs(86_400));
    let overview = match console
        .store()
        .console_overview(&session.app, since, day_start(now))
        .await
    {
        Ok(overview) => overview,
        Err(error) => return store_error(error),
    };
    let latest = match console
        .store()
        .list_runs(
            &session.app,
            &ingest_store::RunQuery {
                page: ingest_store::PageRequest {
                    page: 1,
                    items_per_page: 10,
                },
                ..ingest_store::RunQuery::default()
            },
        )
        .await
    {
        Ok(page) => page.items,
        Err(error) => return store_error(error),
    };
    let records = crate::pages::runs::records_per_run(&console, &session.app, &latest).await;
    let titles = crate::pages::runs::task_titles(&console, &session.app, &latest).await;
    let since_text = since.to_rfc3339();
    let count = |status: &str, outcome: Option<&str>| -> u64 {
        overview
            .runs_by_outcome
            .iter()
            .filter(|(s, o, _)| s == status && (outcome.is_none() || o.as_deref() == outcome))
            .map(|(_, _, n)| *n)
            .sum()
    };
    let succeeded = count("finished", Some("success"));
    let failed = count("finished", Some("failure"));
    let skipped = count("skipped", None);
    let total: u64 = overview.runs_by_outcome.iter().map(|(_, _, n)| n).sum();
    let since_q: String = form_urlencoded::byte_serialize(since_text.as_bytes()).collect();
    let stat = |n: u64, label: &str, href: String| {
        html! {
            a.stat href=(href) { span.n { (number(n)) } span.l { (label) } }
        }
    };
    let body = html! {
        h1 { "Overview" }
        p.sub { "Application " code { (session.app) } " · the last 24 hours" }
        div.stats {
            (stat(total, "runs in the last 24 h", format!("/console/runs?since={since_q}")))
            (stat(succeeded, "succeeded", format!("/console/runs?since={since_q}&status=finished&outcome=success")))
            (stat(failed, "failed", format!("/console/runs?since={since_q}&status=finished&outcome=failure")))
            (stat(skipped, "skipped", format!("/console/runs?since={since_q}&status=skipped")))
            (stat(overview.queued, "queued now", "/console/runs?status=created".to_owned()))
            (stat(overview.running, "running now", "/console/runs?status=started".to_owned()))
            (stat(overview.records_pushed_today, "records pushed today (UTC)", format!("/console/runs?since={}", form_urlencoded::byte_serialize(day_start(now).to_rfc3339().as_bytes()).collect::<String>())))
        }
        h2 { "Latest runs" }
        @if latest.is_empty() {
            div.card.empty { "Nothing has run yet. " a href="/console/tasks/new" { "Create a task" } " and run it: its runs appear here." }
        } @else {
            (crate::pages::runs::runs_table(&latest, &records, &titles, now))
            p { a href="/console/runs" { "Every run" } }
        }
        h2 { "Tasks whose last run failed" }
        @if overview.failing_tasks.is_empty() {
            div.card.empty { "No task's last run failed. " a href="/console/tasks" { "See every task" } "." }
        } @else {
            div.table-wrap {
                table {
                    thead { tr { th { "Task" } th { "Failed" } th { "Why" } } }
                    tbody {
                        @for failing in &overview.failing_tasks {
                            tr {
                                td { a.id href={ "/console/tasks/" (failing.task_id) } { (failing.task_id) } }
                                td { a href={ "/console/runs/" (failing.run.run_id) } { (time_or_dash(failing.run.finished_at.as_deref(), now)) } }
                                td { (failing.run.reason.as_deref().unwrap_or("no reason recorded")) }
                            }
                        }
                    }
                }
            }
        }
    };
    respond(
        StatusCode::OK,
        page("Overview", Section::Overview, Some(&session), body),
    )
}

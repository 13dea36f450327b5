//! Read models of the console (`ingestion serve`'s web UI) that no API route has: the overview's
//! counts, each task's last run, a run's totals summed from its events, records per run for a
//! task's history, and a run's rejected records filtered by text. Reads only, scoped by
//! application like everything else; every query is served by an index of `runs` or `events`.

use std::collections::HashMap;

use ingest_model::{Event, Run, Timestamp};

use crate::StoreResult;
use crate::db::args;
use crate::filter::{Where, order_by, page};
use crate::query::{Page, PageRequest};
use crate::runs::{EVENT_COLUMNS, RUN_COLUMNS, event, fetch, run};
use crate::store::Store;

/// The console's overview of an application.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overview {
    /// Runs created since the window's start, by `status` and `outcome` (`None` before a run
    /// finishes), largest count first.
    pub runs_by_outcome: Vec<(String, Option<String>, u64)>,
    /// Runs waiting for a worker (`created`).
    pub queued: u64,
    /// Runs a worker holds (`started`).
    pub running: u64,
    /// Records in the succeeded batch events of runs created since the day's start.
    pub records_pushed_today: u64,
    /// Live tasks whose last finished run failed, most recent failure first.
    pub failing_tasks: Vec<FailingTask>,
}

/// A task whose last finished run failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailingTask {
    /// The task.
    pub task_id: String,
    /// Its last finished run.
    pub run: Run,
}

/// What a run did, summed from its events as they were written (`run_totals`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunTotals {
    /// Source requests or pages read (`fetch` events that succeeded).
    pub fetches: u64,
    /// Bytes those requests read.
    pub fetched_bytes: u64,
    /// Batches Algolia accepted (`record` events that succeeded).
    pub batches: u64,
    /// Records in those batches.
    pub pushed: u64,
    /// Bytes of those batches.
    pub pushed_bytes: u64,
    /// Batches sent again after a retryable answer.
    pub retried: u64,
    /// Rejected records and failed batches (`record` events that failed).
    pub rejected: u64,
    /// Every event of the run.
    pub events: u64,
}

impl Store {
    /// The overview: runs created since `since` by outcome, queued and running runs, records
    /// pushed by runs created since `day_start`, tasks whose last run failed.
    pub async fn console_overview(
        &self,
        app: &str,
        since: Timestamp,
        day_start: Timestamp,
    ) -> StoreResult<Overview> {
        let mut tx = self.pools.read().await?;
        let rows = tx
            .fetch_all(
                "SELECT status, outcome, COUNT(*) AS n FROM runs \
                 WHERE app_id = $1 AND created_at >= $2 GROUP BY status, outcome ORDER BY n DESC",
                args![app, since],
            )
            .await?;
        let mut runs_by_outcome = Vec::with_capacity(rows.len());
        for row in &rows {
            runs_by_outcome.push((
                row.text("status")?,
                row.opt_text("outcome")?,
                u64::try_from(row.int("n")?).unwrap_or(0),
            ));
        }
        let queued = tx
            .fetch_count(
                "SELECT COUNT(*) FROM runs WHERE app_id = $1 AND status = 'created'",
                args![app],
            )
            .await?;
        let running = tx
            .fetch_count(
                "SELECT COUNT(*) FROM runs WHERE app_id = $1 AND status = 'started'",
                args![app],
            )
            .await?;
        // One `run_totals` row per run of today, by its key (a sum of events per run took 19 ms
        // over 1,000,000 events; as a join of the events, PostgreSQL scanned every event).
        let records_pushed_today = tx
            .fetch_count(
                "SELECT CAST(COALESCE(SUM((SELECT t.pushed FROM run_totals t \
                   WHERE t.run_id = r.id)), 0) AS BIGINT) \
                 FROM runs r WHERE r.app_id = $1 AND r.created_at >= $2",
                args![app, day_start],
            )
            .await?;
        let failing = tx
            .fetch_all(
                &format!(
                    "SELECT {RUN_COLUMNS} FROM runs WHERE id IN (\
                       SELECT (SELECT r.id FROM runs r \
                               WHERE r.app_id = t.app_id AND r.task_id = t.id \
                               AND r.status = 'finished' \
                               ORDER BY r.created_at DESC, r.seq DESC LIMIT 1) \
                       FROM tasks t WHERE t.app_id = $1 AND t.deleted_at IS NULL) \
                     AND outcome = 'failure' ORDER BY finished_at DESC LIMIT 50"
                ),
                args![app],
            )
            .await?;
        let mut failing_tasks = Vec::with_capacity(failing.len());
        for row in &failing {
            let run = run(row)?;
            failing_tasks.push(FailingTask {
                task_id: run.task_id.clone(),
                run,
            });
        }
        Ok(Overview {
            runs_by_outcome,
            queued,
            running,
            records_pushed_today,
            failing_tasks,
        })
    }

    /// The latest run of each of `task_ids` (of `app`) that has one.
    pub async fn last_runs(
        &self,
        app: &str,
        task_ids: &[String],
    ) -> StoreResult<HashMap<String, Run>> {
        if task_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut filter = Where::app(app, false);
        filter.any_of("t.id", task_ids.iter().map(String::as_str));
        let mut tx = self.pools.read().await?;
        let rows = tx
            .fetch_all(
                &format!(
                    "SELECT {RUN_COLUMNS} FROM runs WHERE id IN (\
                       SELECT (SELECT r.id FROM runs r \
                               WHERE r.app_id = t.app_id AND r.task_id = t.id \
                               ORDER BY r.created_at DESC, r.seq DESC LIMIT 1) \
                       FROM tasks t{})",
                    filter.sql()
                ),
                filter.args(),
            )
            .await?;
        rows.iter()
            .map(|row| run(row).map(|run| (run.task_id.clone(), run)))
            .collect()
    }

    /// What run `run_id` did so far: its row of `run_totals`, which a trigger on `events` keeps
    /// (migration 0013), so a run of a million events reads as fast as one of ten; `NotFound`
    /// when it is not in `app`.
    pub async fn run_totals(&self, app: &str, run_id: &str) -> StoreResult<RunTotals> {
        let mut tx = self.pools.read().await?;
        fetch(&mut tx, app, run_id).await?;
        let Some(row) = tx
            .fetch_optional(
                "SELECT events, fetches, fetched_bytes, batches, pushed, pushed_bytes, retried, \
                 rejected FROM run_totals WHERE run_id = $1",
                args![run_id],
            )
            .await?
        else {
            return Ok(RunTotals::default());
        };
        let count = |column: &str| row.int(column).map(|n| u64::try_from(n).unwrap_or(0));
        Ok(RunTotals {
            fetches: count("fetches")?,
            fetched_bytes: count("fetched_bytes")?,
            batches: count("batches")?,
            pushed: count("pushed")?,
            pushed_bytes: count("pushed_bytes")?,
            retried: count("retried")?,
            rejected: count("rejected")?,
            events: count("events")?,
        })
    }

    /// Records pushed by each of `run_ids` (of `app`): the sum of their succeeded batches.
    pub async fn records_per_run(
        &self,
        app: &str,
        run_ids: &[String],
    ) -> StoreResult<HashMap<String, u64>> {
        if run_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut filter = Where::app(app, false);
        filter.any_of("r.id", run_ids.iter().map(String::as_str));
        let mut tx = self.pools.read().await?;
        let rows = tx
            .fetch_all(
                &format!(
                    "SELECT r.id AS run_id, t.pushed AS records \
                     FROM runs r JOIN run_totals t ON t.run_id = r.id{}",
                    filter.sql()
                ),
                filter.args(),
            )
            .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    row.text("run_id")?,
                    u64::try_from(row.int("records")?).unwrap_or(0),
                ))
            })
            .collect()
    }

    /// A page of run `run_id`'s failed `record` and `transform` events (rejected records and
    /// failed batches) in order, those whose data contains `text` (any case) when given.
    pub async fn rejections(
        &self,
        app: &str,
        run_id: &str,
        text: Option<&str>,
        page_request: &PageRequest,
    ) -> StoreResult<Page<Event>> {
        let mut tx = self.pools.read().await?;
        fetch(&mut tx, app, run_id).await?;
        let mut filter = Where::app(app, false);
        filter.eq("run_id", run_id);
        filter.raw("type IN ('record', 'transform') AND status = 'failed'");
        if let Some(text) = text.filter(|t| !t.is_empty()) {
            let p = filter.param(text.to_lowercase());
            let find = if tx.is_postgres() { "strpos" } else { "instr" };
            filter.raw(format!("{find}(lower(data), {p}) > 0"));
        }
        let (rows, pagination) = page(
            &mut tx,
            "events",
            EVENT_COLUMNS,
            filter,
            &order_by("published_at", ingest_model::Order::Asc),
            page_request,
        )
        .await?;
        let items = rows.iter().map(event).collect::<StoreResult<_>>()?;
        Ok(Page { items, pagination })
    }
}

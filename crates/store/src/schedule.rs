//! The scheduler's side of tasks: which schedules are due, and firing one exactly once across
//! replicas (a compare-and-set on `next_run`).

use ingest_model::{Run, Timestamp};

use crate::backend::Inner;
use crate::db::{args, timestamp};
use crate::rows::{TASK_COLUMNS, task};
use crate::{DueSchedule, StoreError, StoreResult, run};

pub(crate) async fn due(
    inner: &Inner,
    now: Timestamp,
    limit: u32,
) -> StoreResult<Vec<DueSchedule>> {
    let mut tx = inner.pools.read().await?;
    let rows = tx
        .fetch_all(
            &format!(
                "SELECT app_id, {TASK_COLUMNS} FROM tasks WHERE deleted_at IS NULL AND enabled \
                 AND trigger_type = 'schedule' AND next_run <= $1 ORDER BY next_run, seq LIMIT $2"
            ),
            args![now, i64::from(limit)],
        )
        .await?;
    rows.iter()
        .map(|row| {
            let next_run = row
                .opt_int("next_run")?
                .ok_or_else(|| StoreError::internal("a schedule task without `next_run`"))?;
            Ok(DueSchedule {
                app_id: row.text("app_id")?,
                task: task(row)?,
                next_run: timestamp(next_run),
            })
        })
        .collect()
}

pub(crate) async fn fire(
    inner: &Inner,
    app: &str,
    task_id: &str,
    expected_next_run: Timestamp,
    next_run: Timestamp,
    now: Timestamp,
) -> StoreResult<Option<Run>> {
    let mut tx = inner.pools.write().await?;
    let changed = tx
        .execute(
            "UPDATE tasks SET next_run = $1 WHERE app_id = $2 AND id = $3 AND next_run = $4 \
             AND deleted_at IS NULL AND enabled AND trigger_type = 'schedule'",
            args![next_run, app, task_id, expected_next_run],
        )
        .await?;
    if changed == 0 {
        return Ok(None);
    }
    let task = task(&crate::task::fetch(&mut tx, app, task_id, "").await?)?;
    let active = tx
        .fetch_optional(
            "SELECT id FROM runs WHERE task_id = $1 AND status IN ('created', 'started') LIMIT 1",
            args![task_id],
        )
        .await?;
    let skipped = active
        .is_some()
        .then_some("the previous run of this task was still active");
    let run = run::insert(&mut tx, app, &task, skipped, None, now).await?;
    tx.commit().await?;
    Ok(Some(run))
}

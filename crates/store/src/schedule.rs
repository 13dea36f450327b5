//! The scheduler's side of tasks: which schedules are due, and firing one exactly once across
//! replicas (a compare-and-set on `next_run`).

use ingest_model::{Run, Task, Timestamp};

use crate::db::{args, timestamp};
use crate::runs::insert_run;
use crate::store::Store;
use crate::tasks::{TASK_COLUMNS, fetch as fetch_task, task};
use crate::{StoreError, StoreResult};

/// An enabled schedule task whose `nextRun` has come, from [`Store::due_schedules`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueSchedule {
    /// The application the task belongs to.
    pub app_id: String,
    /// The task (its trigger is a schedule).
    pub task: Task,
    /// The `nextRun` that is due: pass it back to `fire_schedule` as the expected value.
    pub next_run: Timestamp,
}

impl Store {
    /// Enabled, live schedule tasks of every application whose `nextRun` is at or before `now`,
    /// oldest first, at most `limit`.
    pub async fn due_schedules(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<DueSchedule>> {
        let mut tx = self.pools.read().await?;
        let rows = tx
            .fetch_all(
                &format!(
                    "SELECT app_id, {TASK_COLUMNS} FROM tasks WHERE deleted_at IS NULL \
                     AND enabled AND trigger_type = 'schedule' AND next_run <= $1 \
                     ORDER BY next_run, seq LIMIT $2"
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

    /// Fires a due schedule once across replicas: if the task's `nextRun` still equals
    /// `expected_next_run`, sets it to `next_run` and creates a run: `created`, or `skipped`
    /// (with a reason) while a previous run of the task is still `created` or `started`.
    /// `None` when another replica fired it first (or the task changed).
    pub async fn fire_schedule(
        &self,
        app: &str,
        task_id: &str,
        expected_next_run: Timestamp,
        next_run: Timestamp,
        now: Timestamp,
    ) -> StoreResult<Option<Run>> {
        let mut tx = self.pools.write().await?;
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
        let task = task(&fetch_task(&mut tx, app, task_id, "").await?)?;
        let active = tx
            .fetch_optional(
                "SELECT id FROM runs WHERE task_id = $1 AND status IN ('created', 'started') \
                 LIMIT 1",
                args![task_id],
            )
            .await?;
        let skipped = active
            .is_some()
            .then_some("the previous run of this task was still active");
        let run = insert_run(&mut tx, app, &task, skipped, None, now).await?;
        tx.commit().await?;
        self.queued().await;
        Ok(Some(run))
    }
}

//! Pushes (`docs/api.md` D4): records sent to `POST /1/push/{indexName}` or
//! `/2/tasks/{taskID}/push`, stored before the answer and applied later by a worker.
//!
//! A push is one row of `pushes` until it is applied; then it becomes one `record` event of its
//! run (the event has the push's ID, so `GET /1/runs/{runID}/events/{eventID}` answers 404 until
//! then) and the row is deleted. The pushes of one task and index form a **group** applied in
//! arrival order: only the head of a group can be claimed, and only while no push of the group is
//! leased. Pushes to a task and index share one run (type `push`, `started`) until it has been
//! idle for a while ([`Store::finish_idle_push_runs`]).

use std::time::Duration;

use ingest_model::{
    DestinationInput, EventStatus, EventType, Run, RunOutcome, RunReasonCode, RunType, Task,
    Timestamp,
};
use serde_json::{Map, Value};

use crate::db::{Row, Tx, args, millis, new_id};
use crate::runs::{fetch as fetch_run, run};
use crate::store::Store;
use crate::tasks::{TASK_COLUMNS, fetch as fetch_task, task};
use crate::{StoreError, StoreResult};

/// A push to store ([`Store::accept_push`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPush<'a> {
    /// The task whose destination and transformation apply.
    pub task_id: &'a str,
    /// The index the records go to.
    pub index: &'a str,
    /// The batch action of every record (`addObject`, `deleteObject`, ...).
    pub action: &'a str,
    /// The records, a JSON array (validated by the caller).
    pub records: &'a str,
    /// How many records `records` holds.
    pub record_count: u64,
}

/// What the push route answers: the run and the event the push will become.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedPush {
    /// The task's open push run for the index.
    pub run_id: String,
    /// The push's event ID (404 until the push is applied).
    pub event_id: String,
    /// When it was accepted (RFC 3339).
    pub created_at: String,
}

/// One stored push, as a worker applies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPush {
    /// The push's ID, also its event's.
    pub id: String,
    /// Its run.
    pub run_id: String,
    /// The batch action.
    pub action: String,
    /// The records (a JSON array).
    pub records: String,
    /// How many.
    pub record_count: u64,
    /// 1 the first time it is claimed, 2 after a lease expired, ...
    pub attempt: u32,
}

/// Pushes claimed together: the head of one group and the pushes right behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedPushes {
    /// The application.
    pub app_id: String,
    /// The task, as it is now (`None` once deleted: its pushes fail).
    pub task: Option<Task>,
    /// The task's ID.
    pub task_id: String,
    /// The index the records go to.
    pub index: String,
    /// In arrival order.
    pub pushes: Vec<StoredPush>,
    /// The lease token: pass it to [`Store::complete_push`].
    pub lease_token: String,
}

/// How a push went, for its event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushResult {
    /// `succeeded` or `failed`.
    pub status: EventStatus,
    /// The event's `data`: the message and, for a failure, the records that failed.
    pub data: Map<String, Value>,
}

/// A live push task and the index its destination writes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushTask {
    /// The task.
    pub task: Task,
    /// Its destination's index for its source (`docs/api.md` C16).
    pub index: String,
}

impl Store {
    /// The live tasks of `app` whose source is of type `push`, with their destination's index.
    pub async fn push_tasks(&self, app: &str) -> StoreResult<Vec<PushTask>> {
        let mut tx = self.pools.read().await?;
        let rows = tx
            .fetch_all(
                &format!(
                    "SELECT {TASK_COLUMNS}, \
                     (SELECT input FROM destinations WHERE destinations.id = tasks.destination_id) \
                       AS destination_input, \
                     (SELECT name FROM sources WHERE sources.id = tasks.source_id) AS source_name \
                     FROM tasks WHERE app_id = $1 AND deleted_at IS NULL AND source_id IN \
                     (SELECT id FROM sources WHERE app_id = $1 AND type = 'push' \
                      AND deleted_at IS NULL) ORDER BY seq"
                ),
                args![app],
            )
            .await?;
        rows.iter()
            .map(|row| {
                let destination: DestinationInput = row.json_as("destination_input")?;
                let source_name = row.text("source_name")?;
                Ok(PushTask {
                    task: task(row)?,
                    index: destination.index_for(&source_name),
                })
            })
            .collect()
    }

    /// Stores a push for `app` and answers with its run and event: committed before it returns,
    /// so an accepted push survives a crash. The task must be live (`NotFound`); the open push run
    /// of the task and index is reused, or started.
    pub async fn accept_push(
        &self,
        app: &str,
        push: &NewPush<'_>,
        now: Timestamp,
    ) -> StoreResult<AcceptedPush> {
        let mut tx = self.pools.write().await?;
        let lock = tx.for_share();
        let task = task(&fetch_task(&mut tx, app, push.task_id, lock).await?)?;
        let run_id = open_push_run(&mut tx, app, &task, push.index, now).await?;
        let id = new_id();
        tx.execute(
            "INSERT INTO pushes (id, app_id, task_id, run_id, index_name, action, records, \
             record_count, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            args![
                &id,
                app,
                push.task_id,
                &run_id,
                push.index,
                push.action,
                push.records,
                i64::try_from(push.record_count).unwrap_or(i64::MAX),
                now
            ],
        )
        .await?;
        tx.execute(
            "UPDATE runs SET updated_at = $1 WHERE id = $2",
            args![now, &run_id],
        )
        .await?;
        tx.commit().await?;
        self.queued().await;
        Ok(AcceptedPush {
            run_id,
            event_id: id,
            created_at: now.to_rfc3339(),
        })
    }

    /// Claims the oldest push whose group has no live lease, with the pushes right behind it in
    /// its group up to `max_records` records in all (at least one push), leased until
    /// `now + lease`. `None` when nothing is waiting.
    pub async fn claim_pushes(
        &self,
        lease: Duration,
        max_records: u64,
        now: Timestamp,
    ) -> StoreResult<Option<ClaimedPushes>> {
        let mut tx = self.pools.write().await?;
        let skip_locked = if tx.is_postgres() {
            " FOR UPDATE OF p SKIP LOCKED"
        } else {
            ""
        };
        let head = tx
            .fetch_optional(
                &format!(
                    "SELECT p.seq AS seq, p.app_id AS app_id, p.task_id AS task_id, \
                     p.index_name AS index_name FROM pushes p \
                     WHERE NOT EXISTS (SELECT 1 FROM pushes q WHERE q.task_id = p.task_id \
                       AND q.index_name = p.index_name AND q.seq < p.seq) \
                     AND NOT EXISTS (SELECT 1 FROM pushes q WHERE q.task_id = p.task_id \
                       AND q.index_name = p.index_name AND q.lease_expires_at >= $1) \
                     ORDER BY p.seq LIMIT 1{skip_locked}"
                ),
                args![now],
            )
            .await?;
        let Some(head) = head else {
            return Ok(None);
        };
        let (app_id, task_id, index) = (
            head.text("app_id")?,
            head.text("task_id")?,
            head.text("index_name")?,
        );
        // Which pushes, from their counts; then the records of those only (a push holds up to
        // 5 MB: the rows behind the cut are not read).
        let counts = tx
            .fetch_all(
                "SELECT seq, record_count FROM pushes \
                 WHERE task_id = $1 AND index_name = $2 AND seq >= $3 ORDER BY seq LIMIT 100",
                args![&task_id, &index, head.int("seq")?],
            )
            .await?;
        let mut seqs = Vec::new();
        let mut records = 0u64;
        for row in &counts {
            let count = u64::try_from(row.int("record_count")?).unwrap_or(0);
            if !seqs.is_empty() && records.saturating_add(count) > max_records {
                break;
            }
            records = records.saturating_add(count);
            seqs.push(row.int("seq")?);
        }
        let (first, last) = (seqs.first().copied(), seqs.last().copied());
        let rows = tx
            .fetch_all(
                "SELECT seq, id, run_id, action, records, record_count, attempt FROM pushes \
                 WHERE task_id = $1 AND index_name = $2 AND seq >= $3 AND seq <= $4 \
                 ORDER BY seq",
                args![&task_id, &index, first, last],
            )
            .await?;
        let mut pushes = Vec::with_capacity(rows.len());
        for row in &rows {
            pushes.push(StoredPush {
                id: row.text("id")?,
                run_id: row.text("run_id")?,
                action: row.text("action")?,
                records: row.text("records")?,
                record_count: u64::try_from(row.int("record_count")?).unwrap_or(0),
                attempt: u32::try_from(row.int("attempt")? + 1).unwrap_or(u32::MAX),
            });
        }
        let token = new_id();
        let expires =
            millis(now).saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX));
        for seq in &seqs {
            tx.execute(
                "UPDATE pushes SET lease_token = $1, lease_expires_at = $2, \
                 attempt = attempt + 1 WHERE seq = $3",
                args![&token, expires, *seq],
            )
            .await?;
        }
        let task = match fetch_task(&mut tx, &app_id, &task_id, "").await {
            Ok(row) => Some(task(&row)?),
            Err(StoreError::NotFound { .. }) => None,
            Err(error) => return Err(error),
        };
        tx.commit().await?;
        Ok(Some(ClaimedPushes {
            app_id,
            task,
            task_id,
            index,
            pushes,
            lease_token: token,
        }))
    }

    /// Records how a claimed push went: its event (with the push's ID) on its run, and the push
    /// row deleted, in one transaction. `LeaseLost` when the lease is no longer this token's
    /// (another worker took the push over): nothing is written.
    pub async fn complete_push(
        &self,
        app: &str,
        push: &StoredPush,
        lease_token: &str,
        result: &PushResult,
        now: Timestamp,
    ) -> StoreResult<()> {
        self.complete_pushes(app, &[(push, result)], lease_token, now)
            .await
    }

    /// [`Store::complete_push`] for several pushes of one claim, in one transaction: all are
    /// recorded, or none (`LeaseLost` when any lease is no longer this token's).
    pub async fn complete_pushes(
        &self,
        app: &str,
        done: &[(&StoredPush, &PushResult)],
        lease_token: &str,
        now: Timestamp,
    ) -> StoreResult<()> {
        let mut tx = self.pools.write().await?;
        for (push, result) in done {
            let deleted = tx
                .execute(
                    "DELETE FROM pushes WHERE id = $1 AND lease_token = $2",
                    args![&push.id, lease_token],
                )
                .await?;
            if deleted == 0 {
                return Err(StoreError::LeaseLost {
                    run_id: push.run_id.clone(),
                });
            }
            let data = Value::Object(result.data.clone()).to_string();
            tx.execute(
                "INSERT INTO events \
                 (id, app_id, run_id, parent_id, status, type, data, batch_size, published_at) \
                 VALUES ($1, $2, $3, NULL, $4, $5, $6, $7, $8)",
                args![
                    &push.id,
                    app,
                    &push.run_id,
                    result.status.as_str(),
                    EventType::Record.as_str(),
                    data,
                    i64::try_from(push.record_count).unwrap_or(i64::MAX),
                    now
                ],
            )
            .await?;
            tx.execute(
                "UPDATE runs SET updated_at = $1, \
                 received_events = COALESCE(received_events, 0) + 1, \
                 expected_events = COALESCE(expected_events, 0) + 1 WHERE id = $2",
                args![now, &push.run_id],
            )
            .await?;
        }
        tx.commit().await
    }

    /// Finishes the push runs idle for `idle` (no push accepted or applied since) or started more
    /// than `max_age` ago, once none of their pushes waits: `failure` (`too_many_errors`) when the
    /// share of failed pushes is above the run's failure threshold, `success` otherwise.
    pub async fn finish_idle_push_runs(
        &self,
        idle: Duration,
        max_age: Duration,
        now: Timestamp,
    ) -> StoreResult<Vec<Run>> {
        let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        let idle_before = millis(now).saturating_sub(ms(idle));
        let started_before = millis(now).saturating_sub(ms(max_age));
        let mut tx = self.pools.write().await?;
        let rows = tx
            .fetch_all(
                "SELECT r.id AS id, r.app_id AS app_id, r.failure_threshold AS failure_threshold, \
                 (SELECT COUNT(*) FROM events e WHERE e.run_id = r.id) AS pushes, \
                 (SELECT COUNT(*) FROM events e WHERE e.run_id = r.id AND e.status = 'failed') \
                   AS failed \
                 FROM runs r WHERE r.type = 'push' AND r.status = 'started' \
                 AND (r.updated_at < $1 OR r.started_at < $2) \
                 AND NOT EXISTS (SELECT 1 FROM pushes p WHERE p.run_id = r.id) \
                 ORDER BY r.seq LIMIT 100",
                args![idle_before, started_before],
            )
            .await?;
        let mut finished = Vec::new();
        for row in &rows {
            let (id, app) = (row.text("id")?, row.text("app_id")?);
            let (total, failed) = (row.int("pushes")?, row.int("failed")?);
            let threshold = row.opt_int("failure_threshold")?.unwrap_or(0);
            let (outcome, code, reason) = judge(total, failed, threshold);
            tx.execute(
                "UPDATE runs SET status = 'finished', outcome = $1, reason_code = $2, \
                 reason = $3, finished_at = $4, updated_at = $4 WHERE id = $5",
                args![outcome.as_str(), code.as_str(), reason, now, &id],
            )
            .await?;
            finished.push(run(&fetch_run(&mut tx, &app, &id).await?)?);
        }
        tx.commit().await?;
        Ok(finished)
    }
}

/// The outcome of a push run: failed pushes above `threshold` percent fail it.
fn judge(total: i64, failed: i64, threshold: i64) -> (RunOutcome, RunReasonCode, String) {
    let reason = format!("{failed} of {total} pushes failed");
    if failed > 0 && failed.saturating_mul(100) > threshold.saturating_mul(total) {
        (RunOutcome::Failure, RunReasonCode::TooManyErrors, reason)
    } else {
        (RunOutcome::Success, RunReasonCode::Ok, reason)
    }
}

async fn find_open_push_run(tx: &mut Tx, task_id: &str, index: &str) -> StoreResult<Option<Row>> {
    tx.fetch_optional(
        "SELECT id FROM runs WHERE task_id = $1 AND push_index = $2 AND status = 'started'",
        args![task_id, index],
    )
    .await
}

/// The open push run of `task` for `index`, started now when there is none.
async fn open_push_run(
    tx: &mut Tx,
    app: &str,
    task: &Task,
    index: &str,
    now: Timestamp,
) -> StoreResult<String> {
    if let Some(row) = find_open_push_run(tx, &task.task_id, index).await? {
        return row.text("id");
    }
    let id = new_id();
    let inserted = tx
        .execute(
            "INSERT INTO runs (id, app_id, task_id, status, type, failure_threshold, created_at, \
             updated_at, started_at, push_index) \
             VALUES ($1, $2, $3, 'started', $4, $5, $6, $6, $6, $7) ON CONFLICT DO NOTHING",
            args![
                &id,
                app,
                &task.task_id,
                RunType::Push.as_str(),
                i64::from(task.failure_threshold),
                now,
                index
            ],
        )
        .await?;
    if inserted == 1 {
        return Ok(id);
    }
    // Another push started the run at the same moment (PostgreSQL): use it.
    find_open_push_run(tx, &task.task_id, index)
        .await?
        .ok_or_else(|| StoreError::internal("the open push run vanished"))?
        .text("id")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_fail_above_their_threshold() {
        assert_eq!(judge(10, 0, 0).0, RunOutcome::Success);
        assert_eq!(judge(10, 1, 0).0, RunOutcome::Failure);
        assert_eq!(judge(10, 1, 10).0, RunOutcome::Success);
        assert_eq!(judge(10, 2, 10).1, RunReasonCode::TooManyErrors);
        assert_eq!(judge(0, 0, 0).2, "0 of 0 pushes failed");
    }
}

//! The workers' side of runs: claim with a lease, heartbeat, record events, finish, give back,
//! and requeue the runs of workers that stopped. Every change after the claim is fenced by the
//! lease token: once the token no longer holds the run, the change fails with
//! [`StoreError::LeaseLost`] and changes nothing.

use std::time::Duration;

use ingest_model::{
    Event, EventStatus, EventType, Run, RunOutcome, RunProgress, RunReasonCode, Task, Timestamp,
    TriggerPayload,
};

use crate::claimable;
use crate::db::{Tx, args, millis, new_id, timestamp};
use crate::runs::{NewEvent, append_events, fetch as fetch_run, run};
use crate::store::Store;
use crate::tasks::{TASK_COLUMNS, task};
use crate::{StoreError, StoreResult};

/// How many failed runs in a row disable a task (`docs/api.md` C14).
pub const AUTO_DISABLE_AFTER: i64 = 5;

/// A run a worker claimed with [`Store::claim_next_run`]: the run (now `started`), its task, and
/// the lease that fences every later change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedRun {
    /// The run, status `started`, `startedAt` set. `run.app_id` scopes the task's resources.
    pub run: Run,
    /// The task, as it was when the run was claimed.
    pub task: Task,
    /// The lease token: pass it to `heartbeat`, `record_events` and `finish_run`.
    pub lease_token: String,
    /// 1 for the first execution, 2 after one requeue, ...
    pub attempt: u32,
    /// When the lease ends unless renewed by a heartbeat.
    pub lease_expires_at: Timestamp,
    /// The payload of the event that triggered a subscription run
    /// ([`Store::create_triggered_run`]); `None` for other runs.
    pub trigger_payload: Option<TriggerPayload>,
}

/// How a run ended, for [`Store::finish_run`] (`docs/api.md` C11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFinish {
    /// `outcome`.
    pub outcome: RunOutcome,
    /// `reasonCode`.
    pub reason_code: RunReasonCode,
    /// `reason`: a sentence a user can act on.
    pub reason: Option<String>,
    /// The final progress, if known (it replaces the stored one).
    pub progress: Option<RunProgress>,
}

/// The result of [`Store::finish_run`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedRun {
    /// The run, status `finished`.
    pub run: Run,
    /// Whether this failure was the [`AUTO_DISABLE_AFTER`]th in a row and disabled the task
    /// (`docs/api.md` C14); a `log` event says so.
    pub task_disabled: bool,
}

/// The result of [`Store::requeue_expired`]: the runs whose lease had expired.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requeued {
    /// Back to `created`, for another worker to claim.
    pub requeued: Vec<String>,
    /// Out of attempts: `finished` with outcome `failure`, reason code `internal`.
    pub failed: Vec<String>,
    /// The application of each run in `failed`, in the same order.
    pub failed_apps: Vec<String>,
}

impl Store {
    /// Claims a `created` run of a live task that has no `started` run, taking turns across
    /// applications (the application claimed least recently first, then the oldest run): it becomes
    /// `started` (`startedAt` = now, `attempt` + 1) with a new lease held by `owner` until
    /// `now + lease`; the task's `lastRun` becomes now. `None` when nothing is claimable. Never
    /// hands one run to two callers.
    pub async fn claim_next_run(
        &self,
        owner: &str,
        lease: Duration,
        now: Timestamp,
    ) -> StoreResult<Option<ClaimedRun>> {
        self.claim(None, owner, lease, now).await
    }

    /// Claims one given run, as [`Store::claim_next_run`] would (`run-task --task-id`): `None`
    /// when it is not `created` or its task already has a `started` run.
    pub async fn claim_run(
        &self,
        run_id: &str,
        owner: &str,
        lease: Duration,
        now: Timestamp,
    ) -> StoreResult<Option<ClaimedRun>> {
        self.claim(Some(run_id), owner, lease, now).await
    }

    /// Gives a held run back to the queue at once (a worker shutting down): `created` again,
    /// lease cleared, with a `log` event saying so; the attempt it used still counts.
    /// `LeaseLost` when the token no longer holds it.
    pub async fn release_run(
        &self,
        run_id: &str,
        lease_token: &str,
        now: Timestamp,
    ) -> StoreResult<()> {
        let mut tx = self.pools.write().await?;
        let (app, _) = held(&mut tx, run_id, lease_token).await?;
        tx.execute(
            "UPDATE runs SET status = 'created', started_at = NULL, updated_at = $1, \
             lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL WHERE id = $2",
            args![now, run_id],
        )
        .await?;
        log(
            &mut tx,
            &app,
            run_id,
            "the worker is shutting down: the run was returned to the queue for another worker"
                .to_owned(),
            now,
        )
        .await?;
        tx.commit().await?;
        self.queued().await;
        Ok(())
    }

    /// How many runs wait in `created`, over every application (the queue depth metric).
    pub async fn queue_depth(&self) -> StoreResult<u64> {
        let mut tx = self.pools.read().await?;
        tx.fetch_count(
            "SELECT COUNT(*) FROM runs WHERE status = 'created'",
            Vec::new(),
        )
        .await
    }

    /// A receiver whose `changed()` resolves when runs may have become claimable (created,
    /// fired by a schedule, released, requeued), in this process or, on PostgreSQL, in any
    /// process sharing the database: idle workers wait on it between polls.
    pub fn queued_runs(&self) -> tokio::sync::watch::Receiver<u64> {
        self.queue.subscribe()
    }

    /// Extends the lease to `now + lease`; returns the new expiry. `LeaseLost` when the token no
    /// longer holds the run (nothing changes then).
    pub async fn heartbeat(
        &self,
        run_id: &str,
        lease_token: &str,
        lease: Duration,
        now: Timestamp,
    ) -> StoreResult<Timestamp> {
        let mut tx = self.pools.write().await?;
        let expires = lease_end(now, lease);
        let changed = tx
            .execute(
                "UPDATE runs SET lease_expires_at = $1 \
                 WHERE id = $2 AND lease_token = $3 AND status = 'started'",
                args![expires, run_id, lease_token],
            )
            .await?;
        if changed == 0 {
            return Err(lease_lost(run_id));
        }
        tx.commit().await?;
        Ok(timestamp(expires))
    }

    /// Appends events to a run the caller holds, and sets its progress when `progress` is given.
    pub async fn record_events(
        &self,
        run_id: &str,
        lease_token: &str,
        events: &[NewEvent],
        progress: Option<RunProgress>,
        now: Timestamp,
    ) -> StoreResult<Vec<Event>> {
        let mut tx = self.pools.write().await?;
        let (app, _) = held(&mut tx, run_id, lease_token).await?;
        let out = append_events(&mut tx, &app, run_id, events).await?;
        set_progress(&mut tx, run_id, progress).await?;
        tx.execute(
            "UPDATE runs SET updated_at = $1 WHERE id = $2",
            args![now, run_id],
        )
        .await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Finishes a run the caller holds: `finished` with the outcome, lease cleared. A failure
    /// counts towards auto-disable ([`AUTO_DISABLE_AFTER`] in a row disable the task, with a
    /// `log` event); a success resets the count.
    pub async fn finish_run(
        &self,
        run_id: &str,
        lease_token: &str,
        finish: &RunFinish,
        now: Timestamp,
    ) -> StoreResult<FinishedRun> {
        let mut tx = self.pools.write().await?;
        let (app, task_id) = held(&mut tx, run_id, lease_token).await?;
        set_progress(&mut tx, run_id, finish.progress).await?;
        tx.execute(
            "UPDATE runs SET status = 'finished', outcome = $1, reason_code = $2, reason = $3, \
             finished_at = $4, updated_at = $4, lease_owner = NULL, lease_token = NULL, \
             lease_expires_at = NULL WHERE id = $5",
            args![
                finish.outcome.as_str(),
                finish.reason_code.as_str(),
                finish.reason.clone(),
                now,
                run_id
            ],
        )
        .await?;
        let task_disabled =
            count_outcome(&mut tx, &app, run_id, &task_id, finish.outcome, now).await?;
        let run = run(&fetch_run(&mut tx, &app, run_id).await?)?;
        tx.commit().await?;
        Ok(FinishedRun { run, task_disabled })
    }

    /// Handles `started` runs whose lease expired before `now`: back to `created` while their
    /// `attempt` is below `max_attempts`, otherwise `finished` with outcome `failure` (reason
    /// code `internal`). Their old tokens are dead either way; a `log` event on each run says
    /// what happened.
    pub async fn requeue_expired(
        &self,
        now: Timestamp,
        max_attempts: u32,
    ) -> StoreResult<Requeued> {
        let mut tx = self.pools.write().await?;
        let lock = if tx.is_postgres() {
            " FOR UPDATE SKIP LOCKED"
        } else {
            ""
        };
        let expired = tx
            .fetch_all(
                &format!(
                    "SELECT id, app_id, task_id, attempt FROM runs \
                     WHERE status = 'started' AND lease_expires_at < $1 ORDER BY seq{lock}"
                ),
                args![now],
            )
            .await?;
        let mut report = Requeued::default();
        for row in expired {
            let (id, app, task_id) = (row.text("id")?, row.text("app_id")?, row.text("task_id")?);
            let attempt = row.int("attempt")?;
            if attempt < i64::from(max_attempts) {
                tx.execute(
                    "UPDATE runs SET status = 'created', started_at = NULL, updated_at = $1, \
                     lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL \
                     WHERE id = $2",
                    args![now, &id],
                )
                .await?;
                let message = format!(
                    "the lease of attempt {attempt} expired (its worker stopped responding): the \
                     run was returned to the queue for attempt {}; a replace run's temporary \
                     index is deleted before it starts again, never moved",
                    attempt + 1
                );
                log(&mut tx, &app, &id, message, now).await?;
                report.requeued.push(id);
            } else {
                let reason =
                    format!("the run was abandoned: its worker stopped responding {attempt} times");
                tx.execute(
                    "UPDATE runs SET status = 'finished', outcome = 'failure', \
                     reason_code = 'internal', reason = $1, finished_at = $2, updated_at = $2, \
                     lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL \
                     WHERE id = $3",
                    args![reason.clone(), now, &id],
                )
                .await?;
                log(&mut tx, &app, &id, reason, now).await?;
                count_outcome(&mut tx, &app, &id, &task_id, RunOutcome::Failure, now).await?;
                report.failed.push(id);
                report.failed_apps.push(app);
            }
        }
        tx.commit().await?;
        if !report.requeued.is_empty() {
            self.queued().await;
        }
        Ok(report)
    }

    /// Claims run `only`, or the oldest claimable run when `None`.
    async fn claim(
        &self,
        only: Option<&str>,
        owner: &str,
        lease: Duration,
        now: Timestamp,
    ) -> StoreResult<Option<ClaimedRun>> {
        let mut tx = self.pools.write().await?;
        // PostgreSQL: the run and its task are locked, skipping rows other claimers hold, so two
        // claims never pick the same run nor two runs of one task. SQLite: `BEGIN IMMEDIATE`
        // serializes.
        let picked = claimable::pick(&mut tx, only).await?;
        let Some(picked) = picked else {
            return Ok(None);
        };
        let (run_id, app, task_id) = (
            picked.text("id")?,
            picked.text("app_id")?,
            picked.text("task_id")?,
        );
        let attempt = picked.int("attempt")? + 1;
        let trigger_payload = picked
            .opt_text("trigger_payload")?
            .map(|text| {
                serde_json::from_str(&text)
                    .ok()
                    .and_then(|value| TriggerPayload::from_value(value).ok())
                    .ok_or_else(|| StoreError::internal("a run's trigger payload is invalid"))
            })
            .transpose()?;
        let token = new_id();
        let expires = lease_end(now, lease);
        tx.execute(
            "UPDATE runs SET status = 'started', started_at = $1, updated_at = $1, attempt = $2, \
             lease_owner = $3, lease_token = $4, lease_expires_at = $5 WHERE id = $6",
            args![now, attempt, owner, &token, expires, &run_id],
        )
        .await?;
        tx.execute(
            "UPDATE tasks SET last_run = $1 WHERE id = $2",
            args![now, &task_id],
        )
        .await?;
        // This application's turn is now the newest: the others' queued runs come first.
        tx.execute(
            "INSERT INTO app_claims (app_id, turn) \
             VALUES ($1, (SELECT COALESCE(MAX(turn), 0) + 1 FROM app_claims)) \
             ON CONFLICT (app_id) DO UPDATE SET turn = excluded.turn",
            args![&app],
        )
        .await?;
        let run = run(&fetch_run(&mut tx, &app, &run_id).await?)?;
        let task_row = tx
            .fetch_optional(
                &format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1"),
                args![&task_id],
            )
            .await?
            .ok_or_else(|| StoreError::internal("a run without its task"))?;
        let task = task(&task_row)?;
        tx.commit().await?;
        Ok(Some(ClaimedRun {
            run,
            task,
            lease_token: token,
            attempt: u32::try_from(attempt).unwrap_or(u32::MAX),
            lease_expires_at: timestamp(expires),
            trigger_payload,
        }))
    }
}

fn lease_end(now: Timestamp, lease: Duration) -> i64 {
    let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
    millis(now).saturating_add(lease_ms)
}

fn lease_lost(run_id: &str) -> StoreError {
    StoreError::LeaseLost {
        run_id: run_id.to_owned(),
    }
}

/// The application and task of a run the token still holds, locked until commit.
async fn held(tx: &mut Tx, run_id: &str, token: &str) -> StoreResult<(String, String)> {
    let lock = tx.for_update();
    let row = tx
        .fetch_optional(
            &format!(
                "SELECT app_id, task_id FROM runs \
                 WHERE id = $1 AND lease_token = $2 AND status = 'started'{lock}"
            ),
            args![run_id, token],
        )
        .await?
        .ok_or_else(|| lease_lost(run_id))?;
    Ok((row.text("app_id")?, row.text("task_id")?))
}

/// Appends a `log` event saying `message` to a run.
async fn log(
    tx: &mut Tx,
    app: &str,
    run_id: &str,
    message: String,
    now: Timestamp,
) -> StoreResult<()> {
    let mut data = serde_json::Map::new();
    data.insert("message".to_owned(), message.into());
    append_events(
        tx,
        app,
        run_id,
        &[NewEvent {
            parent_id: None,
            status: EventStatus::Succeeded,
            event_type: EventType::Log,
            data: Some(data),
            batch_size: 0,
            published_at: now,
        }],
    )
    .await?;
    Ok(())
}

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

async fn set_progress(tx: &mut Tx, run_id: &str, progress: Option<RunProgress>) -> StoreResult<()> {
    if let Some(p) = progress {
        tx.execute(
            "UPDATE runs SET expected_events = $1, received_events = $2 WHERE id = $3",
            args![
                count(p.expected_nb_of_events),
                count(p.received_nb_of_events),
                run_id
            ],
        )
        .await?;
    }
    Ok(())
}

/// Counts a finished run towards its task's failures in a row; disables the task when this
/// failure reaches its `policies.criticalThreshold` ([`AUTO_DISABLE_AFTER`] when unset): the run's
/// `reasonCode` becomes `blocking`, its reason says so before the original one, and a `log`
/// event on the run too (`docs/api.md` D2). Returns whether it did.
async fn count_outcome(
    tx: &mut Tx,
    app: &str,
    run_id: &str,
    task_id: &str,
    outcome: RunOutcome,
    now: Timestamp,
) -> StoreResult<bool> {
    if outcome == RunOutcome::Success {
        tx.execute(
            "UPDATE tasks SET consecutive_failures = 0 WHERE id = $1",
            args![task_id],
        )
        .await?;
        return Ok(false);
    }
    tx.execute(
        "UPDATE tasks SET consecutive_failures = consecutive_failures + 1 WHERE id = $1",
        args![task_id],
    )
    .await?;
    let disabled = tx
        .execute(
            "UPDATE tasks SET enabled = $1, updated_at = $2 \
             WHERE id = $3 AND enabled \
             AND consecutive_failures >= COALESCE(critical_threshold, $4)",
            args![false, now, task_id, AUTO_DISABLE_AFTER],
        )
        .await?;
    if disabled == 0 {
        return Ok(false);
    }
    let failures = tx
        .fetch_optional(
            "SELECT consecutive_failures FROM tasks WHERE id = $1",
            args![task_id],
        )
        .await?
        .map(|row| row.int("consecutive_failures"))
        .transpose()?
        .unwrap_or(AUTO_DISABLE_AFTER);
    let why = format!("task disabled after {failures} failed runs in a row");
    tx.execute(
        "UPDATE runs SET reason_code = 'blocking', \
         reason = $1 || COALESCE(': ' || reason, '') WHERE id = $2",
        args![why.as_str(), run_id],
    )
    .await?;
    log(tx, app, run_id, why, now).await?;
    Ok(true)
}

//! Tasks: a live source and destination, a trigger and an action. A schedule task keeps its
//! cron expression and its next fire time (`next_run`, computed by the caller); the scheduler's
//! side of it is in `schedule`.

use ingest_model::{
    ActionType, EmailNotifications, Notifications, Order, Policies, SourceType, Task, TaskCreate,
    TaskCreateTrigger, TaskInput, TaskOptions, TaskReplace, TaskSortKeys, TaskUpdate, Timestamp,
    Trigger, TriggerType, ValidationError,
};

use crate::db::{Row, Tx, args, from_json, new_id};
use crate::filter::{Where, order_by, page, search};
use crate::query::{Page, PageRequest};
use crate::sources_destinations::{DESTINATIONS, SOURCES};
use crate::store::Store;
use crate::{Resource, StoreError, StoreResult};

/// `GET /1/tasks`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskQuery {
    /// Paging.
    pub page: PageRequest,
    /// Sort key.
    pub sort: TaskSortKeys,
    /// Sort order.
    pub order: Order,
    /// `action` filter.
    pub actions: Vec<ActionType>,
    /// `enabled` filter.
    pub enabled: Option<bool>,
    /// `sourceID` filter.
    pub source_ids: Vec<String>,
    /// `destinationID` filter.
    pub destination_ids: Vec<String>,
    /// `triggerType` filter.
    pub trigger_types: Vec<TriggerType>,
    /// `sourceType` filter (`GET /2/tasks`).
    pub source_types: Vec<SourceType>,
    /// `withEmailNotifications` filter (`GET /2/tasks`).
    pub with_email_notifications: Option<bool>,
}

impl Default for TaskQuery {
    fn default() -> Self {
        Self {
            page: PageRequest::default(),
            sort: TaskSortKeys::CreatedAt,
            order: Order::Desc,
            actions: Vec::new(),
            enabled: None,
            source_ids: Vec::new(),
            destination_ids: Vec::new(),
            trigger_types: Vec::new(),
            source_types: Vec::new(),
            with_email_notifications: None,
        }
    }
}

/// The columns [`task`] reads.
pub(crate) const TASK_COLUMNS: &str = "id, source_id, destination_id, trigger_type, cron, action, \
     enabled, input, failure_threshold, last_run, next_run, created_at, updated_at, \
     subscription_action, cursor, email_notifications, critical_threshold";

/// A task from its row.
pub(crate) fn task(row: &Row) -> StoreResult<Task> {
    let last_run = row.opt_time("last_run")?;
    let trigger = match row.parsed::<TriggerType>("trigger_type")? {
        TriggerType::OnDemand => Trigger::OnDemand { last_run },
        TriggerType::Subscription => Trigger::Subscription,
        TriggerType::Streaming => {
            return Err(StoreError::internal("a stored streaming task"));
        }
        TriggerType::Schedule => Trigger::Schedule {
            cron: row
                .opt_text("cron")?
                .ok_or_else(|| StoreError::internal("a schedule task without `cron`"))?,
            last_run,
            next_run: row
                .opt_time("next_run")?
                .ok_or_else(|| StoreError::internal("a schedule task without `next_run`"))?,
        },
    };
    let input: Option<TaskInput> = match row.opt_text("input")? {
        None => None,
        Some(text) => Some(from_json(
            "input",
            serde_json::from_str(&text)
                .map_err(|_| StoreError::internal("column `input` holds invalid JSON"))?,
        )?),
    };
    let threshold = row.int("failure_threshold")?;
    let critical_threshold = row
        .opt_int("critical_threshold")?
        .map(|n| {
            u8::try_from(n).map_err(|_| StoreError::internal("a critical threshold out of range"))
        })
        .transpose()?;
    Ok(Task {
        task_id: row.text("id")?,
        source_id: row.text("source_id")?,
        destination_id: row.text("destination_id")?,
        trigger,
        input,
        enabled: row.flag("enabled")?,
        action: row.parsed("action")?,
        failure_threshold: u8::try_from(threshold)
            .map_err(|_| StoreError::internal("a failure threshold out of range"))?,
        subscription_action: row.opt_parsed("subscription_action")?,
        cursor: row.opt_text("cursor")?,
        notifications: row
            .opt_flag("email_notifications")?
            .map(|enabled| Notifications {
                email: EmailNotifications {
                    enabled: Some(enabled),
                },
            }),
        policies: critical_threshold.map(|n| Policies {
            critical_threshold: Some(n),
        }),
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

/// The live task `id` of `app`, with `lock` (`""`, or a `FOR UPDATE`/`FOR SHARE` clause).
pub(crate) async fn fetch(tx: &mut Tx, app: &str, id: &str, lock: &str) -> StoreResult<Row> {
    tx.fetch_optional(
        &format!(
            "SELECT {TASK_COLUMNS} FROM tasks \
             WHERE app_id = $1 AND id = $2 AND deleted_at IS NULL{lock}"
        ),
        args![app, id],
    )
    .await?
    .ok_or_else(|| StoreError::not_found(Resource::Task, id))
}

/// The stored trigger columns (`trigger_type`, `cron`, `next_run`) of a trigger.
fn trigger_columns(
    trigger: &TaskCreateTrigger,
    next_run: Option<Timestamp>,
) -> StoreResult<(&'static str, Option<String>, Option<Timestamp>)> {
    Ok(match trigger {
        TaskCreateTrigger::Schedule { cron } => {
            let next_run = next_run.ok_or_else(|| {
                ValidationError::new(
                    "trigger.cron",
                    "the next run time of the schedule is required",
                )
            })?;
            ("schedule", Some(cron.clone()), Some(next_run))
        }
        other => (other.trigger_type().as_str(), None, None),
    })
}

fn input_json(input: Option<&TaskInput>) -> StoreResult<Option<String>> {
    input
        .map(|i| {
            serde_json::to_string(i).map_err(|_| StoreError::internal("cannot serialize an input"))
        })
        .transpose()
}

/// The stored columns of the v2 options: `subscription_action`, `cursor`,
/// `email_notifications`, `critical_threshold`.
fn option_columns(
    options: &TaskOptions,
) -> (
    Option<&'static str>,
    Option<String>,
    Option<bool>,
    Option<i64>,
) {
    (
        options.subscription_action.map(|a| a.as_str()),
        options.cursor.clone(),
        options.notifications.and_then(|n| n.email.enabled),
        options
            .policies
            .and_then(|p| p.critical_threshold)
            .map(i64::from),
    )
}

/// Refuses an action that updates records by objectID on a source that provides none
/// (`docs/api.md` C8).
fn check_action_source(
    action: ActionType,
    source: &ingest_model::Source,
) -> Result<(), ValidationError> {
    let by_object_id = matches!(
        action,
        ActionType::Save | ActionType::Partial | ActionType::PartialNoCreate
    );
    if by_object_id && !source.input.provides_object_ids() {
        return Err(ValidationError::new(
            "action",
            format!(
                "`{action}` needs records with an objectID: set `uniqueIDColumn` on source `{}`",
                source.source_id
            ),
        ));
    }
    Ok(())
}

/// Sets `enabled`; enabling also forgets the failed runs in a row.
async fn set_enabled_in(tx: &mut Tx, id: &str, enabled: bool) -> StoreResult<()> {
    let reset = if enabled {
        ", consecutive_failures = 0"
    } else {
        ""
    };
    tx.execute(
        &format!("UPDATE tasks SET enabled = $1{reset} WHERE id = $2"),
        args![enabled, id],
    )
    .await?;
    Ok(())
}

impl Store {
    /// Creates a task. `sourceID` and `destinationID` must be live (`InvalidReference`); a
    /// `save` task needs a source that provides objectIDs (`Invalid`, path `action`, `docs/api.md` C8).
    /// `next_run` is the schedule's next fire time, computed by the caller from the cron
    /// expression: required for a schedule trigger (`Invalid`, path `trigger.cron`, without it),
    /// ignored otherwise.
    pub async fn create_task(
        &self,
        app: &str,
        input: &TaskCreate,
        next_run: Option<Timestamp>,
        now: Timestamp,
    ) -> StoreResult<Task> {
        let (trigger_type, cron, next_run) = trigger_columns(&input.trigger, next_run)?;
        let id = new_id();
        let mut tx = self.pools.write().await?;
        let source = SOURCES.reference(&mut tx, app, &input.source_id).await?;
        check_action_source(input.action, &source)?;
        DESTINATIONS
            .reference(&mut tx, app, &input.destination_id)
            .await?;
        let (subscription_action, cursor, email, critical) = option_columns(&input.options);
        tx.execute(
            "INSERT INTO tasks (id, app_id, source_id, destination_id, trigger_type, cron, \
             action, enabled, input, failure_threshold, next_run, created_at, updated_at, \
             subscription_action, cursor, email_notifications, critical_threshold) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13, $14, $15, $16)",
            args![
                &id,
                app,
                &input.source_id,
                &input.destination_id,
                trigger_type,
                cron,
                input.action.as_str(),
                input.enabled,
                input_json(input.input.as_ref())?,
                i64::from(input.failure_threshold),
                next_run,
                now,
                subscription_action,
                cursor,
                email,
                critical
            ],
        )
        .await?;
        let row = fetch(&mut tx, app, &id, "").await?;
        tx.commit().await?;
        task(&row)
    }

    /// One task.
    pub async fn get_task(&self, app: &str, id: &str) -> StoreResult<Task> {
        let mut tx = self.pools.read().await?;
        task(&fetch(&mut tx, app, id, "").await?)
    }

    /// A page of tasks (filters `action`, `enabled`, `sourceID`, `destinationID`,
    /// `triggerType`).
    pub async fn list_tasks(&self, app: &str, query: &TaskQuery) -> StoreResult<Page<Task>> {
        use TaskSortKeys as K;
        let mut filter = Where::app(app, true);
        filter.any_of("action", query.actions.iter().map(|a| a.as_str()));
        if let Some(enabled) = query.enabled {
            filter.eq("enabled", enabled);
        }
        filter.any_of("source_id", query.source_ids.iter().map(String::as_str));
        filter.any_of(
            "destination_id",
            query.destination_ids.iter().map(String::as_str),
        );
        filter.any_of(
            "trigger_type",
            query.trigger_types.iter().map(|t| t.as_str()),
        );
        if !query.source_types.is_empty() {
            let types: Vec<String> = query
                .source_types
                .iter()
                .map(|t| filter.param(t.as_str()))
                .collect();
            filter.raw(format!(
                "source_id IN (SELECT id FROM sources WHERE app_id = $1 AND type IN ({}))",
                types.join(", ")
            ));
        }
        match query.with_email_notifications {
            Some(true) => filter.raw("email_notifications = TRUE"),
            Some(false) => {
                filter.raw("(email_notifications IS NULL OR email_notifications = FALSE)")
            }
            None => {}
        }
        let sort = match query.sort {
            K::Enabled => "enabled",
            K::TriggerType => "trigger_type",
            K::Action => "action",
            K::UpdatedAt => "updated_at",
            K::CreatedAt => "created_at",
        };
        let mut tx = self.pools.read().await?;
        let (rows, pagination) = page(
            &mut tx,
            "tasks",
            TASK_COLUMNS,
            filter,
            &order_by(sort, query.order),
            &query.page,
        )
        .await?;
        let items = rows.iter().map(task).collect::<StoreResult<_>>()?;
        Ok(Page { items, pagination })
    }

    /// The live tasks among `ids`.
    pub async fn search_tasks(&self, app: &str, ids: &[String]) -> StoreResult<Vec<Task>> {
        let mut tx = self.pools.read().await?;
        search(&mut tx, "tasks", TASK_COLUMNS, app, ids)
            .await?
            .iter()
            .map(|(_, row)| task(row))
            .collect()
    }

    /// Applies a PATCH (same rules as create). `next_run` is required when the update sets a
    /// schedule trigger; a trigger that is not a schedule clears `nextRun`.
    pub async fn update_task(
        &self,
        app: &str,
        id: &str,
        update: &TaskUpdate,
        next_run: Option<Timestamp>,
        now: Timestamp,
    ) -> StoreResult<Task> {
        let trigger = update
            .trigger
            .as_ref()
            .map(|t| trigger_columns(t, next_run))
            .transpose()?;
        let mut tx = self.pools.write().await?;
        let lock = tx.for_update();
        fetch(&mut tx, app, id, lock).await?;
        if let Some(destination_id) = &update.destination_id {
            DESTINATIONS.reference(&mut tx, app, destination_id).await?;
        }
        if let Some((trigger_type, cron, next_run)) = trigger {
            tx.execute(
                "UPDATE tasks SET trigger_type = $1, cron = $2, next_run = $3 WHERE id = $4",
                args![trigger_type, cron, next_run, id],
            )
            .await?;
        }
        if let Some(enabled) = update.enabled {
            set_enabled_in(&mut tx, id, enabled).await?;
        }
        let options = &update.options;
        tx.execute(
            "UPDATE tasks SET destination_id = COALESCE($1, destination_id), \
             input = COALESCE($2, input), failure_threshold = COALESCE($3, failure_threshold), \
             subscription_action = COALESCE($4, subscription_action), \
             email_notifications = COALESCE($5, email_notifications), \
             critical_threshold = COALESCE($6, critical_threshold), \
             updated_at = $7 WHERE id = $8",
            args![
                update.destination_id.clone(),
                input_json(update.input.as_ref())?,
                update.failure_threshold.map(i64::from),
                options.subscription_action.map(|a| a.as_str()),
                options.notifications.and_then(|n| n.email.enabled),
                options
                    .policies
                    .and_then(|p| p.critical_threshold)
                    .map(i64::from),
                now,
                id
            ],
        )
        .await?;
        let row = fetch(&mut tx, app, id, "").await?;
        tx.commit().await?;
        task(&row)
    }

    /// `PUT /2/tasks/{id}`: every column but the source takes its new value (optional fields
    /// left out go back to their defaults). The trigger is the derived one, except that a task
    /// stored with a `subscription` trigger keeps it when nothing else is derived
    /// (`docs/api.md` D2). Same rules as create for the action and the references; `next_run`
    /// as for [`Store::update_task`].
    pub async fn replace_task(
        &self,
        app: &str,
        id: &str,
        replace: &TaskReplace,
        next_run: Option<Timestamp>,
        now: Timestamp,
    ) -> StoreResult<Task> {
        let mut tx = self.pools.write().await?;
        let lock = tx.for_update();
        let current = task(&fetch(&mut tx, app, id, lock).await?)?;
        let trigger = match (&replace.trigger, &current.trigger) {
            (TaskCreateTrigger::OnDemand, Trigger::Subscription) => TaskCreateTrigger::Subscription,
            (derived, _) => derived.clone(),
        };
        let (trigger_type, cron, next_run) = trigger_columns(&trigger, next_run)?;
        let source = SOURCES.reference(&mut tx, app, &current.source_id).await?;
        check_action_source(replace.action, &source)?;
        DESTINATIONS
            .reference(&mut tx, app, &replace.destination_id)
            .await?;
        set_enabled_in(&mut tx, id, replace.enabled).await?;
        let (subscription_action, cursor, email, critical) = option_columns(&replace.options);
        tx.execute(
            "UPDATE tasks SET destination_id = $1, trigger_type = $2, cron = $3, next_run = $4, \
             action = $5, input = $6, failure_threshold = $7, subscription_action = $8, \
             cursor = $9, email_notifications = $10, critical_threshold = $11, updated_at = $12 \
             WHERE id = $13",
            args![
                &replace.destination_id,
                trigger_type,
                cron,
                next_run,
                replace.action.as_str(),
                input_json(replace.input.as_ref())?,
                i64::from(replace.failure_threshold),
                subscription_action,
                cursor,
                email,
                critical,
                now,
                id
            ],
        )
        .await?;
        let row = fetch(&mut tx, app, id, "").await?;
        tx.commit().await?;
        task(&row)
    }

    /// `PUT /1/tasks/{id}/enable` or `/disable`: sets `enabled`, bumps `updatedAt`. Enabling
    /// resets the count of failed runs in a row.
    pub async fn set_task_enabled(
        &self,
        app: &str,
        id: &str,
        enabled: bool,
        now: Timestamp,
    ) -> StoreResult<Task> {
        let mut tx = self.pools.write().await?;
        let lock = tx.for_update();
        fetch(&mut tx, app, id, lock).await?;
        set_enabled_in(&mut tx, id, enabled).await?;
        tx.execute(
            "UPDATE tasks SET updated_at = $1 WHERE id = $2",
            args![now, id],
        )
        .await?;
        let row = fetch(&mut tx, app, id, "").await?;
        tx.commit().await?;
        task(&row)
    }

    /// Sets a task's `lastRun` and/or `nextRun` (each `None` leaves the value alone), without
    /// touching `updatedAt`: the scheduler's bookkeeping.
    pub async fn set_task_run_times(
        &self,
        app: &str,
        id: &str,
        last_run: Option<Timestamp>,
        next_run: Option<Timestamp>,
    ) -> StoreResult<Task> {
        let mut tx = self.pools.write().await?;
        let changed = tx
            .execute(
                "UPDATE tasks SET last_run = COALESCE($1, last_run), \
                 next_run = COALESCE($2, next_run) \
                 WHERE app_id = $3 AND id = $4 AND deleted_at IS NULL",
                args![last_run, next_run, app, id],
            )
            .await?;
        if changed == 0 {
            return Err(StoreError::not_found(Resource::Task, id));
        }
        let row = fetch(&mut tx, app, id, "").await?;
        tx.commit().await?;
        task(&row)
    }

    /// Soft-deletes a task. Its runs stay; those still `created` become `skipped`.
    pub async fn delete_task(&self, app: &str, id: &str, now: Timestamp) -> StoreResult<()> {
        let mut tx = self.pools.write().await?;
        let lock = tx.for_update();
        fetch(&mut tx, app, id, lock).await?;
        tx.execute(
            "UPDATE tasks SET deleted_at = $1 WHERE id = $2",
            args![now, id],
        )
        .await?;
        tx.execute(
            "UPDATE runs SET status = 'skipped', reason = 'the task was deleted before the run \
             started', updated_at = $1, finished_at = $1 WHERE task_id = $2 AND status = 'created'",
            args![now, id],
        )
        .await?;
        tx.commit().await
    }
}

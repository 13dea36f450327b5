//! Which run a claim takes: a `created` run of a live task that has no `started` run, from the
//! application claimed least recently (`app_claims.turn`; never claimed = 0, the oldest queued
//! run first among those), then that application's oldest such run.
//!
//! Found without sorting the queue: the partial index `runs_claimable (app_id, seq) WHERE status
//! = 'created'` (migration 0012) lists the applications with queued runs by skipping from one
//! application to the next (one index descent each), and gives each application's queued runs
//! in order. A claim reads one entry per queued application, then walks the first application's
//! queued runs until one's task is free: a few index reads. With 200,000 queued runs of 20
//! applications a claim and its release take 2.7–3.4 ms on SQLite and 5.5–5.8 ms on
//! PostgreSQL; sorting the queue made them 262 ms and 256 ms (`cargo bench -p ingest-store
//! --bench claim`).
//!
//! What it still walks: an application's queued runs whose task already has a started run (one
//! probe each), before its first run of a free task.

use crate::StoreResult;
use crate::db::{Row, Tx, args};

/// The columns a claim reads of the run it takes.
const PICKED: &str = "r.id AS id, r.app_id AS app_id, r.task_id AS task_id, \
                      r.attempt AS attempt, r.trigger_payload AS trigger_payload";

/// A run is claimable when it is queued, its task is live and its task has no started run.
const CLAIMABLE: &str = "r.status = 'created' AND t.deleted_at IS NULL AND NOT EXISTS \
                         (SELECT 1 FROM runs s \
                          WHERE s.task_id = r.task_id AND s.status = 'started')";

/// The run a claim takes (`only` when given and claimable), locked on PostgreSQL with `SKIP
/// LOCKED` (with its task, so two claims never pick two runs of one task); `None` when there
/// is none.
pub(crate) async fn pick(tx: &mut Tx, only: Option<&str>) -> StoreResult<Option<Row>> {
    let lock = if tx.is_postgres() {
        " FOR UPDATE OF r, t SKIP LOCKED"
    } else {
        ""
    };
    if let Some(id) = only {
        return tx
            .fetch_optional(
                &format!(
                    "SELECT {PICKED} FROM runs r JOIN tasks t ON t.id = r.task_id \
                     WHERE r.id = $1 AND {CLAIMABLE}{lock}"
                ),
                args![id],
            )
            .await;
    }
    // `app_id >= $1 AND app_id <= $1`, not `=`: with an equality PostgreSQL's generic plan of
    // this prepared statement walks the primary key in `seq` order and filters (89 ms to reach
    // an application whose queued runs are the newest of 200,000); a range ordered by
    // `(app_id, seq)` can only be read from `runs_claimable`.
    let queue = queue(tx, "r");
    for app in queued_apps(tx).await? {
        let picked = tx
            .fetch_optional(
                &format!(
                    "SELECT {PICKED} FROM {queue} JOIN tasks t ON t.id = r.task_id \
                     WHERE r.app_id >= $1 AND r.app_id <= $1 AND {CLAIMABLE} \
                     ORDER BY r.app_id, r.seq LIMIT 1{lock}"
                ),
                args![&app],
            )
            .await?;
        if picked.is_some() {
            return Ok(picked);
        }
    }
    Ok(None)
}

/// The applications with queued runs, in turn order: least recently claimed first, the one
/// whose oldest queued run is older first when two never claimed. (`oldest` reads the first
/// index entry at or after the application, which is its own oldest queued run: a range, for
/// the reason given in [`pick`].)
async fn queued_apps(tx: &mut Tx) -> StoreResult<Vec<String>> {
    let queue = queue(tx, "r");
    let rows = tx
        .fetch_all(
            &format!(
                "WITH RECURSIVE queued(app_id) AS ( \
                     SELECT MIN(r.app_id) FROM {queue} WHERE r.status = 'created' \
                     UNION ALL \
                     SELECT (SELECT MIN(r.app_id) FROM {queue} \
                             WHERE r.status = 'created' AND r.app_id > q.app_id) \
                     FROM queued q WHERE q.app_id IS NOT NULL) \
                 SELECT q.app_id AS app_id, COALESCE(c.turn, 0) AS turn, \
                        (SELECT r.seq FROM {queue} \
                         WHERE r.status = 'created' AND r.app_id >= q.app_id \
                         ORDER BY r.app_id, r.seq LIMIT 1) AS oldest \
                 FROM queued q LEFT JOIN app_claims c ON c.app_id = q.app_id \
                 WHERE q.app_id IS NOT NULL ORDER BY turn, oldest, app_id"
            ),
            Vec::new(),
        )
        .await?;
    rows.iter().map(|row| row.text("app_id")).collect()
}

/// `runs` as `alias`, read through `runs_claimable`. SQLite is told so (`INDEXED BY`): its
/// planner may otherwise take `runs_app_status`, whose entries for an application with a long
/// history and nothing queued are all walked to find the next application. PostgreSQL picks
/// the partial index by its cost (it is as small as the queue).
fn queue(tx: &Tx, alias: &str) -> String {
    if tx.is_postgres() {
        format!("runs {alias}")
    } else {
        format!("runs {alias} INDEXED BY runs_claimable")
    }
}

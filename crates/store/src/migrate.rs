//! The embedded migrations of each backend (`migrations/sqlite`, `migrations/postgres`), run by
//! sqlx's migrator when a store opens (on PostgreSQL under an advisory lock, so replicas that
//! start together migrate once).

use std::borrow::Cow;

use sqlx::SqlSafeStr as _;
use sqlx::migrate::{Migration, MigrationType, Migrator};

/// The first line of a script that runs outside sqlx's transaction (sqlx's own convention): it
/// manages its transactions itself, as SQLite's table rebuild must (foreign keys can only be
/// switched off outside a transaction).
const NO_TRANSACTION: &str = "-- no-transaction";

/// `(version, description, sql)` of every migration, in order.
type Script = (i64, &'static str, &'static str);

const SQLITE: &[Script] = &[
    (
        1,
        "init",
        include_str!("../migrations/sqlite/0001_init.sql"),
    ),
    (
        2,
        "run trigger",
        include_str!("../migrations/sqlite/0002_run_trigger.sql"),
    ),
    (
        5,
        "tasks v2",
        include_str!("../migrations/sqlite/0005_tasks_v2.sql"),
    ),
    (
        7,
        "pushes",
        include_str!("../migrations/sqlite/0007_pushes.sql"),
    ),
    (
        8,
        "fair claims",
        include_str!("../migrations/sqlite/0008_fair_claims.sql"),
    ),
    (
        9,
        "history",
        include_str!("../migrations/sqlite/0009_history.sql"),
    ),
    (
        10,
        "validate runs",
        include_str!("../migrations/sqlite/0010_validate_runs.sql"),
    ),
    (
        11,
        "transformations",
        include_str!("../migrations/sqlite/0011_transformations.sql"),
    ),
    (
        12,
        "claimable runs",
        include_str!("../migrations/sqlite/0012_claimable_runs.sql"),
    ),
    (
        13,
        "run totals",
        include_str!("../migrations/sqlite/0013_run_totals.sql"),
    ),
];

const POSTGRES: &[Script] = &[
    (
        1,
        "init",
        include_str!("../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        "run trigger",
        include_str!("../migrations/postgres/0002_run_trigger.sql"),
    ),
    (
        5,
        "tasks v2",
        include_str!("../migrations/postgres/0005_tasks_v2.sql"),
    ),
    (
        7,
        "pushes",
        include_str!("../migrations/postgres/0007_pushes.sql"),
    ),
    (
        8,
        "fair claims",
        include_str!("../migrations/postgres/0008_fair_claims.sql"),
    ),
    (
        9,
        "history",
        include_str!("../migrations/postgres/0009_history.sql"),
    ),
    (
        10,
        "validate runs",
        include_str!("../migrations/postgres/0010_validate_runs.sql"),
    ),
    (
        11,
        "transformations",
        include_str!("../migrations/postgres/0011_transformations.sql"),
    ),
    (
        12,
        "claimable runs",
        include_str!("../migrations/postgres/0012_claimable_runs.sql"),
    ),
    (
        13,
        "run totals",
        include_str!("../migrations/postgres/0013_run_totals.sql"),
    ),
];

fn migrator(scripts: &[Script]) -> Migrator {
    Migrator::with_migrations(
        scripts
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    Cow::Borrowed(description),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    sql.starts_with(NO_TRANSACTION),
                )
            })
            .collect(),
    )
}

/// The SQLite migrations.
pub(crate) fn sqlite() -> Migrator {
    migrator(SQLITE)
}

/// The PostgreSQL migrations.
pub(crate) fn postgres() -> Migrator {
    migrator(POSTGRES)
}

#[cfg(test)]
mod tests {
    use std::str::FromStr as _;

    use sqlx::Row as _;
    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

    use super::*;

    /// Migration 10 rebuilds `runs` on SQLite: a database at 9 keeps its runs (with their
    /// sequence numbers), events and counters, and then takes runs of no task.
    #[tokio::test]
    async fn sqlite_runs_rebuild_keeps_what_was_there() {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")
            .unwrap()
            .foreign_keys(false);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .unwrap();
        let before: Vec<Script> = SQLITE.iter().copied().filter(|s| s.0 <= 9).collect();
        migrator(&before).run(&pool).await.unwrap();
        for (seq, id, status) in [(1, "r1", "finished"), (2, "r2", "created")] {
            sqlx::query(
                "INSERT INTO runs (seq, id, app_id, task_id, status, type, created_at, \
                 updated_at, run_metadata) VALUES (?, ?, 'A', 't1', ?, 'reindex', 1, 1, '{}')",
            )
            .bind(seq)
            .bind(id)
            .bind(status)
            .execute(&pool)
            .await
            .unwrap();
        }
        sqlx::query(
            "INSERT INTO events (id, app_id, run_id, status, type, batch_size, published_at) \
             VALUES ('e1', 'A', 'r1', 'succeeded', 'log', 0, 1)",
        )
        .execute(&pool)
        .await
        .unwrap();

        sqlite().run(&pool).await.unwrap();

        let runs = sqlx::query("SELECT seq, id, task_id, run_metadata FROM runs ORDER BY seq")
            .fetch_all(&pool)
            .await
            .unwrap();
        let kept: Vec<(i64, String, String)> = runs
            .iter()
            .map(|r| (r.get("seq"), r.get("id"), r.get("task_id")))
            .collect();
        assert_eq!(
            kept,
            [(1, "r1".into(), "t1".into()), (2, "r2".into(), "t1".into())]
        );
        let events: i64 = sqlx::query("SELECT COUNT(*) AS n FROM events WHERE run_id = 'r1'")
            .fetch_one(&pool)
            .await
            .unwrap()
            .get("n");
        assert_eq!(events, 1);
        let fk: i64 = sqlx::query("PRAGMA foreign_keys")
            .fetch_one(&pool)
            .await
            .unwrap()
            .get(0);
        assert_eq!(fk, 1, "foreign keys are on again");

        // A run of no task: accepted, counted under '', and its sequence follows the others.
        sqlx::query(
            "INSERT INTO runs (id, app_id, task_id, status, type, created_at, updated_at) \
             VALUES ('v1', 'A', NULL, 'finished', 'validate', 2, 2)",
        )
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query("UPDATE runs SET status = 'started' WHERE id = 'r2'")
            .execute(&pool)
            .await
            .unwrap();
        let counts = sqlx::query(
            "SELECT task_id, status, type, n FROM run_counts WHERE n > 0 \
             ORDER BY task_id, status",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        let counts: Vec<(String, String, i64)> = counts
            .iter()
            .map(|r| (r.get("task_id"), r.get("status"), r.get("n")))
            .collect();
        assert_eq!(
            counts,
            [
                (String::new(), "finished".into(), 1),
                ("t1".into(), "finished".into(), 1),
                ("t1".into(), "started".into(), 1),
            ]
        );
        let seq: i64 = sqlx::query("SELECT seq FROM runs WHERE id = 'v1'")
            .fetch_one(&pool)
            .await
            .unwrap()
            .get(0);
        assert_eq!(seq, 3);
    }

    /// Migration 13 sums the events already written into `run_totals`, and its trigger goes on
    /// from there; a deleted run takes its row along.
    #[tokio::test]
    async fn sqlite_run_totals_start_from_the_events_already_written() {
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .unwrap();
        let before: Vec<Script> = SQLITE.iter().copied().filter(|s| s.0 <= 12).collect();
        migrator(&before).run(&pool).await.unwrap();
        let execute = |sql: &'static str| {
            let pool = pool.clone();
            async move { sqlx::query(sql).execute(&pool).await.unwrap() }
        };
        execute(
            "INSERT INTO runs (id, app_id, task_id, status, type, created_at, updated_at) \
             VALUES ('r1', 'A', NULL, 'started', 'validate', 1, 1)",
        )
        .await;
        execute(
            "INSERT INTO events (id, app_id, run_id, status, type, data, batch_size, published_at) \
             VALUES ('e1', 'A', 'r1', 'succeeded', 'fetch', '{\"bytes\": 100}', 0, 1), \
                    ('e2', 'A', 'r1', 'succeeded', 'record', '{\"bytes\": 2000}', 50, 1), \
                    ('e3', 'A', 'r1', 'failed', 'record', NULL, 1, 1)",
        )
        .await;

        sqlite().run(&pool).await.unwrap();
        execute(
            "INSERT INTO events (id, app_id, run_id, status, type, data, batch_size, published_at) \
             VALUES ('e4', 'A', 'r1', 'retried', 'record', '{\"bytes\": 9}', 50, 2), \
                    ('e5', 'A', 'r1', 'succeeded', 'record', '{\"bytes\": 12}', 10, 2), \
                    ('e6', 'A', 'r1', 'failed', 'transform', NULL, 1, 2)",
        )
        .await;

        let row = sqlx::query(
            "SELECT events, fetches, fetched_bytes, batches, pushed, pushed_bytes, retried, \
             rejected FROM run_totals WHERE run_id = 'r1'",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        let totals: Vec<i64> = (0..8).map(|i| row.get(i)).collect();
        assert_eq!(totals, [6, 1, 100, 2, 60, 2012, 1, 2]);
        execute("DELETE FROM events").await;
        execute("DELETE FROM runs").await;
        let left: i64 = sqlx::query("SELECT COUNT(*) FROM run_totals")
            .fetch_one(&pool)
            .await
            .unwrap()
            .get(0);
        assert_eq!(left, 0);
    }
}

//! The embedded migrations of each backend (`migrations/sqlite`, `migrations/postgres`), run by
//! sqlx's migrator when a store opens (on PostgreSQL under an advisory lock, so replicas that
//! start together migrate once).

use std::borrow::Cow;

use sqlx::SqlSafeStr as _;
use sqlx::migrate::{Migration, MigrationType, Migrator};

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
                    false,
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

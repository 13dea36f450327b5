//! The shared backend of distributed deployments, API replicas and worker containers on one
//! PostgreSQL database ([`Store::connect_postgres`]).

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::db::Pools;
use crate::key::SecretKey;
use crate::signal::QueueSignal;
use crate::store::Store;
use crate::{StoreError, StoreResult, migrate};

/// How to connect a PostgreSQL store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresConfig {
    /// `postgres://user@host:port/database`.
    pub url: String,
    /// A schema to keep the tables in (created when missing; letters, digits and `_` only);
    /// the user's default search path when `None`.
    pub schema: Option<String>,
    /// Pool size.
    pub max_connections: u32,
}

impl PostgresConfig {
    /// The defaults for a URL: default schema, 10 connections.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            schema: None,
            max_connections: 10,
        }
    }
}

impl Store {
    /// Connects to the PostgreSQL database described by `config`, creates the schema if one is
    /// named, and migrates it. Claims use `FOR UPDATE SKIP LOCKED`, so any number of workers can
    /// share the database; the queue signal also hears the runs other processes queue
    /// (`LISTEN`/`NOTIFY`).
    pub async fn connect_postgres(config: &PostgresConfig, key: SecretKey) -> StoreResult<Self> {
        let mut options =
            PgConnectOptions::from_str(&config.url).map_err(|e| StoreError::Internal {
                reason: "invalid PostgreSQL URL".to_owned(),
                source: Some(Box::new(e)),
            })?;
        if let Some(schema) = &config.schema
            && (schema.is_empty()
                || !schema
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        {
            return Err(StoreError::internal(
                "invalid PostgreSQL schema name: use letters, digits and `_`",
            ));
        }
        // A process that stops mid-transaction (SIGSTOP, a frozen VM) must not hold a run's row
        // lock forever: the server ends a session idle inside a transaction after 10 s, so the
        // reaper (`FOR UPDATE SKIP LOCKED`) can requeue the run. Every transaction of ours is a
        // few statements sent back to back.
        let mut startup = vec![("idle_in_transaction_session_timeout", "10s")];
        if let Some(schema) = &config.schema {
            startup.push(("search_path", schema.as_str()));
        }
        options = options.options(startup);
        // The queue signal listens on a connection of its own, opened when the listener starts.
        let listen = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_lazy_with(options.clone());
        let pool = PgPoolOptions::new()
            .max_connections(config.max_connections.max(1))
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await?;
        if let Some(schema) = &config.schema {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "CREATE SCHEMA IF NOT EXISTS \"{schema}\""
            )))
            .execute(&pool)
            .await?;
        }
        migrate::postgres().run(&pool).await?;
        Ok(Self {
            pools: Pools::Postgres(pool),
            key,
            queue: QueueSignal::listening(listen),
        })
    }
}

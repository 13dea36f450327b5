//! [`Store`]: the one handle on the database, whatever the backend. This module holds its state
//! and what concerns the whole store (probe, close, queue wake-ups); every resource adds its
//! operations in an `impl Store` block of its own module.

use crate::StoreResult;
use crate::db::Pools;
use crate::key::SecretKey;
use crate::signal::{self, QueueSignal};

/// The storage of the control plane and of the workers, on SQLite
/// ([`Store::open_sqlite`]) or PostgreSQL ([`Store::connect_postgres`]).
///
/// A `Store` is a handle: cloning it is cheap and every clone shares the same connections, key
/// and queue signal, so pass it by value to whatever needs it.
///
/// `app` is the application ID (`X-Algolia-Application-Id`): it scopes every resource
/// operation. `now` is the current time, chosen by the caller. Lists validate their paging
/// ([`StoreError::Invalid`](crate::StoreError::Invalid) on `page` 0 or `itemsPerPage` outside
/// 1..=100). Search operations return the live resources among the IDs, in the order asked,
/// each once, skipping unknown IDs.
#[derive(Debug, Clone)]
pub struct Store {
    /// The connection pools of the backend.
    pub(crate) pools: Pools,
    /// The key authentication secrets are sealed with.
    pub(crate) key: SecretKey,
    /// Bumped whenever runs may have become claimable.
    pub(crate) queue: QueueSignal,
}

impl Store {
    /// Checks that the database answers (`SELECT 1`): for readiness probes and start-up.
    /// [`StoreError::Unavailable`](crate::StoreError::Unavailable) when it does not.
    pub async fn ping(&self) -> StoreResult<()> {
        let mut tx = self.pools.read().await?;
        tx.fetch_count("SELECT CAST(1 AS BIGINT)", Vec::new())
            .await?;
        Ok(())
    }

    /// Closes every connection (pending operations finish first), for every clone of this
    /// store: later operations fail with
    /// [`StoreError::Unavailable`](crate::StoreError::Unavailable).
    pub async fn close(&self) {
        self.pools.close().await;
    }

    /// Runs may have become claimable: wakes this process's workers and, on PostgreSQL, every
    /// other process's (best effort: workers also poll).
    pub(crate) async fn queued(&self) {
        self.queue.bump();
        if let Pools::Postgres(pool) = &self.pools {
            // Best effort: without it, other processes' workers find the run at their next poll.
            let _ = sqlx::query("SELECT pg_notify($1, '')")
                .bind(signal::CHANNEL)
                .execute(pool)
                .await;
        }
    }
}

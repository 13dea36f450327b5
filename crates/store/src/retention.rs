//! History retention (`docs/api.md` C21): runs that finished (or were skipped) before a cutoff
//! are deleted with their events, a few rows per transaction, so neither backend holds a long
//! lock; on SQLite the freed pages then go back to the file system.

use ingest_model::Timestamp;

use crate::db::{Arg, Pools, args};
use crate::store::Store;
use crate::{StoreError, StoreResult};

/// What one [`Store::purge_history`] step deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Purged {
    /// Runs deleted.
    pub runs: u64,
    /// Events deleted (of those runs).
    pub events: u64,
    /// Runs that were old enough: fewer than the step's batch means nothing older is left.
    pub candidates: u64,
}

/// The pages of a SQLite database file (`PRAGMA page_count`, `PRAGMA freelist_count`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilePages {
    /// Pages in the file.
    pub total: u64,
    /// Of those, pages on the free list (freed by deletes, not yet handed back).
    pub free: u64,
}

impl Store {
    /// One step of retention: takes at most `batch` runs (at least 1) of any application that
    /// finished before `before` and have no push waiting, oldest first; deletes their events
    /// at most `batch` rows per transaction, then the runs themselves in one more. A run that
    /// got an event meanwhile is left for the next step. Queued, started and idle runs are never
    /// touched (they have no `finishedAt`).
    pub async fn purge_history(&self, before: Timestamp, batch: u32) -> StoreResult<Purged> {
        let batch = i64::from(batch.max(1));
        let ids: Vec<String> = {
            let mut tx = self.pools.read().await?;
            tx.fetch_all(
                "SELECT id FROM runs WHERE finished_at IS NOT NULL AND finished_at < $1 \
                 AND NOT EXISTS (SELECT 1 FROM pushes p WHERE p.run_id = runs.id) \
                 ORDER BY finished_at LIMIT $2",
                args![before, batch],
            )
            .await?
            .iter()
            .map(|row| row.text("id"))
            .collect::<StoreResult<_>>()?
        };
        let mut purged = Purged {
            candidates: ids.len() as u64,
            ..Purged::default()
        };
        if ids.is_empty() {
            return Ok(purged);
        }
        let placeholders = |first: usize| -> String {
            (first..first + ids.len())
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let id_args = || ids.iter().map(Arg::from).collect::<Vec<_>>();
        let delete_events = format!(
            "DELETE FROM events WHERE seq IN \
             (SELECT seq FROM events WHERE run_id IN ({}) LIMIT $1)",
            placeholders(2)
        );
        loop {
            let mut tx = self.pools.write().await?;
            let mut params = args![batch];
            params.extend(id_args());
            let deleted = tx.execute(&delete_events, params).await?;
            tx.commit().await?;
            purged.events += deleted;
            if deleted < batch as u64 {
                break;
            }
        }
        let mut tx = self.pools.write().await?;
        let mut params = args![before];
        params.extend(id_args());
        purged.runs = tx
            .execute(
                &format!(
                    "DELETE FROM runs WHERE id IN ({}) \
                     AND finished_at IS NOT NULL AND finished_at < $1 \
                     AND NOT EXISTS (SELECT 1 FROM events e WHERE e.run_id = runs.id) \
                     AND NOT EXISTS (SELECT 1 FROM pushes p WHERE p.run_id = runs.id)",
                    placeholders(2)
                ),
                params,
            )
            .await?;
        tx.execute("DELETE FROM run_counts WHERE n = 0", Vec::new())
            .await?;
        tx.commit().await?;
        Ok(purged)
    }

    /// Hands up to `max_pages` free pages of a SQLite file back to the file system
    /// (`PRAGMA incremental_vacuum`); returns how many it freed. Nothing to do on PostgreSQL
    /// (its autovacuum reuses the space), nor on a SQLite file created before incremental
    /// vacuum was turned on (its free pages are reused by later writes).
    pub async fn release_free_pages(&self, max_pages: u32) -> StoreResult<u64> {
        let Pools::Sqlite { write, .. } = &self.pools else {
            return Ok(0);
        };
        let before = self.file_pages().await?.map_or(0, |p| p.total);
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "PRAGMA incremental_vacuum({max_pages})"
        )))
        .execute(write)
        .await?;
        let after = self.file_pages().await?.map_or(0, |p| p.total);
        Ok(before.saturating_sub(after))
    }

    /// The pages of the SQLite file; `None` on PostgreSQL.
    pub async fn file_pages(&self) -> StoreResult<Option<FilePages>> {
        let Pools::Sqlite { write, .. } = &self.pools else {
            return Ok(None);
        };
        let pragma = |name: &'static str| async move {
            let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("PRAGMA {name}")))
                .fetch_one(write)
                .await?;
            u64::try_from(n).map_err(|_| StoreError::internal("a negative page count"))
        };
        Ok(Some(FilePages {
            total: pragma("page_count").await?,
            free: pragma("freelist_count").await?,
        }))
    }
}

//! Waking idle workers as soon as runs may be claimable, instead of at their next poll.
//!
//! Every change that makes a run claimable (a run created, fired by a schedule, released or
//! requeued) bumps a counter that workers watch. In one process (the embedded SQLite default,
//! or `serve` with every role) that is all it takes. On PostgreSQL the change also sends a
//! `NOTIFY` on [`CHANNEL`], and every store `LISTEN`s to it, so a worker process wakes when
//! another process queues a run. A missed notification only costs the poll interval: workers
//! still poll.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The PostgreSQL notification channel.
pub const CHANNEL: &str = "ingestion_runs_queued";

/// A counter bumped whenever runs may have become claimable: see the [module documentation](self).
#[derive(Debug, Clone)]
pub struct QueueSignal {
    sender: Arc<watch::Sender<u64>>,
    /// The PostgreSQL listener feeding this signal, stopped with the last clone.
    listener: Option<Arc<Listener>>,
}

impl QueueSignal {
    /// A signal bumped by this process only.
    pub(crate) fn local() -> Self {
        Self {
            sender: Arc::new(watch::channel(0).0),
            listener: None,
        }
    }

    /// A signal also bumped by the notifications of every process sharing `pool`'s database.
    pub(crate) fn listening(pool: PgPool) -> Self {
        let mut signal = Self::local();
        let weak = Arc::downgrade(&signal.sender);
        let task = tokio::spawn(async move {
            loop {
                let mut listener = match PgListener::connect_with(&pool).await {
                    Ok(listener) => listener,
                    Err(_) => {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                };
                if listener.listen(CHANNEL).await.is_err() {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
                // Runs queued while no listener was there are found by a claim attempt now.
                let Some(sender) = weak.upgrade() else {
                    return;
                };
                bump(&sender);
                drop(sender);
                while listener.recv().await.is_ok() {
                    let Some(sender) = weak.upgrade() else {
                        return;
                    };
                    bump(&sender);
                }
                // The connection was lost: reconnect, without spinning while the database is down.
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
        signal.listener = Some(Arc::new(Listener(task)));
        signal
    }

    /// Runs may have become claimable.
    pub(crate) fn bump(&self) {
        bump(&self.sender);
    }

    /// A receiver that sees every later bump (`changed()` resolves).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.sender.subscribe()
    }
}

fn bump(sender: &watch::Sender<u64>) {
    sender.send_modify(|count| *count = count.wrapping_add(1));
}

/// The listener task, aborted when dropped.
#[derive(Debug)]
struct Listener(JoinHandle<()>);

impl Drop for Listener {
    fn drop(&mut self) {
        self.0.abort();
    }
}

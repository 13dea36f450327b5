//! Waiting for Algolia's tasks while the run goes on: each accepted batch (and a `replace`'s
//! first copy) is polled as soon as Algolia gives its task, a bounded number at a time, so that
//! at the end of the run only the last tasks remain to be waited for. Polls are reads: they do
//! not take places in the concurrency window, which paces the writes.

use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::api::{IndexingApi, TaskId, WaitPolicy, wait_task};

/// What a task stood for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Watched {
    /// A batch.
    Batch,
    /// The copy of settings, synonyms and rules onto the temporary index.
    Copy,
}

/// The tasks being waited for.
#[derive(Debug)]
pub(super) struct TaskWatch {
    polls: JoinSet<Result<(), (Watched, String)>>,
    slots: Arc<Semaphore>,
    policy: WaitPolicy,
    /// The first poll that failed, reaped before the end of the run.
    failed: Option<(Watched, String)>,
}

impl TaskWatch {
    /// At most `concurrency` tasks polled at once, as `policy` says.
    pub fn new(concurrency: usize, policy: WaitPolicy) -> Self {
        Self {
            polls: JoinSet::new(),
            slots: Arc::new(Semaphore::new(concurrency.max(1))),
            policy,
            failed: None,
        }
    }

    /// Starts waiting for `task` on `index`.
    pub fn watch<A: IndexingApi + 'static>(
        &mut self,
        api: &Arc<A>,
        index: Arc<str>,
        task: TaskId,
        what: Watched,
    ) {
        self.reap_finished();
        let (api, slots, policy) = (api.clone(), self.slots.clone(), self.policy);
        self.polls.spawn(async move {
            // The semaphore is never closed; were it, the poll would go unbounded.
            let _slot = slots.acquire_owned().await.ok();
            wait_task(api.as_ref(), &index, task, policy)
                .await
                .map_err(|error| (what, error.to_string()))
        });
    }

    /// Drops the polls already over, keeping the first failure: a long run's finished polls
    /// would otherwise stay in memory until its end (about a kilobyte per batch).
    fn reap_finished(&mut self) {
        while let Some(joined) = self.polls.try_join_next() {
            if let Err(failed) = outcome(joined)
                && self.failed.is_none()
            {
                self.failed = Some(failed);
            }
        }
    }

    /// Waits until every task watched is published; the first that is not ends the wait (the
    /// others are abandoned).
    pub async fn all_published(&mut self) -> Result<(), (Watched, String)> {
        if let Some(failed) = self.failed.take() {
            self.polls.abort_all();
            return Err(failed);
        }
        while let Some(joined) = self.polls.join_next().await {
            if let Err(failed) = outcome(joined) {
                self.polls.abort_all();
                return Err(failed);
            }
        }
        Ok(())
    }
}

/// A poll's result, a poll that panicked or was cancelled included.
fn outcome(
    joined: Result<Result<(), (Watched, String)>, tokio::task::JoinError>,
) -> Result<(), (Watched, String)> {
    joined.unwrap_or_else(|error| {
        Err((
            Watched::Batch,
            format!("internal error: a poll ended abnormally: {error}"),
        ))
    })
}

//! The end of a run: wait for Algolia's tasks, then, for `replace`, move the temporary index into
//! place (only when the run succeeded) or delete it.

use futures::{StreamExt, TryStreamExt};
use ingest_model::{EventStatus, EventType, RunEvent};
use serde_json::json;

use super::summary::Ending;
use super::{PushMode, RunState};
use crate::AlgoliaError;
use crate::api::{BatchResponse, IndexingApi, Operation, Scope, TaskId, TaskStatus, wait_task};
use crate::concurrency::{ConcurrencyWindow, Pacer, signal_of};

impl<A: IndexingApi + 'static> RunState<'_, A> {
    /// Decides how the run ends, doing the last calls.
    pub(super) async fn finish(&mut self) -> Ending {
        let unrecorded = self
            .counts
            .rejected
            .saturating_sub(self.settings.max_rejection_events as u64);
        if unrecorded > 0 {
            self.log(format!(
                "{unrecorded} more rejected records were not recorded as events (the first {} were)",
                self.settings.max_rejection_events
            ));
        }
        let ending = if let Some(reason) = self.failure.take() {
            Ending::Failed(reason)
        } else if self.counts.over_threshold(self.plan.failure_threshold) {
            Ending::TooManyErrors
        } else if self.counts.pushed == 0 {
            Ending::NothingPushed
        } else {
            let done = match self.plan.mode {
                PushMode::Save => self.wait_batch_tasks().await.map_err(|error| {
                    format!("waiting for Algolia to apply the batches failed: {error}")
                }),
                PushMode::Replace => self.move_into_place().await,
            };
            match done {
                Ok(()) => return Ending::Completed,
                Err(reason) => Ending::Failed(reason),
            }
        };
        if self.plan.mode == PushMode::Replace && self.copy_task.is_some() {
            self.delete_temporary_index().await;
        }
        ending
    }

    /// Waits for every batch task, each poll under a permit of the window.
    async fn wait_batch_tasks(&self) -> Result<(), AlgoliaError> {
        let api = Paced {
            api: &**self.api,
            window: self.window,
        };
        let api = &api;
        let policy = self.settings.wait;
        let index = &*self.target;
        futures::stream::iter(self.tasks.iter().copied())
            .map(|task| wait_task(api, index, task, policy))
            .buffer_unordered(self.settings.window().max)
            .try_collect::<Vec<()>>()
            .await
            .map(|_| ())
    }

    /// `replace`, steps 3 to 5: wait every batch and the first copy, copy again, move, wait.
    async fn move_into_place(&self) -> Result<(), String> {
        let api = &**self.api;
        let policy = self.settings.wait;
        let tmp = &*self.target;
        let index = &self.plan.index;
        self.wait_batch_tasks()
            .await
            .map_err(|e| format!("waiting for Algolia to apply the batches failed: {e}"))?;
        if let Some(copy) = self.copy_task {
            wait_task(api, tmp, copy, policy)
                .await
                .map_err(|e| format!("copying the settings of `{index}` failed: {e}"))?;
        }
        let copy = Operation::Copy {
            destination: tmp.to_owned(),
            scope: Scope::ALL.to_vec(),
        };
        let again = api
            .operation(index, &copy)
            .await
            .map_err(|e| format!("copying the settings of `{index}` failed: {e}"))?;
        wait_task(api, tmp, again, policy)
            .await
            .map_err(|e| format!("copying the settings of `{index}` failed: {e}"))?;
        let moving = Operation::Move {
            destination: index.clone(),
        };
        let moved = api
            .operation(tmp, &moving)
            .await
            .map_err(|e| format!("moving `{tmp}` onto `{index}` failed: {e}"))?;
        wait_task(api, tmp, moved, policy)
            .await
            .map_err(|e| format!("moving `{tmp}` onto `{index}` failed: {e}"))?;
        self.log(format!("temporary index `{tmp}` moved onto `{index}`"));
        Ok(())
    }

    async fn delete_temporary_index(&self) {
        let tmp = &*self.target;
        match self.api.delete_index(tmp).await {
            Ok(_) => self.log(format!(
                "temporary index `{tmp}` deleted; `{}` was left as it was",
                self.plan.index
            )),
            Err(error) => {
                tracing::warn!(index = %tmp, %error, "deleting the temporary index failed");
                self.recorder.event(RunEvent::new(
                    EventType::Log,
                    EventStatus::Failed,
                    0,
                    json!({ "message": format!(
                        "deleting the temporary index `{tmp}` failed ({error}); delete it by hand. `{}` was left as it was",
                        self.plan.index
                    ) }),
                ));
            }
        }
    }
}

/// An [`IndexingApi`] whose task polls go through the window (the other calls pass through).
struct Paced<'a, A> {
    api: &'a A,
    window: &'a std::sync::Arc<ConcurrencyWindow>,
}

impl<A: IndexingApi> IndexingApi for Paced<'_, A> {
    async fn batch(
        &self,
        index: &str,
        body: bytes::Bytes,
        idempotent: bool,
    ) -> Result<BatchResponse, AlgoliaError> {
        self.api.batch(index, body, idempotent).await
    }

    async fn operation(&self, index: &str, operation: &Operation) -> Result<TaskId, AlgoliaError> {
        self.api.operation(index, operation).await
    }

    async fn task_status(&self, index: &str, task_id: TaskId) -> Result<TaskStatus, AlgoliaError> {
        let permit = self.window.acquire().await;
        let status = self.api.task_status(index, task_id).await;
        // A poll's RTT is not a batch's: only its failures count.
        permit.observe(signal_of(status.as_ref().map(|_| &[][..]), None));
        status
    }

    async fn delete_index(&self, index: &str) -> Result<TaskId, AlgoliaError> {
        self.api.delete_index(index).await
    }
}

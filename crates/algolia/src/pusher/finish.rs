//! The end of a run: wait for the Algolia tasks still unpublished, then, for `replace`, move the
//! temporary index into place (only when the run succeeded) or delete it.

use ingest_model::{EventStatus, EventType, RunEvent};
use serde_json::json;

use super::summary::Ending;
use super::tasks::Watched;
use super::{PushMode, RunState};
use crate::api::{IndexingApi, Operation, Scope, wait_task};

impl<A: IndexingApi + 'static> RunState<'_, A> {
    /// Decides how the run ends, doing the last calls.
    pub(super) async fn finish(&mut self) -> Ending {
        let ending = match self.ending_before_wait() {
            Some(ending) => ending,
            None => {
                let done = match self.plan.mode {
                    PushMode::Save
                    | PushMode::PartialNoCreate
                    | PushMode::Append
                    | PushMode::Update => self.wait_tasks().await,
                    PushMode::Replace => self.move_into_place().await,
                };
                match done {
                    Ok(()) => return Ending::Completed,
                    Err(reason) => Ending::Failed(reason),
                }
            }
        };
        if self.plan.mode == PushMode::Replace && self.copy_task.is_some() {
            self.delete_temporary_index().await;
        }
        ending
    }

    /// How the run ends when every batch is sent, if it already ends there (a failure, too many
    /// rejections, nothing pushed); `None` when its tasks are to be waited for.
    pub(super) fn ending_before_wait(&mut self) -> Option<Ending> {
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
        if let Some(reason) = self.failure.take() {
            Some(Ending::Failed(reason))
        } else if self.counts.over_threshold(self.plan.failure_threshold) {
            Some(Ending::TooManyErrors)
        } else if self.counts.pushed == 0 {
            Some(Ending::NothingPushed)
        } else {
            None
        }
    }

    /// Waits for every task watched (the batches', and a `replace`'s first copy).
    async fn wait_tasks(&mut self) -> Result<(), String> {
        self.tasks
            .all_published()
            .await
            .map_err(|(what, error)| unpublished(what, error, &self.plan.index))
    }

    /// `replace`, steps 3 to 5: wait every batch and the first copy, copy again, move, wait.
    async fn move_into_place(&mut self) -> Result<(), String> {
        self.wait_tasks().await?;
        let api = &**self.api;
        let policy = self.settings.wait;
        let tmp = &*self.target;
        let index = &self.plan.index;
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

/// The reason of a run whose task `what` was not published.
pub(super) fn unpublished(what: Watched, error: String, index: &str) -> String {
    match what {
        Watched::Batch => format!("waiting for Algolia to apply the batches failed: {error}"),
        Watched::Copy => format!("copying the settings of `{index}` failed: {error}"),
    }
}

//! Runs the reaper failed for good (their worker stopped responding on every attempt): a
//! `replace` run may have left its temporary index behind, and nothing else will delete it.
//!
//! The reaper hands each such run to [`Engine::clean_up_abandoned`], which loads the run's task,
//! source, destination and credentials as an execution would, deletes the temporary index of
//! each attempt (`{index}_tmp_{runID}_{attempt}`) for every index the run wrote (one per locale for
//! a per-locale commercetools run), and records a `log` event saying so. The production index is
//! never touched.

use ingest_algolia::{HttpIndexingApi, IndexingApi, attempt_suffix, temporary_index};
use ingest_model::{ActionType, DestinationType, EventStatus, EventType};
use ingest_store::NewEvent;
use serde_json::{Map, Value};

use crate::Engine;
use crate::execute::indices;

impl Engine {
    /// Deletes the temporary indices the `attempts` attempts of an abandoned `replace` run may
    /// have left, and says so in a `log` event of the run. Problems are logged, not returned: the
    /// run is already finished.
    pub async fn clean_up_abandoned(&self, app: &str, run_id: &str, attempts: u32) {
        match self.delete_temporary_indices(app, run_id, attempts).await {
            Ok(deleted) if deleted.is_empty() => {}
            Ok(deleted) => {
                let message = format!(
                    "temporary index(es) {} of the abandoned run deleted; production untouched",
                    deleted.join(", ")
                );
                tracing::info!(run_id, "{message}");
                self.log_event(app, run_id, EventStatus::Succeeded, message)
                    .await;
            }
            Err(reason) => {
                let message = format!(
                    "the temporary index of the abandoned run could not be deleted ({reason}); \
                     delete `<index>_tmp_{run_id}_<attempt>` by hand"
                );
                tracing::warn!(run_id, "{message}");
                self.log_event(app, run_id, EventStatus::Failed, message)
                    .await;
            }
        }
    }

    /// The temporary indices deleted (none for a `save` run or a non-search destination).
    async fn delete_temporary_indices(
        &self,
        app: &str,
        run_id: &str,
        attempts: u32,
    ) -> Result<Vec<String>, String> {
        let store = self.store();
        let run = store
            .get_run(app, run_id)
            .await
            .map_err(|e| e.to_string())?;
        let task = store
            .get_task(app, &run.task_id)
            .await
            .map_err(|e| e.to_string())?;
        if task.action != ActionType::Replace {
            return Ok(Vec::new());
        }
        let resources = self
            .load_task_resources(app, &task)
            .await
            .map_err(|e| e.to_string())?;
        if resources.destination.destination_type != DestinationType::Search {
            return Ok(Vec::new());
        }
        let indices = indices(
            &resources.source.input,
            &resources.destination.input,
            &resources.source.name,
        );
        let transport = resources
            .algolia
            .transport(self.settings().algolia.clone())
            .map_err(|e| e.to_string())?;
        let api = HttpIndexingApi::new(transport);
        let mut deleted = Vec::new();
        for index in indices {
            for attempt in 1..=attempts {
                let temporary = temporary_index(&index, &attempt_suffix(run_id, attempt));
                api.delete_index(&temporary)
                    .await
                    .map_err(|e| format!("deleting `{temporary}`: {e}"))?;
                deleted.push(format!("`{temporary}`"));
            }
        }
        Ok(deleted)
    }

    async fn log_event(&self, app: &str, run_id: &str, status: EventStatus, message: String) {
        let mut data = Map::new();
        data.insert("message".into(), Value::String(message));
        let event = NewEvent {
            parent_id: None,
            status,
            event_type: EventType::Log,
            data: Some(data),
            batch_size: 0,
            published_at: self.clock().now(),
        };
        if let Err(error) = self.store().insert_events(app, run_id, &[event]).await {
            tracing::warn!(run_id, %error, "could not record the clean-up of an abandoned run");
        }
    }
}

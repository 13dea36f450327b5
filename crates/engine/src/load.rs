//! Loading a task's resources as a run needs them: its source and destination, the destination's
//! Algolia credentials and the source's authentication, decrypted. Executions and the clean-up
//! of abandoned runs both load through [`Engine::load_task_resources`], so they agree on what a
//! usable task is and on the words that say why one is not.

use ingest_algolia::AlgoliaCredentials;
use ingest_model::{AuthInput, Destination, DestinationType, Source, Task, TransformationInput};
use ingest_store::{StoreError, TransformationWithSecrets};

use crate::Engine;
use crate::transformation::{TransformationBody, TransformationSpec};

/// A stored transformation as a run applies it.
pub(crate) fn spec_of(stored: TransformationWithSecrets) -> TransformationSpec {
    let TransformationWithSecrets {
        transformation,
        secrets,
    } = stored;
    let body = match transformation.input {
        TransformationInput::NoCode { steps } => {
            TransformationBody::NoCode(serde_json::Value::Array(steps))
        }
        TransformationInput::Code { code } => TransformationBody::Code(code),
    };
    TransformationSpec {
        id: transformation.transformation_id,
        name: transformation.name,
        body,
        secrets,
    }
}

/// A task's resources, loaded and checked.
pub(crate) struct TaskResources {
    /// The task's source.
    pub source: Source,
    /// The task's destination.
    pub destination: Destination,
    /// The credentials the destination writes with.
    pub algolia: AlgoliaCredentials,
    /// The source's authentication, decrypted, when it has one.
    pub source_auth: Option<AuthInput>,
    /// The destination's transformation, with its secrets, when it has one.
    pub transformation: Option<TransformationSpec>,
}

/// Why a task's resources cannot be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LoadError {
    /// A resource is gone or unusable: the run fails with this reason.
    #[error("{0}")]
    Unusable(String),
    /// The store failed: the run can be retried later.
    #[error("the store failed: {0}")]
    Store(#[source] StoreError),
}

/// A store error while loading `what` (`id`): a gone resource makes the task unusable, an outage
/// stays a store error.
fn gone(what: &'static str, id: &str) -> impl FnOnce(StoreError) -> LoadError {
    move |error| match error {
        StoreError::NotFound { .. } => LoadError::Unusable(format!(
            "the task's {what} `{id}` no longer exists: update or delete the task"
        )),
        other => LoadError::Store(other),
    }
}

impl Engine {
    /// Loads `task`'s source, destination and credentials in application `app`.
    pub(crate) async fn load_task_resources(
        &self,
        app: &str,
        task: &Task,
    ) -> Result<TaskResources, LoadError> {
        let store = self.store();
        let source = store
            .get_source(app, &task.source_id)
            .await
            .map_err(gone("source", &task.source_id))?;
        let destination = store
            .get_destination(app, &task.destination_id)
            .await
            .map_err(gone("destination", &task.destination_id))?;
        match destination.destination_type {
            DestinationType::Search | DestinationType::Insights => {}
            other => {
                return Err(LoadError::Unusable(format!(
                    "`{}` destinations are not supported by this engine: use a `search` destination",
                    other.as_str()
                )));
            }
        }
        let Some(auth_id) = destination.authentication_id.as_deref() else {
            return Err(LoadError::Unusable(
                "the destination has no authentication: give it an `algolia` authentication (appID, apiKey)".into(),
            ));
        };
        let credentials = store
            .authentication_with_secrets(app, auth_id)
            .await
            .map_err(gone("destination authentication", auth_id))?;
        let Some(algolia) = AlgoliaCredentials::from_auth(&credentials.input) else {
            return Err(LoadError::Unusable(
                "the destination's authentication is not of type `algolia`".into(),
            ));
        };
        let source_auth = match source.authentication_id.as_deref() {
            None => None,
            Some(id) => Some(
                store
                    .authentication_with_secrets(app, id)
                    .await
                    .map_err(gone("source authentication", id))?
                    .input,
            ),
        };
        let transformation = match destination.transformation_ids.first() {
            None => None,
            Some(id) => Some(spec_of(
                store
                    .transformation_with_secrets(app, id)
                    .await
                    .map_err(gone("destination's transformation", id))?,
            )),
        };
        Ok(TaskResources {
            source,
            destination,
            algolia,
            source_auth,
            transformation,
        })
    }
}

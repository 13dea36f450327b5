//! Source validation (`docs/api.md` D6): the source a `validate` call reads, checked as a create
//! or an update of it would be but never saved, and the finished run of type `validate` it
//! leaves. Such a run belongs to no task (its `taskID` reads as `""`).

use ingest_model::{
    AuthInput, Event, Run, RunOutcome, SourceCreate, SourceInput, SourceType, SourceUpdate,
    Timestamp,
};

use crate::StoreResult;
use crate::authentications::input_with_secrets;
use crate::db::{args, new_id};
use crate::runs::{NewEvent, append_events, fetch, run};
use crate::sources_destinations::{SOURCES, check_source_auth, source};
use crate::store::Store;

/// A source to read for validation: its type, its input and its authentication's full input.
#[derive(Debug)]
pub struct SourceToValidate {
    /// `type`.
    pub source_type: SourceType,
    /// `input`.
    pub input: SourceInput,
    /// The authentication's input, secrets included, when the source has one.
    pub authentication: Option<AuthInput>,
}

/// How a validation ended, to record as its run.
#[derive(Debug)]
pub struct FinishedValidation<'a> {
    /// `success` when records could be read, `failure` otherwise.
    pub outcome: RunOutcome,
    /// Why it failed, or what it read.
    pub reason: &'a str,
    /// What the reading reported (fetches, rejected records, the failure).
    pub events: &'a [NewEvent],
}

impl Store {
    /// `POST /1/sources/validate`: the source `create` describes, its authentication checked as a
    /// create checks it (same application, a kind the source type accepts).
    pub async fn source_to_validate(
        &self,
        app: &str,
        create: &SourceCreate,
    ) -> StoreResult<SourceToValidate> {
        let mut tx = self.pools.read().await?;
        let auth_id = create.authentication_id.as_ref();
        check_source_auth(&mut tx, app, create.source_type, auth_id).await?;
        let authentication = match auth_id {
            Some(id) => Some(input_with_secrets(&mut tx, &self.key, app, id).await?),
            None => None,
        };
        Ok(SourceToValidate {
            source_type: create.source_type,
            input: create.input.clone(),
            authentication,
        })
    }

    /// `POST /1/sources/{id}/validate`: source `id` with `update` applied as a PATCH would apply
    /// it, without saving anything.
    pub async fn updated_source_to_validate(
        &self,
        app: &str,
        id: &str,
        update: &SourceUpdate,
    ) -> StoreResult<SourceToValidate> {
        let mut tx = self.pools.read().await?;
        let stored = source(&SOURCES.fetch(&mut tx, app, id, "").await?)?;
        let kind = stored.source_type;
        check_source_auth(&mut tx, app, kind, update.authentication_id.as_ref()).await?;
        let input = match update.parse_input(kind)? {
            Some(change) => stored
                .input
                .updated(change)
                .map_err(|e| e.prefixed("input"))?,
            None => stored.input,
        };
        let auth_id = update
            .authentication_id
            .as_ref()
            .or(stored.authentication_id.as_ref());
        let authentication = match auth_id {
            Some(id) => Some(input_with_secrets(&mut tx, &self.key, app, id).await?),
            None => None,
        };
        Ok(SourceToValidate {
            source_type: kind,
            input,
            authentication,
        })
    }

    /// Records a validation as a finished run of type `validate` with its events, in one
    /// transaction.
    pub async fn record_validation(
        &self,
        app: &str,
        finished: &FinishedValidation<'_>,
        now: Timestamp,
    ) -> StoreResult<(Run, Vec<Event>)> {
        let id = new_id();
        let mut tx = self.pools.write().await?;
        tx.execute(
            "INSERT INTO runs (id, app_id, task_id, status, type, outcome, reason, \
             created_at, updated_at, started_at, finished_at) \
             VALUES ($1, $2, NULL, 'finished', 'validate', $3, $4, $5, $5, $5, $5)",
            args![&id, app, finished.outcome.as_str(), finished.reason, now],
        )
        .await?;
        let events: Vec<Event> = append_events(&mut tx, app, &id, finished.events).await?;
        let stored = run(&fetch(&mut tx, app, &id).await?)?;
        tx.commit().await?;
        Ok((stored, events))
    }
}

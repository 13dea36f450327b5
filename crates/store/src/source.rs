//! Sources: a connector input, optionally with an authentication of the kind the connector
//! needs.

use ingest_model::{Source, SourceCreate, SourceInput, SourceType, SourceUpdate, Timestamp};

use crate::backend::Inner;
use crate::connector_table::{Listing, NewRow, SOURCES};
use crate::db::{Tx, args, new_id};
use crate::rows::source;
use crate::{Page, SourceQuery, StoreError, StoreResult, auth};

fn input_json(input: &SourceInput) -> StoreResult<String> {
    serde_json::to_string(input).map_err(|_| StoreError::internal("cannot serialize an input"))
}

async fn check_auth(
    tx: &mut Tx,
    app: &str,
    kind: SourceType,
    id: Option<&String>,
) -> StoreResult<()> {
    match id {
        Some(id) => {
            let user = format!("{kind} source");
            auth::check_reference(tx, app, id, auth::kind_for_source(kind), &user).await
        }
        None => Ok(()),
    }
}

pub(crate) async fn create(
    inner: &Inner,
    app: &str,
    input: &SourceCreate,
    now: Timestamp,
) -> StoreResult<Source> {
    let mut tx = inner.pools.write().await?;
    check_auth(
        &mut tx,
        app,
        input.source_type,
        input.authentication_id.as_ref(),
    )
    .await?;
    let row = NewRow {
        kind: input.source_type.as_str(),
        name: &input.name,
        input: input_json(&input.input)?,
        authentication_id: input.authentication_id.clone(),
    };
    let created = SOURCES.insert(&mut tx, app, &new_id(), row, now).await?;
    tx.commit().await?;
    Ok(created)
}

pub(crate) async fn get(inner: &Inner, app: &str, id: &str) -> StoreResult<Source> {
    SOURCES.get(inner, app, id).await
}

pub(crate) async fn list(
    inner: &Inner,
    app: &str,
    query: &SourceQuery,
) -> StoreResult<Page<Source>> {
    let listing = Listing {
        types: query.types.iter().map(|t| t.as_str()).collect(),
        authentication_ids: &query.authentication_ids,
        sort: query.sort,
        order: query.order,
        page: &query.page,
    };
    SOURCES.list(inner, app, listing).await
}

pub(crate) async fn search_ids(
    inner: &Inner,
    app: &str,
    ids: &[String],
) -> StoreResult<Vec<Source>> {
    SOURCES.search_ids(inner, app, ids).await
}

pub(crate) async fn update(
    inner: &Inner,
    app: &str,
    id: &str,
    update: &SourceUpdate,
    now: Timestamp,
) -> StoreResult<Source> {
    let mut tx = inner.pools.write().await?;
    let lock = tx.for_update();
    let stored = source(&SOURCES.fetch(&mut tx, app, id, lock).await?)?;
    check_auth(
        &mut tx,
        app,
        stored.source_type,
        update.authentication_id.as_ref(),
    )
    .await?;
    let input = match update.parse_input(stored.source_type)? {
        Some(change) => {
            let merged = stored
                .input
                .clone()
                .updated(change)
                .map_err(|e| e.prefixed("input"))?;
            if !merged.provides_object_ids()
                && let Some(task) = crate::task::first_save_user(&mut tx, id).await?
            {
                return Err(ingest_model::ValidationError::new(
                    "input.uniqueIDColumn",
                    format!("required: task `{task}` saves records from this source by objectID"),
                )
                .into());
            }
            Some(input_json(&merged)?)
        }
        None => None,
    };
    tx.execute(
        "UPDATE sources SET name = COALESCE($1, name), input = COALESCE($2, input), \
         authentication_id = COALESCE($3, authentication_id), updated_at = $4 WHERE id = $5",
        args![
            update.name.clone(),
            input,
            update.authentication_id.clone(),
            now,
            id
        ],
    )
    .await?;
    let updated = SOURCES.fetch_resource(&mut tx, app, id).await?;
    tx.commit().await?;
    Ok(updated)
}

pub(crate) async fn delete(inner: &Inner, app: &str, id: &str, now: Timestamp) -> StoreResult<()> {
    SOURCES.delete(inner, app, id, now).await
}

/// Checks, inside a write transaction, that `id` is a live source of `app` (the `sourceID` of
/// a task) and returns it, locked against a concurrent delete until commit.
pub(crate) async fn reference(tx: &mut Tx, app: &str, id: &str) -> StoreResult<Source> {
    SOURCES.reference(tx, app, id).await
}

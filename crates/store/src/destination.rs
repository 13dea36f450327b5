//! Destinations: an index name or prefix, optionally with an `algolia` authentication.

use ingest_model::{
    AuthenticationType, Destination, DestinationCreate, DestinationInput, DestinationUpdate,
    Timestamp,
};

use crate::backend::Inner;
use crate::connector_table::{DESTINATIONS, Listing, NewRow};
use crate::db::{Tx, args, new_id};
use crate::{DestinationQuery, Page, StoreError, StoreResult, auth};

fn input_json(input: &DestinationInput) -> StoreResult<String> {
    serde_json::to_string(input).map_err(|_| StoreError::internal("cannot serialize an input"))
}

async fn check_auth(tx: &mut Tx, app: &str, id: Option<&String>) -> StoreResult<()> {
    match id {
        Some(id) => {
            auth::check_reference(
                tx,
                app,
                id,
                Some(AuthenticationType::Algolia),
                "destination",
            )
            .await
        }
        None => Ok(()),
    }
}

pub(crate) async fn create(
    inner: &Inner,
    app: &str,
    input: &DestinationCreate,
    now: Timestamp,
) -> StoreResult<Destination> {
    let mut tx = inner.pools.write().await?;
    check_auth(&mut tx, app, input.authentication_id.as_ref()).await?;
    let row = NewRow {
        kind: input.destination_type.as_str(),
        name: &input.name,
        input: input_json(&input.input)?,
        authentication_id: input.authentication_id.clone(),
    };
    let created = DESTINATIONS
        .insert(&mut tx, app, &new_id(), row, now)
        .await?;
    tx.commit().await?;
    Ok(created)
}

pub(crate) async fn get(inner: &Inner, app: &str, id: &str) -> StoreResult<Destination> {
    DESTINATIONS.get(inner, app, id).await
}

pub(crate) async fn list(
    inner: &Inner,
    app: &str,
    query: &DestinationQuery,
) -> StoreResult<Page<Destination>> {
    let listing = Listing {
        types: query.types.iter().map(|t| t.as_str()).collect(),
        authentication_ids: &query.authentication_ids,
        sort: query.sort,
        order: query.order,
        page: &query.page,
    };
    DESTINATIONS.list(inner, app, listing).await
}

pub(crate) async fn search_ids(
    inner: &Inner,
    app: &str,
    ids: &[String],
) -> StoreResult<Vec<Destination>> {
    DESTINATIONS.search_ids(inner, app, ids).await
}

pub(crate) async fn update(
    inner: &Inner,
    app: &str,
    id: &str,
    update: &DestinationUpdate,
    now: Timestamp,
) -> StoreResult<Destination> {
    let mut tx = inner.pools.write().await?;
    let lock = tx.for_update();
    DESTINATIONS.fetch(&mut tx, app, id, lock).await?;
    check_auth(&mut tx, app, update.authentication_id.as_ref()).await?;
    let input = update.input.as_ref().map(input_json).transpose()?;
    tx.execute(
        "UPDATE destinations SET type = COALESCE($1, type), name = COALESCE($2, name), \
         input = COALESCE($3, input), authentication_id = COALESCE($4, authentication_id), \
         updated_at = $5 WHERE id = $6",
        args![
            update.destination_type.map(|t| t.as_str()),
            update.name.clone(),
            input,
            update.authentication_id.clone(),
            now,
            id
        ],
    )
    .await?;
    let updated = DESTINATIONS.fetch_resource(&mut tx, app, id).await?;
    tx.commit().await?;
    Ok(updated)
}

pub(crate) async fn delete(inner: &Inner, app: &str, id: &str, now: Timestamp) -> StoreResult<()> {
    DESTINATIONS.delete(inner, app, id, now).await
}

/// Checks, inside a write transaction, that `id` is a live destination of `app` (the
/// `destinationID` of a task), locking it against a concurrent delete until commit.
pub(crate) async fn check_reference(tx: &mut Tx, app: &str, id: &str) -> StoreResult<()> {
    DESTINATIONS.reference(tx, app, id).await.map(|_| ())
}

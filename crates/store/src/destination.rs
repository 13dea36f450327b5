//! Destinations: an index name or prefix, optionally with an `algolia` authentication.

use ingest_model::{
    AuthenticationType, Destination, DestinationCreate, DestinationInput, DestinationUpdate,
    Timestamp,
};

use crate::backend::Inner;
use crate::db::{Row, Tx, args, new_id};
use crate::filter::{Where, order_by, page, search};
use crate::rows::{DESTINATION_COLUMNS, destination};
use crate::{DestinationQuery, NO_AUTHENTICATION, Page, Resource, StoreError, StoreResult, auth};

async fn fetch(tx: &mut Tx, app: &str, id: &str, lock: &str) -> StoreResult<Row> {
    tx.fetch_optional(
        &format!(
            "SELECT {DESTINATION_COLUMNS} FROM destinations \
             WHERE app_id = $1 AND id = $2 AND deleted_at IS NULL{lock}"
        ),
        args![app, id],
    )
    .await?
    .ok_or_else(|| StoreError::not_found(Resource::Destination, id))
}

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
    let id = new_id();
    let mut tx = inner.pools.write().await?;
    check_auth(&mut tx, app, input.authentication_id.as_ref()).await?;
    tx.execute(
        "INSERT INTO destinations \
         (id, app_id, type, name, input, authentication_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        args![
            &id,
            app,
            input.destination_type.as_str(),
            &input.name,
            input_json(&input.input)?,
            input.authentication_id.clone(),
            now
        ],
    )
    .await?;
    let row = fetch(&mut tx, app, &id, "").await?;
    tx.commit().await?;
    destination(&row)
}

pub(crate) async fn get(inner: &Inner, app: &str, id: &str) -> StoreResult<Destination> {
    let mut tx = inner.pools.read().await?;
    destination(&fetch(&mut tx, app, id, "").await?)
}

pub(crate) async fn list(
    inner: &Inner,
    app: &str,
    query: &DestinationQuery,
) -> StoreResult<Page<Destination>> {
    use ingest_model::ResourceSortKeys as K;
    let mut filter = Where::app(app, true);
    filter.any_of("type", query.types.iter().map(|t| t.as_str()));
    filter.any_of_or_null(
        "authentication_id",
        query.authentication_ids.iter().map(String::as_str),
        Some(NO_AUTHENTICATION),
    );
    let sort = match query.sort {
        K::Name => "name",
        K::Type => "type",
        K::UpdatedAt => "updated_at",
        K::CreatedAt => "created_at",
    };
    let mut tx = inner.pools.read().await?;
    let (rows, pagination) = page(
        &mut tx,
        "destinations",
        DESTINATION_COLUMNS,
        filter,
        &order_by(sort, query.order),
        &query.page,
    )
    .await?;
    let items = rows.iter().map(destination).collect::<StoreResult<_>>()?;
    Ok(Page { items, pagination })
}

pub(crate) async fn search_ids(
    inner: &Inner,
    app: &str,
    ids: &[String],
) -> StoreResult<Vec<Destination>> {
    let mut tx = inner.pools.read().await?;
    search(&mut tx, "destinations", DESTINATION_COLUMNS, app, ids)
        .await?
        .iter()
        .map(|(_, row)| destination(row))
        .collect()
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
    fetch(&mut tx, app, id, lock).await?;
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
    let row = fetch(&mut tx, app, id, "").await?;
    tx.commit().await?;
    destination(&row)
}

pub(crate) async fn delete(inner: &Inner, app: &str, id: &str, now: Timestamp) -> StoreResult<()> {
    let mut tx = inner.pools.write().await?;
    let lock = tx.for_update();
    fetch(&mut tx, app, id, lock).await?;
    if let Some(task) = crate::task::first_user(&mut tx, "destination_id", id).await? {
        return Err(StoreError::InUse {
            resource: Resource::Destination,
            id: id.to_owned(),
            used_by: Resource::Task,
            user_id: task,
        });
    }
    tx.execute(
        "UPDATE destinations SET deleted_at = $1 WHERE id = $2",
        args![now, id],
    )
    .await?;
    tx.commit().await
}

/// Checks, inside a write transaction, that `id` is a live destination of `app` (the
/// `destinationID` of a task), locking it against a concurrent delete until commit.
pub(crate) async fn check_reference(tx: &mut Tx, app: &str, id: &str) -> StoreResult<()> {
    let lock = tx.for_share();
    match fetch(tx, app, id, lock).await {
        Ok(_) => Ok(()),
        Err(StoreError::NotFound { .. }) => Err(StoreError::missing_reference(
            "destinationID",
            Resource::Destination,
            id,
        )),
        Err(e) => Err(e),
    }
}

//! Sources: a connector input, optionally with an authentication of the kind the connector
//! needs.

use ingest_model::{Source, SourceCreate, SourceInput, SourceType, SourceUpdate, Timestamp};

use crate::backend::Inner;
use crate::db::{Row, Tx, args, new_id};
use crate::filter::{Where, order_by, page, search};
use crate::rows::{SOURCE_COLUMNS, source};
use crate::{NO_AUTHENTICATION, Page, Resource, SourceQuery, StoreError, StoreResult, auth};

async fn fetch(tx: &mut Tx, app: &str, id: &str, lock: &str) -> StoreResult<Row> {
    tx.fetch_optional(
        &format!(
            "SELECT {SOURCE_COLUMNS} FROM sources \
             WHERE app_id = $1 AND id = $2 AND deleted_at IS NULL{lock}"
        ),
        args![app, id],
    )
    .await?
    .ok_or_else(|| StoreError::not_found(Resource::Source, id))
}

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
    let id = new_id();
    let mut tx = inner.pools.write().await?;
    check_auth(
        &mut tx,
        app,
        input.source_type,
        input.authentication_id.as_ref(),
    )
    .await?;
    tx.execute(
        "INSERT INTO sources \
         (id, app_id, type, name, input, authentication_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        args![
            &id,
            app,
            input.source_type.as_str(),
            &input.name,
            input_json(&input.input)?,
            input.authentication_id.clone(),
            now
        ],
    )
    .await?;
    let row = fetch(&mut tx, app, &id, "").await?;
    tx.commit().await?;
    source(&row)
}

pub(crate) async fn get(inner: &Inner, app: &str, id: &str) -> StoreResult<Source> {
    let mut tx = inner.pools.read().await?;
    source(&fetch(&mut tx, app, id, "").await?)
}

pub(crate) async fn list(
    inner: &Inner,
    app: &str,
    query: &SourceQuery,
) -> StoreResult<Page<Source>> {
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
        "sources",
        SOURCE_COLUMNS,
        filter,
        &order_by(sort, query.order),
        &query.page,
    )
    .await?;
    let items = rows.iter().map(source).collect::<StoreResult<_>>()?;
    Ok(Page { items, pagination })
}

pub(crate) async fn search_ids(
    inner: &Inner,
    app: &str,
    ids: &[String],
) -> StoreResult<Vec<Source>> {
    let mut tx = inner.pools.read().await?;
    search(&mut tx, "sources", SOURCE_COLUMNS, app, ids)
        .await?
        .iter()
        .map(|(_, row)| source(row))
        .collect()
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
    let stored = source(&fetch(&mut tx, app, id, lock).await?)?;
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
    let row = fetch(&mut tx, app, id, "").await?;
    tx.commit().await?;
    source(&row)
}

pub(crate) async fn delete(inner: &Inner, app: &str, id: &str, now: Timestamp) -> StoreResult<()> {
    let mut tx = inner.pools.write().await?;
    let lock = tx.for_update();
    fetch(&mut tx, app, id, lock).await?;
    if let Some(task) = crate::task::first_user(&mut tx, "source_id", id).await? {
        return Err(StoreError::InUse {
            resource: Resource::Source,
            id: id.to_owned(),
            used_by: Resource::Task,
            user_id: task,
        });
    }
    tx.execute(
        "UPDATE sources SET deleted_at = $1 WHERE id = $2",
        args![now, id],
    )
    .await?;
    tx.commit().await
}

/// Checks, inside a write transaction, that `id` is a live source of `app` (the `sourceID` of
/// a task) and returns it, locked against a concurrent delete until commit.
pub(crate) async fn reference(tx: &mut Tx, app: &str, id: &str) -> StoreResult<Source> {
    let lock = tx.for_share();
    match fetch(tx, app, id, lock).await {
        Ok(row) => source(&row),
        Err(StoreError::NotFound { .. }) => Err(StoreError::missing_reference(
            "sourceID",
            Resource::Source,
            id,
        )),
        Err(e) => Err(e),
    }
}

//! Sources and destinations: rows of `(type, name, input, authentication_id)` owned by an
//! application, soft-deleted, listed with the same filters and referred to by tasks. A
//! destination also names the transformation it applies, if any (`transformation_id`).
//!
//! What the two share (reading, listing, searching, deleting, being referred to) is written once,
//! over a [`Table`] that says which table and how its rows become resources; creating and
//! updating differ (the authentication each accepts, what an update may change) and are written
//! for each.

use ingest_model::{
    AuthenticationType, Destination, DestinationCreate, DestinationInput, DestinationType,
    DestinationUpdate, Order, ResourceSortKeys, Source, SourceCreate, SourceInput, SourceType,
    SourceUpdate, Timestamp,
};

use crate::authentications::{check_reference, kind_for_source};
use crate::db::{Row, Tx, args, new_id};
use crate::filter::{Where, order_by, page, search};
use crate::query::{NO_AUTHENTICATION, Page, PageRequest};
use crate::store::Store;
use crate::transformations;
use crate::{Resource, StoreError, StoreResult};

/// `GET /1/sources`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceQuery {
    /// Paging.
    pub page: PageRequest,
    /// Sort key.
    pub sort: ResourceSortKeys,
    /// Sort order.
    pub order: Order,
    /// `type` filter.
    pub types: Vec<SourceType>,
    /// `authenticationID` filter; [`NO_AUTHENTICATION`] (`none`) selects sources without one.
    pub authentication_ids: Vec<String>,
}

impl Default for SourceQuery {
    fn default() -> Self {
        Self {
            page: PageRequest::default(),
            sort: ResourceSortKeys::CreatedAt,
            order: Order::Desc,
            types: Vec::new(),
            authentication_ids: Vec::new(),
        }
    }
}

/// `GET /1/destinations`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationQuery {
    /// Paging.
    pub page: PageRequest,
    /// Sort key.
    pub sort: ResourceSortKeys,
    /// Sort order.
    pub order: Order,
    /// `type` filter.
    pub types: Vec<DestinationType>,
    /// `authenticationID` filter; [`NO_AUTHENTICATION`] (`none`) selects destinations without one.
    pub authentication_ids: Vec<String>,
    /// `transformationID` filter (`docs/api.md` D1): the destinations using that transformation.
    pub transformation_id: Option<String>,
}

impl Default for DestinationQuery {
    fn default() -> Self {
        Self {
            page: PageRequest::default(),
            sort: ResourceSortKeys::CreatedAt,
            order: Order::Desc,
            types: Vec::new(),
            authentication_ids: Vec::new(),
            transformation_id: None,
        }
    }
}

impl Store {
    /// Creates a source; its `authenticationID`, if any, must be a live authentication of the
    /// kind its type needs (commercetools `oauth`, BigCommerce `apiKey`, BigQuery
    /// `googleServiceAccount`; JSON and CSV any kind).
    pub async fn create_source(
        &self,
        app: &str,
        input: &SourceCreate,
        now: Timestamp,
    ) -> StoreResult<Source> {
        let mut tx = self.pools.write().await?;
        check_source_auth(
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
            transformation_id: None,
        };
        let created = SOURCES.insert(&mut tx, app, &new_id(), row, now).await?;
        tx.commit().await?;
        Ok(created)
    }

    /// One source.
    pub async fn get_source(&self, app: &str, id: &str) -> StoreResult<Source> {
        let mut tx = self.pools.read().await?;
        SOURCES.get(&mut tx, app, id).await
    }

    /// A page of sources (filters `type`, `authenticationID` with `none`).
    pub async fn list_sources(&self, app: &str, query: &SourceQuery) -> StoreResult<Page<Source>> {
        let listing = Listing {
            types: query.types.iter().map(|t| t.as_str()).collect(),
            authentication_ids: &query.authentication_ids,
            transformation_id: None,
            sort: query.sort,
            order: query.order,
            page: &query.page,
        };
        let mut tx = self.pools.read().await?;
        SOURCES.list(&mut tx, app, listing).await
    }

    /// The live sources among `ids`.
    pub async fn search_sources(&self, app: &str, ids: &[String]) -> StoreResult<Vec<Source>> {
        let mut tx = self.pools.read().await?;
        SOURCES.search(&mut tx, app, ids).await
    }

    /// Applies a PATCH: the input is parsed against the stored type
    /// ([`SourceUpdate::parse_input`]) and merged ([`SourceInput::updated`]). Refused
    /// (`Invalid`, path `input.uniqueIDColumn`) when it would leave a live `save` task without
    /// objectIDs.
    pub async fn update_source(
        &self,
        app: &str,
        id: &str,
        update: &SourceUpdate,
        now: Timestamp,
    ) -> StoreResult<Source> {
        let mut tx = self.pools.write().await?;
        let lock = tx.for_update();
        let stored = source(&SOURCES.fetch(&mut tx, app, id, lock).await?)?;
        check_source_auth(
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
                    && let Some(task) = first_save_task(&mut tx, id).await?
                {
                    return Err(ingest_model::ValidationError::new(
                        "input.uniqueIDColumn",
                        format!(
                            "required: task `{task}` saves records from this source by objectID"
                        ),
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
        let updated = SOURCES.get(&mut tx, app, id).await?;
        tx.commit().await?;
        Ok(updated)
    }

    /// Soft-deletes a source; `InUse` while a live task uses it.
    pub async fn delete_source(&self, app: &str, id: &str, now: Timestamp) -> StoreResult<()> {
        let mut tx = self.pools.write().await?;
        SOURCES.delete(&mut tx, app, id, now).await?;
        tx.commit().await
    }

    /// Creates a destination; its `authenticationID`, if any, must be a live `algolia`
    /// authentication, and its `transformationIDs` (at most one) a live transformation
    /// (`InvalidReference` otherwise).
    pub async fn create_destination(
        &self,
        app: &str,
        input: &DestinationCreate,
        now: Timestamp,
    ) -> StoreResult<Destination> {
        let mut tx = self.pools.write().await?;
        check_destination_auth(&mut tx, app, input.authentication_id.as_ref()).await?;
        let row = NewRow {
            kind: input.destination_type.as_str(),
            name: &input.name,
            input: input_json(&input.input)?,
            authentication_id: input.authentication_id.clone(),
            transformation_id: check_transformation(&mut tx, app, &input.transformation_ids)
                .await?,
        };
        let created = DESTINATIONS
            .insert(&mut tx, app, &new_id(), row, now)
            .await?;
        tx.commit().await?;
        Ok(created)
    }

    /// One destination.
    pub async fn get_destination(&self, app: &str, id: &str) -> StoreResult<Destination> {
        let mut tx = self.pools.read().await?;
        DESTINATIONS.get(&mut tx, app, id).await
    }

    /// A page of destinations (filters `type`, `authenticationID` with `none`,
    /// `transformationID`).
    pub async fn list_destinations(
        &self,
        app: &str,
        query: &DestinationQuery,
    ) -> StoreResult<Page<Destination>> {
        let listing = Listing {
            types: query.types.iter().map(|t| t.as_str()).collect(),
            authentication_ids: &query.authentication_ids,
            transformation_id: query.transformation_id.as_deref(),
            sort: query.sort,
            order: query.order,
            page: &query.page,
        };
        let mut tx = self.pools.read().await?;
        DESTINATIONS.list(&mut tx, app, listing).await
    }

    /// The live destinations among `ids`.
    pub async fn search_destinations(
        &self,
        app: &str,
        ids: &[String],
    ) -> StoreResult<Vec<Destination>> {
        let mut tx = self.pools.read().await?;
        DESTINATIONS.search(&mut tx, app, ids).await
    }

    /// Applies a PATCH (same reference rules as create). `transformationIDs` replaces the
    /// destination's transformation when given; `[]` detaches it.
    pub async fn update_destination(
        &self,
        app: &str,
        id: &str,
        update: &DestinationUpdate,
        now: Timestamp,
    ) -> StoreResult<Destination> {
        let mut tx = self.pools.write().await?;
        let lock = tx.for_update();
        DESTINATIONS.fetch(&mut tx, app, id, lock).await?;
        check_destination_auth(&mut tx, app, update.authentication_id.as_ref()).await?;
        if let Some(ids) = &update.transformation_ids {
            let transformation = check_transformation(&mut tx, app, ids).await?;
            tx.execute(
                "UPDATE destinations SET transformation_id = $1 WHERE id = $2",
                args![transformation, id],
            )
            .await?;
        }
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
        let updated = DESTINATIONS.get(&mut tx, app, id).await?;
        tx.commit().await?;
        Ok(updated)
    }

    /// Soft-deletes a destination; `InUse` while a live task uses it.
    pub async fn delete_destination(&self, app: &str, id: &str, now: Timestamp) -> StoreResult<()> {
        let mut tx = self.pools.write().await?;
        DESTINATIONS.delete(&mut tx, app, id, now).await?;
        tx.commit().await
    }
}

/// The columns both tables are read with.
const COLUMNS: &str = "id, type, name, input, authentication_id, created_at, updated_at";

/// The columns destinations are read with.
const DESTINATION_COLUMNS: &str =
    "id, type, name, input, authentication_id, transformation_id, created_at, updated_at";

/// One of the two tables and how its rows become resources.
pub(crate) struct Table<T> {
    table: &'static str,
    /// The columns its rows are read with.
    columns: &'static str,
    resource: Resource,
    /// The column of `tasks` that refers to this table.
    task_column: &'static str,
    /// The field of a task that refers to this table (`sourceID`).
    reference_field: &'static str,
    parse: fn(&Row) -> StoreResult<T>,
}

/// The `sources` table.
pub(crate) const SOURCES: Table<Source> = Table {
    table: "sources",
    columns: COLUMNS,
    resource: Resource::Source,
    task_column: "source_id",
    reference_field: "sourceID",
    parse: source,
};

/// The `destinations` table.
pub(crate) const DESTINATIONS: Table<Destination> = Table {
    table: "destinations",
    columns: DESTINATION_COLUMNS,
    resource: Resource::Destination,
    task_column: "destination_id",
    reference_field: "destinationID",
    parse: destination,
};

/// A source from its row; the input is parsed by the stored type.
pub(crate) fn source(row: &Row) -> StoreResult<Source> {
    let source_type = row.parsed("type")?;
    let input = SourceInput::parse(source_type, &row.json("input")?)
        .map_err(|_| StoreError::internal("column `input` holds an unexpected source input"))?;
    Ok(Source {
        source_id: row.text("id")?,
        source_type,
        name: row.text("name")?,
        input,
        authentication_id: row.opt_text("authentication_id")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

/// A destination from its row.
fn destination(row: &Row) -> StoreResult<Destination> {
    let input: DestinationInput = row.json_as("input")?;
    Ok(Destination {
        destination_id: row.text("id")?,
        destination_type: row.parsed("type")?,
        name: row.text("name")?,
        input,
        authentication_id: row.opt_text("authentication_id")?,
        transformation_ids: row.opt_text("transformation_id")?.into_iter().collect(),
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

/// Checks a destination's `transformationIDs` (at most one, as the model parses them): each
/// names a live transformation of `app`. Returns the one to store.
async fn check_transformation(
    tx: &mut Tx,
    app: &str,
    ids: &[String],
) -> StoreResult<Option<String>> {
    for id in ids {
        transformations::check_reference(tx, app, id).await?;
    }
    Ok(ids.first().cloned())
}

fn input_json(input: &impl serde::Serialize) -> StoreResult<String> {
    serde_json::to_string(input).map_err(|_| StoreError::internal("cannot serialize an input"))
}

/// Checks the authentication a source of type `kind` refers to, if any.
pub(crate) async fn check_source_auth(
    tx: &mut Tx,
    app: &str,
    kind: SourceType,
    id: Option<&String>,
) -> StoreResult<()> {
    match id {
        Some(id) => {
            let user = format!("{kind} source");
            check_reference(tx, app, id, kind_for_source(kind), &user).await
        }
        None => Ok(()),
    }
}

/// Checks the authentication a destination refers to, if any: an `algolia` one.
async fn check_destination_auth(tx: &mut Tx, app: &str, id: Option<&String>) -> StoreResult<()> {
    match id {
        Some(id) => {
            check_reference(
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

/// The first live `save` task reading source `id`.
async fn first_save_task(tx: &mut Tx, id: &str) -> StoreResult<Option<String>> {
    let row = tx
        .fetch_optional(
            "SELECT id FROM tasks WHERE source_id = $1 AND action = 'save' \
             AND deleted_at IS NULL ORDER BY seq LIMIT 1",
            args![id],
        )
        .await?;
    row.map(|r| r.text("id")).transpose()
}

/// A row to insert.
struct NewRow<'a> {
    /// The `type`.
    kind: &'a str,
    name: &'a str,
    /// The input, as JSON.
    input: String,
    authentication_id: Option<String>,
    /// The transformation of a destination (always `None` for a source).
    transformation_id: Option<String>,
}

/// What a list asks for: the filters, sort and page of `GET /1/sources` and `/1/destinations`.
struct Listing<'a> {
    types: Vec<&'a str>,
    authentication_ids: &'a [String],
    /// A destination's `transformationID` filter (always `None` for sources).
    transformation_id: Option<&'a str>,
    sort: ResourceSortKeys,
    order: Order,
    page: &'a PageRequest,
}

impl<T> Table<T> {
    /// The live row `id` of `app`, with `lock` (`""`, or a `FOR UPDATE`/`FOR SHARE` clause).
    pub(crate) async fn fetch(
        &self,
        tx: &mut Tx,
        app: &str,
        id: &str,
        lock: &str,
    ) -> StoreResult<Row> {
        tx.fetch_optional(
            &format!(
                "SELECT {} FROM {} WHERE app_id = $1 AND id = $2 AND deleted_at IS NULL{lock}",
                self.columns, self.table
            ),
            args![app, id],
        )
        .await?
        .ok_or_else(|| StoreError::not_found(self.resource, id))
    }

    /// The live row `id` of `app`, as a resource.
    async fn get(&self, tx: &mut Tx, app: &str, id: &str) -> StoreResult<T> {
        (self.parse)(&self.fetch(tx, app, id, "").await?)
    }

    /// Inserts `row` as `id` and returns it as a resource.
    async fn insert(
        &self,
        tx: &mut Tx,
        app: &str,
        id: &str,
        row: NewRow<'_>,
        now: Timestamp,
    ) -> StoreResult<T> {
        tx.execute(
            &format!(
                "INSERT INTO {} \
                 (id, app_id, type, name, input, authentication_id, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
                self.table
            ),
            args![
                id,
                app,
                row.kind,
                row.name,
                row.input,
                row.authentication_id,
                now
            ],
        )
        .await?;
        if let Some(transformation) = row.transformation_id {
            tx.execute(
                &format!(
                    "UPDATE {} SET transformation_id = $1 WHERE id = $2",
                    self.table
                ),
                args![transformation, id],
            )
            .await?;
        }
        self.get(tx, app, id).await
    }

    /// One page of the live rows of `app`.
    async fn list(&self, tx: &mut Tx, app: &str, listing: Listing<'_>) -> StoreResult<Page<T>> {
        let mut filter = Where::app(app, true);
        filter.any_of("type", listing.types);
        filter.any_of_or_null(
            "authentication_id",
            listing.authentication_ids.iter().map(String::as_str),
            Some(NO_AUTHENTICATION),
        );
        if let Some(transformation) = listing.transformation_id {
            filter.eq("transformation_id", transformation);
        }
        let sort = match listing.sort {
            ResourceSortKeys::Name => "name",
            ResourceSortKeys::Type => "type",
            ResourceSortKeys::UpdatedAt => "updated_at",
            ResourceSortKeys::CreatedAt => "created_at",
        };
        let (rows, pagination) = page(
            tx,
            self.table,
            self.columns,
            filter,
            &order_by(sort, listing.order),
            listing.page,
        )
        .await?;
        let items = rows.iter().map(self.parse).collect::<StoreResult<_>>()?;
        Ok(Page { items, pagination })
    }

    /// The live rows of `app` among `ids`.
    async fn search(&self, tx: &mut Tx, app: &str, ids: &[String]) -> StoreResult<Vec<T>> {
        search(tx, self.table, self.columns, app, ids)
            .await?
            .iter()
            .map(|(_, row)| (self.parse)(row))
            .collect()
    }

    /// Soft-deletes row `id` of `app`, refused while a live task uses it.
    async fn delete(&self, tx: &mut Tx, app: &str, id: &str, now: Timestamp) -> StoreResult<()> {
        let lock = tx.for_update();
        self.fetch(tx, app, id, lock).await?;
        let user = tx
            .fetch_optional(
                &format!(
                    "SELECT id FROM tasks WHERE {} = $1 AND deleted_at IS NULL \
                     ORDER BY seq LIMIT 1",
                    self.task_column
                ),
                args![id],
            )
            .await?;
        if let Some(task) = user {
            return Err(StoreError::InUse {
                resource: self.resource,
                id: id.to_owned(),
                used_by: Resource::Task,
                user_id: task.text("id")?,
            });
        }
        tx.execute(
            &format!("UPDATE {} SET deleted_at = $1 WHERE id = $2", self.table),
            args![now, id],
        )
        .await?;
        Ok(())
    }

    /// Checks, inside a write transaction, that `id` is a live row of `app` (what a task refers
    /// to) and returns it, locked against a concurrent delete until commit.
    pub(crate) async fn reference(&self, tx: &mut Tx, app: &str, id: &str) -> StoreResult<T> {
        let lock = tx.for_share();
        match self.fetch(tx, app, id, lock).await {
            Ok(row) => (self.parse)(&row),
            Err(StoreError::NotFound { .. }) => Err(StoreError::missing_reference(
                self.reference_field,
                self.resource,
                id,
            )),
            Err(e) => Err(e),
        }
    }
}

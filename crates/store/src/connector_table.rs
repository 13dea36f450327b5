//! What sources and destinations share: rows of `(type, name, input, authentication_id)` owned by
//! an application, soft-deleted, listed with the same filters, referred to by tasks.

use ingest_model::{Destination, Order, ResourceSortKeys, Source, Timestamp};

use crate::backend::Inner;
use crate::db::{Row, Tx, args};
use crate::filter::{Where, order_by, page, search};
use crate::rows::{DESTINATION_COLUMNS, SOURCE_COLUMNS, destination, source};
use crate::{NO_AUTHENTICATION, Page, PageRequest, Resource, StoreError, StoreResult};

/// One of the two tables and how its rows become resources.
pub(crate) struct ConnectorTable<T> {
    table: &'static str,
    columns: &'static str,
    resource: Resource,
    /// The column of `tasks` that refers to this table.
    task_column: &'static str,
    /// The field of a task that refers to this table (`sourceID`).
    reference_field: &'static str,
    parse: fn(&Row) -> StoreResult<T>,
}

/// The `sources` table.
pub(crate) const SOURCES: ConnectorTable<Source> = ConnectorTable {
    table: "sources",
    columns: SOURCE_COLUMNS,
    resource: Resource::Source,
    task_column: "source_id",
    reference_field: "sourceID",
    parse: source,
};

/// The `destinations` table.
pub(crate) const DESTINATIONS: ConnectorTable<Destination> = ConnectorTable {
    table: "destinations",
    columns: DESTINATION_COLUMNS,
    resource: Resource::Destination,
    task_column: "destination_id",
    reference_field: "destinationID",
    parse: destination,
};

/// A row to insert.
pub(crate) struct NewRow<'a> {
    /// The `type`.
    pub(crate) kind: &'a str,
    pub(crate) name: &'a str,
    /// The input, as JSON.
    pub(crate) input: String,
    pub(crate) authentication_id: Option<String>,
}

/// What a list asks for: the filters, sort and page of `GET /1/sources` and `/1/destinations`.
pub(crate) struct Listing<'a> {
    pub(crate) types: Vec<&'a str>,
    pub(crate) authentication_ids: &'a [String],
    pub(crate) sort: ResourceSortKeys,
    pub(crate) order: Order,
    pub(crate) page: &'a PageRequest,
}

impl<T> ConnectorTable<T> {
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
    pub(crate) async fn fetch_resource(&self, tx: &mut Tx, app: &str, id: &str) -> StoreResult<T> {
        (self.parse)(&self.fetch(tx, app, id, "").await?)
    }

    /// Inserts `row` as `id` (the caller commits) and returns it as a resource.
    pub(crate) async fn insert(
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
        self.fetch_resource(tx, app, id).await
    }

    /// `GET /1/{table}/{id}`.
    pub(crate) async fn get(&self, inner: &Inner, app: &str, id: &str) -> StoreResult<T> {
        let mut tx = inner.pools.read().await?;
        self.fetch_resource(&mut tx, app, id).await
    }

    /// `GET /1/{table}`.
    pub(crate) async fn list(
        &self,
        inner: &Inner,
        app: &str,
        listing: Listing<'_>,
    ) -> StoreResult<Page<T>> {
        let mut filter = Where::app(app, true);
        filter.any_of("type", listing.types);
        filter.any_of_or_null(
            "authentication_id",
            listing.authentication_ids.iter().map(String::as_str),
            Some(NO_AUTHENTICATION),
        );
        let sort = match listing.sort {
            ResourceSortKeys::Name => "name",
            ResourceSortKeys::Type => "type",
            ResourceSortKeys::UpdatedAt => "updated_at",
            ResourceSortKeys::CreatedAt => "created_at",
        };
        let mut tx = inner.pools.read().await?;
        let (rows, pagination) = page(
            &mut tx,
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

    /// `POST /1/{table}/search`.
    pub(crate) async fn search_ids(
        &self,
        inner: &Inner,
        app: &str,
        ids: &[String],
    ) -> StoreResult<Vec<T>> {
        let mut tx = inner.pools.read().await?;
        search(&mut tx, self.table, self.columns, app, ids)
            .await?
            .iter()
            .map(|(_, row)| (self.parse)(row))
            .collect()
    }

    /// `DELETE /1/{table}/{id}`: a soft delete, refused while a live task uses the row.
    pub(crate) async fn delete(
        &self,
        inner: &Inner,
        app: &str,
        id: &str,
        now: Timestamp,
    ) -> StoreResult<()> {
        let mut tx = inner.pools.write().await?;
        let lock = tx.for_update();
        self.fetch(&mut tx, app, id, lock).await?;
        if let Some(task) = crate::task::first_user(&mut tx, self.task_column, id).await? {
            return Err(StoreError::InUse {
                resource: self.resource,
                id: id.to_owned(),
                used_by: Resource::Task,
                user_id: task,
            });
        }
        tx.execute(
            &format!("UPDATE {} SET deleted_at = $1 WHERE id = $2", self.table),
            args![now, id],
        )
        .await?;
        tx.commit().await
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

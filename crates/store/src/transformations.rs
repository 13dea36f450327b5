//! Transformations (`docs/api.md` D5): rows of `(name, type, input, description,
//! authentication_ids)` owned by an application, soft-deleted, replaced whole by a PUT, and
//! referred to by destinations (`destinations.transformation_id`).
//!
//! A transformation lists `secrets` authentications (`authentication_ids`, a JSON array, in
//! order); each is checked inside the write transaction, and deleting one of them, or changing
//! its type, is refused while a live transformation lists it. API reads never open their
//! secrets: [`Store::transformation_with_secrets`] does, for workers.

use std::collections::HashMap;
use std::fmt;

use ingest_model::{
    AuthInput, AuthenticationType, Order, Timestamp, Transformation, TransformationCreate,
    TransformationInput, TransformationSortKeys, TransformationType,
};

use crate::authentications::{check_reference_at, input_with_secrets};
use crate::db::{Row, Tx, args, new_id};
use crate::filter::{Where, order_by, page, search};
use crate::query::{Page, PageRequest};
use crate::store::Store;
use crate::{Resource, StoreError, StoreResult};

/// `GET /1/transformations`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransformationQuery {
    /// Paging.
    pub page: PageRequest,
    /// Sort key.
    pub sort: TransformationSortKeys,
    /// Sort order.
    pub order: Order,
    /// `type` filter.
    pub types: Vec<TransformationType>,
}

impl Default for TransformationQuery {
    fn default() -> Self {
        Self {
            page: PageRequest::default(),
            sort: TransformationSortKeys::CreatedAt,
            order: Order::Desc,
            types: Vec::new(),
        }
    }
}

/// A transformation with the secrets its `secrets` authentications hold, for workers only.
/// Never return it from the API; `Debug` shows the secrets' names, not their values.
#[derive(Clone, PartialEq, Eq)]
pub struct TransformationWithSecrets {
    /// The transformation as the API shows it (it holds no secret).
    pub transformation: Transformation,
    /// What `helper.secrets.get(name)` answers: the values of the listed authentications,
    /// merged in list order (a later authentication wins a name both hold).
    pub secrets: HashMap<String, String>,
}

impl fmt::Debug for TransformationWithSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&String> = self.secrets.keys().collect();
        names.sort();
        f.debug_struct("TransformationWithSecrets")
            .field("transformation", &self.transformation)
            .field("secrets (names)", &names)
            .finish()
    }
}

/// The columns [`transformation`] reads.
const COLUMNS: &str =
    "id, name, type, input, description, authentication_ids, created_at, updated_at";

/// A transformation from its row.
fn transformation(row: &Row) -> StoreResult<Transformation> {
    let input: TransformationInput = row.json_as("input")?;
    Ok(Transformation {
        transformation_id: row.text("id")?,
        code: input.code().to_owned(),
        name: row.text("name")?,
        transformation_type: row.parsed("type")?,
        input,
        description: row.opt_text("description")?,
        authentication_ids: row.json_as("authentication_ids")?,
        owner: None,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

/// The live row `id` of `app`, with `lock` (`""`, or a `FOR UPDATE`/`FOR SHARE` clause).
async fn fetch(tx: &mut Tx, app: &str, id: &str, lock: &str) -> StoreResult<Row> {
    tx.fetch_optional(
        &format!(
            "SELECT {COLUMNS} FROM transformations \
             WHERE app_id = $1 AND id = $2 AND deleted_at IS NULL{lock}"
        ),
        args![app, id],
    )
    .await?
    .ok_or_else(|| StoreError::not_found(Resource::Transformation, id))
}

/// What a create or replace body stores: its type and input (JSON) as resolved, and its
/// authentications (JSON), each checked to be a live `secrets` authentication of `app`.
struct Columns {
    kind: &'static str,
    input: String,
    authentication_ids: String,
}

async fn columns(tx: &mut Tx, app: &str, body: &TransformationCreate) -> StoreResult<Columns> {
    let (kind, input) = body.resolve()?;
    for id in &body.authentication_ids {
        check_reference_at(
            tx,
            app,
            id,
            Some(AuthenticationType::Secrets),
            "transformation",
            "authenticationIDs",
        )
        .await?;
    }
    Ok(Columns {
        kind: kind.as_str(),
        input: to_json(&input)?,
        authentication_ids: to_json(&body.authentication_ids)?,
    })
}

fn to_json(value: &impl serde::Serialize) -> StoreResult<String> {
    serde_json::to_string(value)
        .map_err(|_| StoreError::internal("cannot serialize a transformation"))
}

impl Store {
    /// Creates a transformation from a create body ([`TransformationCreate::resolve`]); each of
    /// its `authenticationIDs` must be a live `secrets` authentication (`InvalidReference`
    /// otherwise). The code and steps are stored as given: compiling them is the caller's job.
    pub async fn create_transformation(
        &self,
        app: &str,
        body: &TransformationCreate,
        now: Timestamp,
    ) -> StoreResult<Transformation> {
        let id = new_id();
        let mut tx = self.pools.write().await?;
        let row = columns(&mut tx, app, body).await?;
        tx.execute(
            "INSERT INTO transformations (id, app_id, name, type, input, description, \
             authentication_ids, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
            args![
                &id,
                app,
                &body.name,
                row.kind,
                row.input,
                body.description.clone(),
                row.authentication_ids,
                now
            ],
        )
        .await?;
        let created = transformation(&fetch(&mut tx, app, &id, "").await?)?;
        tx.commit().await?;
        Ok(created)
    }

    /// One transformation.
    pub async fn get_transformation(&self, app: &str, id: &str) -> StoreResult<Transformation> {
        let mut tx = self.pools.read().await?;
        transformation(&fetch(&mut tx, app, id, "").await?)
    }

    /// A page of transformations (filter `type`).
    pub async fn list_transformations(
        &self,
        app: &str,
        query: &TransformationQuery,
    ) -> StoreResult<Page<Transformation>> {
        let mut filter = Where::app(app, true);
        filter.any_of("type", query.types.iter().map(|t| t.as_str()));
        let sort = match query.sort {
            TransformationSortKeys::Name => "name",
            TransformationSortKeys::UpdatedAt => "updated_at",
            TransformationSortKeys::CreatedAt => "created_at",
        };
        let mut tx = self.pools.read().await?;
        let (rows, pagination) = page(
            &mut tx,
            "transformations",
            COLUMNS,
            filter,
            &order_by(sort, query.order),
            &query.page,
        )
        .await?;
        let items = rows
            .iter()
            .map(transformation)
            .collect::<StoreResult<_>>()?;
        Ok(Page { items, pagination })
    }

    /// The live transformations among `ids`.
    pub async fn search_transformations(
        &self,
        app: &str,
        ids: &[String],
    ) -> StoreResult<Vec<Transformation>> {
        let mut tx = self.pools.read().await?;
        search(&mut tx, "transformations", COLUMNS, app, ids)
            .await?
            .iter()
            .map(|(_, row)| transformation(row))
            .collect()
    }

    /// Replaces a transformation with `body` (`PUT`): every field, as a create would set it;
    /// `createdAt` is kept.
    pub async fn replace_transformation(
        &self,
        app: &str,
        id: &str,
        body: &TransformationCreate,
        now: Timestamp,
    ) -> StoreResult<Transformation> {
        let mut tx = self.pools.write().await?;
        let lock = tx.for_update();
        fetch(&mut tx, app, id, lock).await?;
        let row = columns(&mut tx, app, body).await?;
        tx.execute(
            "UPDATE transformations SET name = $1, type = $2, input = $3, description = $4, \
             authentication_ids = $5, updated_at = $6 WHERE id = $7",
            args![
                &body.name,
                row.kind,
                row.input,
                body.description.clone(),
                row.authentication_ids,
                now,
                id
            ],
        )
        .await?;
        let replaced = transformation(&fetch(&mut tx, app, id, "").await?)?;
        tx.commit().await?;
        Ok(replaced)
    }

    /// Soft-deletes a transformation; `InUse` while a live destination applies it.
    pub async fn delete_transformation(
        &self,
        app: &str,
        id: &str,
        now: Timestamp,
    ) -> StoreResult<()> {
        let mut tx = self.pools.write().await?;
        let lock = tx.for_update();
        fetch(&mut tx, app, id, lock).await?;
        let user = tx
            .fetch_optional(
                "SELECT id FROM destinations WHERE transformation_id = $1 \
                 AND deleted_at IS NULL ORDER BY seq LIMIT 1",
                args![id],
            )
            .await?;
        if let Some(destination) = user {
            return Err(StoreError::InUse {
                resource: Resource::Transformation,
                id: id.to_owned(),
                used_by: Resource::Destination,
                user_id: destination.text("id")?,
            });
        }
        tx.execute(
            "UPDATE transformations SET deleted_at = $1 WHERE id = $2",
            args![now, id],
        )
        .await?;
        tx.commit().await
    }

    /// One transformation with the decrypted values of its `secrets` authentications, for
    /// workers only.
    pub async fn transformation_with_secrets(
        &self,
        app: &str,
        id: &str,
    ) -> StoreResult<TransformationWithSecrets> {
        let mut tx = self.pools.read().await?;
        let transformation = transformation(&fetch(&mut tx, app, id, "").await?)?;
        let mut secrets = HashMap::new();
        for auth in &transformation.authentication_ids {
            if let AuthInput::Secrets(values) =
                input_with_secrets(&mut tx, &self.key, app, auth).await?
            {
                for (name, value) in values {
                    secrets.insert(name, value.expose().clone());
                }
            }
        }
        Ok(TransformationWithSecrets {
            transformation,
            secrets,
        })
    }
}

/// Checks, inside a write transaction, that `id` is a live transformation of `app` (what a
/// destination's `transformationIDs` names), locked against a concurrent delete until commit.
pub(crate) async fn check_reference(tx: &mut Tx, app: &str, id: &str) -> StoreResult<()> {
    let lock = tx.for_share();
    match fetch(tx, app, id, lock).await {
        Ok(_) => Ok(()),
        Err(StoreError::NotFound { .. }) => Err(StoreError::missing_reference(
            "transformationIDs",
            Resource::Transformation,
            id,
        )),
        Err(e) => Err(e),
    }
}

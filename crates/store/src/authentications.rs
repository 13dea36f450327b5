//! Authentications: credentials with their secret fields sealed ([`crate::SecretKey`]), and the
//! reference checks sources and destinations make against them.
//!
//! The redacted input (secrets `null`) is stored in clear in `input`; the secret fields are
//! sealed together in `secrets`, bound to the row's application and ID. API reads never open
//! them; [`Store::authentication_with_secrets`] does, for workers.

use ingest_model::{
    AuthInput, Authentication, AuthenticationCreate, AuthenticationSortKeys, AuthenticationType,
    AuthenticationUpdate, Order, PlatformWithNone, RedactedAuthInput, SourceType, Timestamp,
};
use serde_json::{Map, Value};

use crate::db::{Row, Tx, args, new_id};
use crate::filter::{Where, order_by, page, search};
use crate::key::SecretKey;
use crate::query::{Page, PageRequest};
use crate::store::Store;
use crate::{Resource, StoreError, StoreResult};

/// `GET /1/authentications`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticationQuery {
    /// Paging.
    pub page: PageRequest,
    /// Sort key.
    pub sort: AuthenticationSortKeys,
    /// Sort order.
    pub order: Order,
    /// `type` filter.
    pub types: Vec<AuthenticationType>,
    /// `platform` filter; `none` selects authentications without a platform.
    pub platforms: Vec<PlatformWithNone>,
}

impl Default for AuthenticationQuery {
    fn default() -> Self {
        Self {
            page: PageRequest::default(),
            sort: AuthenticationSortKeys::CreatedAt,
            order: Order::Desc,
            types: Vec::new(),
            platforms: Vec::new(),
        }
    }
}

/// An authentication with its decrypted credentials, for the worker that calls a source or
/// Algolia. Never return it from the API: `Debug` hides the secrets ([`AuthInput`] holds them as
/// `Secret`s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticationWithSecrets {
    /// The authentication as the API shows it (secrets `null` in `input`).
    pub authentication: Authentication,
    /// The full credentials.
    pub input: AuthInput,
}

/// The columns [`authentication`] reads.
const COLUMNS: &str = "id, type, name, platform, input, created_at, updated_at";

/// The columns [`join`] needs beside them.
const FULL_COLUMNS: &str = "id, type, name, platform, input, secrets, created_at, updated_at";

/// An authentication from its row; `input` is the stored redacted input (secrets `null`).
fn authentication(row: &Row) -> StoreResult<Authentication> {
    let input: RedactedAuthInput = row.json_as("input")?;
    Ok(Authentication {
        authentication_id: row.text("id")?,
        auth_type: row.parsed("type")?,
        name: row.text("name")?,
        platform: row.opt_parsed("platform")?,
        input,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

/// The associated data a row's secrets are sealed with: they only open in that row.
fn aad(app: &str, id: &str) -> Vec<u8> {
    format!("authentication\0{app}\0{id}").into_bytes()
}

/// The redacted input (stored in clear) and the sealed secret fields of an input.
fn split(key: &SecretKey, app: &str, id: &str, input: &AuthInput) -> StoreResult<(String, String)> {
    let full = input.to_secret_json();
    let mut secrets = Map::new();
    for name in input.secret_names() {
        if let Some(value) = full.get(name) {
            secrets.insert(name.to_owned(), value.clone());
        }
    }
    let plain = serde_json::to_vec(&Value::Object(secrets))
        .map_err(|_| StoreError::internal("cannot serialize secrets"))?;
    let sealed = key.seal(&aad(app, id), &plain)?;
    Ok((input.to_redacted_json().to_string(), sealed))
}

/// The full input of a stored row: the redacted input with the opened secrets put back.
fn join(key: &SecretKey, app: &str, row: &Row) -> StoreResult<AuthInput> {
    let id = row.text("id")?;
    let kind: AuthenticationType = row.parsed("type")?;
    let mut input = row.json("input")?;
    let plain = key.open(&aad(app, &id), &row.text("secrets")?)?;
    let secrets: Map<String, Value> = serde_json::from_slice(&plain)
        .map_err(|_| StoreError::internal("stored secrets are not a JSON object"))?;
    let Value::Object(fields) = &mut input else {
        return Err(StoreError::internal("a stored input is not a JSON object"));
    };
    fields.extend(secrets);
    AuthInput::parse(kind, &input)
        .map_err(|_| StoreError::internal("a stored authentication input does not parse"))
}

/// The full input of authentication `id` of `app`, secrets included, read in `tx`.
pub(crate) async fn input_with_secrets(
    tx: &mut Tx,
    key: &SecretKey,
    app: &str,
    id: &str,
) -> StoreResult<AuthInput> {
    let row = fetch(tx, app, id, FULL_COLUMNS, "").await?;
    join(key, app, &row)
}

async fn fetch(tx: &mut Tx, app: &str, id: &str, columns: &str, lock: &str) -> StoreResult<Row> {
    tx.fetch_optional(
        &format!(
            "SELECT {columns} FROM authentications \
             WHERE app_id = $1 AND id = $2 AND deleted_at IS NULL{lock}"
        ),
        args![app, id],
    )
    .await?
    .ok_or_else(|| StoreError::not_found(Resource::Authentication, id))
}

impl Store {
    /// Creates an authentication; its secrets are encrypted.
    pub async fn create_authentication(
        &self,
        app: &str,
        input: &AuthenticationCreate,
        now: Timestamp,
    ) -> StoreResult<Authentication> {
        let id = new_id();
        let (redacted, sealed) = split(&self.key, app, &id, &input.input)?;
        let mut tx = self.pools.write().await?;
        tx.execute(
            "INSERT INTO authentications \
             (id, app_id, type, name, platform, input, secrets, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
            args![
                &id,
                app,
                input.input.auth_type().as_str(),
                &input.name,
                input.platform.map(|p| p.as_str()),
                redacted,
                sealed,
                now
            ],
        )
        .await?;
        let row = fetch(&mut tx, app, &id, COLUMNS, "").await?;
        tx.commit().await?;
        authentication(&row)
    }

    /// One authentication, secrets absent (`null` in `input`).
    pub async fn get_authentication(&self, app: &str, id: &str) -> StoreResult<Authentication> {
        let mut tx = self.pools.read().await?;
        authentication(&fetch(&mut tx, app, id, COLUMNS, "").await?)
    }

    /// One authentication with its decrypted credentials, for workers only.
    pub async fn authentication_with_secrets(
        &self,
        app: &str,
        id: &str,
    ) -> StoreResult<AuthenticationWithSecrets> {
        let mut tx = self.pools.read().await?;
        let row = fetch(&mut tx, app, id, FULL_COLUMNS, "").await?;
        Ok(AuthenticationWithSecrets {
            authentication: authentication(&row)?,
            input: join(&self.key, app, &row)?,
        })
    }

    /// A page of authentications (filters `type`, `platform`).
    pub async fn list_authentications(
        &self,
        app: &str,
        query: &AuthenticationQuery,
    ) -> StoreResult<Page<Authentication>> {
        use AuthenticationSortKeys as K;
        let mut filter = Where::app(app, true);
        filter.any_of("type", query.types.iter().map(|t| t.as_str()));
        filter.any_of_or_null(
            "platform",
            query.platforms.iter().map(|p| p.as_str()),
            Some("none"),
        );
        let sort = match query.sort {
            K::Name => "name",
            K::AuthType => "type",
            K::Platform => "COALESCE(platform, '')",
            K::UpdatedAt => "updated_at",
            K::CreatedAt => "created_at",
        };
        let mut tx = self.pools.read().await?;
        let (rows, pagination) = page(
            &mut tx,
            "authentications",
            COLUMNS,
            filter,
            &order_by(sort, query.order),
            &query.page,
        )
        .await?;
        let items = rows
            .iter()
            .map(authentication)
            .collect::<StoreResult<_>>()?;
        Ok(Page { items, pagination })
    }

    /// The live authentications among `ids`.
    pub async fn search_authentications(
        &self,
        app: &str,
        ids: &[String],
    ) -> StoreResult<Vec<Authentication>> {
        let mut tx = self.pools.read().await?;
        search(&mut tx, "authentications", COLUMNS, app, ids)
            .await?
            .iter()
            .map(|(_, row)| authentication(row))
            .collect()
    }

    /// Applies a PATCH. The input is resolved against the stored one
    /// ([`AuthenticationUpdate::resolve_input`]): an omitted or `null` secret keeps the stored
    /// value; a type change needs an input ([`StoreError::Invalid`] otherwise) and is refused
    /// with `InUse` when a live source, destination or transformation needs the old kind.
    pub async fn update_authentication(
        &self,
        app: &str,
        id: &str,
        update: &AuthenticationUpdate,
        now: Timestamp,
    ) -> StoreResult<Authentication> {
        let mut tx = self.pools.write().await?;
        let lock = tx.for_update();
        let row = fetch(&mut tx, app, id, FULL_COLUMNS, lock).await?;
        let stored_type: AuthenticationType = row.parsed("type")?;
        let stored = match &update.input {
            Some(_) => Some(join(&self.key, app, &row)?),
            None => None,
        };
        let new_input = update.resolve_input(stored_type, stored.as_ref())?;
        let new_type = update.new_type(stored_type);
        if new_type != stored_type {
            check_users_accept(&mut tx, id, new_type).await?;
        }
        let (redacted, sealed) = match &new_input {
            Some(input) => {
                let (r, s) = split(&self.key, app, id, input)?;
                (Some(r), Some(s))
            }
            None => (None, None),
        };
        tx.execute(
            "UPDATE authentications SET type = $1, name = COALESCE($2, name), \
             platform = COALESCE($3, platform), input = COALESCE($4, input), \
             secrets = COALESCE($5, secrets), updated_at = $6 WHERE id = $7",
            args![
                new_type.as_str(),
                update.name.clone(),
                update.platform.map(|p| p.as_str()),
                redacted,
                sealed,
                now,
                id
            ],
        )
        .await?;
        let row = fetch(&mut tx, app, id, COLUMNS, "").await?;
        tx.commit().await?;
        authentication(&row)
    }

    /// Soft-deletes an authentication; `InUse` while a live source or destination uses it, or
    /// a live transformation lists it.
    pub async fn delete_authentication(
        &self,
        app: &str,
        id: &str,
        now: Timestamp,
    ) -> StoreResult<()> {
        let mut tx = self.pools.write().await?;
        let lock = tx.for_update();
        fetch(&mut tx, app, id, "id", lock).await?;
        for (table, used_by) in [
            ("sources", Resource::Source),
            ("destinations", Resource::Destination),
        ] {
            if let Some(user) = first_user(&mut tx, table, id).await? {
                return Err(StoreError::InUse {
                    resource: Resource::Authentication,
                    id: id.to_owned(),
                    used_by,
                    user_id: user,
                });
            }
        }
        if let Some(user) = first_listing(&mut tx, id).await? {
            return Err(StoreError::InUse {
                resource: Resource::Authentication,
                id: id.to_owned(),
                used_by: Resource::Transformation,
                user_id: user,
            });
        }
        tx.execute(
            "UPDATE authentications SET deleted_at = $1 WHERE id = $2",
            args![now, id],
        )
        .await?;
        tx.commit().await
    }
}

/// The first live row of `table` (sources or destinations) using authentication `id`.
async fn first_user(tx: &mut Tx, table: &str, id: &str) -> StoreResult<Option<String>> {
    let row = tx
        .fetch_optional(
            &format!(
                "SELECT id FROM {table} WHERE authentication_id = $1 AND deleted_at IS NULL \
                 ORDER BY seq LIMIT 1"
            ),
            args![id],
        )
        .await?;
    row.map(|r| r.text("id")).transpose()
}

/// The authentication kind a source of type `kind` needs, if any (`docs/api.md` C7).
pub(crate) fn kind_for_source(kind: SourceType) -> Option<AuthenticationType> {
    match kind {
        SourceType::Commercetools => Some(AuthenticationType::OAuth),
        SourceType::BigCommerce => Some(AuthenticationType::ApiKey),
        SourceType::BigQuery | SourceType::Ga4BigqueryExport => {
            Some(AuthenticationType::GoogleServiceAccount)
        }
        SourceType::Json
        | SourceType::Csv
        | SourceType::Push
        | SourceType::AlgoliaIndex
        | SourceType::Shopify
        | SourceType::Docker => None,
    }
}

/// Refuses a type change to `new_type` that a live source, destination or transformation
/// cannot use.
async fn check_users_accept(
    tx: &mut Tx,
    id: &str,
    new_type: AuthenticationType,
) -> StoreResult<()> {
    let in_use = |used_by, user_id| StoreError::InUse {
        resource: Resource::Authentication,
        id: id.to_owned(),
        used_by,
        user_id,
    };
    if new_type != AuthenticationType::Algolia
        && let Some(user) = first_user(tx, "destinations", id).await?
    {
        return Err(in_use(Resource::Destination, user));
    }
    if new_type != AuthenticationType::Secrets
        && let Some(user) = first_listing(tx, id).await?
    {
        return Err(in_use(Resource::Transformation, user));
    }
    let sources = tx
        .fetch_all(
            "SELECT id, type FROM sources WHERE authentication_id = $1 AND deleted_at IS NULL \
             ORDER BY seq",
            args![id],
        )
        .await?;
    for row in sources {
        let needed = kind_for_source(row.parsed("type")?);
        if needed.is_some_and(|k| k != new_type) {
            return Err(in_use(Resource::Source, row.text("id")?));
        }
    }
    Ok(())
}

/// Checks, inside a write transaction, that `id` is a live authentication of `app` of kind
/// `needed` (any kind when `None`), locking it against a concurrent delete until commit.
/// `user` describes the referring resource for the message (`commercetools source`).
pub(crate) async fn check_reference(
    tx: &mut Tx,
    app: &str,
    id: &str,
    needed: Option<AuthenticationType>,
    user: &str,
) -> StoreResult<()> {
    check_reference_at(tx, app, id, needed, user, "authenticationID").await
}

/// [`check_reference`] for a reference held in `field` (`authenticationIDs` of a
/// transformation).
pub(crate) async fn check_reference_at(
    tx: &mut Tx,
    app: &str,
    id: &str,
    needed: Option<AuthenticationType>,
    user: &str,
    field: &'static str,
) -> StoreResult<()> {
    let lock = tx.for_share();
    let row = tx
        .fetch_optional(
            &format!(
                "SELECT type FROM authentications \
                 WHERE app_id = $1 AND id = $2 AND deleted_at IS NULL{lock}"
            ),
            args![app, id],
        )
        .await?
        .ok_or_else(|| StoreError::missing_reference(field, Resource::Authentication, id))?;
    let kind: AuthenticationType = row.parsed("type")?;
    match needed {
        Some(needed) if needed != kind => {
            let article = if needed.as_str().starts_with(['a', 'e', 'i', 'o', 'u']) {
                "an"
            } else {
                "a"
            };
            Err(StoreError::InvalidReference {
                field,
                reason: format!(
                    "a {user} needs {article} `{needed}` authentication, `{id}` is of type \
                     `{kind}`"
                ),
            })
        }
        _ => Ok(()),
    }
}

/// The first live transformation listing authentication `id` in its `authenticationIDs`.
async fn first_listing(tx: &mut Tx, id: &str) -> StoreResult<Option<String>> {
    // The JSON text holds the ID quoted: a `LIKE` finds the candidates, and the parsed list
    // decides (an ID holding `%` or `_` cannot widen the answer, only the candidates).
    let quoted =
        serde_json::to_string(id).map_err(|_| StoreError::internal("cannot serialize an ID"))?;
    let rows = tx
        .fetch_all(
            "SELECT id, authentication_ids FROM transformations \
             WHERE deleted_at IS NULL AND authentication_ids LIKE $1 ORDER BY seq",
            args![format!("%{quoted}%")],
        )
        .await?;
    for row in rows {
        let ids: Vec<String> = row.json_as("authentication_ids")?;
        if ids.iter().any(|listed| listed == id) {
            return Ok(Some(row.text("id")?));
        }
    }
    Ok(None)
}

//! Authentications: credentials that sources and destinations refer to (`docs/api.md` A4).
//!
//! The credentials ([`AuthInput`]) are chosen by the authentication's `type`. Their secret fields
//! are [`Secret`]s: `Debug` never shows them, responses carry them as `null`
//! ([`AuthInput::to_redacted_json`]), and [`AuthInput::to_secret_json`] is the one way to get them
//! out again, for the store to encrypt (`docs/api.md` C5).

use ingest_core::Secret;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value, json};

use crate::error::into_de_error;
use crate::parse::{app_id, from_value, non_empty, opt_non_empty, source_url};
use crate::{AuthenticationType, Platform, ValidationError};

/// The names of every secret field across the [`AuthInput`] variants.
/// A `secrets` authentication's values are all secret too, whatever their names.
pub const SECRET_FIELDS: &[&str] = &[
    "password",
    "key",
    "client_secret",
    "code",
    "privateKey",
    "apiKey",
];

/// The most values a `secrets` authentication may hold.
pub const MAX_SECRETS: usize = 100;

/// The credentials of an authentication; the variant follows the authentication's `type`.
/// Secret fields are [`Secret`]s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthInput {
    /// `googleServiceAccount`: `{clientEmail, privateKey}`.
    GoogleServiceAccount {
        /// `clientEmail`.
        client_email: String,
        /// `privateKey` (secret): the PEM private key.
        private_key: Secret<String>,
    },
    /// `basic`: `{username, password}`.
    Basic {
        /// `username`.
        username: String,
        /// `password` (secret).
        password: Secret<String>,
    },
    /// `apiKey`: `{key}`.
    ApiKey {
        /// `key` (secret).
        key: Secret<String>,
    },
    /// `oauth`: `{url, client_id?, client_secret?, code?, scope?}` (snake-case names in the
    /// API; only `url` is required, `docs/api.md` D3).
    OAuth {
        /// `url`: the token endpoint.
        url: String,
        /// `client_id`.
        client_id: Option<String>,
        /// `client_secret` (secret).
        client_secret: Option<Secret<String>>,
        /// `code` (secret): an authorization code.
        code: Option<Secret<String>>,
        /// `scope`.
        scope: Option<String>,
    },
    /// `algolia`: `{appID, apiKey}`.
    Algolia {
        /// `appID`.
        app_id: String,
        /// `apiKey` (secret).
        api_key: Secret<String>,
    },
    /// `algoliaInsights`: `{appID, apiKey}`.
    AlgoliaInsights {
        /// `appID`.
        app_id: String,
        /// `apiKey` (secret).
        api_key: Secret<String>,
    },
    /// `secrets`: `{name: value}`, every value secret (write-only), for transformations.
    Secrets(std::collections::BTreeMap<String, Secret<String>>),
}

/// `deserialize_with` for a secret string that must not be empty (the message never shows it).
fn non_empty_secret<'de, D: Deserializer<'de>>(d: D) -> Result<Secret<String>, D::Error> {
    let s = Secret::<String>::deserialize(d)?;
    if s.expose().is_empty() {
        return Err(D::Error::custom("must not be empty"));
    }
    Ok(s)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a googleServiceAccount input object")]
struct RawGoogle {
    #[serde(rename = "clientEmail", deserialize_with = "non_empty")]
    client_email: String,
    #[serde(rename = "privateKey", deserialize_with = "non_empty_secret")]
    private_key: Secret<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a basic input object")]
struct RawBasic {
    #[serde(deserialize_with = "non_empty")]
    username: String,
    password: Secret<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "an apiKey input object")]
struct RawApiKey {
    #[serde(deserialize_with = "non_empty_secret")]
    key: Secret<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "an oauth input object")]
struct RawOAuth {
    #[serde(deserialize_with = "source_url")]
    url: String,
    #[serde(default, deserialize_with = "opt_non_empty")]
    client_id: Option<String>,
    #[serde(default, deserialize_with = "opt_non_empty_secret")]
    client_secret: Option<Secret<String>>,
    #[serde(default, deserialize_with = "opt_non_empty_secret")]
    code: Option<Secret<String>>,
    #[serde(default, deserialize_with = "opt_non_empty")]
    scope: Option<String>,
}

fn opt_non_empty_secret<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Secret<String>>, D::Error> {
    match Option::<Secret<String>>::deserialize(d)? {
        Some(s) if s.expose().is_empty() => Err(D::Error::custom("must not be empty")),
        other => Ok(other),
    }
}

/// A `secrets` input: 1 to [`MAX_SECRETS`] names (`[A-Za-z0-9_-]`, at most 64 characters),
/// each with a string value.
fn parse_secrets(
    input: &Value,
) -> Result<std::collections::BTreeMap<String, Secret<String>>, ValidationError> {
    let Value::Object(fields) = input else {
        return Err(ValidationError::here("must be an object of named secrets"));
    };
    if fields.is_empty() || fields.len() > MAX_SECRETS {
        return Err(ValidationError::here(format!(
            "must hold 1 to {MAX_SECRETS} named secrets"
        )));
    }
    let mut secrets = std::collections::BTreeMap::new();
    for (name, value) in fields {
        let valid_name = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !valid_name {
            return Err(ValidationError::here(format!(
                "secret names are 1 to 64 characters among `A-Z a-z 0-9 _ -`, got {:?}",
                name.chars().take(64).collect::<String>()
            )));
        }
        let Value::String(value) = value else {
            return Err(ValidationError::new(name.clone(), "must be a string"));
        };
        secrets.insert(name.clone(), Secret::new(value.clone()));
    }
    Ok(secrets)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "an algolia input object")]
struct RawAlgolia {
    #[serde(rename = "appID", deserialize_with = "app_id")]
    app_id: String,
    #[serde(rename = "apiKey", deserialize_with = "non_empty_secret")]
    api_key: Secret<String>,
}

impl AuthInput {
    /// Parses the `input` object of an authentication of type `kind`. Errors name the field
    /// relative to the input (`password: missing field`); prefix them with `input`.
    pub fn parse(kind: AuthenticationType, input: &Value) -> Result<Self, ValidationError> {
        Ok(match kind {
            AuthenticationType::GoogleServiceAccount => {
                let r: RawGoogle = from_value(input)?;
                Self::GoogleServiceAccount {
                    client_email: r.client_email,
                    private_key: r.private_key,
                }
            }
            AuthenticationType::Basic => {
                let r: RawBasic = from_value(input)?;
                Self::Basic {
                    username: r.username,
                    password: r.password,
                }
            }
            AuthenticationType::ApiKey => {
                let r: RawApiKey = from_value(input)?;
                Self::ApiKey { key: r.key }
            }
            AuthenticationType::OAuth => {
                let r: RawOAuth = from_value(input)?;
                Self::OAuth {
                    url: r.url,
                    client_id: r.client_id,
                    client_secret: r.client_secret,
                    code: r.code,
                    scope: r.scope,
                }
            }
            AuthenticationType::Algolia => {
                let r: RawAlgolia = from_value(input)?;
                Self::Algolia {
                    app_id: r.app_id,
                    api_key: r.api_key,
                }
            }
            AuthenticationType::AlgoliaInsights => {
                let r: RawAlgolia = from_value(input)?;
                Self::AlgoliaInsights {
                    app_id: r.app_id,
                    api_key: r.api_key,
                }
            }
            AuthenticationType::Secrets => Self::Secrets(parse_secrets(input)?),
        })
    }

    /// Parses the `input` of a PATCH. Secrets are write-only, so a client that echoes a response
    /// back sends them as `null`, and one that changes a single field may leave them out: a secret
    /// that is absent or `null` keeps the value of `stored` when `stored` has the same type
    /// (`docs/api.md` C5); without one, it is a missing field as on create.
    pub fn parse_update(
        kind: AuthenticationType,
        input: &Value,
        stored: Option<&AuthInput>,
    ) -> Result<Self, ValidationError> {
        let Value::Object(fields) = input else {
            return Self::parse(kind, input);
        };
        let mut fields = fields.clone();
        let stored = stored.filter(|s| s.auth_type() == kind);
        if let (AuthenticationType::Secrets, Some(AuthInput::Secrets(kept))) = (kind, stored) {
            // Every value is secret: a `null` (an echoed response) keeps the stored value.
            for (name, value) in &mut fields {
                if value.is_null()
                    && let Some(kept) = kept.get(name)
                {
                    *value = Value::String(kept.expose().clone());
                }
            }
            return Self::parse(kind, &Value::Object(fields));
        }
        for &name in Self::secret_fields(kind) {
            if fields.get(name).is_some_and(|v| !v.is_null()) {
                continue;
            }
            fields.remove(name);
            if let Some(kept) = stored.and_then(|s| s.secret(name)) {
                fields.insert(name.to_owned(), Value::String(kept.to_owned()));
            }
        }
        Self::parse(kind, &Value::Object(fields))
    }

    /// The authentication type this input belongs to.
    pub fn auth_type(&self) -> AuthenticationType {
        match self {
            Self::GoogleServiceAccount { .. } => AuthenticationType::GoogleServiceAccount,
            Self::Basic { .. } => AuthenticationType::Basic,
            Self::ApiKey { .. } => AuthenticationType::ApiKey,
            Self::OAuth { .. } => AuthenticationType::OAuth,
            Self::Algolia { .. } => AuthenticationType::Algolia,
            Self::AlgoliaInsights { .. } => AuthenticationType::AlgoliaInsights,
            Self::Secrets(_) => AuthenticationType::Secrets,
        }
    }

    /// The JSON names of this input's secret fields (for `secrets`, every name it holds).
    pub fn secret_names(&self) -> Vec<&str> {
        match self {
            Self::Secrets(values) => values.keys().map(String::as_str).collect(),
            other => Self::secret_fields(other.auth_type()).to_vec(),
        }
    }

    /// The JSON names of the secret fields of the inputs of type `kind` (none for `secrets`,
    /// whose names are its own: see [`AuthInput::secret_names`]).
    pub fn secret_fields(kind: AuthenticationType) -> &'static [&'static str] {
        match kind {
            AuthenticationType::GoogleServiceAccount => &["privateKey"],
            AuthenticationType::Basic => &["password"],
            AuthenticationType::ApiKey => &["key"],
            AuthenticationType::OAuth => &["client_secret", "code"],
            AuthenticationType::Algolia | AuthenticationType::AlgoliaInsights => &["apiKey"],
            AuthenticationType::Secrets => &[],
        }
    }

    /// The secret field named `name` (JSON name), if this variant has it.
    fn secret(&self, name: &str) -> Option<&str> {
        let secret = match (self, name) {
            (Self::GoogleServiceAccount { private_key, .. }, "privateKey") => private_key,
            (Self::Basic { password, .. }, "password") => password,
            (Self::ApiKey { key }, "key") => key,
            (
                Self::OAuth {
                    client_secret: Some(client_secret),
                    ..
                },
                "client_secret",
            ) => client_secret,
            (
                Self::OAuth {
                    code: Some(code), ..
                },
                "code",
            ) => code,
            (Self::Algolia { api_key, .. }, "apiKey") => api_key,
            (Self::AlgoliaInsights { api_key, .. }, "apiKey") => api_key,
            (Self::Secrets(values), name) => values.get(name)?,
            _ => return None,
        };
        Some(secret.expose())
    }

    fn to_json(&self, reveal: bool) -> Value {
        let s = |secret: &Secret<String>| {
            if reveal {
                Value::String(secret.expose().clone())
            } else {
                Value::Null
            }
        };
        match self {
            Self::GoogleServiceAccount {
                client_email,
                private_key,
            } => json!({"clientEmail": client_email, "privateKey": s(private_key)}),
            Self::Basic { username, password } => {
                json!({"username": username, "password": s(password)})
            }
            Self::ApiKey { key } => json!({"key": s(key)}),
            Self::OAuth {
                url,
                client_id,
                client_secret,
                code,
                scope,
            } => {
                let mut fields = Map::new();
                fields.insert("url".into(), json!(url));
                if let Some(client_id) = client_id {
                    fields.insert("client_id".into(), json!(client_id));
                }
                if let Some(secret) = client_secret {
                    fields.insert("client_secret".into(), s(secret));
                }
                if let Some(code) = code {
                    fields.insert("code".into(), s(code));
                }
                if let Some(scope) = scope {
                    fields.insert("scope".into(), json!(scope));
                }
                Value::Object(fields)
            }
            Self::Algolia { app_id, api_key } | Self::AlgoliaInsights { app_id, api_key } => {
                json!({"appID": app_id, "apiKey": s(api_key)})
            }
            Self::Secrets(values) => Value::Object(
                values
                    .iter()
                    .map(|(name, value)| (name.clone(), s(value)))
                    .collect(),
            ),
        }
    }

    /// The input as returned by the API: every field present, secrets as `null` (`docs/api.md` C5).
    pub fn to_redacted_json(&self) -> Value {
        self.to_json(false)
    }

    /// The redacted input, typed for [`Authentication::input`].
    pub fn redacted(&self) -> RedactedAuthInput {
        RedactedAuthInput(self.to_json(false))
    }

    /// The full input **including the secrets in clear**, as [`AuthInput::parse`] reads it.
    ///
    /// This is the only place the model exposes secrets: it exists for the store, which encrypts
    /// the result before writing it. Never log it, return it or put it in an event.
    pub fn to_secret_json(&self) -> Value {
        self.to_json(true)
    }
}

/// An authentication input as responses carry it: the JSON object with every secret `null`.
/// Built with [`AuthInput::redacted`]; parsing refuses an object holding a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct RedactedAuthInput(Value);

impl RedactedAuthInput {
    /// The JSON object.
    pub fn as_json(&self) -> &Value {
        &self.0
    }
}

impl<'de> Deserialize<'de> for RedactedAuthInput {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let fields = Map::<String, Value>::deserialize(d)?;
        for name in SECRET_FIELDS {
            if fields.get(*name).is_some_and(|v| !v.is_null()) {
                return Err(into_de_error(ValidationError::new(
                    *name,
                    "must be null: secrets are never returned",
                )));
            }
        }
        Ok(Self(Value::Object(fields)))
    }
}

/// An authentication as the API returns it (list, search and get): `input` always present with
/// secrets `null`, `updatedAt` always present (`docs/api.md` C19).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authentication {
    /// `authenticationID`.
    #[serde(rename = "authenticationID")]
    pub authentication_id: String,
    /// `type`.
    #[serde(rename = "type")]
    pub auth_type: AuthenticationType,
    /// `name`.
    pub name: String,
    /// `platform`, omitted when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// `input`, redacted.
    pub input: RedactedAuthInput,
    /// `createdAt` (RFC 3339).
    #[serde(rename = "createdAt")]
    pub created_at: String,
    /// `updatedAt` (RFC 3339), equal to `createdAt` until the first update.
    #[serde(rename = "updatedAt")]
    pub updated_at: String,
}

/// The body of `POST /1/authentications`. Parse it with [`crate::from_slice`]; `input` is parsed
/// by `type`. It has no `Serialize` (it holds secrets): see [`AuthInput::to_secret_json`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticationCreate {
    /// `type`.
    pub auth_type: AuthenticationType,
    /// `name` (not blank).
    pub name: String,
    /// `platform`.
    pub platform: Option<Platform>,
    /// `input`, the variant of `type`.
    pub input: AuthInput,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "an authentication object")]
struct RawAuthenticationCreate {
    #[serde(rename = "type")]
    auth_type: AuthenticationType,
    #[serde(deserialize_with = "non_empty")]
    name: String,
    #[serde(default)]
    platform: Option<Platform>,
    input: Value,
}

impl<'de> Deserialize<'de> for AuthenticationCreate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawAuthenticationCreate::deserialize(d)?;
        Ok(Self {
            input: AuthInput::parse(raw.auth_type, &raw.input)
                .map_err(|e| into_de_error(e.prefixed("input")))?,
            auth_type: raw.auth_type,
            name: raw.name,
            platform: raw.platform,
        })
    }
}

/// The body of `PATCH /1/authentications/{authenticationID}`: every field optional. `input` is
/// kept raw (and hidden from `Debug`) until [`AuthenticationUpdate::resolve_input`] parses it
/// against the stored authentication.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an authentication update object")]
pub struct AuthenticationUpdate {
    /// `type`: a new authentication type (then `input` is required).
    #[serde(rename = "type", default)]
    pub auth_type: Option<AuthenticationType>,
    /// `name` (not blank).
    #[serde(default, deserialize_with = "opt_non_empty")]
    pub name: Option<String>,
    /// `platform`.
    #[serde(default)]
    pub platform: Option<Platform>,
    /// `input`, a JSON object, unparsed.
    #[serde(default, deserialize_with = "opt_secret_object")]
    pub input: Option<Secret<Value>>,
}

fn opt_secret_object<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Secret<Value>>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None => Ok(None),
        Some(v @ Value::Object(_)) => Ok(Some(Secret::new(v))),
        Some(_) => Err(D::Error::custom("must be an object")),
    }
}

impl AuthenticationUpdate {
    /// The authentication type after this update.
    pub fn new_type(&self, stored_type: AuthenticationType) -> AuthenticationType {
        self.auth_type.unwrap_or(stored_type)
    }

    /// The input after this update, parsed for the new type with secrets kept from `stored`
    /// ([`AuthInput::parse_update`]); `None` when the update leaves the input alone. Changing the
    /// type without an `input` is an error (`input: required when type changes`). Errors are
    /// prefixed with `input`.
    pub fn resolve_input(
        &self,
        stored_type: AuthenticationType,
        stored: Option<&AuthInput>,
    ) -> Result<Option<AuthInput>, ValidationError> {
        let kind = self.new_type(stored_type);
        match &self.input {
            Some(input) => AuthInput::parse_update(kind, input.expose(), stored)
                .map(Some)
                .map_err(|e| e.prefixed("input")),
            None if kind != stored_type => Err(ValidationError::new(
                "input",
                format!("required when type changes to `{kind}`"),
            )),
            None => Ok(None),
        }
    }
}

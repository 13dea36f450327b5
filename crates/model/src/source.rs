//! Sources: where a task reads records (`docs/api.md` A6). The `input` is parsed by `type`
//! ([`SourceInput::parse`]); the type cannot change after creation.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::error::into_de_error;
use crate::parse::{immutable, non_empty, opt_non_empty};
use crate::{SourceInput, SourceType, SourceUpdateInput, ValidationError};

/// A source as the API returns it; `updatedAt` is always present (`docs/api.md` C19).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    /// `sourceID`.
    #[serde(rename = "sourceID")]
    pub source_id: String,
    /// `type`.
    #[serde(rename = "type")]
    pub source_type: SourceType,
    /// `name`.
    pub name: String,
    /// `input`, the variant of `type` (left out for a `push` source, which has none).
    #[serde(skip_serializing_if = "SourceInput::is_push")]
    pub input: SourceInput,
    /// `authenticationID`, omitted when unset.
    #[serde(rename = "authenticationID", skip_serializing_if = "Option::is_none")]
    pub authentication_id: Option<String>,
    /// `createdAt` (RFC 3339).
    #[serde(rename = "createdAt")]
    pub created_at: String,
    /// `updatedAt` (RFC 3339).
    #[serde(rename = "updatedAt")]
    pub updated_at: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a source object")]
struct RawSource {
    #[serde(rename = "sourceID")]
    source_id: String,
    #[serde(rename = "type")]
    source_type: SourceType,
    name: String,
    #[serde(default)]
    input: Option<Value>,
    #[serde(rename = "authenticationID", default)]
    authentication_id: Option<String>,
    #[serde(rename = "createdAt")]
    created_at: String,
    #[serde(rename = "updatedAt")]
    updated_at: String,
}

impl<'de> Deserialize<'de> for Source {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawSource::deserialize(d)?;
        Ok(Self {
            input: parse_input(raw.source_type, raw.input.as_ref()).map_err(into_de_error)?,
            source_id: raw.source_id,
            source_type: raw.source_type,
            name: raw.name,
            authentication_id: raw.authentication_id,
            created_at: raw.created_at,
            updated_at: raw.updated_at,
        })
    }
}

/// Parses a source's `input` by `kind`: errors are prefixed with `input`, except the refusal of
/// an unsupported type (path `type`). Only a `push` source may leave `input` out.
fn parse_input(kind: SourceType, input: Option<&Value>) -> Result<SourceInput, ValidationError> {
    let empty = Value::Object(serde_json::Map::new());
    let input = match input {
        Some(input) => input,
        None if SourceInput::is_optional(kind) => &empty,
        None => {
            // The type's own refusal first (`shopify`, `docker`), then the missing input.
            SourceInput::parse(kind, &empty).map_err(|e| {
                if e.path == "type" {
                    e
                } else {
                    ValidationError::new("input", "missing field")
                }
            })?;
            return Err(ValidationError::new("input", "missing field"));
        }
    };
    SourceInput::parse(kind, input).map_err(|e| {
        if e.path == "type" {
            e
        } else {
            e.prefixed("input")
        }
    })
}

/// The body of `POST /1/sources`; `input` is parsed by `type`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceCreate {
    /// `type`.
    #[serde(rename = "type")]
    pub source_type: SourceType,
    /// `name` (not blank).
    pub name: String,
    /// `input`.
    pub input: SourceInput,
    /// `authenticationID`.
    #[serde(rename = "authenticationID", skip_serializing_if = "Option::is_none")]
    pub authentication_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a source object")]
struct RawSourceCreate {
    #[serde(rename = "type")]
    source_type: SourceType,
    #[serde(deserialize_with = "non_empty")]
    name: String,
    #[serde(default)]
    input: Option<Value>,
    #[serde(
        rename = "authenticationID",
        default,
        deserialize_with = "opt_non_empty"
    )]
    authentication_id: Option<String>,
}

impl<'de> Deserialize<'de> for SourceCreate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawSourceCreate::deserialize(d)?;
        let input = parse_input(raw.source_type, raw.input.as_ref()).map_err(into_de_error)?;
        Ok(Self {
            // `ga4BigqueryExport` is stored as the `bigquery` source it becomes.
            source_type: input.source_type(),
            input,
            name: raw.name,
            authentication_id: raw.authentication_id,
        })
    }
}

/// The body of `PATCH /1/sources/{sourceID}`: every field optional; `type` is refused
/// (`type: cannot be changed`). `input` stays raw until [`SourceUpdate::parse_input`] reads it
/// with the stored type.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct SourceUpdate {
    /// `name` (not blank).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `input`: a JSON object, parsed by [`SourceUpdate::parse_input`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
    /// `authenticationID`.
    #[serde(rename = "authenticationID", skip_serializing_if = "Option::is_none")]
    pub authentication_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a source update object")]
struct RawSourceUpdate {
    #[serde(default, deserialize_with = "opt_non_empty")]
    name: Option<String>,
    #[serde(default, deserialize_with = "opt_object")]
    input: Option<Value>,
    #[serde(
        rename = "authenticationID",
        default,
        deserialize_with = "opt_non_empty"
    )]
    authentication_id: Option<String>,
    #[serde(rename = "type", default, deserialize_with = "immutable")]
    #[expect(dead_code, reason = "read only to refuse it")]
    source_type: Option<()>,
}

fn opt_object<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    use serde::de::Error as _;
    match Option::<Value>::deserialize(d)? {
        None => Ok(None),
        Some(v @ Value::Object(_)) => Ok(Some(v)),
        Some(_) => Err(D::Error::custom("must be an object")),
    }
}

impl<'de> Deserialize<'de> for SourceUpdate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawSourceUpdate::deserialize(d)?;
        Ok(Self {
            name: raw.name,
            input: raw.input,
            authentication_id: raw.authentication_id,
        })
    }
}

impl SourceUpdate {
    /// Parses `input` for a source stored with type `stored_type` (errors prefixed with
    /// `input`); `None` when the update has no input.
    pub fn parse_input(
        &self,
        stored_type: SourceType,
    ) -> Result<Option<SourceUpdateInput>, ValidationError> {
        self.input
            .as_ref()
            .map(|input| {
                SourceUpdateInput::parse(stored_type, input).map_err(|e| e.prefixed("input"))
            })
            .transpose()
    }
}

//! Destinations: the Algolia index (or index prefix) that tasks write to (`docs/api.md` A5).

use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::into_de_error;
use crate::parse::opt_non_empty;
use crate::{DestinationType, ValidationError};

/// The target of a destination: exactly one of `indexName` and `indexPrefix`.
///
/// It serializes to the one field it holds (the request form). Responses also give a prefix
/// destination an `indexName` holding the same prefix (`docs/api.md` C19: today's clients require it):
/// see [`DestinationInput::to_response_json`] and [`Destination`]. Parsing accepts that echo back
/// (both fields present and equal means a prefix) and refuses two different values.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DestinationInput {
    /// `{indexName}`: records go to this index.
    IndexName {
        /// `indexName` (not blank).
        index_name: String,
    },
    /// `{indexPrefix}`: records go to `{indexPrefix}{suffix}` (`docs/api.md` C16).
    IndexPrefix {
        /// `indexPrefix` (not blank).
        index_prefix: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a destination input object")]
struct RawDestinationInput {
    #[serde(rename = "indexName", default, deserialize_with = "opt_non_empty")]
    index_name: Option<String>,
    #[serde(rename = "indexPrefix", default, deserialize_with = "opt_non_empty")]
    index_prefix: Option<String>,
}

impl RawDestinationInput {
    fn validate(self) -> Result<DestinationInput, ValidationError> {
        match (self.index_name, self.index_prefix) {
            (Some(index_name), None) => Ok(DestinationInput::IndexName { index_name }),
            (None, Some(index_prefix)) => Ok(DestinationInput::IndexPrefix { index_prefix }),
            (Some(name), Some(index_prefix)) if name == index_prefix => {
                Ok(DestinationInput::IndexPrefix { index_prefix })
            }
            (Some(_), Some(_)) => Err(ValidationError::new(
                "indexName",
                "cannot be given with `indexPrefix`: use one of them",
            )),
            (None, None) => Err(ValidationError::here(
                "one of `indexName` or `indexPrefix` is required",
            )),
        }
    }
}

impl<'de> Deserialize<'de> for DestinationInput {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        RawDestinationInput::deserialize(d)?
            .validate()
            .map_err(into_de_error)
    }
}

impl Serialize for DestinationInput {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(1))?;
        match self {
            Self::IndexName { index_name } => map.serialize_entry("indexName", index_name)?,
            Self::IndexPrefix { index_prefix } => {
                map.serialize_entry("indexPrefix", index_prefix)?;
            }
        }
        map.end()
    }
}

impl DestinationInput {
    /// The index records go to (`docs/api.md` C16): `indexName` as is; with `indexPrefix`, the prefix
    /// followed by `source_name` lowercased, every character outside `[a-z0-9_-]` turned into `_`.
    pub fn index_for(&self, source_name: &str) -> String {
        match self {
            Self::IndexName { index_name } => index_name.clone(),
            Self::IndexPrefix { index_prefix } => {
                let suffix: String = source_name
                    .to_lowercase()
                    .chars()
                    .map(|c| match c {
                        'a'..='z' | '0'..='9' | '_' | '-' => c,
                        _ => '_',
                    })
                    .collect();
                format!("{index_prefix}{suffix}")
            }
        }
    }

    /// The index name, or the prefix, whichever this destination holds.
    pub fn name_or_prefix(&self) -> &str {
        match self {
            Self::IndexName { index_name } => index_name,
            Self::IndexPrefix { index_prefix } => index_prefix,
        }
    }

    /// The response form (`docs/api.md` C19): a prefix destination gives `{"indexPrefix": p,
    /// "indexName": p}`, a name destination `{"indexName": n}`.
    pub fn to_response_json(&self) -> serde_json::Value {
        match self {
            Self::IndexName { index_name } => serde_json::json!({ "indexName": index_name }),
            Self::IndexPrefix { index_prefix } => {
                serde_json::json!({ "indexPrefix": index_prefix, "indexName": index_prefix })
            }
        }
    }

    fn serialize_response<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::IndexName { .. } => self.serialize(s),
            Self::IndexPrefix { index_prefix } => {
                let mut map = s.serialize_map(Some(2))?;
                map.serialize_entry("indexPrefix", index_prefix)?;
                map.serialize_entry("indexName", index_prefix)?;
                map.end()
            }
        }
    }
}

/// A destination as the API returns it. `input` serializes in the response form
/// ([`DestinationInput::to_response_json`]); `updatedAt` is always present (`docs/api.md` C19).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Destination {
    /// `destinationID`.
    #[serde(rename = "destinationID")]
    pub destination_id: String,
    /// `type`.
    #[serde(rename = "type")]
    pub destination_type: DestinationType,
    /// `name`.
    pub name: String,
    /// `input`.
    #[serde(serialize_with = "DestinationInput::serialize_response")]
    pub input: DestinationInput,
    /// `authenticationID`, omitted when unset.
    #[serde(
        rename = "authenticationID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub authentication_id: Option<String>,
    /// `createdAt` (RFC 3339).
    #[serde(rename = "createdAt")]
    pub created_at: String,
    /// `updatedAt` (RFC 3339).
    #[serde(rename = "updatedAt")]
    pub updated_at: String,
}

/// The body of `POST /1/destinations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a destination object")]
pub struct DestinationCreate {
    /// `type`.
    #[serde(rename = "type")]
    pub destination_type: DestinationType,
    /// `name` (not blank).
    #[serde(deserialize_with = "crate::parse::non_empty")]
    pub name: String,
    /// `input`.
    pub input: DestinationInput,
    /// `authenticationID` (an `algolia` authentication).
    #[serde(
        rename = "authenticationID",
        default,
        deserialize_with = "opt_non_empty",
        skip_serializing_if = "Option::is_none"
    )]
    pub authentication_id: Option<String>,
}

/// The body of `PATCH /1/destinations/{destinationID}`: every field optional.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a destination update object")]
pub struct DestinationUpdate {
    /// `type`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub destination_type: Option<DestinationType>,
    /// `name` (not blank).
    #[serde(
        default,
        deserialize_with = "opt_non_empty",
        skip_serializing_if = "Option::is_none"
    )]
    pub name: Option<String>,
    /// `input`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<DestinationInput>,
    /// `authenticationID`.
    #[serde(
        rename = "authenticationID",
        default,
        deserialize_with = "opt_non_empty",
        skip_serializing_if = "Option::is_none"
    )]
    pub authentication_id: Option<String>,
}

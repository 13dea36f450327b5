//! Destinations: the Algolia index (or index prefix) that tasks write to (`docs/api.md` A5).

use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::into_de_error;
use crate::parse::opt_non_empty;
use crate::{DestinationType, RecordType, ValidationError};

/// Where a destination writes: exactly one of `indexName` and `indexPrefix`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IndexTarget {
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

/// The input of a destination: its [`IndexTarget`], and today's optional `recordType` and
/// `attributesToExclude` (`docs/api.md` D3).
///
/// It serializes in the request form (the target's one field). Responses also give a prefix
/// destination an `indexName` holding the same prefix (`docs/api.md` C19: today's clients require
/// it): see [`DestinationInput::to_response_json`] and [`Destination`]. Parsing accepts that echo
/// back (both fields present and equal means a prefix) and refuses two different values.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DestinationInput {
    /// The index, or the prefix.
    pub target: IndexTarget,
    /// `recordType`: what the records are (stored and returned).
    pub record_type: Option<RecordType>,
    /// `attributesToExclude`: attribute paths removed from every record before it is sent
    /// (`a.b` reaches into objects; a trailing `.*` removes a whole object). Empty when unset.
    pub attributes_to_exclude: Vec<String>,
}

/// The most `attributesToExclude` a destination may list.
pub const MAX_ATTRIBUTES_TO_EXCLUDE: usize = 100;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a destination input object")]
struct RawDestinationInput {
    #[serde(rename = "indexName", default, deserialize_with = "opt_non_empty")]
    index_name: Option<String>,
    #[serde(rename = "indexPrefix", default, deserialize_with = "opt_non_empty")]
    index_prefix: Option<String>,
    #[serde(rename = "recordType", default)]
    record_type: Option<RecordType>,
    #[serde(rename = "attributesToExclude", default)]
    attributes_to_exclude: Option<Vec<String>>,
}

impl RawDestinationInput {
    fn validate(self) -> Result<DestinationInput, ValidationError> {
        let target = match (self.index_name, self.index_prefix) {
            (Some(index_name), None) => IndexTarget::IndexName { index_name },
            (None, Some(index_prefix)) => IndexTarget::IndexPrefix { index_prefix },
            (Some(name), Some(index_prefix)) if name == index_prefix => {
                IndexTarget::IndexPrefix { index_prefix }
            }
            (Some(_), Some(_)) => {
                return Err(ValidationError::new(
                    "indexName",
                    "cannot be given with `indexPrefix`: use one of them",
                ));
            }
            (None, None) => {
                return Err(ValidationError::here(
                    "one of `indexName` or `indexPrefix` is required",
                ));
            }
        };
        let attributes = self.attributes_to_exclude.unwrap_or_default();
        if attributes.len() > MAX_ATTRIBUTES_TO_EXCLUDE {
            return Err(ValidationError::new(
                "attributesToExclude",
                format!("at most {MAX_ATTRIBUTES_TO_EXCLUDE} attributes"),
            ));
        }
        for (i, path) in attributes.iter().enumerate() {
            check_attribute_path(path).map_err(|message| {
                ValidationError::new(format!("attributesToExclude[{i}]"), message)
            })?;
        }
        Ok(DestinationInput {
            target,
            record_type: self.record_type,
            attributes_to_exclude: attributes,
        })
    }
}

/// An attribute path: dot-separated non-empty names, `*` only as the whole last segment.
fn check_attribute_path(path: &str) -> Result<(), &'static str> {
    if path.is_empty() {
        return Err("must not be empty");
    }
    if path == "objectID" {
        return Err("`objectID` cannot be excluded: records are stored by it");
    }
    let segments: Vec<&str> = path.split('.').collect();
    for (i, segment) in segments.iter().enumerate() {
        if segment.is_empty() {
            return Err("must not have an empty segment (`a..b`, `.a` or `a.`)");
        }
        if segment.contains('*') && (*segment != "*" || i + 1 != segments.len() || i == 0) {
            return Err("`*` is only allowed as a whole last segment after a name (`a.*`)");
        }
    }
    Ok(())
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
        self.serialize_with(s, false)
    }
}

impl DestinationInput {
    /// An input writing to `index`, with nothing else set.
    pub fn index(index: impl Into<String>) -> Self {
        Self::of(IndexTarget::IndexName {
            index_name: index.into(),
        })
    }

    /// An input writing to indices named `{prefix}{suffix}`, with nothing else set.
    pub fn prefix(prefix: impl Into<String>) -> Self {
        Self::of(IndexTarget::IndexPrefix {
            index_prefix: prefix.into(),
        })
    }

    fn of(target: IndexTarget) -> Self {
        Self {
            target,
            record_type: None,
            attributes_to_exclude: Vec::new(),
        }
    }

    /// The index records go to (`docs/api.md` C16): `indexName` as is; with `indexPrefix`, the prefix
    /// followed by `source_name` lowercased, every character outside `[a-z0-9_-]` turned into `_`.
    pub fn index_for(&self, source_name: &str) -> String {
        match &self.target {
            IndexTarget::IndexName { index_name } => index_name.clone(),
            IndexTarget::IndexPrefix { index_prefix } => {
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
        match &self.target {
            IndexTarget::IndexName { index_name } => index_name,
            IndexTarget::IndexPrefix { index_prefix } => index_prefix,
        }
    }

    /// Whether records go to `{indexPrefix}{suffix}` rather than one named index.
    pub fn is_prefix(&self) -> bool {
        matches!(self.target, IndexTarget::IndexPrefix { .. })
    }

    /// The response form (`docs/api.md` C19): a prefix destination gives `{"indexPrefix": p,
    /// "indexName": p}`, a name destination `{"indexName": n}`; `recordType` and
    /// `attributesToExclude` when set.
    pub fn to_response_json(&self) -> serde_json::Value {
        serde_json::to_value(Response(self)).unwrap_or(serde_json::Value::Null)
    }

    fn serialize_response<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.serialize_with(s, true)
    }

    fn serialize_with<S: Serializer>(&self, s: S, response: bool) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        match &self.target {
            IndexTarget::IndexName { index_name } => {
                map.serialize_entry("indexName", index_name)?;
            }
            IndexTarget::IndexPrefix { index_prefix } => {
                map.serialize_entry("indexPrefix", index_prefix)?;
                if response {
                    map.serialize_entry("indexName", index_prefix)?;
                }
            }
        }
        if let Some(record_type) = self.record_type {
            map.serialize_entry("recordType", &record_type)?;
        }
        if !self.attributes_to_exclude.is_empty() {
            map.serialize_entry("attributesToExclude", &self.attributes_to_exclude)?;
        }
        map.end()
    }
}

/// The response form of an input, for [`DestinationInput::to_response_json`].
struct Response<'a>(&'a DestinationInput);

impl Serialize for Response<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize_response(s)
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
    /// `transformationIDs` (at most one), omitted when empty.
    #[serde(
        rename = "transformationIDs",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub transformation_ids: Vec<String>,
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
    /// `transformationIDs`: at most one (`docs/api.md` D3).
    #[serde(
        rename = "transformationIDs",
        default,
        deserialize_with = "transformation_ids",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub transformation_ids: Vec<String>,
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
    /// `transformationIDs`: at most one; `[]` detaches the transformation.
    #[serde(
        rename = "transformationIDs",
        default,
        deserialize_with = "opt_transformation_ids",
        skip_serializing_if = "Option::is_none"
    )]
    pub transformation_ids: Option<Vec<String>>,
}

/// `transformationIDs`: at most one ID, not blank.
fn transformation_ids<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    use serde::de::Error as _;
    let ids = Vec::<String>::deserialize(d)?;
    if ids.len() > 1 {
        return Err(D::Error::custom(format!(
            "at most one transformation per destination, got {}",
            ids.len()
        )));
    }
    if ids.iter().any(|id| id.trim().is_empty()) {
        return Err(D::Error::custom("must not hold an empty ID"));
    }
    Ok(ids)
}

fn opt_transformation_ids<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Vec<String>>, D::Error> {
    transformation_ids(d).map(Some)
}

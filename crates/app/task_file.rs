//! The task file of `run-task`: one task with its source and destination inline, in the same
//! shapes as the API (JSON, or TOML with the same structure).

use std::path::Path;

use ingest_engine::transformation::{TransformationBody, TransformationSpec};
use ingest_model::{
    ActionType, AuthInput, AuthenticationType, DestinationInput, DestinationType, SourceInput,
    SourceType, TaskInput, ValidationError, from_value,
};
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTaskFile {
    action: ActionType,
    #[serde(rename = "failureThreshold", default)]
    failure_threshold: Option<i64>,
    source: RawSource,
    destination: RawDestination,
    #[serde(default)]
    input: Option<TaskInput>,
    #[serde(default)]
    transformation: Option<RawTransformation>,
}

/// A task file's `transformation` (`docs/api.md` D5): the API's shape, with its secrets inline.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTransformation {
    #[serde(default)]
    name: Option<String>,
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    input: Option<Value>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    secrets: std::collections::HashMap<String, String>,
}

impl RawTransformation {
    /// The transformation as a run applies it; errors name the field under `transformation`.
    fn spec(self) -> Result<TransformationSpec, TaskFileError> {
        let invalid = |field: &str, message: &str| {
            TaskFileError(format!("transformation.{field}: {message}"))
        };
        let input = self.input.unwrap_or(Value::Null);
        let body = match (self.kind.as_deref(), self.code) {
            (None | Some("code"), Some(code)) if input.is_null() => TransformationBody::Code(code),
            (None | Some("code"), None) => match input.get("code") {
                Some(Value::String(code)) => TransformationBody::Code(code.clone()),
                _ => {
                    return Err(invalid(
                        "input.code",
                        "the JavaScript code, as a string, is required",
                    ));
                }
            },
            (Some("noCode"), None) => match input.get("steps") {
                Some(steps @ Value::Array(_)) => TransformationBody::NoCode(steps.clone()),
                _ => return Err(invalid("input.steps", "an array of steps is required")),
            },
            (_, Some(_)) => {
                return Err(invalid("code", "give the code in `input.code` only"));
            }
            (Some(other), None) => {
                return Err(invalid(
                    "type",
                    &format!("unknown type `{other}`: expected `code` or `noCode`"),
                ));
            }
        };
        Ok(TransformationSpec {
            id: String::new(),
            name: self.name.unwrap_or_else(|| "task file".to_owned()),
            body,
            secrets: self.secrets,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    #[serde(rename = "type")]
    source_type: SourceType,
    #[serde(default)]
    name: Option<String>,
    input: Value,
    #[serde(default)]
    authentication: Option<RawAuthentication>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDestination {
    #[serde(rename = "type")]
    destination_type: DestinationType,
    input: Value,
    #[serde(default)]
    authentication: Option<RawAuthentication>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAuthentication {
    #[serde(rename = "type")]
    auth_type: AuthenticationType,
    input: Value,
}

/// A validated task file.
#[derive(Debug)]
pub struct TaskFile {
    /// `replace` or `save`.
    pub action: ActionType,
    /// The percentage (0–100) of rejected records a run tolerates.
    pub failure_threshold: u8,
    /// The source's name, when given (it names the index of an `indexPrefix` destination).
    pub source_name: Option<String>,
    /// The source input.
    pub source: SourceInput,
    /// The source's credentials.
    pub source_auth: Option<AuthInput>,
    /// `search` (an index) or `insights` (Insights events).
    pub destination_type: DestinationType,
    /// The destination input.
    pub destination: DestinationInput,
    /// The destination's Algolia credentials.
    pub destination_auth: Option<AuthInput>,
    /// The task's date window (`startDate`/`endDate`, or `timeframe` days), as in the API: the
    /// BigQuery GA4/GA360 exports read it.
    pub input: Option<TaskInput>,
    /// The destination's transformation, applied to every record before it is sent.
    pub transformation: Option<TransformationSpec>,
}

/// A task file that cannot be used; the message names the field.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TaskFileError(pub String);

impl From<ValidationError> for TaskFileError {
    fn from(error: ValidationError) -> Self {
        TaskFileError(error.to_string())
    }
}

impl TaskFile {
    /// Reads and validates a task file; `.toml` files are TOML, everything else JSON.
    pub fn load(path: &Path) -> Result<Self, TaskFileError> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| TaskFileError(format!("{}: {error}", path.display())))?;
        let is_toml = path.extension().is_some_and(|ext| ext == "toml");
        let value = if is_toml {
            let table: toml::Table = text
                .parse()
                .map_err(|error| TaskFileError(format!("{}: {error}", path.display())))?;
            serde_json::to_value(table)
                .map_err(|error| TaskFileError(format!("{}: {error}", path.display())))?
        } else {
            serde_json::from_str(&text).map_err(|error| {
                TaskFileError(format!("{}: invalid JSON: {error}", path.display()))
            })?
        };
        Self::from_json(&value)
    }

    /// Validates a task file's content.
    pub fn from_json(value: &Value) -> Result<Self, TaskFileError> {
        let raw: RawTaskFile = from_value(value)?;
        let failure_threshold = match raw.failure_threshold {
            None => 0,
            Some(value @ 0..=100) => value as u8,
            Some(_) => {
                return Err(TaskFileError(
                    "failureThreshold: must be an integer from 0 to 100".to_owned(),
                ));
            }
        };
        let source = SourceInput::parse(raw.source.source_type, &raw.source.input)
            .map_err(|error| error.prefixed("source.input"))?;
        let source_auth = raw
            .source
            .authentication
            .map(|auth| {
                AuthInput::parse(auth.auth_type, &auth.input)
                    .map_err(|error| error.prefixed("source.authentication.input"))
            })
            .transpose()?;
        if raw.action == ActionType::Save && !source.provides_object_ids() {
            return Err(TaskFileError(
                "source.input.uniqueIDColumn: required for action `save` (partial updates need an objectID)"
                    .to_owned(),
            ));
        }
        if !matches!(
            raw.destination.destination_type,
            DestinationType::Search | DestinationType::Insights
        ) {
            return Err(TaskFileError(format!(
                "destination.type: `{}` destinations are not supported by this engine (use `search` or `insights`)",
                raw.destination.destination_type.as_str()
            )));
        }
        let destination: DestinationInput = from_value(&raw.destination.input)
            .map_err(|error| error.prefixed("destination.input"))?;
        if destination.is_prefix() && raw.source.name.is_none() {
            return Err(TaskFileError(
                "source.name: required with an `indexPrefix` destination (it names the index)"
                    .to_owned(),
            ));
        }
        let destination_auth = raw
            .destination
            .authentication
            .map(|auth| {
                if auth.auth_type != AuthenticationType::Algolia {
                    return Err(TaskFileError(format!(
                        "destination.authentication.type: must be `algolia`, found `{}`",
                        auth.auth_type.as_str()
                    )));
                }
                AuthInput::parse(auth.auth_type, &auth.input)
                    .map_err(|error| error.prefixed("destination.authentication.input").into())
            })
            .transpose()?;
        Ok(Self {
            action: raw.action,
            failure_threshold,
            source_name: raw.source.name,
            source,
            source_auth,
            destination_type: raw.destination.destination_type,
            destination,
            destination_auth,
            input: raw.input,
            transformation: raw
                .transformation
                .map(RawTransformation::spec)
                .transpose()?,
        })
    }

    /// The index records go to (`docs/api.md` C16 for an `indexPrefix` destination).
    pub fn index_name(&self) -> String {
        self.destination
            .index_for(self.source_name.as_deref().unwrap_or_default())
    }
}

#[cfg(test)]
mod tests;

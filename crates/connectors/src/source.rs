//! What every source is and what it gets from its surroundings: the [`Source`] trait, the
//! [`SourceContext`] a source is built with ([`Endpoints`], [`DateWindow`]) and the [`ConfigError`]
//! of an input that cannot be used.
//!
//! This is the vocabulary the connectors share; it names none of them (the registry,
//! [`build_source`](crate::build_source), is the one place that does).

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use ingest_core::RecordStream;
use ingest_model::{RunRecorder, Timestamp};

use crate::http::SourceHttpClient;

/// What a source needs from its surroundings.
#[derive(Clone)]
pub struct SourceContext {
    /// The shared HTTP client (with the URL policy).
    pub http: SourceHttpClient,
    /// The largest record accepted, in bytes of minified JSON.
    pub max_record_bytes: usize,
    /// Whether a `url` may name a local file (only the one-shot `run-task` allows it); relative
    /// paths (`./x.csv`) are then read from this directory.
    pub local_files: Option<PathBuf>,
    /// Where `fetch` events go (one per body read), when the run records events.
    pub events: Option<Arc<dyn RunRecorder>>,
    /// The third-party hosts a task does not name.
    pub endpoints: Endpoints,
    /// The run's date window, for sources that read by date (BigQuery GA4/GA360 exports).
    pub window: Option<DateWindow>,
    /// The webhook payload that triggered a subscription run, for connectors that act on it
    /// (a BigCommerce product event); `None` for a full run.
    pub trigger_event: Option<serde_json::Value>,
}

/// The hosts of third-party APIs that a task does not name: configurable for private
/// deployments and tests (`[bigquery] api_base`, `[google] token_url`, `[bigcommerce] api_base`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoints {
    /// BigQuery's REST API base (`https://bigquery.googleapis.com`).
    pub bigquery_api_base: String,
    /// Google's OAuth token endpoint, when the service-account key does not name one.
    pub google_token_url: String,
    /// BigCommerce's API base (`https://api.bigcommerce.com`).
    pub bigcommerce_api_base: String,
}

impl Default for Endpoints {
    fn default() -> Self {
        Self {
            bigquery_api_base: "https://bigquery.googleapis.com".into(),
            google_token_url: "https://oauth2.googleapis.com/token".into(),
            bigcommerce_api_base: "https://api.bigcommerce.com".into(),
        }
    }
}

/// The date window of a run: from `start` (inclusive) to `end` (exclusive), UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateWindow {
    /// The first instant in the window.
    pub start: Timestamp,
    /// The first instant after the window.
    pub end: Timestamp,
}

impl fmt::Debug for SourceContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceContext")
            .field("http", &self.http)
            .field("max_record_bytes", &self.max_record_bytes)
            .field("local_files", &self.local_files)
            .field("events", &self.events.is_some())
            .field("endpoints", &self.endpoints)
            .field("window", &self.window)
            .field("trigger_event", &self.trigger_event.is_some())
            .finish()
    }
}

/// A source input that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ConfigError {
    /// The field at fault, relative to the source (`input.url`, `authentication.type`).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl ConfigError {
    pub(crate) fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

/// The client-credentials pair of an `oauth` authentication. The API takes `client_id` and
/// `client_secret` as optional (`docs/api.md` D3); the sources here get their tokens with the
/// client-credentials grant, which needs both.
pub(crate) fn client_credentials(
    client_id: Option<&String>,
    client_secret: Option<&ingest_core::Secret<String>>,
) -> Result<(String, ingest_core::Secret<String>), ConfigError> {
    let why = "this engine gets OAuth tokens with the client-credentials grant, which needs it";
    let client_id =
        client_id.ok_or_else(|| ConfigError::new("authentication.input.client_id", why))?;
    let client_secret =
        client_secret.ok_or_else(|| ConfigError::new("authentication.input.client_secret", why))?;
    Ok((client_id.clone(), client_secret.clone()))
}

/// A source that can stream its records.
pub trait Source: Send + Sync + fmt::Debug {
    /// The records, in order. Connection failures arrive as a fatal item.
    fn records(&self) -> RecordStream;
    /// Where the records come from, without credentials (for logs and events).
    fn describe(&self) -> String;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_halves_are_needed() {
        let id = "cid".to_owned();
        let secret = ingest_core::Secret::new("s".to_owned());
        assert!(client_credentials(Some(&id), Some(&secret)).is_ok());
        let missing = client_credentials(None, Some(&secret)).unwrap_err();
        assert_eq!(missing.field, "authentication.input.client_id");
        let missing = client_credentials(Some(&id), None).unwrap_err();
        assert_eq!(missing.field, "authentication.input.client_secret");
    }
}

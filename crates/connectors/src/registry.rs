//! The registry: from a parsed [`SourceInput`] to the source that streams its records.
//!
//! This is the one module that names the connectors (the dependency points from the dispatcher to
//! what it dispatches to, never back): CSV and JSON are a [`UrlSource`] with the decoder of their
//! format; BigQuery, commercetools and BigCommerce build their own sources. A connector knows the
//! shared vocabulary ([`Source`], [`SourceContext`], [`ConfigError`]) only.

use std::sync::Arc;

use ingest_model::{AuthInput, SourceInput};

use crate::csv::{CsvDecoder, CsvOptions};
use crate::decode::RecordDecoder;
use crate::json::{JsonDecoder, JsonOptions};
use crate::source::{ConfigError, Source, SourceContext};
use crate::url_source::{DecoderFactory, UrlSource};
use crate::{bigcommerce, bigquery, commercetools};

/// Builds the source of `input`, authenticated by `auth`.
pub fn build_source(
    input: &SourceInput,
    auth: Option<&AuthInput>,
    context: &SourceContext,
) -> Result<Box<dyn Source>, ConfigError> {
    match input {
        SourceInput::Csv(csv) => {
            let options = CsvOptions {
                delimiter: csv.delimiter_byte(),
                mapping: csv.mapping.clone(),
                unique_id_column: csv.unique_id_column.clone(),
                max_record_bytes: context.max_record_bytes,
            };
            let decoder: DecoderFactory = Arc::new(move || {
                Box::new(CsvDecoder::new(options.clone())) as Box<dyn RecordDecoder>
            });
            let source = UrlSource::new(&csv.url, csv.method(), auth, "csv", context, decoder)?;
            Ok(Box::new(source))
        }
        SourceInput::Json(json) => {
            let options = JsonOptions {
                unique_id_column: json.unique_id_column.clone(),
                max_record_bytes: context.max_record_bytes,
            };
            let decoder: DecoderFactory = Arc::new(move || {
                Box::new(JsonDecoder::new(options.clone())) as Box<dyn RecordDecoder>
            });
            let source = UrlSource::new(&json.url, json.method(), auth, "json", context, decoder)?;
            Ok(Box::new(source))
        }
        SourceInput::BigQuery(input) => Ok(Box::new(bigquery::build(input, auth, context)?)),
        SourceInput::Commercetools(input) => commercetools::build(input, auth, context),
        SourceInput::BigCommerce(input) => bigcommerce::build(input, auth, context),
        SourceInput::Push(_) => Err(ConfigError::new(
            "type",
            "a push source has nothing to fetch: its records arrive through `POST /1/push/{indexName}`",
        )),
        SourceInput::AlgoliaIndex(_) => Err(ConfigError::new(
            "type",
            "an `algoliaIndex` source is browsed with its destination's Algolia credentials, in a task's runs only",
        )),
    }
}

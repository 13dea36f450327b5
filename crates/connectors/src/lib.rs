//! Sources of the ingestion engine.
//!
//! A source turns its input (the `input` object of an Ingestion API source) into a
//! [`RecordStream`](ingest_core::RecordStream). For CSV and JSON the body comes from a URL (or,
//! for `run-task`, a local file) as a stream of chunks; a push decoder ([`RecordDecoder`]) turns
//! each chunk into records as it arrives, so memory holds one chunk and one record under
//! construction whatever the input size. Rows and elements are written straight to JSON bytes:
//! no `serde_json::Value` per record.
//!
//! Every URL goes through the [`http::url_policy`] (the SSRF guard) before a connection and on
//! each redirect, and every resolved address is checked at connect time. Requests are retried
//! on 429, 5xx and network errors, honouring `Retry-After`.
//!
//! BigQuery ([`bigquery`]) reads result pages through Google's REST API with a service-account
//! token ([`google`]), one page at a time, each row typed by its schema.
//! The platform connectors read paged JSON APIs instead: [`commercetools`] (product projections,
//! one record per variant; [`commercetools::locale_sources`] gives one source per locale for an
//! `indexPrefix` destination) and [`bigcommerce`] (the catalog, one record per product; product
//! webhooks through [`SourceContext::trigger_event`], verified by [`bigcommerce::webhook`]).
//!
//! Entry points: [`build_source`] (from a parsed [`ingest_model::SourceInput`]) and, for
//! benchmarks and tests, the decoders [`CsvDecoder`] and [`JsonDecoder`].

mod arena;
pub mod bigcommerce;
pub mod bigquery;
pub mod commercetools;
pub mod csv;
mod decode;
pub mod google;
pub mod http;
pub mod json;
mod json_text;
mod source;

pub use csv::{CsvDecoder, CsvOptions};
pub use decode::RecordDecoder;
pub use json::{JsonDecoder, JsonOptions};
pub use source::{
    ConfigError, DateWindow, Endpoints, Location, Source, SourceContext, build_source,
    decode_stream,
};

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
//!
//! # Layout
//!
//! The top-level modules come in three kinds, and names point one way only (a test,
//! `tests/module_graph.rs`, reads `src/` and holds the rule):
//!
//! - **the registry** (`registry`): [`build_source`] matches on the input and builds the source of
//!   its connector. It is the only module that names a connector.
//! - **connectors**, one folder each: `csv/` and `json/` (push decoders from bytes to records),
//!   `url_source/` (a body over HTTP or from a file, driven through a decoder: [`Location`],
//!   [`decode_stream`]), [`bigquery`], [`commercetools`] and [`bigcommerce`]. A connector names
//!   shared modules only, never another connector nor the registry.
//! - **shared modules**, which name no connector: `source` (the vocabulary: [`Source`],
//!   [`SourceContext`], [`Endpoints`], [`DateWindow`], [`ConfigError`]), [`http`] (the client and
//!   its URL policy, bodies, `fetch` events, the paging of JSON APIs), `json_text` (writing JSON
//!   text, and the validator that checks a JSON element or a CSV cell typed `json`), `decode` (the
//!   [`RecordDecoder`] trait), `arena` (record buffers) and [`google`] (service-account tokens).
//!
//! The module graph has no cycle.

// A failed unwrap is a failed test; outside tests, every error is handled.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

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
mod registry;
mod source;
mod url_source;

pub use csv::{CsvDecoder, CsvOptions};
pub use decode::RecordDecoder;
pub use json::{JsonDecoder, JsonOptions};
pub use registry::build_source;
pub use source::{ConfigError, DateWindow, Endpoints, Source, SourceContext};
pub use url_source::{Location, decode_stream};

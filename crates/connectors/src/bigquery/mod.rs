//! Google BigQuery sources (`SourceBigQuery`): a table, a custom query, or Google Analytics
//! (GA4 / GA360) exports over the run's date window.
//!
//! The model, from the wire up:
//!
//! - **auth** ([`crate::google`]): the `googleServiceAccount` authentication signs a JWT that is
//!   exchanged for an access token, cached, renewed before it expires and once on a 401;
//! - **calls** (`api`): a thin client of the four REST calls the source needs (`tables.get`,
//!   `tabledata.list`, `jobs.query`, `jobs.getQueryResults`) over the shared source HTTP client,
//!   which brings the URL policy, the retries of 429/5xx/network errors and `Retry-After`;
//!   BigQuery's own refusals become reasons a user can act on;
//! - **plan** (`plan`): what to read, decided before any request: `tabledata.list` for a table
//!   (no query job, nothing billed), a standard-SQL query job otherwise;
//! - **pages** (`pages`): results are read page by page with page tokens, lazily, one `fetch`
//!   event per page; repeated tokens, a page cap and malformed answers end the run;
//! - **rows** (`rows`): each row is written straight to JSON bytes, typed by its schema.
//!
//! [`insights_events`] turns the records of a GA4 export into Insights events, for an
//! `insights` destination.
//!
//! Why a thin client rather than `gcp-bigquery-client`: that crate compiles about 144 crates
//! (tonic and prost for the Storage Write API, a second reqwest major, yup-oauth2 with its own
//! TLS connector that would bypass our URL policy), has no retries, sends no `location`, and
//! leaves legacy SQL on in `query_all`. The REST surface needed here is four calls.

mod api;
#[cfg(feature = "testkit")]
pub mod fake;
mod ga4;
mod pages;
mod plan;
mod rows;
mod wire;

use std::fmt;
use std::sync::Arc;

use ingest_core::RecordStream;
use ingest_model::{AuthInput, SourceBigQuery};
use url::Url;

use crate::google::{GoogleTokens, ServiceAccount};
use crate::source::{ConfigError, Source, SourceContext};
use api::BigQueryApi;
pub use ga4::{MAX_OBJECT_IDS_PER_EVENT, insights_events};
use pages::Reader;
use plan::Plan;

/// The OAuth scope asked for.
pub const SCOPE: &str = "https://www.googleapis.com/auth/bigquery";

/// Rows asked for per page (BigQuery also caps a page at about 10 MB).
pub const PAGE_ROWS: u32 = 10_000;

/// Pages one run may read (10 000 rows each: a billion rows).
pub const MAX_PAGES: u64 = 100_000;

/// Polls of a running query job (BigQuery holds each up to 10 s).
pub const MAX_POLLS: u32 = 1_000;

/// A BigQuery source.
pub struct BigQuerySource {
    reader: Arc<Reader>,
    described: String,
}

impl fmt::Debug for BigQuerySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BigQuerySource")
            .field("source", &self.described)
            .finish_non_exhaustive()
    }
}

impl Source for BigQuerySource {
    fn records(&self) -> RecordStream {
        pages::records(self.reader.clone())
    }

    fn describe(&self) -> String {
        self.described.clone()
    }
}

impl BigQuerySource {
    /// Changes the rows asked for per page and the pages a run may read (tests, benchmarks).
    pub fn with_page_limits(mut self, page_rows: u32, max_pages: u64) -> Self {
        if let Some(reader) = Arc::get_mut(&mut self.reader) {
            reader.page_rows = page_rows.max(1);
            reader.max_pages = max_pages.max(1);
        }
        self
    }
}

fn config_error(field: &str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        field: field.to_owned(),
        message: message.into(),
    }
}

/// Builds the source of `input`, authenticated by `auth` (a `googleServiceAccount`).
pub fn build(
    input: &SourceBigQuery,
    auth: Option<&AuthInput>,
    context: &SourceContext,
) -> Result<BigQuerySource, ConfigError> {
    let account = match auth {
        Some(AuthInput::GoogleServiceAccount {
            client_email,
            private_key,
        }) => ServiceAccount::new(client_email, private_key.expose())
            .map_err(|message| config_error("authentication.input", message))?,
        Some(other) => {
            return Err(config_error(
                "authentication.type",
                format!(
                    "`{}` cannot authenticate a bigquery source (use googleServiceAccount)",
                    other.auth_type().as_str()
                ),
            ));
        }
        None => {
            return Err(config_error(
                "authentication",
                "a bigquery source needs a googleServiceAccount authentication",
            ));
        }
    };
    let plan = plan::plan(input, context.window.as_ref())?;
    let tokens = GoogleTokens::new(account, &context.endpoints.google_token_url, SCOPE)
        .map_err(|message| config_error("google.token_url", message))?;
    let base = context.endpoints.bigquery_api_base.trim_end_matches('/');
    let mut project_url = Url::parse(base).map_err(|error| {
        config_error(
            "bigquery.api_base",
            format!("`{base}` is not a valid URL: {error}"),
        )
    })?;
    project_url
        .path_segments_mut()
        .map_err(|()| {
            config_error(
                "bigquery.api_base",
                format!("`{base}` cannot be a base URL"),
            )
        })?
        .pop_if_empty()
        .extend(["bigquery", "v2", "projects", &input.project_id]);
    let described = match &plan {
        Plan::Table { table } => format!(
            "bigquery table `{}.{}.{table}`",
            input.project_id, input.dataset_id
        ),
        Plan::Query { parameters, .. } if parameters.is_empty() => {
            format!("bigquery query in project `{}`", input.project_id)
        }
        Plan::Query { parameters, .. } => format!(
            "bigquery export `{}.{}` from {} to {}",
            input.project_id,
            input.dataset_id,
            parameters[0]["parameterValue"]["value"]
                .as_str()
                .unwrap_or_default(),
            parameters[1]["parameterValue"]["value"]
                .as_str()
                .unwrap_or_default(),
        ),
    };
    let min_backoff = context.http.settings().min_backoff;
    let reader = Reader {
        api: BigQueryApi {
            http: context.http.clone(),
            tokens: Arc::new(tokens),
            project_url,
            quota_backoff: min_backoff * 2,
        },
        plan,
        project: input.project_id.clone(),
        dataset: input.dataset_id.clone(),
        unique_id_column: input.unique_id_column.clone(),
        max_record_bytes: context.max_record_bytes,
        events: context.events.clone(),
        page_rows: PAGE_ROWS,
        max_pages: MAX_PAGES,
        max_polls: MAX_POLLS,
        poll_pause: min_backoff / 5,
    };
    Ok(BigQuerySource {
        reader: Arc::new(reader),
        described,
    })
}

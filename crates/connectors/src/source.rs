//! Building a source from its stored input, and streaming its records.

use std::collections::VecDeque;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::stream::{self, StreamExt};
use ingest_core::{RecordStream, SourceError, SourceItemError, SourceResult};
use ingest_model::{AuthInput, MethodType, RunRecorder, SourceInput, Timestamp};
use reqwest::Method;
use url::Url;

use crate::csv::{CsvDecoder, CsvOptions};
use crate::decode::RecordDecoder;
use crate::http::{
    ChunkStream, HttpAuth, OAuthTokens, SourceHttpClient, display_url, file_chunks, gunzip,
    report_fetch,
};
use crate::json::{JsonDecoder, JsonOptions};

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

/// A source that can stream its records.
pub trait Source: Send + Sync + fmt::Debug {
    /// The records, in order. Connection failures arrive as a fatal item.
    fn records(&self) -> RecordStream;
    /// Where the records come from, without credentials (for logs and events).
    fn describe(&self) -> String;
}

/// Where a URL source reads from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// An `http` or `https` URL.
    Http(Url),
    /// A local file (only with [`SourceContext::local_files`]).
    File(PathBuf),
}

impl Location {
    /// Reads a source `url`: an http(s) URL, or, where local files are allowed, `file:///abs`,
    /// `/abs` or `./relative` (to `base`).
    pub fn parse(url: &str, local_files: Option<&Path>) -> Result<Self, ConfigError> {
        let is_path = url.starts_with('/') || url.starts_with("./") || url.starts_with("../");
        if is_path || url.starts_with("file:") {
            let Some(base) = local_files else {
                return Err(ConfigError::new(
                    "input.url",
                    "local files are only readable by run-task; use an http or https URL",
                ));
            };
            let path = if is_path {
                base.join(url)
            } else {
                Url::parse(url)
                    .ok()
                    .and_then(|url| url.to_file_path().ok())
                    .ok_or_else(|| {
                        ConfigError::new(
                            "input.url",
                            format!("`{url}` is not a valid file URL (use file:///absolute/path)"),
                        )
                    })?
            };
            return Ok(Location::File(path));
        }
        let parsed = Url::parse(url)
            .map_err(|error| ConfigError::new("input.url", format!("not a valid URL: {error}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(ConfigError::new(
                "input.url",
                format!(
                    "URL scheme `{}` is not supported (use http or https)",
                    parsed.scheme()
                ),
            ));
        }
        Ok(Location::Http(parsed))
    }

    fn describe(&self) -> String {
        match self {
            Location::Http(url) => display_url(url),
            Location::File(path) => path.display().to_string(),
        }
    }
}

/// Builds the source of `input`, authenticated by `auth`.
pub fn build_source(
    input: &SourceInput,
    auth: Option<&AuthInput>,
    context: &SourceContext,
) -> Result<Box<dyn Source>, ConfigError> {
    let local = context.local_files.as_deref();
    match input {
        SourceInput::Csv(csv) => {
            let options = CsvOptions {
                delimiter: csv.delimiter_byte(),
                mapping: csv.mapping.clone(),
                unique_id_column: csv.unique_id_column.clone(),
                max_record_bytes: context.max_record_bytes,
            };
            Ok(Box::new(UrlSource {
                location: Location::parse(&csv.url, local)?,
                method: csv.method(),
                auth: http_auth(auth, "csv")?,
                http: context.http.clone(),
                events: context.events.clone(),
                decoder: Arc::new(move || {
                    Box::new(CsvDecoder::new(options.clone())) as Box<dyn RecordDecoder>
                }),
            }))
        }
        SourceInput::Json(json) => {
            let options = JsonOptions {
                unique_id_column: json.unique_id_column.clone(),
                max_record_bytes: context.max_record_bytes,
            };
            Ok(Box::new(UrlSource {
                location: Location::parse(&json.url, local)?,
                method: json.method(),
                auth: http_auth(auth, "json")?,
                http: context.http.clone(),
                events: context.events.clone(),
                decoder: Arc::new(move || {
                    Box::new(JsonDecoder::new(options.clone())) as Box<dyn RecordDecoder>
                }),
            }))
        }
        SourceInput::BigQuery(bigquery) => {
            Ok(Box::new(crate::bigquery::build(bigquery, auth, context)?))
        }
        SourceInput::Commercetools(input) => crate::commercetools::build(input, auth, context),
        SourceInput::BigCommerce(input) => crate::bigcommerce::build(input, auth, context),
    }
}

fn http_auth(auth: Option<&AuthInput>, kind: &str) -> Result<Option<HttpAuth>, ConfigError> {
    let Some(auth) = auth else { return Ok(None) };
    Ok(Some(match auth {
        AuthInput::Basic { username, password } => HttpAuth::Basic {
            username: username.clone(),
            password: password.clone(),
        },
        AuthInput::ApiKey { key } => HttpAuth::Bearer(key.clone()),
        AuthInput::OAuth {
            url,
            client_id,
            client_secret,
        } => {
            let token_url = Url::parse(url).map_err(|error| {
                ConfigError::new(
                    "authentication.input.url",
                    format!("not a valid URL: {error}"),
                )
            })?;
            HttpAuth::OAuth(Arc::new(OAuthTokens::new(
                token_url,
                client_id.clone(),
                client_secret.clone(),
            )))
        }
        other => {
            return Err(ConfigError::new(
                "authentication.type",
                format!(
                    "`{}` cannot authenticate a {kind} source (use basic, apiKey or oauth)",
                    other.auth_type().as_str()
                ),
            ));
        }
    }))
}

type DecoderFactory = Arc<dyn Fn() -> Box<dyn RecordDecoder> + Send + Sync>;

/// A CSV or JSON body at a URL or in a file.
struct UrlSource {
    location: Location,
    method: MethodType,
    auth: Option<HttpAuth>,
    http: SourceHttpClient,
    decoder: DecoderFactory,
    events: Option<Arc<dyn RunRecorder>>,
}

impl fmt::Debug for UrlSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UrlSource")
            .field("location", &self.location.describe())
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}

impl Source for UrlSource {
    fn records(&self) -> RecordStream {
        let location = self.location.clone();
        let http = self.http.clone();
        let auth = self.auth.clone();
        let method = match self.method {
            MethodType::Post => Method::POST,
            MethodType::Get => Method::GET,
        };
        let open: BoxFuture<'static, Result<ChunkStream, SourceError>> = Box::pin(async move {
            match location {
                Location::Http(url) => http.open(&url, method, auth.as_ref()).await,
                Location::File(path) => {
                    let chunks = file_chunks(&path).await?;
                    if path.extension().is_some_and(|ext| ext == "gz") {
                        let cap = http.settings().max_decompressed_bytes;
                        Ok(gunzip(chunks, cap, path.display().to_string()))
                    } else {
                        Ok(chunks)
                    }
                }
            }
        });
        let open = report_fetch(open, self.location.describe(), self.events.clone());
        decode_stream(open, (self.decoder)())
    }

    fn describe(&self) -> String {
        self.location.describe()
    }
}

struct DecodeState {
    open: Option<BoxFuture<'static, Result<ChunkStream, SourceError>>>,
    chunks: Option<ChunkStream>,
    decoder: Box<dyn RecordDecoder>,
    queue: VecDeque<SourceResult>,
    finished: bool,
}

/// Drives a decoder over a body: items are produced chunk by chunk, so memory holds one chunk's
/// records at most.
pub fn decode_stream(
    open: BoxFuture<'static, Result<ChunkStream, SourceError>>,
    decoder: Box<dyn RecordDecoder>,
) -> RecordStream {
    let state = DecodeState {
        open: Some(open),
        chunks: None,
        decoder,
        queue: VecDeque::new(),
        finished: false,
    };
    stream::unfold(state, |mut state| async move {
        loop {
            if let Some(item) = state.queue.pop_front() {
                if matches!(item, Err(SourceItemError::Fatal(_))) {
                    state.finished = true;
                    state.queue.clear();
                }
                return Some((item, state));
            }
            if state.finished {
                return None;
            }
            if let Some(open) = state.open.take() {
                match open.await {
                    Ok(chunks) => state.chunks = Some(chunks),
                    Err(error) => state.queue.push_back(Err(SourceItemError::Fatal(error))),
                }
                continue;
            }
            let Some(chunks) = state.chunks.as_mut() else {
                state.finished = true;
                continue;
            };
            match chunks.next().await {
                Some(Ok(chunk)) => state.decoder.feed(&chunk, &mut state.queue),
                Some(Err(error)) => state.queue.push_back(Err(SourceItemError::Fatal(error))),
                None => {
                    state.decoder.finish(&mut state.queue);
                    state.chunks = None;
                }
            }
        }
    })
    .boxed()
}

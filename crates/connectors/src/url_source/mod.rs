//! CSV and JSON over HTTP (or, for `run-task`, from a local file): a [`UrlSource`] opens the body
//! at its [`Location`], reports the read as a `fetch` event and drives a decoder over the body as
//! it arrives ([`decode_stream`]), so memory holds one chunk's records whatever the body's size.
//!
//! Which decoder turns the bytes into records (CSV or JSON) is the registry's choice: this
//! folder knows a [`RecordDecoder`] only, and names no connector.

mod location;
mod stream;

use std::fmt;
use std::sync::Arc;

use futures::future::BoxFuture;
use ingest_core::{RecordStream, SourceError};
use ingest_model::{AuthInput, MethodType, RunRecorder};
use reqwest::Method;
use url::Url;

pub use self::location::Location;
pub use self::stream::decode_stream;
use crate::decode::RecordDecoder;
use crate::http::{
    ChunkStream, HttpAuth, OAuthTokens, SourceHttpClient, file_chunks, gunzip, report_fetch,
};
use crate::source::{ConfigError, Source, SourceContext, client_credentials};

/// Makes the decoder of one read of the body (each [`Source::records`] call starts afresh).
pub(crate) type DecoderFactory = Arc<dyn Fn() -> Box<dyn RecordDecoder> + Send + Sync>;

/// A CSV or JSON body at a URL or in a file.
pub(crate) struct UrlSource {
    location: Location,
    method: MethodType,
    auth: Option<HttpAuth>,
    http: SourceHttpClient,
    decoder: DecoderFactory,
    events: Option<Arc<dyn RunRecorder>>,
}

impl UrlSource {
    /// The source of the body at `url` (a local file only where `context` allows one), read with
    /// `method`, authenticated by `auth` and decoded by a decoder from `decoder`; `kind` names the
    /// source in errors (`csv`, `json`).
    pub(crate) fn new(
        url: &str,
        method: MethodType,
        auth: Option<&AuthInput>,
        kind: &str,
        context: &SourceContext,
        decoder: DecoderFactory,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            location: Location::parse(url, context.local_files.as_deref())?,
            method,
            auth: http_auth(auth, kind)?,
            http: context.http.clone(),
            events: context.events.clone(),
            decoder,
        })
    }
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

/// The credentials of a CSV or JSON source: basic, apiKey (a bearer token) or OAuth.
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
            ..
        } => {
            let (client_id, client_secret) =
                client_credentials(client_id.as_ref(), client_secret.as_ref())?;
            let token_url = Url::parse(url).map_err(|error| {
                ConfigError::new(
                    "authentication.input.url",
                    format!("not a valid URL: {error}"),
                )
            })?;
            HttpAuth::OAuth(Arc::new(OAuthTokens::new(
                token_url,
                client_id,
                client_secret,
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

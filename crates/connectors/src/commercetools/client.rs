//! The commercetools HTTP client: a client-credentials token (HTTP Basic to the
//! authentication's `url`, cached until shortly before `expires_in`, renewed once on a 401), and
//! GETs of JSON resources whose error bodies (`ErrorResponse`) become run failures.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ingest_core::{Secret, SourceError};
use ingest_model::RunRecorder;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::Mutex;
use url::Url;

use crate::http::paged::{Call, excerpt, fetch, parse_json};
use crate::http::{
    HttpAuth, SourceHttpClient, TOKEN_BODY_CAP, display_url, read_capped, token_lifetime,
};

/// Tokens are renewed this long before they expire.
const EARLY_RENEWAL: Duration = Duration::from_secs(60);

/// A commercetools API client for one project.
pub(crate) struct CtClient {
    http: SourceHttpClient,
    events: Option<Arc<dyn RunRecorder>>,
    /// The API host, e.g. `https://api.europe-west1.gcp.commercetools.com`.
    api: Url,
    project: String,
    token_url: Url,
    client_id: String,
    client_secret: Secret<String>,
    token: Mutex<Option<(Secret<String>, Instant)>>,
}

impl std::fmt::Debug for CtClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CtClient")
            .field("api", &display_url(&self.api))
            .field("project", &self.project)
            .field("token_url", &display_url(&self.token_url))
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: Secret<String>,
    expires_in: Option<u64>,
}

/// An `ErrorResponse` (also `AuthErrorResponse`).
#[derive(Deserialize)]
struct ErrorResponse {
    #[serde(rename = "statusCode")]
    status_code: Option<u16>,
    message: Option<String>,
    #[serde(default)]
    errors: Vec<ErrorItem>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct ErrorItem {
    code: Option<String>,
}

impl CtClient {
    /// A client for `project` at `api`, authenticated at `token_url`.
    pub(crate) fn new(
        http: SourceHttpClient,
        events: Option<Arc<dyn RunRecorder>>,
        api: Url,
        project: String,
        token_url: Url,
        client_id: String,
        client_secret: Secret<String>,
    ) -> Self {
        Self {
            http,
            events,
            api,
            project,
            token_url,
            client_id,
            client_secret,
            token: Mutex::new(None),
        }
    }

    /// `{api}/{projectKey}/{path}` with `query` (pairs, encoded here).
    pub(crate) fn url(&self, path: &str, query: &[(&str, &str)]) -> Url {
        let mut url = self.api.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push(&self.project);
            for part in path.split('/') {
                segments.push(part);
            }
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    /// A valid access token: the cached one, or a new one when there is none, it is about to
    /// expire, or `stale` is the token the API has just refused.
    async fn token(&self, stale: Option<&Secret<String>>) -> Result<Secret<String>, SourceError> {
        let mut cached = self.token.lock().await;
        if let Some((token, expires)) = cached.as_ref() {
            let refused = stale.is_some_and(|stale| stale.expose() == token.expose());
            if !refused && Instant::now() + EARLY_RENEWAL < *expires {
                return Ok(token.clone());
            }
        }
        let shown = display_url(&self.token_url);
        let auth = HttpAuth::Basic {
            username: self.client_id.clone(),
            password: self.client_secret.clone(),
        };
        let response = self
            .http
            .send_secret_body(
                Method::POST,
                &self.token_url,
                Some(&auth),
                &|request| {
                    request
                        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                        .header(ACCEPT, "application/json")
                        .body("grant_type=client_credentials")
                },
                &|status| status.is_client_error() && status != StatusCode::TOO_MANY_REQUESTS,
            )
            .await
            .map_err(|error| {
                SourceError::new(format!("commercetools token request: {}", error.message()))
            })?;
        let status = response.status();
        let body = read_capped(
            response,
            TOKEN_BODY_CAP,
            &format!("commercetools token request to {shown}"),
        )
        .await?;
        if !status.is_success() {
            let code = serde_json::from_slice::<ErrorResponse>(&body)
                .ok()
                .and_then(|error| {
                    error
                        .error
                        .or(error.errors.into_iter().find_map(|e| e.code))
                });
            let hint = match code.as_deref() {
                Some("invalid_client") => ": the client id or secret is wrong",
                Some("invalid_scope") => {
                    ": the API client lacks a scope or the project key is wrong"
                }
                _ => "",
            };
            return Err(SourceError::new(format!(
                "commercetools token request to {shown} answered {}{hint}: {}",
                status.as_u16(),
                excerpt(&body)
            )));
        }
        let token: TokenResponse = serde_json::from_slice(&body).map_err(|error| {
            SourceError::new(format!(
                "commercetools token response from {shown} has no usable `access_token`: {error}"
            ))
        })?;
        *cached = Some((
            token.access_token.clone(),
            Instant::now() + token_lifetime(token.expires_in),
        ));
        Ok(token.access_token)
    }

    /// GETs `url` as JSON; a 401 renews the token and repeats the call once. An error body, or a
    /// 200 whose body is an `ErrorResponse`, is a source error naming the URL and the message.
    pub(crate) async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: &Url,
    ) -> Result<T, SourceError> {
        let shown = display_url(url);
        let mut stale = None;
        for attempt in 0..2 {
            let token = self.token(stale.as_ref()).await?;
            let call = Call {
                method: Method::GET,
                url: url.clone(),
                auth: Some(HttpAuth::Bearer(token.clone())),
                prepare: Arc::new(|request| request.header(ACCEPT, "application/json")),
                keep: |status| status == StatusCode::UNAUTHORIZED,
            };
            match fetch(&self.http, call, self.events.clone()).await {
                Ok(page) => {
                    let value: Value = parse_json(&page.body, &shown)?;
                    if let Some(message) = error_body(&value) {
                        return Err(SourceError::new(format!(
                            "commercetools {shown} answered 200 with an error: {message}"
                        )));
                    }
                    return serde_json::from_value(value).map_err(|error| {
                        SourceError::new(format!(
                            "commercetools {shown} answered an unexpected shape: {error}"
                        ))
                    });
                }
                Err(failure) if failure.kept.is_some() && attempt == 0 => {
                    tracing::info!(url = %shown, "commercetools refused the token; renewing it once");
                    stale = Some(token);
                }
                Err(failure) => {
                    let mut message = failure.error.message().to_owned();
                    if failure.kept.is_some() {
                        message.push_str(": a freshly issued token was refused too (check the API client's scopes)");
                    }
                    return Err(SourceError::new(format!("commercetools: {message}")));
                }
            }
        }
        Err(SourceError::new(format!(
            "commercetools {shown}: the token was refused twice"
        )))
    }
}

/// The message of a body that is an `ErrorResponse` rather than a resource.
fn error_body(value: &Value) -> Option<String> {
    let object = value.as_object()?;
    if !(object.contains_key("statusCode") && object.contains_key("errors")) {
        return None;
    }
    let error: ErrorResponse = serde_json::from_value(value.clone()).ok()?;
    let code = error
        .errors
        .iter()
        .find_map(|item| item.code.clone())
        .unwrap_or_default();
    Some(format!(
        "{} {code}: {}",
        error.status_code.unwrap_or_default(),
        error.message.unwrap_or_default()
    ))
}

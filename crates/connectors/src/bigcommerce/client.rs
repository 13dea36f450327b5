//! The BigCommerce HTTP client: `X-Auth-Token` on every call (a vendor header, so no redirect is
//! followed), JSON bodies, and the store's request quota.
//!
//! **Throttling.** Every response carries `X-Rate-Limit-Requests-Left` and
//! `X-Rate-Limit-Time-Reset-Ms`. When no request is left in the window, the next call waits for
//! the reset first, so a lone reader runs at the quota without a 429. A 429 (the quota is shared
//! with the store's other apps) waits `X-Rate-Limit-Time-Reset-Ms`, else `X-Retry-After`
//! seconds, else a growing default (4 × the client's first backoff, doubling), then retries, at
//! most [`MAX_THROTTLED`] times. Calls go one at a time, so the quota is never raced.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ingest_core::{Secret, SourceError};
use ingest_model::RunRecorder;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderName};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::sync::Mutex;
use url::Url;

use crate::http::paged::{Call, fetch, parse_json};
use crate::http::{HttpAuth, SourceHttpClient, display_url};

/// 429 answers tolerated for one call.
pub const MAX_THROTTLED: u32 = 6;
/// The longest wait a rate-limit header is trusted for.
const MAX_WAIT: Duration = Duration::from_secs(120);

/// A client for one store.
pub(crate) struct BcClient {
    http: SourceHttpClient,
    events: Option<Arc<dyn RunRecorder>>,
    /// `{api_base}/stores/{store_hash}/`.
    base: Url,
    token: Secret<String>,
    /// No call before this instant (the quota is spent until then).
    paused_until: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for BcClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BcClient")
            .field("base", &display_url(&self.base))
            .finish_non_exhaustive()
    }
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse().ok())
}

impl BcClient {
    pub(crate) fn new(
        http: SourceHttpClient,
        events: Option<Arc<dyn RunRecorder>>,
        base: Url,
        token: Secret<String>,
    ) -> Self {
        Self {
            http,
            events,
            base,
            token,
            paused_until: Mutex::new(None),
        }
    }

    /// `{base}{path}?{query}`.
    pub(crate) fn url(&self, path: &str, query: &[(&str, &str)]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty();
            for part in path.split('/') {
                segments.push(part);
            }
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    /// Sends a call and returns its JSON body. Error statuses (after the shared client's retries
    /// on 5xx) and 200s whose body is an error end the run with the URL and the body's start.
    pub(crate) async fn call(
        &self,
        method: Method,
        url: &Url,
        body: Option<Bytes>,
    ) -> Result<Value, SourceError> {
        let shown = display_url(url);
        let mut throttled = 0u32;
        loop {
            let pause = *self.paused_until.lock().await;
            if let Some(until) = pause {
                let now = Instant::now();
                if until > now {
                    tracing::debug!(url = %shown, wait_ms = (until - now).as_millis() as u64, "bigcommerce quota spent; waiting for the reset");
                    tokio::time::sleep(until - now).await;
                }
            }
            let body = body.clone();
            let call = Call {
                method: method.clone(),
                url: url.clone(),
                auth: Some(HttpAuth::Header {
                    name: HeaderName::from_static("x-auth-token"),
                    value: self.token.clone(),
                }),
                prepare: Arc::new(move |request| {
                    let request = request.header(ACCEPT, "application/json");
                    match &body {
                        Some(body) => request
                            .header(CONTENT_TYPE, "application/json")
                            .body(body.clone()),
                        None => request,
                    }
                }),
                keep: |status| status == StatusCode::TOO_MANY_REQUESTS,
            };
            match fetch(&self.http, call, self.events.clone()).await {
                Ok(page) => {
                    self.observe(&page.headers).await;
                    let value: Value = parse_json(&page.body, &format!("bigcommerce {shown}"))?;
                    if let Some(message) = error_body(&value) {
                        return Err(SourceError::new(format!(
                            "bigcommerce {shown} answered 200 with an error: {message}"
                        )));
                    }
                    return Ok(value);
                }
                Err(failure) => {
                    let Some((_, headers)) = failure.kept else {
                        return Err(SourceError::new(format!(
                            "bigcommerce: {}",
                            failure.error.message()
                        )));
                    };
                    throttled += 1;
                    if throttled > MAX_THROTTLED {
                        return Err(SourceError::new(format!(
                            "bigcommerce {shown} answered 429 Too Many Requests {throttled} times in a row; the store's API quota is used up by other apps"
                        )));
                    }
                    let wait = self.throttle_wait(&headers, throttled);
                    tracing::warn!(url = %shown, wait_ms = wait.as_millis() as u64, "bigcommerce answered 429; waiting");
                    *self.paused_until.lock().await = Some(Instant::now() + wait);
                }
            }
        }
    }

    /// How long a 429 makes us wait.
    fn throttle_wait(&self, headers: &HeaderMap, attempt: u32) -> Duration {
        if let Some(ms) = header_u64(headers, "x-rate-limit-time-reset-ms") {
            return Duration::from_millis(ms).min(MAX_WAIT);
        }
        if let Some(seconds) = header_u64(headers, "x-retry-after") {
            return Duration::from_secs(seconds).min(MAX_WAIT);
        }
        // No header: platform overload, back off longer than for a 5xx.
        let first = self.http.settings().min_backoff * 4;
        (first * 2u32.saturating_pow(attempt - 1)).min(MAX_WAIT)
    }

    /// Reads the quota headers of a successful response: when none is left, later calls wait
    /// for the reset.
    async fn observe(&self, headers: &HeaderMap) {
        let left = header_u64(headers, "x-rate-limit-requests-left");
        let reset = header_u64(headers, "x-rate-limit-time-reset-ms");
        if let (Some(0), Some(reset)) = (left, reset) {
            let wait = Duration::from_millis(reset).min(MAX_WAIT);
            *self.paused_until.lock().await = Some(Instant::now() + wait);
        }
    }
}

/// The message of a body that is a v3 error (`{status, title, type, errors}`) rather than data.
fn error_body(value: &Value) -> Option<String> {
    let object = value.as_object()?;
    if object.contains_key("data") || !object.contains_key("title") {
        return None;
    }
    let status = object
        .get("status")
        .and_then(Value::as_u64)
        .unwrap_or_default();
    let title = object
        .get("title")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let errors = object
        .get("errors")
        .map(|errors| format!(" {errors}"))
        .unwrap_or_default();
    Some(format!("{status} {title}{errors}"))
}

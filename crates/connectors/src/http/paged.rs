//! Paged JSON APIs, as the platform connectors (commercetools, BigCommerce) read them: a paged
//! reader turned into a record stream, and one API call read whole and reported as one `fetch`
//! event.
//!
//! Such APIs answer with JSON pages of bounded size (≤ 500 products for commercetools, ≤ 250 for
//! BigCommerce), so a page is read whole, parsed once and turned into records; memory holds one
//! page and its records.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::StreamExt;
use futures::stream;
use ingest_core::{RecordStream, SourceError, SourceItemError, SourceResult};
use ingest_model::RunRecorder;
use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder, StatusCode};
use url::Url;

use super::body::ChunkStream;
use super::client::{HttpAuth, SourceHttpClient, display_url};
use super::fetch_events::report_fetch;

/// The largest page body read, in bytes (a page of 500 rich products is a few MB).
pub(crate) const MAX_PAGE_BYTES: usize = 32 * 1024 * 1024;

/// A reader that yields the items of one page at a time; `None` once the source is exhausted.
pub(crate) trait Pages: Send + 'static {
    /// The items of the next page.
    fn next_page(
        &mut self,
    ) -> impl Future<Output = Result<Option<Vec<SourceResult>>, SourceError>> + Send;
}

/// The items of `pages`, in order; a page error is the stream's last item.
pub(crate) fn page_stream<P: Pages>(pages: P) -> RecordStream {
    stream::unfold(Some((pages, VecDeque::new())), |slot| async move {
        let (mut pages, mut queue) = slot?;
        loop {
            if let Some(item) = queue.pop_front() {
                return Some((item, Some((pages, queue))));
            }
            match pages.next_page().await {
                Ok(Some(items)) => queue.extend(items),
                Ok(None) => return None,
                Err(error) => return Some((Err(SourceItemError::Fatal(error)), None)),
            }
        }
    })
    .boxed()
}

/// One request to send.
pub(crate) struct Call {
    /// `GET` or `POST`.
    pub method: Method,
    /// The full URL (its query may hold filters, never credentials).
    pub url: Url,
    /// The credentials.
    pub auth: Option<HttpAuth>,
    /// Headers and body.
    pub prepare: Arc<dyn Fn(RequestBuilder) -> RequestBuilder + Send + Sync>,
    /// Statuses the caller handles itself (they come back as [`Failure::kept`]).
    pub keep: fn(StatusCode) -> bool,
}

/// A successful response, read whole.
pub(crate) struct Page {
    /// The response headers (rate limits).
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

/// A call that did not succeed.
pub(crate) struct Failure {
    /// Why, for the user.
    pub error: SourceError,
    /// The status and headers of a response the caller asked to keep.
    pub kept: Option<(StatusCode, HeaderMap)>,
}

impl From<SourceError> for Failure {
    fn from(error: SourceError) -> Self {
        Failure { error, kept: None }
    }
}

/// Sends `call` through the shared client and reads its body whole (at most
/// [`MAX_PAGE_BYTES`]), reported as one `fetch` event.
pub(crate) async fn fetch(
    http: &SourceHttpClient,
    call: Call,
    events: Option<Arc<dyn RunRecorder>>,
) -> Result<Page, Failure> {
    let shown = display_url(&call.url);
    let kept = Arc::new(Mutex::new(None));
    let success_headers = Arc::new(Mutex::new(None));
    let open = {
        let http = http.clone();
        let kept = kept.clone();
        let success_headers = success_headers.clone();
        let shown = shown.clone();
        Box::pin(async move {
            let prepare = call.prepare.clone();
            let response = http
                .send_keeping(
                    call.method.clone(),
                    &call.url,
                    call.auth.as_ref(),
                    &move |request| prepare(request),
                    &call.keep,
                )
                .await?;
            let status = response.status();
            if !status.is_success() {
                let headers = response.headers().clone();
                if let Ok(mut slot) = kept.lock() {
                    *slot = Some((status, headers));
                }
                return Err(SourceError::new(format!(
                    "{} {shown} answered {}",
                    call.method,
                    status.as_u16()
                )));
            }
            if let Ok(mut slot) = success_headers.lock() {
                *slot = Some(response.headers().clone());
            }
            let chunks: ChunkStream = http.body_chunks(response, shown.clone());
            Ok(chunks)
        })
    };
    let result = report_fetch(open, shown.clone(), events).await;
    let mut chunks = match result {
        Ok(chunks) => chunks,
        Err(error) => {
            let kept = kept.lock().ok().and_then(|mut slot| slot.take());
            return Err(Failure { error, kept });
        }
    };
    let mut body = Vec::new();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk?;
        if body.len() + chunk.len() > MAX_PAGE_BYTES {
            return Err(SourceError::new(format!(
                "{shown}: the response is larger than {} MB, the most a page may be",
                MAX_PAGE_BYTES / (1024 * 1024)
            ))
            .into());
        }
        body.extend_from_slice(&chunk);
    }
    let headers = success_headers
        .lock()
        .ok()
        .and_then(|mut slot| slot.take())
        .unwrap_or_default();
    Ok(Page {
        headers,
        body: Bytes::from(body),
    })
}

/// Parses a JSON body, naming the place and quoting its first bytes when it is not JSON.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(
    body: &[u8],
    shown: &str,
) -> Result<T, SourceError> {
    serde_json::from_slice(body).map_err(|error| {
        SourceError::new(format!(
            "{shown} answered a body that is not the expected JSON ({error}): {}",
            excerpt(body)
        ))
    })
}

/// The first bytes of a body, for error messages.
pub(crate) fn excerpt(body: &[u8]) -> String {
    const MAX: usize = 200;
    let text = String::from_utf8_lossy(&body[..body.len().min(MAX)]);
    format!("{:?}", text.trim())
}

/// Whether a page (by its first and last ids) repeats the page before it: the sign of an API
/// that ignores the cursor or the page number, which would otherwise loop for ever.
#[derive(Debug, Default)]
pub(crate) struct RepeatGuard {
    last: Option<(String, String)>,
}

impl RepeatGuard {
    /// Records a page's bounds; an error when they are the previous page's.
    pub(crate) fn check(
        &mut self,
        first: &str,
        last: &str,
        place: &str,
    ) -> Result<(), SourceError> {
        let bounds = (first.to_owned(), last.to_owned());
        if self.last.as_ref() == Some(&bounds) {
            return Err(SourceError::new(format!(
                "{place}: the API answered the same page twice (items {first} to {last}); stopping rather than looping"
            )));
        }
        self.last = Some(bounds);
        Ok(())
    }
}

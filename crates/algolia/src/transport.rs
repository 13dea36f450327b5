//! One shared HTTP client over the host list, with the official retry strategy.
//!
//! Each attempt is classified once ([`ingest_core::retry::classify`]): a 2xx returns; a 4xx other
//! than 429 fails at once with Algolia's message; a 429 waits for `Retry-After` (capped) or a
//! backoff and tries again; a 5xx, a timeout or a network error marks the host and moves on to the
//! next one. When a pass over the hosts is spent, the next pass starts after a backoff, until the
//! attempt budget is spent. A request that must not be sent twice is never resent once it may
//! have reached Algolia without an answer (a timeout or a broken connection after sending).
//! [`Transport::send_observed`] also tells a concurrency window how each attempt went, as soon
//! as it is known.

use std::time::{Duration, Instant, SystemTime};

use backon::{BackoffBuilder, ExponentialBuilder};
use bytes::Bytes;
use ingest_core::Secret;
use ingest_core::retry::{Attempt, Verdict, classify, parse_retry_after};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode};

use crate::AlgoliaError;
use crate::concurrency::{Pacer, Signal, Unpaced};
use crate::hosts::{CallKind, HostList, timeout_multiplier};

/// How the transport behaves; the defaults are the official server-side clients'.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransportSettings {
    /// Hosts to use instead of the official list (self-hosted engines, tests).
    pub hosts: Option<Vec<String>>,
    /// Time to connect.
    pub connect_timeout: Duration,
    /// Time for a read (`GET`) to answer, before the retry multiplier.
    pub read_timeout: Duration,
    /// Time for a write to answer, before the retry multiplier.
    pub write_timeout: Duration,
    /// How long a host stays down or timed out.
    pub host_down_for: Duration,
    /// Attempts per request, over every host and pass.
    pub max_attempts: u32,
    /// The first backoff between passes and after a 429 without `Retry-After` (doubling, with
    /// jitter, up to 10 s).
    pub min_backoff: Duration,
    /// How request bodies are sent.
    pub compression: Compression,
}

/// How request bodies are sent. Algolia accepts gzip request bodies (`Content-Encoding: gzip`,
/// as the official Java client sends by default): JSON shrinks several times, for some CPU.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Compression {
    /// As they are.
    #[default]
    None,
    /// Bodies of at least [`Compression::MIN_BYTES`] compressed with gzip (fastest level).
    Gzip,
}

impl Compression {
    /// Smaller bodies are sent as they are: they fit in a packet or two anyway.
    pub const MIN_BYTES: usize = 1024;

    /// Parses `none` or `gzip`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "none" => Some(Self::None),
            "gzip" => Some(Self::Gzip),
            _ => None,
        }
    }
}

/// A request body as it goes on the wire.
#[derive(Debug)]
struct WireBody {
    bytes: Bytes,
    gzip: bool,
}

/// `body` as `compression` sends it. Large bodies are compressed off the async threads.
async fn wire_body(body: &Bytes, compression: Compression) -> Result<WireBody, AlgoliaError> {
    if compression == Compression::None || body.len() < Compression::MIN_BYTES {
        return Ok(WireBody {
            bytes: body.clone(),
            gzip: false,
        });
    }
    let body = body.clone();
    let compressed = tokio::task::spawn_blocking(move || gzip(&body))
        .await
        .map_err(std::io::Error::other)
        .flatten()
        .map_err(|e| AlgoliaError::Config(format!("cannot compress the request body: {e}")))?;
    Ok(WireBody {
        bytes: compressed,
        gzip: true,
    })
}

fn gzip(body: &[u8]) -> std::io::Result<Bytes> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4),
        flate2::Compression::fast(),
    );
    encoder.write_all(body)?;
    Ok(Bytes::from(encoder.finish()?))
}

impl Default for TransportSettings {
    fn default() -> Self {
        Self {
            hosts: None,
            connect_timeout: Duration::from_secs(2),
            read_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(30),
            host_down_for: Duration::from_secs(120),
            max_attempts: 10,
            min_backoff: Duration::from_millis(100),
            compression: Compression::None,
        }
    }
}

/// One request: the same bytes go out on every attempt.
#[derive(Clone, Debug)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The path and query, already encoded (`/1/indexes/products/batch`).
    pub path: String,
    /// The JSON body, if any.
    pub body: Option<Bytes>,
    /// Read or write.
    pub kind: CallKind,
    /// Whether sending it twice is harmless.
    pub idempotent: bool,
}

impl Request {
    fn call(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// A successful answer.
#[derive(Clone, Debug)]
pub struct Response {
    /// The 2xx status.
    pub status: u16,
    /// The body.
    pub body: Bytes,
    /// Why each earlier attempt was retried.
    pub retries: Vec<String>,
}

/// The Algolia HTTP transport of one application.
#[derive(Debug)]
pub struct Transport {
    client: reqwest::Client,
    hosts: HostList,
    settings: TransportSettings,
}

const USER_AGENT: &str = concat!(
    "ingestion/",
    env!("CARGO_PKG_VERSION"),
    " (self-hosted Algolia ingestion engine)"
);

impl Transport {
    /// A transport for `app_id` with `api_key`.
    pub fn new(
        app_id: &str,
        api_key: &Secret<String>,
        settings: TransportSettings,
    ) -> Result<Self, AlgoliaError> {
        if app_id.is_empty() {
            return Err(AlgoliaError::Config("the application ID is empty".into()));
        }
        let hosts = match &settings.hosts {
            Some(hosts) => HostList::custom(hosts, settings.host_down_for),
            None => HostList::official(app_id, settings.host_down_for),
        }
        .map_err(AlgoliaError::Config)?;
        let mut headers = HeaderMap::new();
        let app = HeaderValue::from_str(app_id).map_err(|_| {
            AlgoliaError::Config("the application ID is not a valid header value".into())
        })?;
        let mut key = HeaderValue::from_str(api_key.expose())
            .map_err(|_| AlgoliaError::Config("the API key is not a valid header value".into()))?;
        key.set_sensitive(true);
        headers.insert(HeaderName::from_static("x-algolia-application-id"), app);
        headers.insert(HeaderName::from_static("x-algolia-api-key"), key);
        headers.insert(
            reqwest::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        headers.insert(
            reqwest::header::ACCEPT,
            HeaderValue::from_static("application/json"),
        );
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .default_headers(headers)
            .connect_timeout(settings.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            // Enough idle connections for a full concurrency window.
            .pool_max_idle_per_host(64)
            .build()
            .map_err(|e| AlgoliaError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            client,
            hosts,
            settings,
        })
    }

    /// Sends `request`, retrying as the module documentation says.
    pub async fn send(&self, request: &Request) -> Result<Response, AlgoliaError> {
        self.send_observed(request, &Unpaced).await
    }

    /// [`Transport::send`], telling `pacer` how each attempt went (healthy with its round trip,
    /// throttled (429, before its wait), failed (5xx, timeout), or neutral (a network error, a
    /// refusal)) and letting it hold each retry back.
    pub async fn send_observed(
        &self,
        request: &Request,
        pacer: &dyn Pacer,
    ) -> Result<Response, AlgoliaError> {
        let mut backoff = ExponentialBuilder::default()
            .with_min_delay(self.settings.min_backoff)
            .with_max_delay(Duration::from_secs(10))
            .with_jitter()
            .without_max_times()
            .build();
        let mut attempts = 0u32;
        let mut timeouts = 0u32;
        let mut retries = Vec::new();
        let base = match request.kind {
            CallKind::Read => self.settings.read_timeout,
            CallKind::Write => self.settings.write_timeout,
        };
        // Compressed once: every attempt sends the same bytes.
        let body = match &request.body {
            Some(body) => Some(wire_body(body, self.settings.compression).await?),
            None => None,
        };
        loop {
            let plan = self.hosts.plan(request.kind, Instant::now());
            let mut throttled = false;
            for host in plan.hosts {
                attempts += 1;
                let multiplier = timeout_multiplier(plan.timed_out, timeouts);
                let timeout = (self.settings.connect_timeout + base) * multiplier;
                if attempts > 1 {
                    pacer.before_retry().await;
                }
                let sent = tokio::time::Instant::now();
                let outcome = self.attempt(host, request, body.as_ref(), timeout).await;
                pacer.observe(attempt_signal(&outcome, sent.elapsed()));
                let now = Instant::now();
                let (attempt, what) = match outcome {
                    Outcome::Answered {
                        status,
                        body,
                        retry_after,
                    } => match classify(Attempt::Status(status)) {
                        Verdict::Success => {
                            self.hosts.mark_up(host, now);
                            return Ok(Response {
                                status,
                                body,
                                retries,
                            });
                        }
                        Verdict::Fail => return Err(api_error(request, status, &body)),
                        Verdict::Throttled => {
                            let what = format!("429 from {}", self.host_name(host));
                            if attempts >= self.settings.max_attempts {
                                return Err(api_error(request, status, &body));
                            }
                            let wait = retry_after.unwrap_or_else(|| {
                                backoff.next().unwrap_or(self.settings.min_backoff)
                            });
                            tracing::warn!(call = %request.call(), host = %self.host_name(host), wait_ms = wait.as_millis() as u64, "algolia throttled the request; waiting");
                            retries.push(what);
                            tokio::time::sleep(wait).await;
                            throttled = true;
                            break;
                        }
                        Verdict::Retry => {
                            self.hosts.mark_down(host, now);
                            (
                                Attempt::Status(status),
                                format!("{status} from {}", self.host_name(host)),
                            )
                        }
                    },
                    Outcome::TimedOut { sent } => {
                        timeouts += 1;
                        self.hosts.mark_timed_out(host, now);
                        if sent && !request.idempotent {
                            return Err(AlgoliaError::NotRetriable {
                                call: request.call(),
                            });
                        }
                        (
                            Attempt::Timeout,
                            format!("timeout after {timeout:?} on {}", self.host_name(host)),
                        )
                    }
                    Outcome::Failed { sent, error } => {
                        self.hosts.mark_down(host, now);
                        if sent && !request.idempotent {
                            return Err(AlgoliaError::NotRetriable {
                                call: request.call(),
                            });
                        }
                        (
                            Attempt::Network,
                            format!("{error} ({})", self.host_name(host)),
                        )
                    }
                };
                debug_assert_eq!(classify(attempt), Verdict::Retry);
                if attempts >= self.settings.max_attempts {
                    return Err(AlgoliaError::Unreachable {
                        call: request.call(),
                        attempts,
                        last: what,
                    });
                }
                tracing::warn!(call = %request.call(), reason = %what, attempt = attempts, "algolia request failed; retrying");
                retries.push(what);
            }
            // A pass over every host failed: pause before the next one (a 429 already waited).
            if !throttled && let Some(wait) = backoff.next() {
                tokio::time::sleep(wait).await;
            }
        }
    }

    fn host_name(&self, host: usize) -> String {
        let url = self.hosts.url(host);
        match url.port() {
            Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_owned(),
        }
    }

    async fn attempt(
        &self,
        host: usize,
        request: &Request,
        body: Option<&WireBody>,
        timeout: Duration,
    ) -> Outcome {
        let url = format!(
            "{}{}",
            self.hosts.url(host).as_str().trim_end_matches('/'),
            request.path
        );
        let mut builder = self
            .client
            .request(request.method.clone(), url)
            .timeout(timeout);
        if let Some(body) = body {
            if body.gzip {
                builder = builder.header(reqwest::header::CONTENT_ENCODING, "gzip");
            }
            builder = builder.body(body.bytes.clone());
        }
        let response = match builder.send().await {
            Ok(response) => response,
            Err(error) => return Outcome::from_error(&error),
        };
        let status = response.status();
        let retry_after = retry_after(status, response.headers());
        match read_capped(response).await {
            Ok(body) => Outcome::Answered {
                status: status.as_u16(),
                body,
                retry_after,
            },
            Err(outcome) => outcome,
        }
    }
}

/// The largest Algolia response read: a browse page of 1,000 large records fits well under it.
pub(crate) const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// A response body of at most [`MAX_RESPONSE_BYTES`]; a host that sends more fails the attempt
/// (before reading anything when it declares its length).
async fn read_capped(mut response: reqwest::Response) -> Result<Bytes, Outcome> {
    let too_big = || Outcome::Failed {
        sent: true,
        error: format!(
            "the response is larger than {} MiB, the limit for an Algolia response",
            MAX_RESPONSE_BYTES / (1024 * 1024)
        ),
    };
    if response
        .content_length()
        .is_some_and(|length| length > MAX_RESPONSE_BYTES as u64)
    {
        return Err(too_big());
    }
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                    return Err(too_big());
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(Bytes::from(body)),
            Err(error) => return Err(Outcome::from_error(&error)),
        }
    }
}

enum Outcome {
    Answered {
        status: u16,
        body: Bytes,
        retry_after: Option<Duration>,
    },
    TimedOut {
        sent: bool,
    },
    Failed {
        sent: bool,
        error: String,
    },
}

/// How an attempt reads for a concurrency window.
fn attempt_signal(outcome: &Outcome, rtt: Duration) -> Signal {
    match outcome {
        Outcome::Answered { status, .. } => match classify(Attempt::Status(*status)) {
            Verdict::Success => Signal::Healthy(rtt),
            Verdict::Throttled => Signal::Throttled,
            Verdict::Retry => Signal::Failed,
            Verdict::Fail => Signal::Neutral,
        },
        Outcome::TimedOut { .. } => Signal::Failed,
        Outcome::Failed { .. } => Signal::Neutral,
    }
}

impl Outcome {
    fn from_error(error: &reqwest::Error) -> Self {
        let sent = !error.is_connect();
        if error.is_timeout() {
            Self::TimedOut { sent }
        } else {
            Self::Failed {
                sent,
                error: describe(error),
            }
        }
    }
}

/// A reqwest error in words, without its URL (which is ours and says nothing useful).
fn describe(error: &reqwest::Error) -> String {
    let mut text = if error.is_connect() {
        "connection failed".to_owned()
    } else if error.is_body() || error.is_decode() {
        "the response broke off".to_owned()
    } else {
        "the request failed".to_owned()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn retry_after(status: StatusCode, headers: &HeaderMap) -> Option<Duration> {
    if status != StatusCode::TOO_MANY_REQUESTS {
        return None;
    }
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    parse_retry_after(value, SystemTime::now())
}

/// Algolia's `message`, or the start of the body when there is none.
pub(crate) fn error_message(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        message: String,
    }
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(parsed) => parsed.message,
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let mut end = text.len().min(200);
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            if text.is_empty() {
                "(empty body)".to_owned()
            } else {
                text[..end].to_owned()
            }
        }
    }
}

fn api_error(request: &Request, status: u16, body: &[u8]) -> AlgoliaError {
    AlgoliaError::Api {
        call: request.call(),
        status,
        message: error_message(body),
    }
}

#[cfg(test)]
mod tests;

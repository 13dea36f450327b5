//! The one HTTP client sources share: URL policy at connect time and on every redirect,
//! retries on 429/5xx/network errors honouring `Retry-After`, gzip, credentials.

use std::error::Error as StdError;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use backon::{BackoffBuilder, ExponentialBuilder};
use futures::StreamExt;
use ingest_core::retry::{Attempt, Verdict, classify, parse_retry_after};
use ingest_core::{HttpRefusal, Secret, SourceError};
use reqwest::header::{
    ACCEPT_ENCODING, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER,
};
use reqwest::{Method, Response, StatusCode};
use url::Url;

use super::body::{ChunkStream, gunzip};
use super::oauth::OAuthTokens;
use super::url_policy::{PolicyError, UrlPolicy};

/// How source requests behave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpSettings {
    /// Time to establish a connection.
    pub connect_timeout: Duration,
    /// Longest wait for the next bytes of a response.
    pub read_timeout: Duration,
    /// Retries after the first attempt on 429, 5xx and network errors.
    pub max_retries: usize,
    /// The first backoff delay (it doubles, with jitter, up to 10 s).
    pub min_backoff: Duration,
    /// Largest decompressed size of a gzip body.
    pub max_decompressed_bytes: u64,
    /// A body that brings fewer than `stall_floor_bytes` in this long is stalled: a trickle
    /// (a byte now and then, each within `read_timeout`) cannot hold a run for ever.
    pub stall_window: Duration,
    /// See `stall_window`.
    pub stall_floor_bytes: u64,
    /// An HTTP proxy every source request goes through (`[sources] proxy`; it may hold
    /// credentials). With one, the URL policy is applied to the target's resolved addresses
    /// before each request and each redirect, which is then followed by hand.
    pub proxy: Option<Secret<String>>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            max_retries: 5,
            min_backoff: Duration::from_millis(500),
            max_decompressed_bytes: 50 * 1024 * 1024 * 1024,
            stall_window: Duration::from_secs(60),
            stall_floor_bytes: 1024,
            proxy: None,
        }
    }
}

/// Credentials for a URL source.
#[derive(Clone, Debug)]
pub enum HttpAuth {
    /// HTTP Basic.
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: Secret<String>,
    },
    /// `Authorization: Bearer <key>`.
    Bearer(Secret<String>),
    /// A client-credentials token from `token_url`, then `Authorization: Bearer`.
    OAuth(Arc<OAuthTokens>),
    /// A vendor header holding a credential (BigCommerce's `X-Auth-Token`). HTTP clients only
    /// strip the standard credential headers on a redirect to another origin, so requests with
    /// this one follow no redirect at all: a 3xx ends the call with a reason.
    Header {
        /// The header's name.
        name: reqwest::header::HeaderName,
        /// Its value.
        value: Secret<String>,
    },
}

const MAX_REDIRECTS: usize = 5;

/// The HTTP client of every URL source.
#[derive(Clone, Debug)]
pub struct SourceHttpClient {
    client: reqwest::Client,
    /// The same client following no redirect, for [`HttpAuth::Header`] requests.
    no_redirect: reqwest::Client,
    policy: Arc<UrlPolicy>,
    settings: HttpSettings,
    /// Requests go through `settings.proxy`.
    proxied: bool,
}

impl SourceHttpClient {
    /// A client enforcing `policy`.
    pub fn new(policy: UrlPolicy, settings: HttpSettings) -> Result<Self, SourceError> {
        let policy = Arc::new(policy);
        let redirect_policy = policy.clone();
        let proxy = match &settings.proxy {
            None => None,
            Some(url) => Some(reqwest::Proxy::all(url.expose()).map_err(|_| {
                SourceError::new("sources.proxy: not a proxy URL (`http://host:port`)")
            })?),
        };
        let builder =
            || {
                let builder = reqwest::Client::builder()
                    .user_agent(concat!("ingestion/", env!("CARGO_PKG_VERSION")))
                    .connect_timeout(settings.connect_timeout)
                    .read_timeout(settings.read_timeout);
                match &proxy {
                    // A proxy from the environment would reach the target for us, out of the URL
                    // policy's sight: only the configured one is used.
                    None => builder.no_proxy().dns_resolver(Arc::new(
                        super::resolver::PolicyResolver::new(policy.clone()),
                    )),
                    // The only host connected to is the proxy, the operator's choice; targets are
                    // checked before each request (`check_target`).
                    Some(proxy) => builder.proxy(proxy.clone()),
                }
            };
        let build = |builder: reqwest::ClientBuilder| {
            builder
                .build()
                .map_err(|error| SourceError::new(format!("cannot build the HTTP client: {error}")))
        };
        let no_redirect = build(builder().redirect(reqwest::redirect::Policy::none()))?;
        let client = if proxy.is_some() {
            // Redirects are followed by hand, each target checked like the first.
            no_redirect.clone()
        } else {
            build(
                builder().redirect(reqwest::redirect::Policy::custom(move |attempt| {
                    if attempt.previous().len() >= MAX_REDIRECTS {
                        let error = format!("more than {MAX_REDIRECTS} redirects");
                        return attempt.error(error);
                    }
                    match redirect_policy.check_url(attempt.url()) {
                        Ok(()) => attempt.follow(),
                        Err(error) => attempt.error(error),
                    }
                })),
            )?
        };
        Ok(Self {
            client,
            no_redirect,
            policy,
            proxied: proxy.is_some(),
            settings,
        })
    }

    /// The settings in force.
    pub fn settings(&self) -> &HttpSettings {
        &self.settings
    }

    fn backoff(&self) -> impl Iterator<Item = Duration> {
        ExponentialBuilder::default()
            .with_min_delay(self.settings.min_backoff)
            .with_max_delay(Duration::from_secs(10))
            .with_max_times(self.settings.max_retries)
            .with_jitter()
            .build()
    }

    /// Sends a request with `auth` (fetching an OAuth token first when needed).
    pub(crate) async fn send(
        &self,
        method: Method,
        url: &Url,
        auth: Option<&HttpAuth>,
        prepare: &(dyn Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder + Sync),
    ) -> Result<Response, SourceError> {
        let bearer;
        let auth = match auth {
            Some(HttpAuth::OAuth(tokens)) => {
                bearer = HttpAuth::Bearer(tokens.token(self).await?);
                Some(&bearer)
            }
            other => other,
        };
        self.send_direct(method, url, auth, prepare).await
    }

    /// Sends a request, retrying transient failures, and returns the successful response.
    pub(crate) async fn send_direct(
        &self,
        method: Method,
        url: &Url,
        auth: Option<&HttpAuth>,
        prepare: &(dyn Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder + Sync),
    ) -> Result<Response, SourceError> {
        self.send_keeping(method, url, auth, prepare, &|_| false)
            .await
    }

    /// Like [`Self::send_direct`], but a response whose status `keep` accepts comes back as is,
    /// neither retried nor failed: for callers with their own rule for it (a 401 that renews a
    /// token, a 429 whose wait a vendor header tells).
    pub(crate) async fn send_keeping(
        &self,
        method: Method,
        url: &Url,
        auth: Option<&HttpAuth>,
        prepare: &(dyn Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder + Sync),
        keep: &(dyn Fn(StatusCode) -> bool + Sync),
    ) -> Result<Response, SourceError> {
        self.send_via(Redirects::Follow, method, url, auth, prepare, keep)
            .await
    }

    /// Like [`Self::send_keeping`] for a request whose body holds a secret (a token request's
    /// `client_secret`, a signed assertion): no redirect is followed, since a 307 or 308 would
    /// send the body again to wherever it points.
    pub(crate) async fn send_secret_body(
        &self,
        method: Method,
        url: &Url,
        auth: Option<&HttpAuth>,
        prepare: &(dyn Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder + Sync),
        keep: &(dyn Fn(StatusCode) -> bool + Sync),
    ) -> Result<Response, SourceError> {
        self.send_via(Redirects::Refuse, method, url, auth, prepare, keep)
            .await
    }

    /// POSTs a form holding a secret (a token request's `client_secret`, a signed assertion),
    /// through [`Self::send_secret_body`]: no redirect is followed.
    pub(crate) async fn post_secret_form(
        &self,
        url: &Url,
        form: &str,
    ) -> Result<Response, SourceError> {
        self.send_secret_body(
            Method::POST,
            url,
            None,
            &|request| {
                request
                    .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(form.to_owned())
            },
            &|_| false,
        )
        .await
    }

    async fn send_via(
        &self,
        redirects: Redirects,
        method: Method,
        url: &Url,
        auth: Option<&HttpAuth>,
        prepare: &(dyn Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder + Sync),
        keep: &(dyn Fn(StatusCode) -> bool + Sync),
    ) -> Result<Response, SourceError> {
        let redirects = match auth {
            Some(HttpAuth::Header { .. }) => Redirects::Refuse,
            _ => redirects,
        };
        if !self.proxied {
            return self
                .send_to(redirects, method, url, auth, prepare, keep)
                .await;
        }
        // Through the proxy: every target is checked before it is asked, and redirects are
        // followed here (credentials only to the first origin, as reqwest does).
        let mut target = url.clone();
        let mut auth = auth;
        let mut hops = 0;
        loop {
            self.check_target(&target).await?;
            let keep_or_redirect = |status: StatusCode| keep(status) || status.is_redirection();
            let response = self
                .send_to(
                    Redirects::Refuse,
                    method.clone(),
                    &target,
                    auth,
                    prepare,
                    &keep_or_redirect,
                )
                .await?;
            let status = response.status();
            if keep(status) || !status.is_redirection() {
                return Ok(response);
            }
            let next = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|value| value.to_str().ok())
                .and_then(|location| target.join(location).ok());
            let rewrites_method = method != Method::GET
                && matches!(
                    status,
                    StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND | StatusCode::SEE_OTHER
                );
            let Some(next) = next.filter(|_| redirects == Redirects::Follow && !rewrites_method)
            else {
                let why = if rewrites_method {
                    "since following it would turn the request into a GET"
                } else {
                    CARRIES_CREDENTIALS
                };
                return Err(redirect_not_followed(&method, &target, &response, why));
            };
            if hops == MAX_REDIRECTS {
                return Err(SourceError::new(format!(
                    "{method} {} failed: more than {MAX_REDIRECTS} redirects",
                    display_url(url)
                )));
            }
            hops += 1;
            if next.origin() != target.origin() {
                auth = None;
            }
            target = next;
        }
    }

    /// Applies the URL policy to every address a target's name resolves to, before a request
    /// through the proxy (which resolves it again: a proxy should keep its own egress rules).
    async fn check_target(&self, url: &Url) -> Result<(), SourceError> {
        let shown = display_url(url);
        let refused = |error: PolicyError| SourceError::new(format!("{shown}: {error}"));
        self.policy.check_url(url).map_err(refused)?;
        let Some(url::Host::Domain(name)) = url.host() else {
            return Ok(()); // an address, checked with the URL
        };
        let name = name.trim_end_matches('.');
        if self.policy.names_host(name) || name.parse::<std::net::IpAddr>().is_ok() {
            return Ok(());
        }
        let port = url.port_or_known_default().unwrap_or(0);
        let addresses = tokio::net::lookup_host((name, port))
            .await
            .map_err(|error| {
                SourceError::new(format!("{shown}: cannot resolve `{name}`: {error}"))
            })?;
        for address in addresses {
            self.policy
                .check_addr(address.ip(), None)
                .map_err(refused)?;
        }
        Ok(())
    }

    /// One request (with its retries) to `url`; the client follows redirects as `redirects`
    /// says (never when proxied: [`Self::send_via`] does).
    async fn send_to(
        &self,
        redirects: Redirects,
        method: Method,
        url: &Url,
        auth: Option<&HttpAuth>,
        prepare: &(dyn Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder + Sync),
        keep: &(dyn Fn(StatusCode) -> bool + Sync),
    ) -> Result<Response, SourceError> {
        let shown = display_url(url);
        self.policy
            .check_url(url)
            .map_err(|error| SourceError::new(format!("{shown}: {error}")))?;
        let mut backoff = self.backoff();
        let mut attempts = 0;
        loop {
            attempts += 1;
            let client = match redirects {
                Redirects::Refuse => &self.no_redirect,
                Redirects::Follow => &self.client,
            };
            let mut request = prepare(client.request(method.clone(), url.clone()));
            match auth {
                Some(HttpAuth::Basic { username, password }) => {
                    request = request.basic_auth(username, Some(password.expose()));
                }
                Some(HttpAuth::Bearer(key)) => {
                    request = request.header(AUTHORIZATION, format!("Bearer {}", key.expose()));
                }
                Some(HttpAuth::Header { name, value }) => {
                    request = request.header(name, value.expose());
                }
                Some(HttpAuth::OAuth(_)) | None => {}
            }
            let (attempt, outcome) = match request.send().await {
                Ok(response) => (Attempt::Status(response.status().as_u16()), Ok(response)),
                Err(error) => {
                    if let Some(refusal) = policy_refusal(&error) {
                        let redirect = match error.url() {
                            Some(target) if error.is_redirect() && target != url => {
                                format!(" redirected to {}", display_url(target))
                            }
                            _ => String::new(),
                        };
                        return Err(SourceError::new(format!("{shown}{redirect}: {refusal}")));
                    }
                    let attempt = if error.is_timeout() {
                        Attempt::Timeout
                    } else if error.is_redirect() || error.is_builder() {
                        return Err(SourceError::new(format!(
                            "{method} {shown} failed: {}",
                            describe(&error)
                        )));
                    } else {
                        Attempt::Network
                    };
                    (attempt, Err(error))
                }
            };
            let outcome = match outcome {
                Ok(response) if keep(response.status()) => return Ok(response),
                Ok(response)
                    if response.status().is_redirection() && redirects == Redirects::Refuse =>
                {
                    return Err(redirect_not_followed(
                        &method,
                        url,
                        &response,
                        CARRIES_CREDENTIALS,
                    ));
                }
                other => other,
            };
            let verdict = classify(attempt);
            if verdict == Verdict::Success
                && let Ok(response) = outcome
            {
                return Ok(response);
            }
            let retry_after = match &outcome {
                Ok(response) => response
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|value| value.to_str().ok())
                    .and_then(|value| parse_retry_after(value, SystemTime::now())),
                Err(_) => None,
            };
            let what = match &outcome {
                Ok(response) => status_text(response.status()),
                Err(error) => describe(error),
            };
            let next = match verdict {
                Verdict::Fail => None,
                _ => backoff.next(),
            };
            let Some(backoff_delay) = next else {
                let message = if verdict == Verdict::Fail {
                    format!("{method} {shown} answered {what}")
                } else {
                    format!("{method} {shown} failed after {attempts} attempts: {what}")
                };
                return Err(match outcome {
                    Ok(response) => refused(message, response).await,
                    Err(_) => SourceError::new(message),
                });
            };
            let delay = retry_after.unwrap_or(backoff_delay);
            tracing::warn!(url = %shown, attempt = attempts, error = %what, delay_ms = delay.as_millis() as u64, "source request failed, retrying");
            tokio::time::sleep(delay).await;
        }
    }

    /// A response's body as chunks: a read error names the URL and the bytes read so far, and a
    /// body that trickles below the floor rate (`stall_window`, `stall_floor_bytes`) fails.
    pub(crate) fn body_chunks(&self, response: Response, what: String) -> ChunkStream {
        let mut received = 0u64;
        let mut stall = StallGuard::new(&self.settings);
        let mut failed = false;
        response
            .bytes_stream()
            .map(move |chunk| match chunk {
                Ok(chunk) => {
                    received += chunk.len() as u64;
                    stall.observe(chunk.len() as u64).map_err(|window| {
                        SourceError::new(format!(
                            "{what} stalled: fewer than {} bytes in {} ms after {received} bytes (sources.stall_floor_bytes, sources.stall_window_ms)",
                            window.floor,
                            window.length.as_millis()
                        ))
                    })?;
                    Ok(chunk)
                }
                Err(error) => Err(SourceError::new(format!(
                    "reading the body of {what} failed after {received} bytes: {}",
                    describe(&error)
                ))),
            })
            .take_while(move |item| {
                let go_on = !failed;
                failed |= item.is_err();
                std::future::ready(go_on)
            })
            .boxed()
    }

    /// Opens a URL body as chunks (gzip decoded when the response or the path says so).
    pub async fn open(
        &self,
        url: &Url,
        method: Method,
        auth: Option<&HttpAuth>,
    ) -> Result<ChunkStream, SourceError> {
        let shown = display_url(url);
        let started = Instant::now();
        let post = method == Method::POST;
        let response = self
            .send(method, url, auth, &|request| {
                let request = request.header(ACCEPT_ENCODING, "gzip");
                if post {
                    request.body(Vec::new())
                } else {
                    request
                }
            })
            .await?;
        let encoded = response
            .headers()
            .get(CONTENT_ENCODING)
            .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"gzip"));
        tracing::info!(url = %shown, status = response.status().as_u16(), elapsed_ms = started.elapsed().as_millis() as u64, "source responded");
        let chunks = self.body_chunks(response, shown.clone());
        if encoded || url.path().ends_with(".gz") {
            Ok(gunzip(chunks, self.settings.max_decompressed_bytes, shown))
        } else {
            Ok(chunks)
        }
    }
}

const CARRIES_CREDENTIALS: &str = "since the request carries credentials";

/// The error of a 3xx that is not followed, and `why`.
fn redirect_not_followed(
    method: &Method,
    url: &Url,
    response: &Response,
    why: &str,
) -> SourceError {
    let target = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|location| url.join(location).ok())
        .map_or_else(|| "elsewhere".to_owned(), |target| display_url(&target));
    SourceError::new(format!(
        "{method} {} answered {} redirecting to {target}: not followed, {why}",
        display_url(url),
        status_text(response.status())
    ))
}

/// Whether a request follows redirects (checked by the URL policy) or ends on a 3xx.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Redirects {
    Follow,
    Refuse,
}

/// Watches a body's rate: each window must bring at least the floor.
struct StallGuard {
    window: StallWindow,
    started: Instant,
    bytes: u64,
}

/// The floor rate a body must keep.
#[derive(Clone, Copy)]
struct StallWindow {
    length: Duration,
    floor: u64,
}

impl StallGuard {
    fn new(settings: &HttpSettings) -> Self {
        Self {
            window: StallWindow {
                length: settings.stall_window,
                floor: settings.stall_floor_bytes,
            },
            started: Instant::now(),
            bytes: 0,
        }
    }

    /// Counts `bytes` just received; once a window has passed, it must hold the floor.
    fn observe(&mut self, bytes: u64) -> Result<(), StallWindow> {
        self.bytes = self.bytes.saturating_add(bytes);
        if self.started.elapsed() < self.window.length {
            return Ok(());
        }
        if self.bytes < self.window.floor {
            return Err(self.window);
        }
        self.started = Instant::now();
        self.bytes = 0;
        Ok(())
    }
}

fn status_text(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

/// The error for a response that ends the request: `message` plus the first 200 bytes of the
/// body for people, and the status with the first 4 KiB of the body for connectors to read.
async fn refused(message: String, response: Response) -> SourceError {
    const SHOWN: usize = 200;
    const KEPT: usize = 4096;
    let status = response.status().as_u16();
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(Ok(chunk)) = stream.next().await {
        body.extend_from_slice(&chunk);
        if body.len() >= KEPT {
            break;
        }
    }
    body.truncate(KEPT);
    let shown = String::from_utf8_lossy(&body[..body.len().min(SHOWN)]);
    let shown = shown.trim();
    let message = if shown.is_empty() {
        message
    } else {
        format!("{message}: {shown:?}")
    };
    let refusal = HttpRefusal {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    SourceError::refused(message, refusal)
}

fn policy_refusal(error: &reqwest::Error) -> Option<PolicyError> {
    let mut source: Option<&(dyn StdError + 'static)> = error.source();
    while let Some(current) = source {
        if let Some(refusal) = current.downcast_ref::<PolicyError>() {
            return Some(refusal.clone());
        }
        source = current.source();
    }
    None
}

/// An error and its causes, with its URL shown without credentials.
pub(crate) fn describe(error: &reqwest::Error) -> String {
    let raw_url = error.url().map(|url| url.as_str().to_owned());
    let safe_url = error.url().map(display_url);
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(error) = current {
        let mut part = error.to_string();
        if let (Some(raw), Some(safe)) = (&raw_url, &safe_url) {
            part = part.replace(raw.as_str(), safe);
        }
        if !parts.iter().any(|seen| seen.contains(&part)) {
            parts.push(part);
        }
        current = error.source();
    }
    parts.join(": ")
}

/// A URL as users may read it: no user info, no query (either may hold credentials).
pub fn display_url(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    let had_query = shown.query().is_some_and(|query| !query.is_empty());
    shown.set_query(None);
    shown.set_fragment(None);
    if had_query {
        format!("{shown}?…")
    } else {
        shown.to_string()
    }
}

//! The fake over HTTP: [`FakeServer`], one axum server on `127.0.0.1` over a shared
//! [`FakeAlgolia`], with its own fault plan on top of the shared one. Besides the Search API
//! calls, `GET /testkit/pace` reads the fake's [`super::Pace`] and its counters and
//! `PUT /testkit/pace` (`{"latencyMs": 100, "concurrencyLimit": 8}`) changes it; both need the
//! credentials and are neither paced nor logged.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::header::{CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::dispatch::{Answer, Outcome, Request, Route};
use super::faults::Faults;
use super::pace::PaceBody;
use super::{FakeAlgolia, lock};
use crate::TaskStatus;

/// The largest request body a server reads (Algolia's batches are up to 10 MB).
const BODY_LIMIT: usize = 64 * 1024 * 1024;

/// The path that reads and sets the pace.
pub const PACE_PATH: &str = "/testkit/pace";

/// How long [`FakeServer::shutdown`] lets open connections finish before abandoning them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// A running HTTP server over a [`FakeAlgolia`]'s state; stops when dropped or on
/// [`FakeServer::shutdown`]. Its port then refuses connections.
#[derive(Debug)]
pub struct FakeServer {
    addr: SocketAddr,
    context: Arc<Context>,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

#[derive(Debug)]
struct Context {
    fake: FakeAlgolia,
    faults: Mutex<Faults>,
    addr: SocketAddr,
    shutdown: watch::Receiver<bool>,
    /// Requests received with a gzip body.
    gzip_requests: AtomicU64,
}

impl FakeAlgolia {
    /// Serves this fake over HTTP on `127.0.0.1` (a free port), with no fault of its own.
    /// Must be called within a Tokio runtime.
    pub fn serve(&self) -> FakeServer {
        self.serve_with(Faults::new())
    }

    /// Serves this fake over HTTP with `faults`, consulted before the shared plan on each call
    /// this server receives. Several servers over one fake share its indices, tasks and log.
    /// Must be called within a Tokio runtime.
    pub fn serve_with(&self, faults: Faults) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let addr = listener.local_addr().expect("a bound address");
        let listener = tokio::net::TcpListener::from_std(listener)
            .expect("FakeAlgolia::serve must be called within a Tokio runtime");
        let (shutdown, mut stopped) = watch::channel(false);
        let context = Arc::new(Context {
            fake: self.clone(),
            faults: Mutex::new(faults),
            addr,
            shutdown: stopped.clone(),
            gzip_requests: AtomicU64::new(0),
        });
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&context))
            .layer(DefaultBodyLimit::max(BODY_LIMIT));
        let task = tokio::spawn(async move {
            let signal = async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            };
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(signal)
                .await;
        });
        FakeServer {
            addr,
            context,
            shutdown,
            task: Some(task),
        }
    }
}

impl FakeServer {
    /// The base URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The `host:port` the server listens on.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// The address the server listens on (what [`super::Call::server`] holds).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The fake this server serves.
    pub fn fake(&self) -> &FakeAlgolia {
        &self.context.fake
    }

    /// How many requests came with a gzip body (`Content-Encoding: gzip`), decoded as Algolia
    /// decodes them.
    pub fn gzip_requests(&self) -> u64 {
        self.context.gzip_requests.load(Ordering::Relaxed)
    }

    /// Replaces this server's own fault plan.
    pub fn set_faults(&self, faults: Faults) {
        *lock(&self.context.faults) = faults;
    }

    /// This server's own fault plan, with its rules' counters.
    pub fn faults(&self) -> Faults {
        lock(&self.context.faults).clone()
    }

    /// Stops accepting connections, ends stalled answers, and waits (briefly) for open
    /// connections to close.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

/// A URL on `127.0.0.1` where nothing listens: connections are refused (a host that is down).
pub fn refused_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("a bound address");
    drop(listener);
    format!("http://{addr}")
}

/// Every request: authentication, then the shared dispatch.
async fn handle(
    State(context): State<Arc<Context>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fake = &context.fake;
    let path = uri.path();
    let credential = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
            .or_else(|| query_param(uri.query().unwrap_or_default(), name))
    };
    let app_id = credential("x-algolia-application-id");
    let api_key = credential("x-algolia-api-key");
    if app_id.as_deref() != Some(fake.app_id()) || api_key.as_deref() != Some(fake.api_key()) {
        let refusal = Answer::error(403, "Invalid Application-ID or API key");
        return render(fake.refuse(method.as_str(), path, Some(context.addr), refusal));
    }
    let body = match headers.get(CONTENT_ENCODING).map(|value| value.as_bytes()) {
        None | Some(b"identity") => body,
        Some(b"gzip") => {
            context.gzip_requests.fetch_add(1, Ordering::Relaxed);
            match gunzip(&body) {
                Ok(body) => body,
                Err(_) => return render(Answer::error(400, "The request body is not valid gzip")),
            }
        }
        Some(_) => return render(Answer::error(415, "Unsupported Content-Encoding")),
    };
    if path == PACE_PATH {
        return pace(fake, &method, &body);
    }
    let request = Request {
        method: method.as_str(),
        path,
        route: Route::parse(method.as_str(), path),
        body: &body,
    };
    let admitted = fake.inner.gate.enter(request.route.writes());
    if !admitted.latency.is_zero() {
        let mut stopped = context.shutdown.clone();
        tokio::select! {
            () = tokio::time::sleep(admitted.latency) => {}
            _ = stopped.wait_for(|stop| *stop) => {}
        }
    }
    let outcome = fake.process(
        request,
        Some(&context.faults),
        Some(context.addr),
        admitted.throttled(),
    );
    drop(admitted);
    match outcome {
        Outcome::Answer(answer) => render(answer),
        Outcome::Stall { delay, answer } => {
            let mut stopped = context.shutdown.clone();
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                _ = stopped.wait_for(|stop| *stop) => {}
            }
            render(answer)
        }
        Outcome::Reset => reset(),
    }
}

/// `GET` or `PUT` [`PACE_PATH`].
fn pace(fake: &FakeAlgolia, method: &Method, body: &[u8]) -> Response {
    if *method == Method::PUT || *method == Method::POST {
        match serde_json::from_slice::<PaceBody>(body) {
            Ok(set) => fake.set_pace(set.pace()),
            Err(error) => {
                return error_response(400, &format!("Invalid pace body: {error}"));
            }
        }
    } else if *method != Method::GET {
        return error_response(405, "Method not allowed");
    }
    match serde_json::to_string(&fake.inner.gate.body()) {
        Ok(json) => json_response(200, json),
        Err(error) => error_response(500, &error.to_string()),
    }
}

/// A gzip body, decoded (at most [`BODY_LIMIT`] bytes).
fn gunzip(body: &[u8]) -> io::Result<Bytes> {
    use std::io::Read as _;
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(body)
        .take(BODY_LIMIT as u64 + 1)
        .read_to_end(&mut decoded)?;
    if decoded.len() > BODY_LIMIT {
        return Err(io::Error::other("the decoded body is too large"));
    }
    Ok(Bytes::from(decoded))
}

/// A response whose body fails before its first byte: hyper drops the connection.
fn reset() -> Response {
    let failing = futures::stream::once(async {
        Err::<Bytes, io::Error>(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "injected reset",
        ))
    });
    Body::from_stream(failing).into_response()
}

/// A query parameter's value (names compared without case, as headers are).
fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        key.eq_ignore_ascii_case(name)
            .then(|| super::dispatch::decode(value))
    })
}

fn render(answer: Answer) -> Response {
    let (status, body) = match answer {
        Answer::Batch {
            task_id,
            object_ids,
        } => (200, json!({"taskID": task_id, "objectIDs": object_ids})),
        Answer::Updated { task_id } => (200, json!({"taskID": task_id, "updatedAt": now()})),
        Answer::Deleted { task_id } => (200, json!({"taskID": task_id, "deletedAt": now()})),
        Answer::Task { status } => {
            let published = status == TaskStatus::Published;
            let name = if published {
                "published"
            } else {
                "notPublished"
            };
            (200, json!({"status": name, "pendingTask": !published}))
        }
        Answer::Json(value) => (200, value),
        Answer::Error {
            status,
            message,
            retry_after,
        } => {
            let mut response = error_response(status, &message);
            if let Some(value) = retry_after.and_then(|v| v.parse().ok()) {
                response.headers_mut().insert(RETRY_AFTER, value);
            }
            return response;
        }
    };
    json_response(status, body.to_string())
}

fn error_response(status: u16, message: &str) -> Response {
    json_response(
        status,
        json!({"message": message, "status": status}).to_string(),
    )
}

fn json_response(status: u16, body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, body).into_response();
    let json = "application/json; charset=utf-8"
        .parse()
        .expect("a header value");
    response.headers_mut().insert(CONTENT_TYPE, json);
    response
}

/// Now, as RFC 3339 in UTC with milliseconds (what Algolia's `updatedAt` looks like).
fn now() -> String {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = since.as_secs();
    let (year, month, day) = civil_from_days((secs / 86_400) as i64);
    let time = secs % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        time / 3600,
        time % 3600 / 60,
        time % 60,
        since.subsec_millis()
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        let now = now();
        assert_eq!(now.len(), "2024-02-29T00:00:00.000Z".len(), "{now}");
    }

    #[test]
    fn query_params() {
        let query = "x-algolia-agent=a&X-Algolia-API-Key=k%20y";
        assert_eq!(
            query_param(query, "x-algolia-api-key").as_deref(),
            Some("k y")
        );
        assert_eq!(query_param(query, "x-algolia-application-id"), None);
    }
}

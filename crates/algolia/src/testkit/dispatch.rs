//! One request through the fake: route, parse, consult the faults, apply, log.
//!
//! Both modes go through [`FakeAlgolia::process`]: the HTTP server with the path it received,
//! the in-memory [`crate::IndexingApi`] with the path the real client would have sent.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Map, Value};

use super::faults::{Fault, Faults, Probe};
use super::log::{Call, CallKind};
use super::state::{self, Entry};
use super::{FakeAlgolia, State, lock};
use crate::{Operation, TaskId, TaskStatus};

/// What a method and path address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Route {
    Batch {
        index: String,
    },
    Operation {
        index: String,
    },
    Task {
        index: Option<String>,
        task_id: TaskId,
    },
    DeleteIndex {
        index: String,
    },
    GetSettings {
        index: String,
    },
    SetSettings {
        index: String,
    },
    GetObject {
        index: String,
        object_id: String,
    },
    Browse {
        index: String,
    },
    Other,
}

impl Route {
    /// Routes a request path (percent-encoded, without the query string).
    pub(crate) fn parse(method: &str, path: &str) -> Self {
        let segments: Vec<String> = path
            .trim_start_matches('/')
            .split('/')
            .map(decode)
            .collect();
        let parts: Vec<&str> = segments.iter().map(String::as_str).collect();
        let index = |name: &str| (!name.is_empty() && name != "*").then(|| name.to_owned());
        let task = |id: &str| id.parse::<TaskId>().ok();
        let route = match (method, parts.as_slice()) {
            ("POST", ["1", "indexes", i, "batch"]) => index(i).map(|index| Self::Batch { index }),
            ("POST", ["1", "indexes", i, "operation"]) => {
                index(i).map(|index| Self::Operation { index })
            }
            ("POST", ["1", "indexes", i, "browse"]) => index(i).map(|index| Self::Browse { index }),
            ("GET", ["1", "indexes", i, "task", t]) => {
                index(i).zip(task(t)).map(|(i, t)| Self::Task {
                    index: Some(i),
                    task_id: t,
                })
            }
            ("GET", ["1", "task", t]) => task(t).map(|task_id| Self::Task {
                index: None,
                task_id,
            }),
            ("DELETE", ["1", "indexes", i]) => index(i).map(|index| Self::DeleteIndex { index }),
            ("GET", ["1", "indexes", i, "settings"]) => {
                index(i).map(|index| Self::GetSettings { index })
            }
            ("PUT", ["1", "indexes", i, "settings"]) => {
                index(i).map(|index| Self::SetSettings { index })
            }
            ("GET", ["1", "indexes", i, o]) if !o.is_empty() => {
                index(i).map(|index| Self::GetObject {
                    index,
                    object_id: (*o).to_owned(),
                })
            }
            _ => None,
        };
        route.unwrap_or(Self::Other)
    }

    /// Whether the call writes (an indexing job, subject to the concurrency limit).
    pub(crate) fn writes(&self) -> bool {
        matches!(
            self,
            Self::Batch { .. }
                | Self::Operation { .. }
                | Self::DeleteIndex { .. }
                | Self::SetSettings { .. }
        )
    }

    fn index(&self) -> Option<&str> {
        match self {
            Self::Batch { index }
            | Self::Operation { index }
            | Self::DeleteIndex { index }
            | Self::GetSettings { index }
            | Self::SetSettings { index }
            | Self::GetObject { index, .. }
            | Self::Browse { index } => Some(index),
            Self::Task { index, .. } => index.as_deref(),
            Self::Other => None,
        }
    }
}

/// Percent-decodes a path segment (invalid escapes are kept as they are).
pub(crate) fn decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes a path segment as the clients do (everything but unreserved characters).
pub(crate) fn encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A request to the fake.
pub(crate) struct Request<'a> {
    pub(crate) method: &'a str,
    pub(crate) path: &'a str,
    pub(crate) route: Route,
    pub(crate) body: &'a Bytes,
}

/// What the fake answers, before it is rendered as HTTP or as a result.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Answer {
    /// `{"taskID","objectIDs"}`.
    Batch {
        task_id: TaskId,
        object_ids: Vec<String>,
    },
    /// `{"taskID","updatedAt"}`.
    Updated { task_id: TaskId },
    /// `{"taskID","deletedAt"}`.
    Deleted { task_id: TaskId },
    /// `{"status"}`.
    Task { status: TaskStatus },
    /// Settings or a record.
    Json(Value),
    /// `{"message","status"}`, with `Retry-After` for a 429.
    Error {
        status: u16,
        message: String,
        retry_after: Option<String>,
    },
}

impl Answer {
    pub(crate) fn error(status: u16, message: impl Into<String>) -> Self {
        Self::Error {
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    pub(crate) fn status(&self) -> u16 {
        match self {
            Self::Error { status, .. } => *status,
            _ => 200,
        }
    }

    fn task_id(&self) -> Option<TaskId> {
        match self {
            Self::Batch { task_id, .. } | Self::Updated { task_id } | Self::Deleted { task_id } => {
                Some(*task_id)
            }
            _ => None,
        }
    }
}

/// How the fake answers a request.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Outcome {
    Answer(Answer),
    /// Wait `delay`, then send `answer`.
    Stall {
        delay: Duration,
        answer: Answer,
    },
    /// Drop the connection without a response.
    Reset,
}

/// A body parsed before the lock is taken.
enum Parsed {
    Batch(Result<Vec<Entry>, String>),
    Operation(Result<Operation, String>),
    Settings(Result<Map<String, Value>, String>),
    Browse(Result<super::browse::BrowseParams, String>),
    Nothing,
}

impl FakeAlgolia {
    /// Answers `request`: consults `server_faults` (the receiving server's plan) and the shared
    /// plan, applies the request unless a fault answers instead (or it is `throttled`: over the
    /// concurrency limit), and logs it.
    pub(crate) fn process(
        &self,
        request: Request<'_>,
        server_faults: Option<&Mutex<Faults>>,
        server: Option<SocketAddr>,
        throttled: bool,
    ) -> Outcome {
        let Request {
            method,
            path,
            route,
            body,
        } = request;
        let (kind, records, parsed) = match &route {
            Route::Batch { .. } => {
                let (records, entries) = state::parse_batch(body, self.inner.record_size_limit);
                (CallKind::Batch, records, Parsed::Batch(entries))
            }
            Route::Operation { .. } => {
                let operation = state::parse_operation(body);
                let kind = match &operation {
                    Ok(Operation::Copy { .. }) => CallKind::Copy,
                    Ok(Operation::Move { .. }) => CallKind::Move,
                    Err(_) => CallKind::Operation,
                };
                (kind, 0, Parsed::Operation(operation))
            }
            Route::Task { .. } => (CallKind::Task, 0, Parsed::Nothing),
            Route::DeleteIndex { .. } => (CallKind::DeleteIndex, 0, Parsed::Nothing),
            Route::GetSettings { .. } => (CallKind::GetSettings, 0, Parsed::Nothing),
            Route::SetSettings { .. } => {
                let settings = serde_json::from_slice(body)
                    .map_err(|err| format!("Invalid settings body: {err}"));
                (CallKind::SetSettings, 0, Parsed::Settings(settings))
            }
            Route::GetObject { .. } => (CallKind::GetObject, 0, Parsed::Nothing),
            Route::Browse { .. } => (
                CallKind::Browse,
                0,
                Parsed::Browse(super::browse::BrowseParams::parse(body)),
            ),
            Route::Other => (CallKind::Other, 0, Parsed::Nothing),
        };
        let probe = Probe {
            kind,
            index: route.index(),
            path,
        };
        let server_fault = server_faults.and_then(|faults| lock(faults).decide(&probe));
        let mut state = lock(&self.inner.state);
        let shared_fault = state.faults.decide(&probe);
        let fault = if throttled {
            Some(Fault::status(429, super::pace::TOO_MANY_JOBS))
        } else {
            server_fault.or(shared_fault)
        };
        let mut call = Call {
            method: method.to_owned(),
            path: path.to_owned(),
            index: route.index().map(str::to_owned),
            kind,
            records,
            operation: match &parsed {
                Parsed::Operation(Ok(operation)) => Some(operation.clone()),
                _ => None,
            },
            task_id: match &route {
                Route::Task { task_id, .. } => Some(*task_id),
                _ => None,
            },
            status: 0,
            injected: fault.is_some(),
            server,
        };
        let outcome = match fault {
            None => Outcome::Answer(self.apply(&mut state, &route, parsed)),
            Some(Fault::Status { status, message }) => {
                Outcome::Answer(Answer::error(status, message))
            }
            Some(Fault::TooManyRequests { retry_after }) => Outcome::Answer(Answer::Error {
                status: 429,
                message: "Too Many Requests".to_owned(),
                retry_after: Some(retry_after),
            }),
            Some(Fault::Stall { delay }) => Outcome::Stall {
                delay,
                answer: Answer::error(504, "Gateway Timeout (injected stall)"),
            },
            Some(Fault::StallThenApply { delay }) => Outcome::Stall {
                delay,
                answer: self.apply(&mut state, &route, parsed),
            },
            Some(Fault::Reset) => Outcome::Reset,
        };
        if let Outcome::Answer(answer) | Outcome::Stall { answer, .. } = &outcome {
            call.status = answer.status();
            call.task_id = call.task_id.or(answer.task_id());
        }
        state.calls.push(call);
        outcome
    }

    /// Logs a request refused before routing (authentication) and returns the refusal.
    pub(crate) fn refuse(
        &self,
        method: &str,
        path: &str,
        server: Option<SocketAddr>,
        answer: Answer,
    ) -> Answer {
        let route = Route::parse(method, path);
        let kind = match route {
            Route::Batch { .. } => CallKind::Batch,
            Route::Operation { .. } => CallKind::Operation,
            Route::Task { .. } => CallKind::Task,
            Route::DeleteIndex { .. } => CallKind::DeleteIndex,
            Route::GetSettings { .. } => CallKind::GetSettings,
            Route::SetSettings { .. } => CallKind::SetSettings,
            Route::GetObject { .. } => CallKind::GetObject,
            Route::Browse { .. } => CallKind::Browse,
            Route::Other => CallKind::Other,
        };
        lock(&self.inner.state).calls.push(Call {
            method: method.to_owned(),
            path: path.to_owned(),
            index: route.index().map(str::to_owned),
            kind,
            records: 0,
            operation: None,
            task_id: None,
            status: answer.status(),
            injected: false,
            server,
        });
        answer
    }

    fn apply(&self, state: &mut State, route: &Route, parsed: Parsed) -> Answer {
        let read_only = |index: &str| self.inner.read_only.contains(index);
        let forbidden = match (route, &parsed) {
            (
                Route::Operation { index },
                Parsed::Operation(Ok(Operation::Move { destination })),
            ) => read_only(index) || read_only(destination),
            (
                Route::Operation { .. },
                Parsed::Operation(Ok(Operation::Copy { destination, .. })),
            ) => read_only(destination),
            (
                Route::Batch { index }
                | Route::DeleteIndex { index }
                | Route::SetSettings { index },
                _,
            ) => read_only(index),
            _ => false,
        };
        if forbidden {
            return Answer::error(403, "Method not allowed with this API key");
        }
        match (route, parsed) {
            (Route::Batch { index }, Parsed::Batch(entries)) => match entries {
                Ok(entries) => {
                    let object_ids = state.indices.apply_batch(index, entries);
                    Answer::Batch {
                        task_id: state.new_task(),
                        object_ids,
                    }
                }
                Err(message) => Answer::error(400, message),
            },
            (Route::Operation { index }, Parsed::Operation(operation)) => {
                match operation.and_then(|operation| state.indices.operate(index, &operation)) {
                    Ok(()) => Answer::Updated {
                        task_id: state.new_task(),
                    },
                    Err(message) => Answer::error(400, message),
                }
            }
            (Route::Task { task_id, .. }, _) => match state.tasks.get_mut(task_id) {
                Some(polls) => {
                    *polls += 1;
                    let status = if *polls <= self.inner.unpublished_polls {
                        TaskStatus::NotPublished
                    } else {
                        TaskStatus::Published
                    };
                    Answer::Task { status }
                }
                None => Answer::error(404, "Task does not exist"),
            },
            (Route::DeleteIndex { index }, _) => {
                state.indices.by_name.remove(index);
                Answer::Deleted {
                    task_id: state.new_task(),
                }
            }
            (Route::GetSettings { index }, _) => match state.indices.by_name.get(index) {
                Some(found) => Answer::Json(Value::Object(found.settings.clone())),
                None => Answer::error(404, "Index does not exist"),
            },
            (Route::SetSettings { index }, Parsed::Settings(settings)) => match settings {
                Ok(settings) => {
                    state.indices.entry(index).settings.extend(settings);
                    Answer::Updated {
                        task_id: state.new_task(),
                    }
                }
                Err(message) => Answer::error(400, message),
            },
            (Route::GetObject { index, object_id }, _) => match state.indices.by_name.get(index) {
                None => Answer::error(404, "Index does not exist"),
                Some(found) => match found.record(object_id) {
                    Some(record) => Answer::Json(record),
                    None => Answer::error(404, "ObjectID does not exist"),
                },
            },
            (Route::Browse { index }, Parsed::Browse(params)) => match params {
                Err(message) => Answer::error(400, message),
                Ok(params) => {
                    state.browsed.push(params.clone());
                    match state.indices.by_name.get(index) {
                        None => Answer::error(404, "Index does not exist"),
                        Some(found) => Answer::Json(super::browse::page(found, &params)),
                    }
                }
            },
            _ => Answer::error(404, "Not Found"),
        }
    }
}

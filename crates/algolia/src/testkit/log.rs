//! The call log: one [`Call`] per request the fake answered (or dropped), in arrival order.

use std::fmt;
use std::net::SocketAddr;

use crate::{Operation, TaskId};

/// What a call was, as far as routing and fault matching are concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CallKind {
    /// `POST /1/indexes/{index}/batch`.
    Batch,
    /// `POST /1/indexes/{index}/operation` with `"operation":"copy"`.
    Copy,
    /// `POST /1/indexes/{index}/operation` with `"operation":"move"`.
    Move,
    /// `POST /1/indexes/{index}/operation` whose body is not a valid copy or move (or that was
    /// refused before its body was read).
    Operation,
    /// `GET /1/indexes/{index}/task/{taskID}` or `GET /1/task/{taskID}`.
    Task,
    /// `DELETE /1/indexes/{index}`.
    DeleteIndex,
    /// `GET /1/indexes/{index}/settings`.
    GetSettings,
    /// `PUT /1/indexes/{index}/settings`.
    SetSettings,
    /// `GET /1/indexes/{index}/{objectID}`.
    GetObject,
    /// `POST /1/indexes/{index}/browse`.
    Browse,
    /// Any other method and path (answered 404).
    Other,
}

impl CallKind {
    /// Whether the call writes (and so needs a key allowed to write the index).
    pub fn writes(self) -> bool {
        matches!(
            self,
            Self::Batch | Self::Copy | Self::Move | Self::DeleteIndex | Self::SetSettings
        )
    }
}

/// One request, as the fake saw and answered it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// `GET`, `POST`, `PUT` or `DELETE` (as sent).
    pub method: String,
    /// The request path as sent (percent-encoded, without the query string).
    pub path: String,
    /// The index named in the path (decoded), when there is one.
    pub index: Option<String>,
    /// What the call was.
    pub kind: CallKind,
    /// For a batch: the number of entries in `requests` (0 when the body did not parse).
    pub records: usize,
    /// For a copy or move: the operation, as parsed.
    pub operation: Option<Operation>,
    /// The task the call created (a write) or polled (a task status).
    pub task_id: Option<TaskId>,
    /// The HTTP status answered; 0 when the connection was dropped without a response. For a
    /// stall, the status sent once the delay is over (the client may have given up by then).
    pub status: u16,
    /// Whether the answer came from the fault plan rather than from the fake's state.
    pub injected: bool,
    /// The [`super::FakeServer`] that received the call; `None` for in-memory calls.
    pub server: Option<SocketAddr>,
}

impl Call {
    /// Whether the call was answered with a 2xx status.
    pub fn succeeded(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} -> {}", self.method, self.path, self.status)?;
        if self.kind == CallKind::Batch {
            write!(f, " ({} records)", self.records)?;
        }
        if self.injected {
            f.write_str(" [injected]")?;
        }
        Ok(())
    }
}

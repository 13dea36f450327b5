//! [`RunRecorder`]: how a run reports what it does (`docs/api.md` C11–C12).
//!
//! The pipeline, the sources and the pusher call it; the store implements it as event rows, and
//! `run-task --task-file` as log lines. Calls are synchronous and must not block: an
//! implementation that writes somewhere slow buffers.

use serde_json::{Map, Value};

use crate::{EventStatus, EventType, RunProgress};

/// One event, before the recorder gives it an ID and a time.
#[derive(Clone, Debug, PartialEq)]
pub struct RunEvent {
    /// `type`.
    pub event_type: EventType,
    /// `status`.
    pub status: EventStatus,
    /// `batchSize`: the records the event covers.
    pub batch_size: u64,
    /// `data`.
    pub data: Map<String, Value>,
}

impl RunEvent {
    /// An event of `event_type` with `status` and `data` (a JSON object; anything else is kept
    /// under `"value"`).
    pub fn new(event_type: EventType, status: EventStatus, batch_size: u64, data: Value) -> Self {
        let data = match data {
            Value::Object(map) => map,
            Value::Null => Map::new(),
            other => Map::from_iter([("value".to_owned(), other)]),
        };
        Self {
            event_type,
            status,
            batch_size,
            data,
        }
    }

    /// A `log` event saying `message`.
    pub fn log(message: impl Into<String>) -> Self {
        Self::new(
            EventType::Log,
            EventStatus::Succeeded,
            0,
            serde_json::json!({ "message": message.into() }),
        )
    }

    /// The `message` of a log event, when it has one.
    pub fn message(&self) -> Option<&str> {
        self.data.get("message").and_then(Value::as_str)
    }
}

/// Where a run's events and progress go.
pub trait RunRecorder: Send + Sync {
    /// Records one event.
    fn event(&self, event: RunEvent);

    /// Records the run's progress (finished batch events, and the expected total once known).
    fn progress(&self, progress: RunProgress);
}

/// A recorder that keeps everything in memory, for tests (feature `testkit`).
#[cfg(any(test, feature = "testkit"))]
#[derive(Debug, Default)]
pub struct MemoryRecorder {
    events: std::sync::Mutex<Vec<RunEvent>>,
    progress: std::sync::Mutex<RunProgress>,
}

#[cfg(any(test, feature = "testkit"))]
impl MemoryRecorder {
    /// The events so far.
    pub fn events(&self) -> Vec<RunEvent> {
        self.events.lock().map(|e| e.clone()).unwrap_or_default()
    }

    /// The last progress reported.
    pub fn last_progress(&self) -> RunProgress {
        self.progress.lock().map(|p| *p).unwrap_or_default()
    }
}

#[cfg(any(test, feature = "testkit"))]
impl RunRecorder for MemoryRecorder {
    fn event(&self, event: RunEvent) {
        if let Ok(mut events) = self.events.lock() {
            events.push(event);
        }
    }

    fn progress(&self, progress: RunProgress) {
        if let Ok(mut last) = self.progress.lock() {
            *last = progress;
        }
    }
}

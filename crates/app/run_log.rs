//! [`LogRecorder`]: the run recorder of `run-task --task-file`, which has no store: events become
//! log lines on stderr, and record events drive the terminal progress line.

use std::sync::Mutex;

use ingest_model::{EventStatus, EventType, RunEvent, RunProgress, RunRecorder};
use serde_json::Value;

use crate::progress::Progress;

/// Events as log lines, plus progress.
#[derive(Debug)]
pub struct LogRecorder {
    progress: Mutex<Tally>,
    prefix: &'static str,
}

#[derive(Debug)]
struct Tally {
    progress: Progress,
    records: u64,
    bytes: u64,
}

impl LogRecorder {
    /// A recorder printing progress through `progress`; a dry run's lines say so.
    pub fn new(progress: Progress, dry_run: bool) -> Self {
        Self {
            prefix: if dry_run { "[dry run] " } else { "" },
            progress: Mutex::new(Tally {
                progress,
                records: 0,
                bytes: 0,
            }),
        }
    }

    /// Prints the final progress line.
    pub fn finish(&self) {
        if let Ok(mut tally) = self.progress.lock() {
            let (records, bytes) = (tally.records, tally.bytes);
            tally.progress.finish(records, bytes);
        }
    }
}

fn data(event: &RunEvent) -> String {
    Value::Object(event.data.clone()).to_string()
}

impl RunRecorder for LogRecorder {
    fn event(&self, event: RunEvent) {
        match (event.event_type, event.status) {
            (EventType::Log, EventStatus::Failed) => {
                tracing::error!("{}{}", self.prefix, event.message().unwrap_or_default());
            }
            (EventType::Log, _) => {
                tracing::info!("{}{}", self.prefix, event.message().unwrap_or_default());
            }
            (EventType::Record, EventStatus::Succeeded) => {
                tracing::debug!(
                    batch_size = event.batch_size,
                    "batch pushed {}",
                    data(&event)
                );
                if let Ok(mut tally) = self.progress.lock() {
                    tally.records += event.batch_size;
                    tally.bytes += event.data.get("bytes").and_then(Value::as_u64).unwrap_or(0);
                    let (records, bytes) = (tally.records, tally.bytes);
                    tally.progress.update(records, bytes);
                }
            }
            (EventType::Record, EventStatus::Retried) => {
                tracing::warn!(
                    batch_size = event.batch_size,
                    "batch retried {}",
                    data(&event)
                );
            }
            (EventType::Record, EventStatus::Failed) if event.data.contains_key("batch") => {
                tracing::error!(
                    batch_size = event.batch_size,
                    "batch failed {}",
                    data(&event)
                );
            }
            (EventType::Record, EventStatus::Failed) => {
                tracing::warn!("record rejected {}", data(&event));
            }
            (EventType::Fetch, EventStatus::Failed) => {
                tracing::warn!("source read failed {}", data(&event));
            }
            (EventType::Fetch, _) => tracing::info!("source read {}", data(&event)),
            (event_type, status) => {
                tracing::info!(%event_type, %status, batch_size = event.batch_size, "{}", data(&event));
            }
        }
    }

    fn progress(&self, _progress: RunProgress) {}
}

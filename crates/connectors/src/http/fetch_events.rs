//! `fetch` events (`docs/api.md` C12): one per body a source reads, when it has been read to its end
//! (`succeeded`, with its size and duration) or could not be (`failed`, with why).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{Stream, StreamExt};
use ingest_core::SourceError;
use ingest_model::{EventStatus, EventType, RunEvent, RunRecorder};
use serde_json::json;

use super::body::ChunkStream;

/// Reports the body that `open` yields to `recorder` as one `fetch` event. `url` must be the
/// display form (no credentials).
pub fn report_fetch(
    open: BoxFuture<'static, Result<ChunkStream, SourceError>>,
    url: String,
    recorder: Option<Arc<dyn RunRecorder>>,
) -> BoxFuture<'static, Result<ChunkStream, SourceError>> {
    let Some(recorder) = recorder else {
        return open;
    };
    Box::pin(async move {
        let mut report = FetchReport {
            recorder,
            url,
            started: Instant::now(),
            bytes: 0,
            done: false,
        };
        let chunks = match open.await {
            Ok(chunks) => chunks,
            Err(error) => {
                report.failed(error.message());
                return Err(error);
            }
        };
        Ok(Reported {
            inner: chunks,
            report,
        }
        .boxed())
    })
}

/// The body, counted as it is read.
struct Reported {
    inner: ChunkStream,
    report: FetchReport,
}

impl Stream for Reported {
    type Item = Result<Bytes, SourceError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = self.inner.poll_next_unpin(cx);
        match &polled {
            Poll::Ready(Some(Ok(chunk))) => self.report.bytes += chunk.len() as u64,
            Poll::Ready(Some(Err(error))) => self.report.failed(error.message()),
            Poll::Ready(None) => self.report.emit(EventStatus::Succeeded, None),
            Poll::Pending => {}
        }
        polled
    }
}

/// Emits `succeeded` when the body ends; `failed` on an error or when dropped unread.
struct FetchReport {
    recorder: Arc<dyn RunRecorder>,
    url: String,
    started: Instant,
    bytes: u64,
    done: bool,
}

impl FetchReport {
    fn emit(&mut self, status: EventStatus, error: Option<&str>) {
        if self.done {
            return;
        }
        self.done = true;
        let mut data = json!({
            "url": self.url,
            "bytes": self.bytes,
            "durationMs": self.started.elapsed().as_millis() as u64,
        });
        if let Some(error) = error {
            data["error"] = json!(error);
        }
        self.recorder
            .event(RunEvent::new(EventType::Fetch, status, 0, data));
    }

    fn failed(&mut self, error: &str) {
        self.emit(EventStatus::Failed, Some(error));
    }
}

impl Drop for FetchReport {
    fn drop(&mut self) {
        self.emit(
            EventStatus::Failed,
            Some("the body was not read to its end: the run stopped first"),
        );
    }
}

//! [`StoreRecorder`]: a run's events and progress, written to the store behind the hot path.
//!
//! The pipeline calls [`RunRecorder::event`] synchronously; the event goes into a bounded
//! channel and a writer task appends events in groups (one transaction per group) with
//! [`Store::record_events`], fenced by the lease token, along with the latest progress. When
//! the channel is full the event is counted and dropped rather than blocking the pipeline; a
//! `log` event says how many were dropped. An unavailable store is retried for as long as the
//! lease holds ([`Lease::while_held`]); a `LeaseLost` answer marks the [`Lease`] lost, which
//! stops the run. [`StoreRecorder::flush`] waits until everything recorded so far is written.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use ingest_core::metrics::{self, Metrics};
use ingest_core::text;
use ingest_model::{EventStatus, EventType, RunEvent, RunProgress, RunRecorder};
use ingest_store::{NewEvent, Store, StoreError};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::fence::Lease;
use ingest_core::time::Clock;

/// Events waiting to be written, at most.
const CHANNEL: usize = 4096;
/// Events per store transaction, at most.
const GROUP: usize = 256;
/// How often progress alone is written when no event comes.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

enum Message {
    Event(NewEvent),
    Flush(oneshot::Sender<()>),
}

/// See the [module documentation](self).
#[derive(Debug)]
pub struct StoreRecorder {
    sender: mpsc::Sender<Message>,
    progress: Arc<Mutex<Option<RunProgress>>>,
    dropped: AtomicU64,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Message::Event(_) => f.write_str("Event"),
            Message::Flush(_) => f.write_str("Flush"),
        }
    }
}

impl StoreRecorder {
    /// A recorder for the run `lease` holds; spawns its writer task.
    pub fn start(
        store: Store,
        lease: Arc<Lease>,
        clock: Arc<dyn Clock>,
        metrics: Arc<Metrics>,
    ) -> Self {
        let (sender, receiver) = mpsc::channel(CHANNEL);
        let progress = Arc::new(Mutex::new(None));
        let writer = Writer {
            store,
            lease,
            clock: clock.clone(),
            progress: progress.clone(),
        };
        let handle = tokio::spawn(writer.run(receiver));
        Self {
            sender,
            progress,
            dropped: AtomicU64::new(0),
            clock,
            metrics,
            writer: Mutex::new(Some(handle)),
        }
    }

    /// Waits until every event recorded so far is written (or could not be).
    pub async fn flush(&self) {
        let dropped = self.dropped.swap(0, Ordering::SeqCst);
        if dropped > 0 {
            let note = RunEvent::log(format!(
                "{dropped} events were not recorded: the store could not keep up"
            ));
            let _ = self.sender.send(Message::Event(self.new_event(note))).await;
        }
        let (done, wait) = oneshot::channel();
        if self.sender.send(Message::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }

    /// Flushes, then stops the writer.
    pub async fn close(&self) {
        self.flush().await;
        let handle = self
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(handle) = handle {
            handle.abort();
        }
    }

    /// The event as stored: every string in its data sanitized (a peer's message may hold NUL
    /// characters, which PostgreSQL refuses, or be very long).
    fn new_event(&self, event: RunEvent) -> NewEvent {
        let mut data = event.data;
        text::sanitize_object(&mut data, text::MAX_TEXT_BYTES);
        NewEvent {
            parent_id: None,
            status: event.status,
            event_type: event.event_type,
            data: Some(data),
            batch_size: event.batch_size,
            published_at: self.clock.now(),
        }
    }

    fn count_retries(&self, event: &RunEvent) {
        if event.event_type != EventType::Record || event.status != EventStatus::Retried {
            return;
        }
        if let Some(Value::Array(retries)) = event.data.get("retries") {
            for retry in retries {
                let reason = metrics::retry_reason(retry.as_str().unwrap_or_default());
                self.metrics.inc(metrics::RETRIES, &[("reason", reason)]);
            }
        }
    }
}

impl RunRecorder for StoreRecorder {
    fn event(&self, event: RunEvent) {
        self.count_retries(&event);
        let new = self.new_event(event);
        if self.sender.try_send(Message::Event(new)).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn progress(&self, progress: RunProgress) {
        *self.progress.lock().unwrap_or_else(PoisonError::into_inner) = Some(progress);
    }
}

struct Writer {
    store: Store,
    lease: Arc<Lease>,
    clock: Arc<dyn Clock>,
    progress: Arc<Mutex<Option<RunProgress>>>,
}

impl Writer {
    async fn run(self, mut receiver: mpsc::Receiver<Message>) {
        let mut events = Vec::with_capacity(GROUP);
        let mut flushes = Vec::new();
        loop {
            let first = tokio::time::timeout(PROGRESS_EVERY, receiver.recv()).await;
            match first {
                Ok(None) => break,
                Ok(Some(message)) => self.take(message, &mut events, &mut flushes),
                Err(_) => {}
            }
            while events.len() < GROUP {
                match receiver.try_recv() {
                    Ok(message) => self.take(message, &mut events, &mut flushes),
                    Err(_) => break,
                }
            }
            self.write(&mut events).await;
            for done in flushes.drain(..) {
                let _ = done.send(());
            }
        }
        self.write(&mut events).await;
    }

    fn take(
        &self,
        message: Message,
        events: &mut Vec<NewEvent>,
        flushes: &mut Vec<oneshot::Sender<()>>,
    ) {
        match message {
            Message::Event(event) => events.push(event),
            Message::Flush(done) => flushes.push(done),
        }
    }

    async fn write(&self, events: &mut Vec<NewEvent>) {
        let progress = self
            .progress
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if (events.is_empty() && progress.is_none()) || self.lease.is_lost() {
            events.clear();
            return;
        }
        let written = self
            .lease
            .while_held("recording events", || {
                self.store.record_events(
                    self.lease.run_id(),
                    self.lease.token(),
                    events,
                    progress,
                    self.clock.now(),
                )
            })
            .await;
        match written {
            Ok(_) => {}
            Err(StoreError::LeaseLost { .. }) => {
                tracing::warn!("lease lost: the run's events are no longer recorded");
            }
            Err(error) => {
                tracing::error!(%error, dropped = events.len(), "could not record events");
            }
        }
        events.clear();
    }
}

//! The `insights` destination (`docs/api.md` C15): records that are Insights events, sent to the
//! Insights API.
//!
//! Each record is one event object (`eventType`, `eventName`, `index`, `userToken`,
//! `objectIDs`…, as `POST /1/events` takes them). Events are checked one by one first (the API
//! refuses a whole request for one bad event, so a bad one is rejected alone, with its
//! position), then packed, without re-serializing, into request bodies `{"events":[…]}` of at
//! most 1000 events, sent in order, one at a time, through the same [`Transport`] as the
//! pusher (its hosts are the Insights hosts of the settings, `[insights] hosts`), hence the same
//! retry rules: 429 waits for `Retry-After`, 5xx and network errors move to the next host.
//!
//! The run reports like a push: one `record` event per request (`succeeded`, `retried`,
//! `failed`), one per rejected event, progress, and a [`RunSummary`] judged by the same rules
//! (`critical` on a refused request or a source failure, `too_many_errors` over the task's
//! failure threshold, `no_events` when nothing was sent). Events are facts, not index content:
//! events sent before a failure stay sent. Requests are retried after a timeout too: an event
//! counted twice is a smaller harm than a lost request, and the official clients do the same.

mod validate;

use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use futures::StreamExt;
use ingest_core::{Position, RecordRejection, RecordStream, SourceItemError};
use ingest_model::{EventStatus, EventType, RunEvent, RunProgress, RunRecorder};
use reqwest::Method;
use serde_json::json;
use tokio::time::Instant;

use crate::pusher::RunSummary;
use crate::pusher::summary::{Counts, Ending, Target, judge};
use crate::{AlgoliaError, CallKind, Request, Transport};
pub use validate::MAX_OBJECT_IDS;

/// The Insights API's limit of events per request.
pub const MAX_EVENTS_PER_REQUEST: usize = 1000;

/// The path events are sent to.
pub const EVENTS_PATH: &str = "/1/events";

/// How the sender behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InsightsSettings {
    /// Events per request (1 to [`MAX_EVENTS_PER_REQUEST`]).
    pub events_per_request: usize,
    /// Rejected events recorded as events, one each.
    pub max_rejection_events: usize,
}

impl Default for InsightsSettings {
    fn default() -> Self {
        Self {
            events_per_request: MAX_EVENTS_PER_REQUEST,
            max_rejection_events: 1000,
        }
    }
}

/// Sends record streams of Insights events to the Insights API.
#[derive(Debug)]
pub struct InsightsSender {
    transport: Arc<Transport>,
    settings: InsightsSettings,
}

impl InsightsSender {
    /// A sender over `transport`, built with the Insights hosts
    /// (`TransportSettings::hosts`) and the application's ID and key.
    pub fn new(transport: Arc<Transport>, settings: InsightsSettings) -> Self {
        Self {
            transport,
            settings,
        }
    }

    /// Sends every event of `records`, reporting to `recorder`. The run fails when more than
    /// `failure_threshold` percent of the records are rejected.
    pub async fn run(
        &self,
        records: RecordStream,
        failure_threshold: u8,
        recorder: &dyn RunRecorder,
    ) -> RunSummary {
        let started = Instant::now();
        let per_request = self
            .settings
            .events_per_request
            .clamp(1, MAX_EVENTS_PER_REQUEST);
        let mut run = Run {
            transport: &self.transport,
            recorder,
            settings: self.settings,
            counts: Counts::default(),
            failure: None,
            body: BytesMut::new(),
            pending: 0,
        };
        let mut records = records;
        while run.failure.is_none() {
            let Some(item) = records.next().await else {
                break;
            };
            match item {
                Ok(record) => {
                    run.counts.read += 1;
                    if let Err(reason) = validate::check_event(&record.json) {
                        run.reject(RecordRejection {
                            position: Position::Record(run.counts.read),
                            object_id: record.object_id,
                            reason: format!("not an Insights event: {reason}"),
                        });
                        continue;
                    }
                    run.body.put_slice(if run.pending == 0 {
                        b"{\"events\":["
                    } else {
                        b","
                    });
                    run.body.put_slice(&record.json);
                    run.pending += 1;
                    if run.pending == per_request as u64 {
                        run.flush().await;
                    }
                }
                Err(SourceItemError::Rejected(rejection)) => {
                    run.counts.read += 1;
                    run.reject(rejection);
                }
                Err(SourceItemError::Fatal(error)) => {
                    // Events already read are still sent: they happened.
                    run.flush().await;
                    run.failure
                        .get_or_insert_with(|| error.message().to_owned());
                }
            }
        }
        drop(records);
        if run.failure.is_none() {
            run.flush().await;
        } else {
            run.counts.unsent += run.pending;
        }
        recorder.progress(RunProgress {
            expected_nb_of_events: run.counts.batches,
            received_nb_of_events: run.counts.batches,
        });
        let ending = if let Some(reason) = run.failure {
            Ending::Failed(reason)
        } else if run.counts.over_threshold(failure_threshold) {
            Ending::TooManyErrors
        } else if run.counts.pushed == 0 {
            Ending::NothingPushed
        } else {
            Ending::Completed
        };
        judge(
            run.counts,
            ending,
            failure_threshold,
            started.elapsed(),
            Target::Insights,
        )
    }
}

struct Run<'a> {
    transport: &'a Transport,
    recorder: &'a dyn RunRecorder,
    settings: InsightsSettings,
    /// `pushed` counts events sent, `batches` requests.
    counts: Counts,
    failure: Option<String>,
    body: BytesMut,
    pending: u64,
}

impl Run<'_> {
    /// Sends the pending events, if any.
    async fn flush(&mut self) {
        if self.pending == 0 || self.failure.is_some() {
            return;
        }
        self.body.put_slice(b"]}");
        let body: Bytes = self.body.split().freeze();
        let events = std::mem::take(&mut self.pending);
        let number = self.counts.batches + 1;
        let request = Request {
            method: Method::POST,
            path: EVENTS_PATH.to_owned(),
            body: Some(body.clone()),
            kind: CallKind::Write,
            idempotent: true,
        };
        match self.transport.send(&request).await {
            Ok(response) => {
                self.counts.batches = number;
                self.counts.pushed += events;
                self.counts.bytes += body.len() as u64;
                if !response.retries.is_empty() {
                    self.recorder.event(RunEvent::new(
                        EventType::Record,
                        EventStatus::Retried,
                        events,
                        json!({"destination": "insights", "batch": number, "retries": response.retries}),
                    ));
                }
                self.recorder.event(RunEvent::new(
                    EventType::Record,
                    EventStatus::Succeeded,
                    events,
                    json!({"destination": "insights", "batch": number, "records": events,
                           "bytes": body.len()}),
                ));
                self.recorder.progress(RunProgress {
                    expected_nb_of_events: 0,
                    received_nb_of_events: number,
                });
            }
            Err(error) => {
                self.counts.unsent += events;
                self.recorder.event(RunEvent::new(
                    EventType::Record,
                    EventStatus::Failed,
                    events,
                    json!({"destination": "insights", "batch": number, "records": events,
                           "error": error.to_string()}),
                ));
                self.failure = Some(describe(&error));
            }
        }
    }

    fn reject(&mut self, rejection: RecordRejection) {
        self.counts
            .reject(rejection, self.recorder, self.settings.max_rejection_events);
    }
}

fn describe(error: &AlgoliaError) -> String {
    match error {
        AlgoliaError::Api {
            status: 401 | 403, ..
        } => format!(
            "sending events to the Insights API failed: {error} (the API key needs the `search` ACL and the application must have Insights)"
        ),
        AlgoliaError::Api { status: 422, .. } => format!(
            "the Insights API refused a request of events: {error} (events older than 4 days or malformed ones are refused)"
        ),
        _ => format!("sending events to the Insights API failed: {error}"),
    }
}

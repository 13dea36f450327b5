//! Source validation (`docs/api.md` D6). `POST /1/sources/validate` reads the source a create body
//! describes; `POST /1/sources/{sourceID}/validate` reads the stored source with an update applied
//! as a PATCH would apply it. Nothing is saved but a finished run of type `validate` with its
//! events. The source is read through the connectors' own code, HTTP client and URL policy (the
//! SSRF guard of runs), for at most [`SourceReading::sample`] records and
//! [`SourceReading::max_time`]; the answer holds the records read, or (400) why none could be.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures::StreamExt as _;
use ingest_connectors::http::SourceHttpClient;
use ingest_connectors::{Endpoints, SourceContext, build_source};
use ingest_core::{SourceItemError, time::Clock};
use ingest_model::{
    EventStatus, EventType, RunEvent, RunOutcome, RunProgress, RunRecorder, SourceCreate,
    SourceUpdate,
};
use ingest_store::{FinishedValidation, NewEvent, SourceToValidate};
use serde_json::{Value, json};

use crate::ApiState;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::extract::{App, Ids};

/// The most events a validation keeps (fetches and refused records); reading also stops after
/// this many refused records.
const MAX_EVENTS: usize = 50;

/// How validations read sources (`[sources]`, `[validate]`).
#[derive(Clone, Debug)]
pub struct SourceReading {
    /// The sources' HTTP client, with the URL policy runs use.
    pub http: SourceHttpClient,
    /// The third-party API hosts a source does not name.
    pub endpoints: Endpoints,
    /// The largest record accepted, in bytes of minified JSON.
    pub max_record_bytes: usize,
    /// The most records a validation reads and returns (10).
    pub sample: usize,
    /// The longest a validation reads (30 s).
    pub max_time: Duration,
}

impl SourceReading {
    /// Validations with the default sample (10 records) and time limit (30 s).
    pub fn new(http: SourceHttpClient, endpoints: Endpoints, max_record_bytes: usize) -> Self {
        Self {
            http,
            endpoints,
            max_record_bytes,
            sample: 10,
            max_time: Duration::from_secs(30),
        }
    }
}

/// `POST /1/sources/validate`.
pub async fn validate(
    State(state): State<ApiState>,
    App(app): App,
    JsonBody(create): JsonBody<SourceCreate>,
) -> Result<Response, ApiError> {
    let source = state.store.source_to_validate(&app, &create).await?;
    read_and_record(&state, &app, source).await
}

/// `POST /1/sources/{sourceID}/validate`.
pub async fn validate_before_update(
    State(state): State<ApiState>,
    App(app): App,
    Ids(id): Ids<String>,
    JsonBody(update): JsonBody<SourceUpdate>,
) -> Result<Response, ApiError> {
    let source = state
        .store
        .updated_source_to_validate(&app, &id, &update)
        .await?;
    read_and_record(&state, &app, source).await
}

/// Reads a sample of `source`, records the run, and answers with the sample or the failure.
async fn read_and_record(
    state: &ApiState,
    app: &str,
    source: SourceToValidate,
) -> Result<Response, ApiError> {
    let Some(reading) = state.validation.as_deref() else {
        return Err(ApiError::Refused(
            "source validation is not available on this server".into(),
        ));
    };
    let recorder = Arc::new(Collected::new(state.clock.clone()));
    let context = SourceContext {
        http: reading.http.clone(),
        max_record_bytes: reading.max_record_bytes,
        local_files: None,
        events: Some(recorder.clone() as Arc<dyn RunRecorder>),
        endpoints: reading.endpoints.clone(),
        window: None,
        trigger_event: None,
    };
    let built = build_source(&source.input, source.authentication.as_ref(), &context)
        .map_err(|error| ApiError::invalid(error.field, error.message))?;
    drop(context);
    let sample = read_sample(built.as_ref(), reading, &recorder).await;
    let outcome = if sample.failure.is_some() {
        RunOutcome::Failure
    } else {
        RunOutcome::Success
    };
    let message = sample.message(&built.describe(), reading);
    if let Some(failure) = &sample.failure {
        recorder.event(RunEvent::new(
            EventType::Log,
            EventStatus::Failed,
            0,
            json!({ "message": failure }),
        ));
    }
    let events = recorder.take();
    let (run, events) = state
        .store
        .record_validation(
            app,
            &FinishedValidation {
                outcome,
                reason: &message,
                events: &events,
            },
            state.clock.now(),
        )
        .await?;
    tracing::info!(
        app,
        run_id = run.run_id,
        records = sample.records.len(),
        outcome = outcome.as_str(),
        "source validated"
    );
    if sample.failure.is_some() {
        let body = json!({
            "message": message,
            "status": 400,
            "runID": run.run_id,
            "events": events,
            "createdAt": run.created_at,
        });
        return Ok((StatusCode::BAD_REQUEST, Json(body)).into_response());
    }
    Ok(Json(json!({
        "runID": run.run_id,
        "data": sample.records,
        "events": events,
        "message": message,
        "createdAt": run.created_at,
    }))
    .into_response())
}

/// What a validation read.
#[derive(Debug, Default)]
struct Sample {
    /// The records, as JSON objects.
    records: Vec<Value>,
    /// Records the source refused, and the first one's reason.
    refused: usize,
    first_refusal: Option<String>,
    /// Whether the time limit stopped the reading.
    timed_out: bool,
    /// Why the source could not be read; `None` when it could.
    failure: Option<String>,
}

impl Sample {
    /// The run's reason and the answer's message.
    fn message(&self, described: &str, reading: &SourceReading) -> String {
        if let Some(failure) = &self.failure {
            return format!("cannot read {described}: {failure}");
        }
        let mut message = format!("read {} records from {described}", self.records.len());
        if self.refused > 0 {
            message.push_str(&format!("; {} records refused", self.refused));
        }
        if self.timed_out {
            message.push_str(&format!(
                " (stopped at the time limit of {} s)",
                reading.max_time.as_secs()
            ));
        }
        message
    }
}

/// Reads up to `reading.sample` records of `source` within `reading.max_time`. The stream (and
/// any response body it holds) is dropped as soon as the sample is complete.
async fn read_sample(
    source: &dyn ingest_connectors::Source,
    reading: &SourceReading,
    recorder: &Collected,
) -> Sample {
    let mut sample = Sample::default();
    let mut stream = source.records();
    let deadline = tokio::time::sleep(reading.max_time);
    tokio::pin!(deadline);
    while sample.records.len() < reading.sample && sample.refused < MAX_EVENTS {
        let item = tokio::select! {
            () = &mut deadline => {
                sample.timed_out = true;
                break;
            }
            item = stream.next() => item,
        };
        match item {
            None => break,
            Some(Ok(record)) => match serde_json::from_slice::<Value>(&record.json) {
                Ok(value) => sample.records.push(value),
                Err(_) => {
                    sample.failure = Some("the source produced a record that is not JSON".into())
                }
            },
            Some(Err(SourceItemError::Rejected(rejection))) => {
                sample.refused += 1;
                recorder.event(RunEvent::new(
                    EventType::Record,
                    EventStatus::Failed,
                    1,
                    json!({
                        "position": rejection.position.to_string(),
                        "objectID": rejection.object_id.as_deref(),
                        "message": rejection.reason,
                    }),
                ));
                sample.first_refusal.get_or_insert(rejection.to_string());
            }
            Some(Err(SourceItemError::Fatal(error))) => {
                sample.failure = Some(error.message().to_owned());
                break;
            }
        }
    }
    if sample.failure.is_none() && sample.records.is_empty() {
        if sample.timed_out {
            sample.failure = Some(format!(
                "no record arrived within {} s",
                reading.max_time.as_secs()
            ));
        } else if let Some(refusal) = sample.first_refusal.take() {
            sample.failure = Some(format!(
                "every record read was refused; the first: {refusal}"
            ));
        }
    }
    sample
}

/// The events of a validation, kept in memory until the run is recorded.
struct Collected {
    clock: Arc<dyn Clock>,
    events: Mutex<Vec<NewEvent>>,
}

impl Collected {
    fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            events: Mutex::new(Vec::new()),
        }
    }

    fn take(&self) -> Vec<NewEvent> {
        self.events
            .lock()
            .map(|mut events| std::mem::take(&mut *events))
            .unwrap_or_default()
    }
}

impl RunRecorder for Collected {
    fn event(&self, event: RunEvent) {
        let Ok(mut events) = self.events.lock() else {
            return;
        };
        // The closing failure is always kept.
        if events.len() < MAX_EVENTS
            || event.status == EventStatus::Failed && event.event_type == EventType::Log
        {
            events.push(NewEvent {
                parent_id: None,
                status: event.status,
                event_type: event.event_type,
                data: Some(event.data),
                batch_size: event.batch_size,
                published_at: self.clock.now(),
            });
        }
    }

    fn progress(&self, _progress: RunProgress) {}
}

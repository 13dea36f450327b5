//! A destination's transformation applied to a run's records (`docs/api.md` D5).
//!
//! The transformation is compiled once per run (or per claim of pushes) into a
//! [`TransformPool`]; [`RecordTransformation::stream`] then takes the decoded records in chunks
//! of what is ready (at most [`CHUNK`]), transforms each chunk on the pool's threads (code) or
//! inline (no-code), and yields the results in input order, before `attributesToExclude` and
//! batching:
//! - a record becomes the records the transformation returned (one, or several for a split);
//! - a dropped record disappears (counted as dropped);
//! - a failed record becomes a rejection (`transformation \`name\`: message`, with its place in
//!   the stream and its objectID), which the pusher records and judges against the run's
//!   `failureThreshold` like any other rejection.
//!
//! Deletions and the source's own rejections and failures pass through untouched. When the stream
//! ends, a `transform` event counts what happened and the `console.log` lines become `log` events.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use futures::StreamExt;
use ingest_core::{Position, Record, RecordRejection, RecordStream, SourceItemError, SourceResult};
use ingest_model::{EventStatus, EventType, RunEvent, RunRecorder};
use ingest_transform::{
    CodeContext, Emission, JsonRecord, Program, TransformError, TransformPool, compile_code,
    compile_no_code,
};
pub use ingest_transform::{Limits, Metadata};
use serde_json::{Value, json};

/// The most records transformed in one go (what is ready of the stream, up to this).
pub const CHUNK: usize = 1024;

/// Chunks in the pool at once (the next ones are read and split meanwhile).
const IN_FLIGHT: usize = 4;

/// A transformation as a run applies it: its kind, its code or steps, and its secrets.
#[derive(Clone)]
pub struct TransformationSpec {
    /// The transformation's ID and name, for messages.
    pub id: String,
    /// Its name.
    pub name: String,
    /// JavaScript code, or no-code steps.
    pub body: TransformationBody,
    /// What `helper.secrets.get(name)` answers.
    pub secrets: std::collections::HashMap<String, String>,
}

impl std::fmt::Debug for TransformationSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransformationSpec")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("secrets", &self.secrets.len())
            .finish_non_exhaustive()
    }
}

/// The two kinds of transformation.
#[derive(Clone, Debug)]
pub enum TransformationBody {
    /// JavaScript defining `transform(record, helper)`.
    Code(String),
    /// No-code steps (the JSON array of `input.steps`).
    NoCode(Value),
}

/// Compiles `spec` for one run: `metadata` is what `helper.getMetadata()` answers, `limits` the
/// runtime's limits. The error is a sentence for the run's reason.
pub fn compile(
    spec: &TransformationSpec,
    metadata: Metadata,
    limits: Limits,
) -> Result<Program, String> {
    let compiled = match &spec.body {
        TransformationBody::Code(code) if code.trim().is_empty() => {
            return Err(format!(
                "transformation `{}` has no code: give it a `transform(record, helper)` function",
                spec.name
            ));
        }
        TransformationBody::Code(code) => {
            let context = CodeContext {
                secrets: spec.secrets.clone(),
                metadata,
                limits,
            };
            compile_code(code, &context).map(Program::from)
        }
        TransformationBody::NoCode(steps) => compile_no_code(steps)
            .map(|program| Program::from(program.with_max_record_bytes(limits.max_record_bytes))),
    };
    compiled.map_err(|error: TransformError| {
        format!("transformation `{}` cannot be used: {error}", spec.name)
    })
}

/// Compiles `spec` on a blocking thread (loading code runs its top level, up to its time limit)
/// and starts its pool of `threads`, for one run or one claim of pushes.
pub async fn start(
    spec: TransformationSpec,
    metadata: Metadata,
    limits: Limits,
    threads: usize,
    recorder: Option<Arc<dyn RunRecorder>>,
) -> Result<Arc<RecordTransformation>, String> {
    tokio::task::spawn_blocking(move || {
        let program = compile(&spec, metadata, limits)?;
        RecordTransformation::start(&spec.name, program, threads, recorder)
    })
    .await
    .map_err(|_| "the transformation could not be compiled: its thread failed".to_owned())?
}

/// What a run's transformation did.
#[derive(Debug, Default)]
struct Counts {
    input: AtomicU64,
    output: AtomicU64,
    dropped: AtomicU64,
    failed: AtomicU64,
}

/// A compiled transformation applied to record streams.
pub struct RecordTransformation {
    name: String,
    pool: TransformPool,
    counts: Counts,
    recorder: Option<Arc<dyn RunRecorder>>,
}

impl std::fmt::Debug for RecordTransformation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordTransformation")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl RecordTransformation {
    /// Starts `program` on up to `threads` threads; `recorder` gets the closing `transform`
    /// event and the `console.log` lines.
    pub fn start(
        name: &str,
        program: Program,
        threads: usize,
        recorder: Option<Arc<dyn RunRecorder>>,
    ) -> Result<Arc<Self>, String> {
        let pool = TransformPool::new(program, threads)
            .map_err(|error| format!("transformation `{name}`: {error}"))?;
        Ok(Arc::new(Self {
            name: name.to_owned(),
            pool,
            counts: Counts::default(),
            recorder,
        }))
    }

    /// `records` transformed, in order; ends with the `transform` event.
    pub fn stream(self: &Arc<Self>, records: RecordStream) -> RecordStream {
        let this = self.clone();
        // Up to IN_FLIGHT chunks at once, answered in order: the source and the batcher keep
        // working while the pool transforms. Positions are given when a chunk is split, in order.
        let transformed = records
            .ready_chunks(CHUNK)
            .map(move |chunk| {
                let (slots, inputs) = this.split(chunk);
                let this = this.clone();
                async move { this.apply(slots, inputs).await }
            })
            .buffered(IN_FLIGHT)
            .flat_map(futures::stream::iter);
        let this = self.clone();
        let report = futures::stream::once(async move {
            this.report();
            None::<SourceResult>
        })
        .filter_map(|item| async move { item });
        transformed.chain(report).boxed()
    }

    /// Records transformed so far: (in, out, dropped, failed).
    pub fn counts(&self) -> (u64, u64, u64, u64) {
        let c = &self.counts;
        (
            c.input.load(Ordering::Relaxed),
            c.output.load(Ordering::Relaxed),
            c.dropped.load(Ordering::Relaxed),
            c.failed.load(Ordering::Relaxed),
        )
    }

    /// A chunk's items in order, and the records of it to transform.
    fn split(&self, chunk: Vec<SourceResult>) -> (Vec<Slot>, Vec<JsonRecord>) {
        let mut slots = Vec::with_capacity(chunk.len());
        let mut inputs = Vec::new();
        for item in chunk {
            match item {
                Ok(record) if !record.delete => {
                    let position = self.counts.input.fetch_add(1, Ordering::Relaxed) + 1;
                    inputs.push(JsonRecord {
                        json: record.json,
                        object_id: record.object_id.as_deref().map(str::to_owned),
                    });
                    slots.push(Slot::Transformed {
                        position,
                        object_id: record.object_id,
                    });
                }
                other => slots.push(Slot::Ready(other)),
            }
        }
        (slots, inputs)
    }

    /// Transforms a chunk's records and puts the results in the chunk's order.
    async fn apply(&self, slots: Vec<Slot>, inputs: Vec<JsonRecord>) -> Vec<SourceResult> {
        let outcomes = if inputs.is_empty() {
            Ok(Vec::new())
        } else {
            self.pool.transform_json_batch(inputs).await
        };
        let (mut outcomes, batch_error) = match outcomes {
            Ok(outcomes) => (outcomes.into_iter(), None),
            Err(error) => (Vec::new().into_iter(), Some(error.to_string())),
        };
        let mut out = Vec::with_capacity(slots.len());
        for slot in slots {
            let (position, object_id) = match slot {
                Slot::Ready(item) => {
                    out.push(item);
                    continue;
                }
                Slot::Transformed {
                    position,
                    object_id,
                } => (position, object_id),
            };
            let outcome = outcomes.next().unwrap_or_else(|| Emission::Failed {
                object_id: None,
                message: batch_error
                    .clone()
                    .unwrap_or_else(|| "the transformation gave no result".into()),
            });
            match outcome {
                Emission::Records(records) => {
                    self.counts
                        .output
                        .fetch_add(records.len() as u64, Ordering::Relaxed);
                    out.extend(records.into_iter().map(|emitted| {
                        Ok(Record::new(
                            emitted.object_id.map(Arc::from),
                            Bytes::from(emitted.json),
                        ))
                    }));
                }
                Emission::Dropped => {
                    self.counts.dropped.fetch_add(1, Ordering::Relaxed);
                }
                Emission::Failed {
                    object_id: failed_id,
                    message,
                } => {
                    self.counts.failed.fetch_add(1, Ordering::Relaxed);
                    out.push(Err(SourceItemError::Rejected(RecordRejection {
                        position: Position::Transformation(position),
                        object_id: failed_id.map(Arc::from).or(object_id),
                        reason: format!("transformation `{}`: {message}", self.name),
                    })));
                }
            }
        }
        out
    }

    /// The closing `transform` event and the `console.log` lines.
    fn report(&self) {
        let Some(recorder) = &self.recorder else {
            return;
        };
        let log = self.pool.take_log();
        for line in log.lines {
            recorder.event(RunEvent::new(
                EventType::Log,
                EventStatus::Succeeded,
                0,
                json!({"message": line.message, "objectID": line.object_id, "source": "console"}),
            ));
        }
        if log.dropped > 0 {
            recorder.event(RunEvent::log(format!(
                "{} more console.log lines were dropped",
                log.dropped
            )));
        }
        let (input, output, dropped, failed) = self.counts();
        let status = if failed > 0 {
            EventStatus::Failed
        } else {
            EventStatus::Succeeded
        };
        recorder.event(RunEvent::new(
            EventType::Transform,
            status,
            input,
            json!({
                "transformation": self.name,
                "recordsIn": input,
                "recordsOut": output,
                "dropped": dropped,
                "failed": failed,
            }),
        ));
    }
}

/// A chunk item: passed through as it is, or the place of a transformed record.
enum Slot {
    Ready(SourceResult),
    Transformed {
        position: u64,
        object_id: Option<Arc<str>>,
    },
}

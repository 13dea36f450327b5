//! Transforming batches without blocking the async workers: a code program runs on dedicated
//! threads, each with its own QuickJS runtime loaded once; a batch is split across them and put
//! back together in input order.

use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, mpsc};
use std::thread;

use bytes::Bytes;
use tokio::sync::oneshot;

use crate::TransformError;
use crate::code::{CodeProgram, CodeRunner, ConsoleLog, LogSink};
use crate::nocode::NoCodeProgram;
use crate::outcome::{Emission, Outcome, Record, emit};

/// Stack of a worker thread: room for QuickJS's own stack limit (1 MiB) and the Rust frames.
const WORKER_STACK_BYTES: usize = 4 * 1024 * 1024;

/// A compiled transformation of either kind.
#[derive(Debug, Clone)]
pub enum Program {
    /// JavaScript.
    Code(CodeProgram),
    /// No-code steps.
    NoCode(NoCodeProgram),
}

impl From<CodeProgram> for Program {
    fn from(program: CodeProgram) -> Self {
        Program::Code(program)
    }
}

impl From<NoCodeProgram> for Program {
    fn from(program: NoCodeProgram) -> Self {
        Program::NoCode(program)
    }
}

/// Transforms batches with one [`Program`] for the length of a run.
///
/// For code, it owns `min(threads, available parallelism)` worker threads (at least one), each
/// with a runtime loaded from the same code; [`transform_batch`](Self::transform_batch) only
/// awaits channels, so it never blocks an async worker. A no-code program gets as many plain
/// threads for [`transform_json_batch`](Self::transform_json_batch), and runs inline in
/// [`transform_batch`](Self::transform_batch). The threads end when the pool is dropped (after
/// the chunk they are on).
pub struct TransformPool {
    engine: Engine,
    log: LogSink,
    /// The largest output record, in bytes of JSON.
    max_record_bytes: usize,
}

enum Engine {
    NoCode(Arc<NoCodeProgram>, Vec<mpsc::Sender<Job>>),
    Code(Vec<mpsc::Sender<Job>>),
}

/// A contiguous part of a batch for one worker, and where to answer.
enum Job {
    /// Parsed records in, [`Outcome`]s out (code workers only).
    Records {
        records: Vec<Record>,
        reply: oneshot::Sender<Vec<Outcome>>,
    },
    /// JSON text in, serialized [`Emission`]s out: the parsing and the serializing happen on the
    /// worker too.
    Json {
        records: Vec<JsonRecord>,
        reply: oneshot::Sender<Vec<Emission>>,
    },
}

/// A record as a run reads it: its JSON object as text, and its `objectID`.
#[derive(Debug, Clone)]
pub struct JsonRecord {
    /// The minified JSON object.
    pub json: Bytes,
    /// Its `objectID`, when it has one.
    pub object_id: Option<String>,
}

/// Starts `count` named threads running `work` on the jobs each receives.
fn spawn_workers(
    count: usize,
    work: impl Fn(mpsc::Receiver<Job>) + Clone + Send + 'static,
) -> Result<Vec<mpsc::Sender<Job>>, TransformError> {
    let mut workers = Vec::with_capacity(count);
    for i in 0..count {
        let (jobs, receiver) = mpsc::channel();
        let work = work.clone();
        thread::Builder::new()
            .name(format!("transform-{i}"))
            .stack_size(WORKER_STACK_BYTES)
            .spawn(move || work(receiver))
            .map_err(|error| TransformError::Runtime(format!("no worker thread: {error}")))?;
        workers.push(jobs);
    }
    Ok(workers)
}

impl TransformPool {
    /// Starts the pool: up to `threads` worker threads (never more than the cores).
    pub fn new(program: Program, threads: usize) -> Result<Self, TransformError> {
        let available = thread::available_parallelism().map_or(1, usize::from);
        let count = threads.min(available).max(1);
        match program {
            Program::NoCode(program) => {
                let max_record_bytes = program.max_record_bytes();
                let program = Arc::new(program);
                let shared = program.clone();
                let workers = spawn_workers(count, move |jobs| work_no_code(&shared, jobs))?;
                Ok(Self {
                    engine: Engine::NoCode(program, workers),
                    log: LogSink::new(0, 0),
                    max_record_bytes,
                })
            }
            Program::Code(program) => {
                let limits = &program.context().limits;
                let max_record_bytes = limits.max_record_bytes;
                let log = LogSink::new(limits.max_log_lines, limits.max_log_line_bytes);
                let (shared, sink) = (program.clone(), log.clone());
                let workers =
                    spawn_workers(count, move |jobs| work(shared.clone(), sink.clone(), jobs))?;
                Ok(Self {
                    engine: Engine::Code(workers),
                    log,
                    max_record_bytes,
                })
            }
        }
    }

    /// How many worker threads run the code (0 for a no-code program).
    pub fn threads(&self) -> usize {
        match &self.engine {
            Engine::NoCode(..) => 0,
            Engine::Code(workers) => workers.len(),
        }
    }

    /// Transforms a batch: one [`Outcome`] per input record, in input order. It fails as a whole
    /// only when a worker thread panicked.
    pub async fn transform_batch(
        &self,
        records: Vec<Record>,
    ) -> Result<Vec<Outcome>, TransformError> {
        let workers = match &self.engine {
            Engine::NoCode(program, _) => {
                return Ok(records
                    .into_iter()
                    .map(|record| program.apply(record))
                    .collect());
            }
            Engine::Code(workers) => workers,
        };
        scatter(workers, records, |records, reply| Job::Records {
            records,
            reply,
        })
        .await
    }

    /// Transforms a batch of records given as JSON text, on the worker threads (parsing and
    /// serializing included): one [`Emission`] per input record, in input order, each output
    /// record serialized once and checked against the size limit. It fails as a whole only when
    /// a worker thread panicked.
    pub async fn transform_json_batch(
        &self,
        records: Vec<JsonRecord>,
    ) -> Result<Vec<Emission>, TransformError> {
        let workers = match &self.engine {
            Engine::NoCode(_, workers) | Engine::Code(workers) => workers,
        };
        scatter(workers, records, |records, reply| Job::Json {
            records,
            reply,
        })
        .await
    }

    /// The largest output record accepted, in bytes.
    pub fn max_record_bytes(&self) -> usize {
        self.max_record_bytes
    }

    /// Takes the `console.log` lines written since the last take, from every worker.
    pub fn take_log(&self) -> ConsoleLog {
        self.log.take()
    }
}

/// Splits `items` into one contiguous part per worker, sends each as a job, and puts the answers
/// back together in order.
async fn scatter<I, O>(
    workers: &[mpsc::Sender<Job>],
    items: Vec<I>,
    job: impl Fn(Vec<I>, oneshot::Sender<Vec<O>>) -> Job,
) -> Result<Vec<O>, TransformError> {
    let total = items.len();
    let chunk = total.div_ceil(workers.len().max(1)).max(1);
    let mut items = items.into_iter();
    let mut replies = Vec::with_capacity(workers.len());
    for worker in workers {
        let part: Vec<I> = items.by_ref().take(chunk).collect();
        if part.is_empty() {
            break;
        }
        let (reply, answer) = oneshot::channel();
        worker
            .send(job(part, reply))
            .map_err(|_| TransformError::WorkerPanicked)?;
        replies.push(answer);
    }
    let mut outcomes = Vec::with_capacity(total);
    for answer in replies {
        outcomes.extend(answer.await.map_err(|_| TransformError::WorkerPanicked)?);
    }
    Ok(outcomes)
}

/// The text of a record's `objectID` as the JSON value given back to an output that lost it.
fn id_value(object_id: Option<&String>) -> Option<serde_json::Value> {
    object_id.map(|id| serde_json::Value::String(id.clone()))
}

/// A worker thread of a code program: transforms the jobs it receives until the pool is
/// dropped. A panic fails that job (its reply is dropped, the caller sees
/// [`TransformError::WorkerPanicked`]) and the runner is built anew for the next one.
fn work(program: CodeProgram, log: LogSink, jobs: mpsc::Receiver<Job>) {
    let mut runner = CodeRunner::with_log(program.clone(), log.clone());
    let max_bytes = program.context().limits.max_record_bytes;
    while let Ok(job) = jobs.recv() {
        let done = panic::catch_unwind(AssertUnwindSafe(|| match job {
            Job::Records { records, reply } => {
                #[cfg(test)]
                tests::panic_on_request(&records);
                let outcomes: Vec<Outcome> = records
                    .into_iter()
                    .map(|record| runner.transform(record))
                    .collect();
                // The caller may have given up on the batch; nothing to do then.
                let _ = reply.send(outcomes);
            }
            Job::Json { records, reply } => {
                let emissions: Vec<Emission> = records
                    .into_iter()
                    .map(|record| {
                        let id = record.object_id;
                        let Ok(text) = std::str::from_utf8(&record.json) else {
                            return Emission::Failed {
                                object_id: id,
                                message: "the record is not UTF-8 JSON".to_owned(),
                            };
                        };
                        let outcome =
                            runner.transform_text(text, id_value(id.as_ref()).as_ref(), id.clone());
                        emit(outcome, id.as_deref(), max_bytes)
                    })
                    .collect();
                let _ = reply.send(emissions);
            }
        }));
        if done.is_err() {
            runner = CodeRunner::with_log(program.clone(), log.clone());
        }
    }
}

/// A worker thread of a no-code program: parses, applies the steps, serializes.
fn work_no_code(program: &NoCodeProgram, jobs: mpsc::Receiver<Job>) {
    while let Ok(job) = jobs.recv() {
        let Job::Json { records, reply } = job else {
            // Parsed records of a no-code program are applied inline, never sent here.
            continue;
        };
        let _ = panic::catch_unwind(AssertUnwindSafe(|| {
            let emissions: Vec<Emission> = records
                .into_iter()
                .map(|record| program.apply_text(&record.json, record.object_id.as_deref()))
                .collect();
            let _ = reply.send(emissions);
        }));
    }
}

#[cfg(test)]
mod tests;

//! Transforming batches without blocking the async workers: a code program runs on dedicated
//! threads, each with its own QuickJS runtime loaded once; a batch is split across them and put
//! back together in input order.

use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, mpsc};
use std::thread;

use tokio::sync::oneshot;

use crate::TransformError;
use crate::code::{CodeProgram, CodeRunner, ConsoleLog, LogSink};
use crate::nocode::NoCodeProgram;
use crate::outcome::{Outcome, Record};

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
/// awaits channels, so it never blocks an async worker. The threads end when the pool is
/// dropped (after the chunk they are on). No-code programs run inline: they are plain Rust and
/// fast.
pub struct TransformPool {
    engine: Engine,
    log: LogSink,
}

enum Engine {
    NoCode(Arc<NoCodeProgram>),
    Code(Vec<mpsc::Sender<Job>>),
}

/// A contiguous part of a batch for one worker, and where to answer.
struct Job {
    records: Vec<Record>,
    reply: oneshot::Sender<Vec<Outcome>>,
}

impl TransformPool {
    /// Starts the pool (the worker threads of a code program).
    pub fn new(program: Program, threads: usize) -> Result<Self, TransformError> {
        match program {
            Program::NoCode(program) => Ok(Self {
                engine: Engine::NoCode(Arc::new(program)),
                log: LogSink::new(0, 0),
            }),
            Program::Code(program) => {
                let limits = &program.context().limits;
                let log = LogSink::new(limits.max_log_lines, limits.max_log_line_bytes);
                let available = thread::available_parallelism().map_or(1, usize::from);
                let count = threads.min(available).max(1);
                let mut workers = Vec::with_capacity(count);
                for i in 0..count {
                    let (jobs, receiver) = mpsc::channel();
                    let (program, log) = (program.clone(), log.clone());
                    thread::Builder::new()
                        .name(format!("transform-{i}"))
                        .stack_size(WORKER_STACK_BYTES)
                        .spawn(move || work(program, log, receiver))
                        .map_err(|error| {
                            TransformError::Runtime(format!("no worker thread: {error}"))
                        })?;
                    workers.push(jobs);
                }
                Ok(Self {
                    engine: Engine::Code(workers),
                    log,
                })
            }
        }
    }

    /// How many worker threads run the code (0 for a no-code program).
    pub fn threads(&self) -> usize {
        match &self.engine {
            Engine::NoCode(_) => 0,
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
            Engine::NoCode(program) => {
                return Ok(records
                    .into_iter()
                    .map(|record| program.apply(record))
                    .collect());
            }
            Engine::Code(workers) => workers,
        };
        let total = records.len();
        let chunk = total.div_ceil(workers.len().max(1)).max(1);
        let mut records = records.into_iter();
        let mut replies = Vec::with_capacity(workers.len());
        for worker in workers {
            let part: Vec<Record> = records.by_ref().take(chunk).collect();
            if part.is_empty() {
                break;
            }
            let (reply, answer) = oneshot::channel();
            worker
                .send(Job {
                    records: part,
                    reply,
                })
                .map_err(|_| TransformError::WorkerPanicked)?;
            replies.push(answer);
        }
        let mut outcomes = Vec::with_capacity(total);
        for answer in replies {
            outcomes.extend(answer.await.map_err(|_| TransformError::WorkerPanicked)?);
        }
        Ok(outcomes)
    }

    /// Takes the `console.log` lines written since the last take, from every worker.
    pub fn take_log(&self) -> ConsoleLog {
        self.log.take()
    }
}

/// A worker thread: transforms the jobs it receives until the pool is dropped. A panic fails
/// that job (its reply is dropped, the caller sees [`TransformError::WorkerPanicked`]) and the
/// runner is built anew for the next one.
fn work(program: CodeProgram, log: LogSink, jobs: mpsc::Receiver<Job>) {
    let mut runner = CodeRunner::with_log(program.clone(), log.clone());
    while let Ok(Job { records, reply }) = jobs.recv() {
        let result = panic::catch_unwind(AssertUnwindSafe(|| {
            #[cfg(test)]
            tests::panic_on_request(&records);
            records
                .into_iter()
                .map(|record| runner.transform(record))
                .collect::<Vec<_>>()
        }));
        match result {
            Ok(outcomes) => {
                // The caller may have given up on the batch; nothing to do then.
                let _ = reply.send(outcomes);
            }
            Err(_) => runner = CodeRunner::with_log(program.clone(), log.clone()),
        }
    }
}

#[cfg(test)]
mod tests;

//! Transforming records one by one in a runtime kept for the whole run (on one thread).

use std::rc::Rc;

use super::errors::Failure;
use super::helper::CurrentId;
use super::log::LogSink;
use super::runtime::{Loaded, Returned};
use super::{CodeProgram, ConsoleLog, output};
use crate::outcome::{Outcome, Record, enforce_record_size, object_id_of};

/// Runs a [`CodeProgram`] on the current thread, loading it once and calling its `transform`
/// for each record. It is not `Send` (QuickJS runtimes are tied to their thread): a
/// [`TransformPool`](crate::TransformPool) keeps one per worker thread.
///
/// After a record that exhausted the memory, or that timed out with jobs still queued, the
/// runtime is dropped and the code loaded again for the next record; a plain timeout keeps it.
pub struct CodeRunner {
    program: CodeProgram,
    loaded: Option<Loaded>,
    log: LogSink,
    current: CurrentId,
}

impl CodeRunner {
    pub(crate) fn with_log(program: CodeProgram, log: LogSink) -> Self {
        Self {
            program,
            loaded: None,
            log,
            current: CurrentId::default(),
        }
    }

    /// Transforms one record.
    pub fn transform(&mut self, record: Record) -> Outcome {
        let object_id = object_id_of(&record);
        let json = match serde_json::to_string(&record) {
            Ok(json) => json,
            Err(error) => {
                return Outcome::Failed {
                    object_id,
                    message: format!("the record could not be serialized: {error}"),
                };
            }
        };
        let outcome = self.transform_text(&json, record.get("objectID"), object_id.clone());
        let limit = self.program.context().limits.max_record_bytes;
        enforce_record_size(outcome, object_id.as_deref(), limit)
    }

    /// Transforms one record given as its JSON text (an object), without the size check of the
    /// output: `input_id` is its `objectID` value, `object_id` the same as text.
    pub(crate) fn transform_text(
        &mut self,
        json: &str,
        input_id: Option<&serde_json::Value>,
        object_id: Option<String>,
    ) -> Outcome {
        let fail = |message: String| Outcome::Failed {
            object_id: object_id.clone(),
            message,
        };
        if self.loaded.is_none() {
            let program = &self.program;
            match Loaded::load(
                program.code(),
                program.context(),
                self.log.clone(),
                Rc::clone(&self.current),
            ) {
                Ok(loaded) => self.loaded = Some(loaded),
                Err(error) => {
                    return fail(format!("the transformation could not be loaded: {error}"));
                }
            }
        }
        let Some(loaded) = &self.loaded else {
            return fail("the transformation could not be loaded".to_owned());
        };
        if let Ok(mut current) = self.current.try_borrow_mut() {
            current.clone_from(&object_id);
        }
        let limit = loaded.limit();
        let returned = loaded.call(json);
        let rebuild = match &returned {
            Err(Failure::OutOfMemory) => true,
            Err(Failure::Timeout) => loaded.has_pending_jobs(),
            _ => false,
        };
        if rebuild {
            self.loaded = None;
        }
        if let Ok(mut current) = self.current.try_borrow_mut() {
            *current = None;
        }
        let limits = &self.program.context().limits;
        match returned {
            Ok(Returned::Nothing) => Outcome::Dropped,
            Ok(Returned::Json(json)) => output::classify(&json, input_id, object_id.clone()),
            Ok(Returned::Other(kind)) => fail(format!(
                "transform returned {kind}; expected an object, an array of objects, undefined \
                 or null"
            )),
            Err(Failure::Thrown(message)) => fail(message),
            Err(Failure::Timeout) => fail(format!(
                "transform timed out: it ran longer than {} ms",
                limit.as_millis()
            )),
            Err(Failure::OutOfMemory) => fail(format!(
                "transform ran out of memory (limit {} bytes)",
                limits.max_memory_bytes
            )),
            Err(Failure::ThrownNull) => fail("Uncaught null".to_owned()),
            Err(Failure::NotSettled) => {
                fail("the promise returned by transform did not settle".to_owned())
            }
        }
    }

    /// Takes the `console.log` lines written since the last take.
    pub fn take_log(&self) -> ConsoleLog {
        self.log.take()
    }

    /// Whether a runtime is loaded now (it is loaded on the first record, and again after a
    /// record that exhausted the memory).
    pub fn is_loaded(&self) -> bool {
        self.loaded.is_some()
    }
}

//! One QuickJS runtime with the user's code loaded: its `transform` function is kept and called
//! for every record.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use rquickjs::context::EvalOptions;
use rquickjs::promise::PromiseState;
use rquickjs::{
    CatchResultExt, CaughtError, Context, Ctx, Function, Object, Persistent, Promise, Runtime,
    Value,
};

use super::errors::{FILE_NAME, Failure, describe, failure};
use super::helper::{self, CurrentId};
use super::log::LogSink;
use super::{CodeContext, metadata_json};
use crate::TransformError;

/// The deadline of the current call, read by QuickJS's interrupt handler.
#[derive(Debug, Default)]
struct Clock {
    deadline: Cell<Option<Instant>>,
    interrupted: Cell<bool>,
}

impl Clock {
    fn start(&self, limit: Duration) {
        self.deadline.set(Instant::now().checked_add(limit));
        self.interrupted.set(false);
    }

    fn stop(&self) {
        self.deadline.set(None);
    }

    /// Whether the deadline has passed (and remembers that it did).
    fn expired(&self) -> bool {
        let expired = self
            .deadline
            .get()
            .is_some_and(|deadline| Instant::now() >= deadline);
        if expired {
            self.interrupted.set(true);
        }
        expired
    }
}

/// What a call returned, before it is classified.
pub(crate) enum Returned {
    /// `undefined` or `null`.
    Nothing,
    /// An object or an array, as JSON text.
    Json(String),
    /// Any other value: a string naming its kind.
    Other(&'static str),
}

/// A runtime with the code loaded. Field order matters: the persistent handles are dropped
/// before the context and the runtime.
pub(crate) struct Loaded {
    transform: Persistent<Function<'static>>,
    helper: Persistent<Object<'static>>,
    context: Context,
    runtime: Runtime,
    clock: Rc<Clock>,
    limit: Duration,
}

impl Loaded {
    /// Creates the runtime, installs the helper and evaluates the code (under the time and
    /// memory limits), then finds `transform`.
    pub(crate) fn load(
        code: &str,
        context: &CodeContext,
        log: LogSink,
        current: CurrentId,
    ) -> Result<Self, TransformError> {
        let runtime_error = |error: rquickjs::Error| TransformError::Runtime(error.to_string());
        let limits = &context.limits;
        let runtime = Runtime::new().map_err(runtime_error)?;
        runtime.set_memory_limit(limits.max_memory_bytes);
        let clock = Rc::new(Clock::default());
        let handler_clock = Rc::clone(&clock);
        runtime.set_interrupt_handler(Some(Box::new(move || handler_clock.expired())));
        let js_context = Context::full(&runtime).map_err(runtime_error)?;
        let limit = Duration::from_millis(limits.max_ms_per_record);
        let secrets = Rc::new(context.secrets.clone());
        let metadata = metadata_json(&context.metadata);

        clock.start(limit);
        let loaded = js_context.with(|ctx| {
            let helper = helper::install(&ctx, secrets, metadata, log, current)
                .catch(&ctx)
                .map_err(|caught| Err(TransformError::Runtime(describe(caught))))?;
            let mut options = EvalOptions::default();
            options.strict = false;
            options.filename = Some(FILE_NAME.to_owned());
            ctx.eval_with_options::<(), _>(code, options)
                .catch(&ctx)
                .map_err(|caught| Ok(failure(caught)))?;
            let found: Value = ctx
                .eval("typeof transform === \"function\" ? transform : undefined")
                .catch(&ctx)
                .map_err(|caught| Err(TransformError::InvalidCode(describe(caught))))?;
            let transform = found
                .into_function()
                .ok_or(Err(TransformError::NoTransformFunction))?;
            Ok((
                Persistent::save(&ctx, transform),
                Persistent::save(&ctx, helper),
            ))
        });
        clock.stop();
        let top_level = |failure: Failure| {
            let failure = match clock.interrupted.get() {
                true => Failure::Timeout,
                false => resolve_null(&runtime, failure),
            };
            TransformError::InvalidCode(match failure {
                Failure::Timeout => {
                    format!(
                        "the code's top level ran longer than {} ms",
                        limit.as_millis()
                    )
                }
                Failure::OutOfMemory => "the code's top level ran out of memory".to_owned(),
                Failure::Thrown(message) => message,
                Failure::ThrownNull => "Uncaught null".to_owned(),
                Failure::NotSettled => "the code could not be loaded".to_owned(),
            })
        };
        let (transform, helper) = match loaded {
            Ok(handles) => handles,
            Err(Ok(failure)) => return Err(top_level(failure)),
            Err(Err(error)) => return Err(error),
        };
        Ok(Self {
            transform,
            helper,
            context: js_context,
            runtime,
            clock,
            limit,
        })
    }

    /// The time limit of one call.
    pub(crate) fn limit(&self) -> Duration {
        self.limit
    }

    /// Calls `transform(record, helper)` with the record's JSON, awaits a returned promise by
    /// running the pending jobs, all under the deadline.
    pub(crate) fn call(&self, record_json: &str) -> Result<Returned, Failure> {
        self.clock.start(self.limit);
        let result = self.context.with(|ctx| self.call_in(&ctx, record_json));
        self.clock.stop();
        match result {
            Err(_) if self.clock.interrupted.get() => Err(Failure::Timeout),
            Err(failure) => Err(resolve_null(&self.runtime, failure)),
            ok => ok,
        }
    }

    fn call_in<'js>(&self, ctx: &Ctx<'js>, record_json: &str) -> Result<Returned, Failure> {
        let caught = |error: rquickjs::Error| failure(CaughtError::from_error(ctx, error));
        let record = ctx.json_parse(record_json).map_err(caught)?;
        let transform = self.transform.clone().restore(ctx).map_err(caught)?;
        let helper = self.helper.clone().restore(ctx).map_err(caught)?;
        let mut returned: Value = transform.call((record, helper)).map_err(caught)?;
        if let Some(promise) = returned.as_promise() {
            returned = self.settle(ctx, promise)?;
        }
        if returned.is_undefined() || returned.is_null() {
            return Ok(Returned::Nothing);
        }
        if returned.is_function() {
            return Ok(Returned::Other("a function"));
        }
        if returned.is_object() {
            return match ctx.json_stringify(returned).map_err(caught)? {
                Some(json) => json.to_string().map(Returned::Json).map_err(caught),
                None => Ok(Returned::Nothing),
            };
        }
        Ok(Returned::Other(kind(&returned)))
    }

    /// Runs pending jobs until `promise` settles, the deadline passes or nothing is left to run.
    fn settle<'js>(&self, ctx: &Ctx<'js>, promise: &Promise<'js>) -> Result<Value<'js>, Failure> {
        loop {
            match promise.state() {
                PromiseState::Pending => {
                    if self.clock.expired() {
                        return Err(Failure::Timeout);
                    }
                    if !ctx.execute_pending_job() {
                        return Err(match self.clock.interrupted.get() {
                            true => Failure::Timeout,
                            false => Failure::NotSettled,
                        });
                    }
                }
                PromiseState::Resolved | PromiseState::Rejected => {
                    return match promise.result::<Value>() {
                        Some(result) => result.catch(ctx).map_err(failure),
                        None => Err(Failure::NotSettled),
                    };
                }
            }
        }
    }

    /// Whether jobs are still queued (left over by an interrupted call).
    pub(crate) fn has_pending_jobs(&self) -> bool {
        self.runtime.is_job_pending()
    }
}

/// A thrown `null` while the runtime's memory is nearly all used is QuickJS's own "out of
/// memory" (it throws `null` when it cannot allocate the error); otherwise the code threw it.
fn resolve_null(runtime: &Runtime, failure: Failure) -> Failure {
    if failure != Failure::ThrownNull {
        return failure;
    }
    let usage = runtime.memory_usage();
    let used = u64::try_from(usage.malloc_size).unwrap_or(0);
    let limit = u64::try_from(usage.malloc_limit).unwrap_or(u64::MAX);
    match used.saturating_mul(4) >= limit.saturating_mul(3) {
        true => Failure::OutOfMemory,
        false => Failure::Thrown("Uncaught null".to_owned()),
    }
}

/// The kind of a returned primitive, for messages.
fn kind(value: &Value<'_>) -> &'static str {
    if value.is_string() {
        "a string"
    } else if value.is_number() {
        "a number"
    } else if value.is_bool() {
        "a boolean"
    } else if value.is_symbol() {
        "a symbol"
    } else if value.is_big_int() {
        "a bigint"
    } else {
        "a value of another kind"
    }
}

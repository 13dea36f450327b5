//! The one error type of the crate: what refuses a transformation at compile time, and what
//! fails a whole batch.

/// Why a transformation was refused, or why a batch could not be transformed at all.
///
/// A single record that fails is not an error: it is an [`Outcome::Failed`](crate::Outcome::Failed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransformError {
    /// A no-code step list is invalid; `at` names the position, e.g. `input.steps[2].when.operator`.
    #[error("{at}: {message}")]
    InvalidSteps {
        /// Where the problem is, as a field path starting at `input.steps`.
        at: String,
        /// What is wrong there.
        message: String,
    },
    /// The code is larger than [`MAX_CODE_BYTES`](crate::MAX_CODE_BYTES).
    #[error("the code is {bytes} bytes, over the limit of {max} bytes")]
    CodeTooLarge {
        /// The size of the code.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// The code could not be loaded: a syntax error, or an exception thrown (or a time or memory
    /// limit reached) while its top level ran. The message names the line when QuickJS gives one.
    #[error("{0}")]
    InvalidCode(String),
    /// The code loaded but defines no function called `transform`.
    #[error("the code does not define a function `transform`")]
    NoTransformFunction,
    /// The JavaScript runtime could not be created or a worker thread could not be started.
    #[error("the transformation runtime could not start: {0}")]
    Runtime(String),
    /// A worker thread panicked while it transformed part of the batch; the batch failed as a
    /// whole (the worker is ready again for the next batch).
    #[error("a transformation worker failed unexpectedly while it transformed the batch")]
    WorkerPanicked,
}

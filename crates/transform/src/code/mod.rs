//! JavaScript transformations in QuickJS (through `rquickjs`).

mod errors;
mod helper;
mod log;
mod output;
mod runner;
mod runtime;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

pub(crate) use log::LogSink;
pub use log::{ConsoleLog, LogLine};
pub use runner::CodeRunner;

use crate::{DEFAULT_MAX_RECORD_BYTES, TransformError};

/// The largest code accepted, in bytes.
pub const MAX_CODE_BYTES: usize = 64 * 1024;

/// The limits of a code transformation (settings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Time allowed for one record, promise settling included (and for the code's top level at
    /// load). Default 1000.
    pub max_ms_per_record: u64,
    /// Memory limit of each QuickJS runtime. Default 32 MiB.
    pub max_memory_bytes: usize,
    /// Largest output record (serialized JSON). Default 100,000 (`batch.max_record_bytes`).
    pub max_record_bytes: usize,
    /// Lines of `console.log` kept per run (per runner or pool); the rest are counted as
    /// dropped. Default 100.
    pub max_log_lines: usize,
    /// Longest `console.log` line kept, in bytes (longer ones are cut). Default 1024.
    pub max_log_line_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_ms_per_record: 1000,
            max_memory_bytes: 32 * 1024 * 1024,
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            max_log_lines: 100,
            max_log_line_bytes: 1024,
        }
    }
}

/// What `helper.getMetadata()` answers; an absent field reads `null`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    /// `appID`.
    pub app_id: Option<String>,
    /// `taskID`.
    pub task_id: Option<String>,
    /// `indexName`.
    pub index_name: Option<String>,
    /// `actionType` (e.g. `addObject`, `partialUpdateObject`).
    pub action_type: Option<String>,
}

/// Everything a code transformation gets besides its code: secrets, metadata and limits.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct CodeContext {
    /// What `helper.secrets.get(name)` answers.
    pub secrets: HashMap<String, String>,
    /// What `helper.getMetadata()` answers.
    pub metadata: Metadata,
    /// The limits.
    pub limits: Limits,
}

impl fmt::Debug for CodeContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&String> = self.secrets.keys().collect();
        names.sort();
        f.debug_struct("CodeContext")
            .field("secrets (names)", &names)
            .field("metadata", &self.metadata)
            .field("limits", &self.limits)
            .finish()
    }
}

/// Validated JavaScript code with its context. It is `Send + Sync` and cheap to clone: every
/// [`CodeRunner`] (one per thread) loads it in its own runtime.
#[derive(Debug, Clone)]
pub struct CodeProgram {
    inner: Arc<(String, CodeContext)>,
}

/// Validates `code`: at most [`MAX_CODE_BYTES`], it loads (no syntax error, nothing thrown, and
/// within the limits at its top level) and defines a function `transform`. The error of a
/// syntax error names its line, e.g. `SyntaxError: unexpected token in expression: ')' (line 3)`.
pub fn compile_code(code: &str, context: &CodeContext) -> Result<CodeProgram, TransformError> {
    if code.len() > MAX_CODE_BYTES {
        return Err(TransformError::CodeTooLarge {
            bytes: code.len(),
            max: MAX_CODE_BYTES,
        });
    }
    let log = LogSink::new(0, 0);
    runtime::Loaded::load(code, context, log, Default::default())?;
    Ok(CodeProgram {
        inner: Arc::new((code.to_owned(), context.clone())),
    })
}

impl CodeProgram {
    /// The code.
    pub fn code(&self) -> &str {
        &self.inner.0
    }

    /// The context it was compiled with.
    pub fn context(&self) -> &CodeContext {
        &self.inner.1
    }

    /// A runner on the current thread, with its own console log.
    pub fn runner(&self) -> CodeRunner {
        let limits = &self.context().limits;
        CodeRunner::with_log(
            self.clone(),
            LogSink::new(limits.max_log_lines, limits.max_log_line_bytes),
        )
    }
}

/// The JSON of `helper.getMetadata()`.
fn metadata_json(metadata: &Metadata) -> String {
    serde_json::json!({
        "appID": metadata.app_id,
        "taskID": metadata.task_id,
        "indexName": metadata.index_name,
        "actionType": metadata.action_type,
    })
    .to_string()
}

//! [`ValidationError`]: what is wrong with a request body, and where.

use std::cell::RefCell;

use serde::{Deserialize, Serialize};

/// A request body (or a stored input) that does not satisfy the API contract.
///
/// `path` names the offending field relative to the object that was parsed (`input.delimiter`,
/// `input.locales[1]`, `trigger.cron`; empty for the object itself) and `message` says what is
/// wrong, in lowercase. `Display` gives `"{path}: {message}"`, or just the message when the path
/// is empty: that text is what the API returns in a 400 body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct ValidationError {
    /// The field path, e.g. `input.locales[1]`; empty when the whole object is at fault.
    pub path: String,
    /// What is wrong, e.g. `must be one character`.
    pub message: String,
}

impl ValidationError {
    /// An error at `path` (relative to the object being parsed).
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }

    /// An error about the object itself (empty path).
    pub fn here(message: impl Into<String>) -> Self {
        Self::new(String::new(), message)
    }

    /// The same error seen from an enclosing object: `prefixed("input")` turns `delimiter` into
    /// `input.delimiter` and `[1]` into `input[1]`. A trailing `.` on the prefix is ignored, so
    /// `source.input.` works too.
    #[must_use]
    pub fn prefixed(mut self, prefix: &str) -> Self {
        let prefix = prefix.strip_suffix('.').unwrap_or(prefix);
        self.path = join_path(prefix, &self.path);
        self
    }

    fn render(&self) -> String {
        if self.path.is_empty() {
            self.message.clone()
        } else {
            format!("{}: {}", self.path, self.message)
        }
    }
}

/// Joins two field paths: `a` + `b` = `a.b`, `a` + `[0]` = `a[0]`, either side may be empty.
pub(crate) fn join_path(prefix: &str, path: &str) -> String {
    if prefix.is_empty() {
        path.to_owned()
    } else if path.is_empty() {
        prefix.to_owned()
    } else if path.starts_with('[') {
        format!("{prefix}{path}")
    } else {
        format!("{prefix}.{path}")
    }
}

/// The body of every error response: `{"message": "...", "status": N}` (`docs/api.md` C1). The spec's
/// `ErrorBase` only requires `message`; `status` is what Algolia services add.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorResponse {
    /// Human-readable message (for a 400: the [`ValidationError`] text).
    pub message: String,
    /// The HTTP status, repeated in the body.
    pub status: u16,
}

impl ErrorResponse {
    /// The 400 body for a validation error.
    pub fn bad_request(err: &ValidationError) -> Self {
        Self {
            message: err.to_string(),
            status: 400,
        }
    }
}

// A structured error cannot travel through serde's `Error::custom` (it only takes a message), so a
// `Deserialize` impl that validates stores its `ValidationError` here before returning the custom
// error; `parse::from_value` takes it back out and joins its path to the path serde was at. The
// slot is per thread, and deserialization never leaves the thread that started it.
thread_local! {
    static PENDING: RefCell<Option<ValidationError>> = const { RefCell::new(None) };
}

/// Turns a validation error raised inside a `Deserialize` impl into the deserializer's error type,
/// keeping the structured error for [`crate::from_value`].
pub(crate) fn into_de_error<E: serde::de::Error>(err: ValidationError) -> E {
    let message = err.to_string();
    PENDING.with(|slot| *slot.borrow_mut() = Some(err));
    E::custom(message)
}

/// Takes the validation error stored by [`into_de_error`], if any.
pub(crate) fn take_pending() -> Option<ValidationError> {
    PENDING.with(|slot| slot.borrow_mut().take())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_with_and_without_path() {
        assert_eq!(
            ValidationError::new("input.delimiter", "must be one character").to_string(),
            "input.delimiter: must be one character"
        );
        assert_eq!(ValidationError::here("bad").to_string(), "bad");
    }

    #[test]
    fn prefixes_join_with_dots_and_brackets() {
        let e = ValidationError::new("delimiter", "x");
        assert_eq!(e.prefixed("input").path, "input.delimiter");
        let e = ValidationError::new("[1]", "x").prefixed("locales");
        assert_eq!(e.path, "locales[1]");
        let e = ValidationError::here("x").prefixed("source.input.");
        assert_eq!(e.path, "source.input");
        let e = ValidationError::new("url", "x").prefixed("");
        assert_eq!(e.path, "url");
        let e = ValidationError::new("locales[0]", "x").prefixed("source.input.");
        assert_eq!(e.path, "source.input.locales[0]");
    }
}

//! Turning what QuickJS threw into a message for users, with the line when there is one.

use rquickjs::{CaughtError, Coerced, Value};

/// The file name the user's code is evaluated under (it appears in stack traces).
pub(crate) const FILE_NAME: &str = "transform.js";

/// What stopped a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// An exception, described.
    Thrown(String),
    /// The deadline passed (QuickJS was interrupted).
    Timeout,
    /// The runtime's memory limit was reached.
    OutOfMemory,
    /// The promise was still pending with no job left to run.
    NotSettled,
    /// `null` was thrown: by the code, or by QuickJS when it could not even allocate its "out of
    /// memory" error (told apart by the memory in use, see `Loaded::resolve_null`).
    ThrownNull,
}

/// Classifies a caught error.
pub(crate) fn failure(caught: CaughtError<'_>) -> Failure {
    let is_oom = match &caught {
        CaughtError::Error(rquickjs::Error::Allocation) => true,
        CaughtError::Exception(exception) => {
            exception.message().as_deref() == Some("out of memory")
        }
        CaughtError::Value(value) if value.is_null() => return Failure::ThrownNull,
        _ => false,
    };
    match is_oom {
        true => Failure::OutOfMemory,
        false => Failure::Thrown(describe(caught)),
    }
}

/// `Name: message (line N)`, or the thrown value when it is not an error.
pub(crate) fn describe(caught: CaughtError<'_>) -> String {
    match caught {
        CaughtError::Exception(exception) => {
            let object = exception.as_object();
            let name = object
                .get::<_, Option<Coerced<String>>>("name")
                .ok()
                .flatten()
                .map_or_else(|| "Error".to_owned(), |name| name.0);
            let message = exception.message().unwrap_or_default();
            let mut text = match message.is_empty() {
                true => name,
                false => format!("{name}: {message}"),
            };
            if let Some(line) = exception.stack().as_deref().and_then(line_of) {
                text.push_str(&format!(" (line {line})"));
            }
            text
        }
        CaughtError::Value(value) => format!("Uncaught {}", show(&value)),
        CaughtError::Error(error) => error.to_string(),
    }
}

/// A thrown value that is not an Error: a string as it is, anything else as its JSON text (or
/// `String(value)` when JSON cannot write it).
fn show(value: &Value<'_>) -> String {
    if let Some(text) = value.as_string().and_then(|s| s.to_string().ok()) {
        return text;
    }
    if let Ok(Some(json)) = value.ctx().json_stringify(value.clone())
        && let Ok(json) = json.to_string()
    {
        return json;
    }
    value
        .get::<Coerced<String>>()
        .map_or_else(|_| "a value".to_owned(), |text| text.0)
}

/// The line of the first stack frame in the user's code: frames read `at f (transform.js:3:5)`
/// or, for a syntax error, `at transform.js:3:5`.
pub(crate) fn line_of(stack: &str) -> Option<u32> {
    let marker = format!("{FILE_NAME}:");
    let start = stack.find(&marker)? + marker.len();
    let digits: String = stack[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_come_from_the_first_frame_in_the_code() {
        assert_eq!(
            line_of("    at t (transform.js:2:13)\n    at <eval> (transform.js:4:1)\n"),
            Some(2)
        );
        assert_eq!(line_of("    at transform.js:14:7\n"), Some(14));
        assert_eq!(line_of("    at <native>\n"), None);
        assert_eq!(line_of(""), None);
    }
}

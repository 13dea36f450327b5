//! What can go wrong talking to Algolia.

use std::time::Duration;

/// An Algolia call that did not succeed. Messages never contain the API key.
#[derive(Debug, thiserror::Error)]
pub enum AlgoliaError {
    /// Algolia refused the request (a 4xx other than 429, or a 429 after the last retry).
    #[error("algolia answered {status} to {call}: {message}")]
    Api {
        /// The call, e.g. `POST /1/indexes/products/batch`.
        call: String,
        /// The HTTP status.
        status: u16,
        /// Algolia's `message`, or the start of the body when it has none.
        message: String,
    },
    /// Every attempt failed with a retryable outcome (5xx, timeout, network error).
    #[error("no Algolia host answered {call} after {attempts} attempt(s); last error: {last}")]
    Unreachable {
        /// The call.
        call: String,
        /// Attempts made.
        attempts: u32,
        /// What the last attempt ended with.
        last: String,
    },
    /// A timeout on a request that must not be sent twice (records without `objectID`).
    #[error(
        "{call} timed out and was not retried: its records have no objectID, so a retry could duplicate them"
    )]
    NotRetriable {
        /// The call.
        call: String,
    },
    /// A 2xx whose body is not what the API documents.
    #[error("algolia answered {call} with an unexpected body: {reason}")]
    MalformedResponse {
        /// The call.
        call: String,
        /// What was wrong.
        reason: String,
    },
    /// A task was still not published after the configured number of polls.
    #[error(
        "algolia task {task_id} on index `{index}` was still not published after {polls} polls ({waited:?})"
    )]
    WaitTimeout {
        /// The index.
        index: String,
        /// The task.
        task_id: u64,
        /// Polls made.
        polls: u32,
        /// Time spent waiting.
        waited: Duration,
    },
    /// The configuration cannot give a working client (bad host URL, TLS setup).
    #[error("invalid Algolia configuration: {0}")]
    Config(String),
}

impl AlgoliaError {
    /// The HTTP status Algolia answered with, when the error is a refusal.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

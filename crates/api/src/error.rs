//! [`ApiError`]: every way a request can fail, and the one function that maps it to an HTTP
//! status and a `{"message", "status"}` body (`docs/api.md` C1).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ingest_model::{ErrorResponse, ValidationError};
use ingest_store::StoreError;

/// The message of every authentication failure: one body for every variant (missing header,
/// unknown application, wrong key), so credentials cannot be probed.
pub const FORBIDDEN_MESSAGE: &str = "invalid application id or api key";

/// The message of a 503: the store cannot be reached. It never carries the store's own text.
pub const UNAVAILABLE_MESSAGE: &str =
    "service unavailable: the database cannot be reached, retry later";

/// A request that did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request body or a query parameter does not satisfy the contract (400); the message
    /// names the field path.
    #[error("{0}")]
    Invalid(#[from] ValidationError),
    /// A request that is well formed but refused (400): a reference to a missing resource, a
    /// delete of a resource in use, a `save` task without objectIDs.
    #[error("{0}")]
    Refused(String),
    /// An unknown or deleted resource, or one of another application (404).
    #[error("{0}")]
    NotFound(String),
    /// A webhook whose signature is missing, wrong or stale (401, saying which).
    #[error("{0}")]
    Unverified(String),
    /// Missing or wrong credentials (403, always [`FORBIDDEN_MESSAGE`]).
    #[error("{FORBIDDEN_MESSAGE}")]
    Forbidden,
    /// No route for this method and path (404) or no such method on the path (405).
    #[error("{message}")]
    NoRoute {
        /// 404 or 405.
        status: StatusCode,
        /// What the client asked for, e.g. `no route for GET /1/nope`.
        message: String,
    },
    /// A concurrent change made this one impossible (409).
    #[error("{0}")]
    Conflict(String),
    /// The body is larger than the limit (413).
    #[error("request body larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// Too many requests from this client (429).
    #[error("too many requests: retry in {retry_after} s")]
    RateLimited {
        /// Seconds until the window resets (`Retry-After`).
        retry_after: u64,
    },
    /// The store cannot be reached (503, generic message).
    #[error("{UNAVAILABLE_MESSAGE}")]
    Unavailable,
    /// A bug of ours (500, generic message); the detail goes to the log only.
    #[error("internal error")]
    Internal,
}

impl ApiError {
    /// A 404 for the resource `kind` (`task`, `run`, ...) with ID `id`.
    pub fn not_found(kind: &str, id: &str) -> Self {
        Self::NotFound(format!("{kind} `{}` not found", printable(id)))
    }

    /// A 400 about the field at `path`.
    pub fn invalid(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid(ValidationError::new(path, message))
    }

    /// The HTTP status of this error: the one place that decides it.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Invalid(_) | Self::Refused(_) => StatusCode::BAD_REQUEST,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Unverified(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NoRoute { status, .. } => *status,
            Self::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The error body.
    pub fn body(&self) -> ErrorResponse {
        ErrorResponse {
            message: self.to_string(),
            status: self.status().as_u16(),
        }
    }
}

impl From<StoreError> for ApiError {
    /// The store's errors by meaning: unknown → 404; bad reference, in use, invalid → 400;
    /// unreachable → 503 and bugs → 500, both with a generic body (the cause is logged, never
    /// returned: it may hold database text).
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound { resource, id } => Self::not_found(resource.as_str(), &id),
            StoreError::InvalidReference { .. } | StoreError::InUse { .. } => {
                Self::Refused(error.to_string())
            }
            StoreError::Invalid(validation) => Self::Invalid(validation),
            StoreError::Conflict { reason } => Self::Conflict(format!("conflict: {reason}")),
            StoreError::Unavailable(source) => {
                tracing::warn!(error = %source, "store unavailable");
                Self::Unavailable
            }
            other @ (StoreError::LeaseLost { .. } | StoreError::Internal { .. }) => {
                let source = std::error::Error::source(&other).map(ToString::to_string);
                tracing::error!(error = %other, source, "store error");
                Self::Internal
            }
        }
    }
}

/// An ID as it may appear in a message: at most 100 characters, control characters replaced.
pub(crate) fn printable(id: &str) -> String {
    let mut out: String = id
        .chars()
        .take(100)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if id.chars().count() > 100 {
        out.push('…');
    }
    out
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = serde_json::to_vec(&self.body()).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        if let Self::RateLimited { retry_after } = self {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_bodies() {
        let e = ApiError::invalid("input.delimiter", "must be one character");
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            serde_json::to_string(&e.body()).unwrap(),
            r#"{"message":"input.delimiter: must be one character","status":400}"#
        );
        assert_eq!(ApiError::Forbidden.body().status, 403);
        assert_eq!(
            ApiError::not_found("task", "x").to_string(),
            "task `x` not found"
        );
        assert_eq!(ApiError::Unavailable.body().message, UNAVAILABLE_MESSAGE);
        assert_eq!(ApiError::TooLarge { limit: 10 }.status().as_u16(), 413);
    }

    #[test]
    fn long_ids_are_cut_in_messages() {
        let id = "a".repeat(500);
        assert!(ApiError::not_found("task", &id).to_string().len() < 150);
        assert_eq!(printable("a\nb"), "a?b");
    }
}

//! Request bodies: [`JsonBody`] reads a body sent as `application/json` or `text/plain` (the
//! JavaScript client's choice, to avoid a CORS preflight), refuses anything over the size limit
//! with 413, and parses it with the model, whose errors name the field path.

use axum::extract::{FromRequest, Request};
use axum::http::header;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ApiError;

/// The default largest request body: 1 MiB (API bodies are small).
pub const DEFAULT_MAX_BODY_BYTES: usize = 1 << 20;

/// The largest body this server reads, set once on the router's state.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// A JSON request body parsed into `T` with [`ingest_model::from_slice`].
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

/// Whether a `Content-Type` is one we read as JSON: none, `application/json` (any parameters),
/// `text/plain` (any parameters), or a `+json` type.
fn is_json_like(content_type: Option<&str>) -> bool {
    let Some(value) = content_type else {
        return true;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json" || essence == "text/plain" || essence.ends_with("+json")
}

/// Reads the whole body, at most `limit` bytes (413 past that).
pub(crate) async fn read_limited(req: Request, limit: usize) -> Result<bytes::Bytes, ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::TooLarge { limit });
    }
    match Limited::new(req.into_body(), limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => {
            Err(ApiError::TooLarge { limit })
        }
        Err(error) => {
            tracing::debug!(%error, "request body could not be read");
            Err(ApiError::invalid("", "the request body could not be read"))
        }
    }
}

/// A JSON request body that may be left out: `T::default()` for an empty one (e.g. the
/// optional `{runMetadata}` of `POST /2/tasks/{taskID}/run`).
#[derive(Debug)]
pub struct OptionalJsonBody<T>(pub T);

/// Reads and parses a JSON body; `None` when it is empty and `optional`.
async fn parse_json<T: DeserializeOwned>(
    req: Request,
    optional: bool,
) -> Result<Option<T>, ApiError> {
    let limit = req
        .extensions()
        .get::<BodyLimit>()
        .map_or(DEFAULT_MAX_BODY_BYTES, |l| l.0);
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("?"));
    if !is_json_like(content_type) {
        return Err(ApiError::invalid(
            "",
            "the request body must be JSON sent as `application/json` or `text/plain`",
        ));
    }
    let bytes = read_limited(req, limit).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        if optional {
            return Ok(None);
        }
        return Err(ApiError::invalid("", "a JSON request body is required"));
    }
    let value: Value = ingest_model::from_slice(&bytes)?;
    if let Some(path) = nul_path(&value, String::new()) {
        return Err(ApiError::invalid(path, "must not contain NUL characters"));
    }
    Ok(Some(ingest_model::from_value(&value)?))
}

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        parse_json(req, false)
            .await?
            .map(Self)
            .ok_or_else(|| ApiError::invalid("", "a JSON request body is required"))
    }
}

impl<S, T> FromRequest<S> for OptionalJsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Default,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(parse_json(req, true).await?.unwrap_or_default()))
    }
}

/// The path of the first string or key holding a NUL character (no database stores them).
fn nul_path(value: &Value, here: String) -> Option<String> {
    match value {
        Value::String(s) if s.contains('\0') => Some(here),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| nul_path(item, format!("{here}[{i}]"))),
        Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            let path = if here.is_empty() {
                key.clone()
            } else {
                format!("{here}.{key}")
            };
            if key.contains('\0') {
                Some(crate::error::printable(&path))
            } else {
                nul_path(item, path)
            }
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn content_types() {
        assert!(is_json_like(None));
        assert!(is_json_like(Some("application/json")));
        assert!(is_json_like(Some("application/json; charset=utf-8")));
        assert!(is_json_like(Some("text/plain;charset=UTF-8")));
        assert!(is_json_like(Some("Application/JSON")));
        assert!(is_json_like(Some("application/merge-patch+json")));
        assert!(!is_json_like(Some("application/x-www-form-urlencoded")));
        assert!(!is_json_like(Some("multipart/form-data; boundary=x")));
    }

    #[test]
    fn nul_characters_are_found_with_their_path() {
        assert_eq!(nul_path(&json!({"a": "x"}), String::new()), None);
        let v = json!({"input": {"locales": ["en", "f\u{0}r"]}});
        assert_eq!(
            nul_path(&v, String::new()).as_deref(),
            Some("input.locales[1]")
        );
        assert_eq!(
            nul_path(&json!({"a\u{0}": 1}), String::new()).as_deref(),
            Some("a?")
        );
    }
}

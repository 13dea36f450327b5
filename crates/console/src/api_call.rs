//! Writes go through the API's own routes, called in process as the signed-in application: the
//! same parsing, validation and store calls as `curl` would get, and the same messages.

use axum::body::Body;
use axum::http::{Method, Request, header};
use ingest_api::AppId;
use ingest_api::body::BodyLimit;
use serde_json::Value;
use tower::ServiceExt;

use crate::Console;

/// A refused API call: its status and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiFailure {
    /// The HTTP status.
    pub status: u16,
    /// The API's message (for a 400, `path: reason`).
    pub message: String,
    /// The whole answer (a validation's `runID` and events come with its 400).
    pub body: Value,
}

impl ApiFailure {
    /// The field path a 400 names (`input.delimiter`), when it names one.
    pub fn field(&self) -> Option<&str> {
        if self.status != 400 {
            return None;
        }
        let (path, _) = self.message.split_once(": ")?;
        let is_path = !path.is_empty()
            && path
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '[' | ']'));
        is_path.then_some(path)
    }

    /// The message without its field path, when it has one.
    pub fn reason(&self) -> &str {
        match self.field() {
            Some(path) => &self.message[path.len() + 2..],
            None => &self.message,
        }
    }

    /// The message as a sentence for a person.
    pub fn sentence(&self) -> String {
        let mut text = self.message.clone();
        if let Some(first) = text.get(..1) {
            let upper = first.to_uppercase();
            text.replace_range(..1, &upper);
        }
        if !text.ends_with('.') {
            text.push('.');
        }
        text
    }
}

impl Console {
    /// Calls `method path` of the API as application `app` with a JSON body; the JSON answer or
    /// the API's error.
    pub async fn api(
        &self,
        app: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, ApiFailure> {
        let body = match body {
            Some(value) => Body::from(value.to_string()),
            None => Body::empty(),
        };
        let mut request = match Request::builder()
            .method(method)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/json")
            .body(body)
        {
            Ok(request) => request,
            Err(_) => return Err(failure(500, "the request could not be built")),
        };
        request.extensions_mut().insert(AppId(app.to_owned()));
        request
            .extensions_mut()
            .insert(BodyLimit(self.0.max_body_bytes));
        let response = match self.0.api.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(response.into_body(), 16 * 1024 * 1024)
            .await
            .map_err(|_| failure(500, "the answer could not be read"))?;
        let value: Value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).map_err(|_| failure(500, "the answer is not JSON"))?
        };
        if (200..300).contains(&status) {
            Ok(value)
        } else {
            let message = value
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("the request failed")
                .to_owned();
            Err(ApiFailure {
                status,
                message,
                body: value,
            })
        }
    }
}

fn failure(status: u16, message: &str) -> ApiFailure {
    ApiFailure {
        status,
        message: message.to_owned(),
        body: Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_paths_are_read_from_400_messages() {
        let f = ApiFailure {
            status: 400,
            message: "input.delimiter: must be one character".into(),
            body: Value::Null,
        };
        assert_eq!(f.field(), Some("input.delimiter"));
        assert_eq!(f.reason(), "must be one character");
        assert_eq!(f.sentence(), "Input.delimiter: must be one character.");
        let refused = ApiFailure {
            status: 400,
            message: "authentication `x` not found: it is deleted".into(),
            body: Value::Null,
        };
        assert_eq!(refused.field(), None);
        let not_found = ApiFailure {
            status: 404,
            message: "cron: x".into(),
            body: Value::Null,
        };
        assert_eq!(not_found.field(), None);
    }
}

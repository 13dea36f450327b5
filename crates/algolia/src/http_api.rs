//! [`IndexingApi`] over the [`Transport`].

use bytes::Bytes;
use reqwest::Method;
use serde::Deserialize;

use crate::AlgoliaError;
use crate::api::{BatchResponse, IndexingApi, Operation, TaskId, TaskStatus};
use crate::concurrency::{Pacer, Permit, Unpaced};
use crate::hosts::CallKind;
use crate::transport::{Request, Transport};

/// The indexing calls of one Algolia application, over HTTP.
#[derive(Debug)]
pub struct HttpIndexingApi {
    transport: Transport,
}

impl HttpIndexingApi {
    /// Calls made through `transport`.
    pub fn new(transport: Transport) -> Self {
        Self { transport }
    }

    async fn call<T: for<'de> Deserialize<'de>>(
        &self,
        request: Request,
    ) -> Result<(T, Vec<String>), AlgoliaError> {
        self.call_observed(request, &Unpaced).await
    }

    async fn call_observed<T: for<'de> Deserialize<'de>>(
        &self,
        request: Request,
        pacer: &dyn Pacer,
    ) -> Result<(T, Vec<String>), AlgoliaError> {
        let response = self.transport.send_observed(&request, pacer).await?;
        let parsed = serde_json::from_slice(&response.body).map_err(|e| {
            AlgoliaError::MalformedResponse {
                call: format!("{} {}", request.method, request.path),
                reason: e.to_string(),
            }
        })?;
        Ok((parsed, response.retries))
    }
}

/// One page of `POST /1/indexes/{index}/browse`: its records and the cursor to the next page
/// (`None` on the last).
#[derive(Debug, Deserialize)]
pub struct BrowsePage {
    /// The records (`objectID` included; highlighting and ranking attributes removed).
    pub hits: Vec<serde_json::Map<String, serde_json::Value>>,
    /// Where the next page starts.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// Attributes Algolia adds to search and browse hits, which are not the record's own.
const HIT_EXTRAS: [&str; 4] = [
    "_highlightResult",
    "_snippetResult",
    "_rankingInfo",
    "_distinctSeqID",
];

impl HttpIndexingApi {
    /// One page of `index`'s records: the first (with `filters`, 1,000 records a page), or the
    /// one `cursor` points at (a cursor carries the first page's parameters).
    pub async fn browse(
        &self,
        index: &str,
        cursor: Option<&str>,
        filters: Option<&str>,
    ) -> Result<BrowsePage, AlgoliaError> {
        let body = match cursor {
            Some(cursor) => serde_json::json!({ "cursor": cursor }),
            None => {
                let mut body = serde_json::json!({
                    "hitsPerPage": 1000,
                    "attributesToHighlight": [],
                    "attributesToSnippet": [],
                });
                if let Some(filters) = filters {
                    body["filters"] = serde_json::json!(filters);
                }
                body
            }
        };
        let request = Request {
            method: Method::POST,
            path: index_path(index, "/browse"),
            body: Some(Bytes::from(body.to_string())),
            kind: CallKind::Read,
            idempotent: true,
        };
        let (mut page, _): (BrowsePage, _) = self.call(request).await?;
        for hit in &mut page.hits {
            for extra in HIT_EXTRAS {
                hit.remove(extra);
            }
        }
        Ok(page)
    }
}

#[derive(Deserialize)]
struct TaskIdBody {
    #[serde(rename = "taskID")]
    task_id: TaskId,
}

#[derive(Deserialize)]
struct StatusBody {
    status: String,
}

fn index_path(index: &str, rest: &str) -> String {
    format!("/1/indexes/{}{rest}", encode_segment(index))
}

/// Percent-encodes a path segment (everything but RFC 3986's unreserved characters).
fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn batch_request(index: &str, body: Bytes, idempotent: bool) -> Request {
    Request {
        method: Method::POST,
        path: index_path(index, "/batch"),
        body: Some(body),
        kind: CallKind::Write,
        idempotent,
    }
}

impl IndexingApi for HttpIndexingApi {
    async fn batch(
        &self,
        index: &str,
        body: Bytes,
        idempotent: bool,
    ) -> Result<BatchResponse, AlgoliaError> {
        let request = batch_request(index, body, idempotent);
        let (parsed, retries): (TaskIdBody, _) = self.call(request).await?;
        Ok(BatchResponse {
            task_id: parsed.task_id,
            retries,
        })
    }

    async fn batch_paced(
        &self,
        index: &str,
        body: Bytes,
        idempotent: bool,
        permit: &Permit,
    ) -> Result<BatchResponse, AlgoliaError> {
        let request = batch_request(index, body, idempotent);
        let (parsed, retries): (TaskIdBody, _) = self.call_observed(request, permit).await?;
        Ok(BatchResponse {
            task_id: parsed.task_id,
            retries,
        })
    }

    async fn operation(&self, index: &str, operation: &Operation) -> Result<TaskId, AlgoliaError> {
        let request = Request {
            method: Method::POST,
            path: index_path(index, "/operation"),
            body: Some(operation.to_json()),
            kind: CallKind::Write,
            idempotent: true,
        };
        let (parsed, _): (TaskIdBody, _) = self.call(request).await?;
        Ok(parsed.task_id)
    }

    async fn task_status(&self, index: &str, task_id: TaskId) -> Result<TaskStatus, AlgoliaError> {
        let request = Request {
            method: Method::GET,
            path: index_path(index, &format!("/task/{task_id}")),
            body: None,
            kind: CallKind::Read,
            idempotent: true,
        };
        let call = format!("GET {}", request.path);
        let (parsed, _): (StatusBody, _) = self.call(request).await?;
        match parsed.status.as_str() {
            "published" => Ok(TaskStatus::Published),
            "notPublished" => Ok(TaskStatus::NotPublished),
            other => Err(AlgoliaError::MalformedResponse {
                call,
                reason: format!("unknown task status `{other}`"),
            }),
        }
    }

    async fn delete_index(&self, index: &str) -> Result<TaskId, AlgoliaError> {
        let request = Request {
            method: Method::DELETE,
            path: index_path(index, ""),
            body: None,
            kind: CallKind::Write,
            idempotent: true,
        };
        let (parsed, _): (TaskIdBody, _) = self.call(request).await?;
        Ok(parsed.task_id)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ingest_core::Secret;
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;
    use crate::TransportSettings;

    async fn api_answering(body: &str) -> (HttpIndexingApi, MockServer) {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_string(body))
            .mount(&server)
            .await;
        let settings = TransportSettings {
            hosts: Some(vec![server.uri()]),
            min_backoff: Duration::from_millis(1),
            ..TransportSettings::default()
        };
        let transport = Transport::new("APP", &Secret::new("key".into()), settings).unwrap();
        (HttpIndexingApi::new(transport), server)
    }

    #[tokio::test]
    async fn a_malformed_answer_is_an_error_naming_the_call() {
        for body in [
            "<html>gateway</html>",
            r#"{"objectIDs":[]}"#,
            r#"{"taskID":"seven"}"#,
        ] {
            let (api, _server) = api_answering(body).await;
            let error = api
                .batch("products", Bytes::from_static(b"{}"), true)
                .await
                .unwrap_err();
            assert!(
                matches!(error, AlgoliaError::MalformedResponse { .. }),
                "{error}"
            );
            assert!(
                error.to_string().starts_with(
                    "algolia answered POST /1/indexes/products/batch with an unexpected body"
                ),
                "{error}"
            );
        }
    }

    #[tokio::test]
    async fn a_task_status_must_be_known() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"status":"maybe"}"#))
            .mount(&server)
            .await;
        let settings = TransportSettings {
            hosts: Some(vec![server.uri()]),
            ..TransportSettings::default()
        };
        let transport = Transport::new("APP", &Secret::new("key".into()), settings).unwrap();
        let error = HttpIndexingApi::new(transport)
            .task_status("p", 3)
            .await
            .unwrap_err();
        assert!(
            error.to_string().contains("unknown task status `maybe`"),
            "{error}"
        );
    }

    #[test]
    fn index_names_are_encoded_as_one_segment() {
        assert_eq!(
            index_path("products", "/batch"),
            "/1/indexes/products/batch"
        );
        assert_eq!(
            index_path("a b/c?é", "/batch"),
            "/1/indexes/a%20b%2Fc%3F%C3%A9/batch"
        );
    }
}

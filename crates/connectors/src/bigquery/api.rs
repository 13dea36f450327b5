//! The thin BigQuery REST v2 client: four calls, with the token and the error rules.
//!
//! `tables.get` (a table's schema), `tabledata.list` (a table's rows, page by page),
//! `jobs.query` (start a query; its first page) and `jobs.getQueryResults` (poll, next pages).
//! Every call goes through the shared source client, which retries 429, 5xx and network errors
//! (honouring `Retry-After`) under the URL policy. On top of that, as BigQuery asks: a 401
//! renews the token once and repeats the call; a 403 `rateLimitExceeded` / `quotaExceeded`
//! (BigQuery's quota errors are 403s, not 429s) is retried with backoff a few times; every other
//! refusal becomes a reason naming the call and what to check.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ingest_core::{Secret, SourceError};
use reqwest::Method;
use url::Url;

use crate::google::{GoogleTokens, Refusal};
use crate::http::paged::MAX_PAGE_BYTES;
use crate::http::{HttpAuth, SourceHttpClient, display_url, read_capped};

/// Retries of a call refused with a BigQuery quota error.
const QUOTA_RETRIES: u32 = 4;

/// How one source talks to BigQuery.
#[derive(Debug, Clone)]
pub(crate) struct BigQueryApi {
    pub http: SourceHttpClient,
    pub tokens: Arc<GoogleTokens>,
    /// `{api_base}/bigquery/v2/projects/{project}`.
    pub project_url: Url,
    /// Slowest first wait after a quota error (doubles).
    pub quota_backoff: Duration,
}

/// What a call's answer is about, for the reason a user reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Subject<'a> {
    /// A table (`tables.get`, `tabledata.list`).
    Table(&'a str),
    /// A query (`jobs.query`, `jobs.getQueryResults`).
    Query,
}

impl BigQueryApi {
    /// The URL of `segments` under the project.
    pub fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.project_url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// Sends one call and returns its body (a 2xx).
    pub async fn call(
        &self,
        method: Method,
        url: &Url,
        body: Option<&Bytes>,
        subject: Subject<'_>,
    ) -> Result<Bytes, SourceError> {
        let mut renewed = false;
        let mut quota_retries = 0;
        let mut wait = self.quota_backoff;
        loop {
            let token = self.tokens.token(&self.http).await?;
            match self.send(&method, url, body, &token).await {
                Ok(bytes) => return Ok(bytes),
                Err(error) => {
                    let Some(refusal) = Refusal::of(&error) else {
                        return Err(SourceError::new(format!("bigquery: {}", error.message())));
                    };
                    if refusal.status == 401 && !renewed {
                        tracing::info!(url = %display_url(url), "bigquery refused the access token; renewing it");
                        self.tokens.invalidate(&token).await;
                        renewed = true;
                        continue;
                    }
                    if is_quota(&refusal) && quota_retries < QUOTA_RETRIES {
                        quota_retries += 1;
                        tracing::warn!(url = %display_url(url), wait_ms = wait.as_millis() as u64, "bigquery quota or rate limit hit; waiting");
                        tokio::time::sleep(wait).await;
                        wait = (wait * 2).min(Duration::from_secs(30));
                        continue;
                    }
                    return Err(self.reason(&method, url, &refusal, subject));
                }
            }
        }
    }

    async fn send(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&Bytes>,
        token: &Secret<String>,
    ) -> Result<Bytes, SourceError> {
        let auth = HttpAuth::Bearer(token.clone());
        let response = self
            .http
            .send_direct(method.clone(), url, Some(&auth), &|request| {
                let request = request.header(reqwest::header::ACCEPT, "application/json");
                match body {
                    Some(body) => request
                        .header(reqwest::header::CONTENT_TYPE, "application/json")
                        .body(body.clone()),
                    None => request,
                }
            })
            .await?;
        read_capped(
            response,
            MAX_PAGE_BYTES,
            &format!("{method} {}", display_url(url)),
        )
        .await
    }

    /// A refusal in words a user can act on.
    fn reason(
        &self,
        method: &Method,
        url: &Url,
        refusal: &Refusal,
        subject: Subject<'_>,
    ) -> SourceError {
        let call = format!("{method} {}", display_url(url));
        let said = refusal
            .message()
            .map(|message| format!(": {message}"))
            .unwrap_or_default();
        let email = self.tokens.client_email();
        let reason = refusal.reason().unwrap_or_default();
        let hint = match (refusal.status, subject) {
            (400, Subject::Query) => "check the query (customSQLRequest, standard SQL)".to_owned(),
            (400, Subject::Table(_)) => "check projectID, datasetID and table".to_owned(),
            (401, _) => format!(
                "bigquery refused a fresh token of {email}; check that the service account and its key still exist"
            ),
            (403, _) if is_quota(refusal) => {
                "the project's BigQuery quota is spent; retry later or raise the quota".to_owned()
            }
            (403, _) if reason == "responseTooLarge" => {
                "the result page is too large; select fewer columns".to_owned()
            }
            (403, _) => format!(
                "grant {email} the BigQuery Job User role on the project and BigQuery Data Viewer on the dataset"
            ),
            (404, Subject::Table(table)) => {
                format!(
                    "check that projectID, datasetID and table `{table}` exist (and the location)"
                )
            }
            (404, Subject::Query) => {
                "a table or dataset the query reads does not exist (or is in another location)"
                    .to_owned()
            }
            (500..=599, _) => {
                "BigQuery kept failing with a server error through every retry; retry later"
                    .to_owned()
            }
            _ => "check the source's settings".to_owned(),
        };
        SourceError::new(format!(
            "bigquery answered {} to {call}{said}; {hint}",
            refusal.status
        ))
    }
}

/// Whether a refusal is one of BigQuery's quota or rate-limit 403s.
fn is_quota(refusal: &Refusal) -> bool {
    refusal.status == 403
        && (refusal.mentions("rateLimitExceeded")
            || refusal.mentions("quotaExceeded")
            || refusal.message().is_some_and(|m| {
                m.starts_with("Exceeded rate limits") || m.starts_with("Quota exceeded")
            }))
}

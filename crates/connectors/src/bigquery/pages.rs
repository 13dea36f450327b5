//! Reading a result page by page, lazily: the next page is only requested once every record of
//! the current one has been taken from the stream, so memory holds one page whatever the size of
//! the table or result.
//!
//! Safety against a misbehaving server: a page token seen before (the same token again, or a
//! cycle) ends the run at once, so a loop is caught on the second page at the latest; a run
//! stops after `max_pages` pages; a query still running after `max_polls` polls ends the run;
//! a 200 whose body is not JSON, or carries an `error` object, ends the run with a reason.

use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use futures::stream;
use ingest_core::{Position, RecordStream, SourceError, SourceItemError, SourceResult};
use ingest_model::{EventStatus, EventType, RunEvent, RunRecorder};
use reqwest::Method;
use serde_json::json;
use url::Url;

use super::api::{BigQueryApi, Subject};
use super::plan::Plan;
use super::rows::RowWriter;
use super::wire::{JobReference, Page, Table};
use crate::http::display_url;

/// Pages larger than this are decoded off the async runtime.
const BLOCKING_DECODE_BYTES: usize = 512 * 1024;

/// How a source reads: fixed when the source is built.
pub(crate) struct Reader {
    pub api: BigQueryApi,
    pub plan: Plan,
    pub project: String,
    pub dataset: String,
    pub unique_id_column: Option<String>,
    pub max_record_bytes: usize,
    pub events: Option<Arc<dyn RunRecorder>>,
    /// `maxResults` of each page.
    pub page_rows: u32,
    /// Pages a run may read.
    pub max_pages: u64,
    /// Polls of a running query before giving up.
    pub max_polls: u32,
    /// The first pause between polls (doubling, up to 2 s).
    pub poll_pause: Duration,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("plan", &self.plan)
            .field("page_rows", &self.page_rows)
            .field("max_pages", &self.max_pages)
            .finish_non_exhaustive()
    }
}

enum Cursor {
    /// Nothing requested yet.
    Start,
    /// `tabledata.list` of a table; `None` before the first page.
    Table {
        table: String,
        token: Option<String>,
    },
    /// `getQueryResults` of a finished job, from `token`.
    Query { job: JobReference, token: String },
    /// The last page was read.
    Done,
}

struct State {
    reader: Arc<Reader>,
    cursor: Cursor,
    writer: Option<RowWriter>,
    pages: u64,
    seen: HashSet<u64>,
    hasher: RandomState,
    queue: VecDeque<SourceResult>,
    finished: bool,
}

/// The records of `reader`, page by page.
pub(crate) fn records(reader: Arc<Reader>) -> RecordStream {
    let state = State {
        reader,
        cursor: Cursor::Start,
        writer: None,
        pages: 0,
        seen: HashSet::new(),
        hasher: RandomState::new(),
        queue: VecDeque::new(),
        finished: false,
    };
    stream::unfold(state, |mut state| async move {
        loop {
            if let Some(item) = state.queue.pop_front() {
                return Some((item, state));
            }
            if state.finished {
                return None;
            }
            if let Err(error) = state.step().await {
                // The rows of a page already read go out first; the error ends the stream.
                state.finished = true;
                state.queue.push_back(Err(SourceItemError::Fatal(error)));
            }
        }
    })
    .boxed()
}

impl State {
    /// Requests what comes next and queues its records.
    async fn step(&mut self) -> Result<(), SourceError> {
        let reader = self.reader.clone();
        match std::mem::replace(&mut self.cursor, Cursor::Done) {
            Cursor::Done => self.finished = true,
            Cursor::Start => match &reader.plan {
                Plan::Table { table } => self.start_table(table).await?,
                Plan::Query { sql, parameters } => {
                    self.start_query(sql, parameters, None).await?;
                }
            },
            Cursor::Table { table, token } => {
                let mut url =
                    reader
                        .api
                        .url(&["datasets", &reader.dataset, "tables", &table, "data"]);
                url.query_pairs_mut()
                    .append_pair("maxResults", &reader.page_rows.to_string())
                    .append_pair("formatOptions.useInt64Timestamp", "true");
                if let Some(token) = &token {
                    url.query_pairs_mut().append_pair("pageToken", token);
                }
                let page = self
                    .fetch_page(Method::GET, url, None, Subject::Table(&table))
                    .await?;
                if let Some(next) = self.next_token(page)? {
                    self.cursor = Cursor::Table {
                        table,
                        token: Some(next),
                    };
                }
            }
            Cursor::Query { job, token } => {
                let mut url = self.results_url(&job);
                url.query_pairs_mut().append_pair("pageToken", &token);
                let page = self
                    .fetch_page(Method::GET, url, None, Subject::Query)
                    .await?;
                if let Some(next) = self.next_token(page)? {
                    self.cursor = Cursor::Query { job, token: next };
                }
            }
        }
        Ok(())
    }

    /// `tables.get`: the schema; a view is read with a query instead.
    async fn start_table(&mut self, table: &str) -> Result<(), SourceError> {
        let reader = self.reader.clone();
        let url = reader
            .api
            .url(&["datasets", &reader.dataset, "tables", table]);
        let body = reader
            .api
            .call(Method::GET, &url, None, Subject::Table(table))
            .await?;
        let resource: Table = parse(&body, &url)?;
        if let Some("VIEW" | "MATERIALIZED_VIEW" | "EXTERNAL") = resource.table_type.as_deref() {
            let sql = format!(
                "SELECT * FROM `{}.{}.{table}`",
                reader.project, reader.dataset
            );
            return self
                .start_query(&sql, &[], resource.location.as_deref())
                .await;
        }
        let Some(schema) = resource.schema else {
            return Err(SourceError::new(format!(
                "bigquery answered GET {} without the table's schema",
                display_url(&url)
            )));
        };
        self.writer = Some(RowWriter::new(
            &schema.fields,
            reader.unique_id_column.as_deref(),
            reader.max_record_bytes,
        )?);
        self.cursor = Cursor::Table {
            table: table.to_owned(),
            token: None,
        };
        Ok(())
    }

    /// `jobs.query`, then `getQueryResults` until the job is done; queues the first page.
    async fn start_query(
        &mut self,
        sql: &str,
        parameters: &[serde_json::Value],
        location: Option<&str>,
    ) -> Result<(), SourceError> {
        let reader = self.reader.clone();
        let mut request = json!({
            "query": sql,
            "useLegacySql": false,
            "maxResults": reader.page_rows,
            "timeoutMs": 10_000,
            "formatOptions": {"useInt64Timestamp": true},
            "requestId": request_id(),
        });
        if !parameters.is_empty() {
            request["parameterMode"] = json!("NAMED");
            request["queryParameters"] = json!(parameters);
        }
        if let Some(location) = location {
            request["location"] = json!(location);
        }
        let body = Bytes::from(request.to_string());
        let url = reader.api.url(&["queries"]);
        let mut pause = reader.poll_pause;
        let mut polls = 0;
        let mut page = self
            .fetch_page(Method::POST, url, Some(&body), Subject::Query)
            .await?;
        while !page.complete {
            let Some(job) = page.job.clone() else {
                return Err(SourceError::new(
                    "bigquery answered the query without a job reference: its results cannot be read",
                ));
            };
            polls += 1;
            if polls > reader.max_polls {
                return Err(SourceError::new(format!(
                    "bigquery query job {} was still running after {} polls; simplify the query or retry later",
                    job.job_id, reader.max_polls
                )));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(2));
            let mut url = self.results_url(&job);
            url.query_pairs_mut().append_pair("timeoutMs", "10000");
            page = self
                .fetch_page(Method::GET, url, None, Subject::Query)
                .await?;
        }
        let job = page.job.clone();
        if let Some(token) = self.next_token(page)? {
            let Some(job) = job else {
                return Err(SourceError::new(
                    "bigquery answered the query with more pages but no job reference to read them",
                ));
            };
            self.cursor = Cursor::Query { job, token };
        }
        Ok(())
    }

    fn results_url(&self, job: &JobReference) -> Url {
        let mut url = self.reader.api.url(&["queries", &job.job_id]);
        url.query_pairs_mut()
            .append_pair("maxResults", &self.reader.page_rows.to_string())
            .append_pair("formatOptions.useInt64Timestamp", "true");
        if let Some(location) = &job.location {
            url.query_pairs_mut().append_pair("location", location);
        }
        url
    }

    /// The next page token, checked: never one seen before, never past the page cap.
    fn next_token(&mut self, page: Fetched) -> Result<Option<String>, SourceError> {
        let Some(token) = page.token.filter(|token| !token.is_empty()) else {
            return Ok(None);
        };
        if !self.seen.insert(self.hasher.hash_one(&token)) {
            return Err(SourceError::new(format!(
                "bigquery returned a page token it had already returned (after page {}): stopping instead of reading the same rows again",
                self.pages
            )));
        }
        if self.pages >= self.reader.max_pages {
            return Err(SourceError::new(format!(
                "bigquery result has more than {} pages, the limit of a run",
                self.reader.max_pages
            )));
        }
        Ok(Some(token))
    }

    /// One call that may carry rows: parsed, its rows queued, a `fetch` event recorded.
    async fn fetch_page(
        &mut self,
        method: Method,
        url: Url,
        body: Option<&Bytes>,
        subject: Subject<'_>,
    ) -> Result<Fetched, SourceError> {
        let started = Instant::now();
        let reader = self.reader.clone();
        let shown = display_url(&url);
        let result = match reader.api.call(method, &url, body, subject).await {
            Ok(bytes) => self.decode(bytes, &url).await,
            Err(error) => Err(error),
        };
        if matches!(&result, Ok(page) if !page.complete) {
            return result;
        }
        let (status, data) = match &result {
            Ok(page) => (
                EventStatus::Succeeded,
                json!({"url": shown, "page": self.pages, "rows": page.rows, "bytes": page.bytes,
                       "durationMs": started.elapsed().as_millis() as u64}),
            ),
            Err(error) => (
                EventStatus::Failed,
                json!({"url": shown, "page": self.pages + 1, "error": error.message(),
                       "durationMs": started.elapsed().as_millis() as u64}),
            ),
        };
        if let Some(events) = &reader.events {
            events.event(RunEvent::new(EventType::Fetch, status, 0, data));
        }
        result
    }

    /// Parses a page and queues its records (off the runtime when it is large).
    async fn decode(&mut self, bytes: Bytes, url: &Url) -> Result<Fetched, SourceError> {
        let reader = self.reader.clone();
        let writer = self.writer.take();
        let page_number = self.pages + 1;
        let url = url.clone();
        let (writer, decoded) = if bytes.len() > BLOCKING_DECODE_BYTES {
            tokio::task::spawn_blocking(move || {
                decode_page(&reader, writer, &bytes, &url, page_number)
            })
            .await
            .map_err(|error| {
                SourceError::new(format!(
                    "internal error: decoding a bigquery page failed: {error}"
                ))
            })?
        } else {
            decode_page(&reader, writer, &bytes, &url, page_number)
        };
        self.writer = writer;
        let (fetched, items) = decoded?;
        if fetched.complete {
            self.pages = page_number;
            self.queue.extend(items);
        }
        Ok(fetched)
    }
}

/// What a page call said, besides its rows.
struct Fetched {
    complete: bool,
    token: Option<String>,
    job: Option<JobReference>,
    rows: usize,
    bytes: usize,
}

type Decoded = (
    Option<RowWriter>,
    Result<(Fetched, Vec<SourceResult>), SourceError>,
);

fn decode_page(
    reader: &Reader,
    mut writer: Option<RowWriter>,
    bytes: &[u8],
    url: &Url,
    page_number: u64,
) -> Decoded {
    let page: Page<'_> = match parse(bytes, url) {
        Ok(page) => page,
        Err(error) => return (writer, Err(error)),
    };
    if let Some(error) = page.error {
        let message = error.message.unwrap_or_else(|| "no message".into());
        return (
            writer,
            Err(SourceError::new(format!(
                "bigquery answered {} with an error: {message}",
                display_url(url)
            ))),
        );
    }
    let complete = page.job_complete.unwrap_or(true);
    let mut fetched = Fetched {
        complete,
        token: page.page_token,
        job: page.job_reference,
        rows: 0,
        bytes: bytes.len(),
    };
    if !complete {
        return (writer, Ok((fetched, Vec::new())));
    }
    if let Some(schema) = &page.schema
        && writer.is_none()
    {
        match RowWriter::new(
            &schema.fields,
            reader.unique_id_column.as_deref(),
            reader.max_record_bytes,
        ) {
            Ok(new) => writer = Some(new),
            Err(error) => return (writer, Err(error)),
        }
    }
    let rows = page.rows.unwrap_or_default();
    let Some(active) = writer.as_mut() else {
        return (
            writer,
            Err(SourceError::new(format!(
                "bigquery answered {} without the result's schema",
                display_url(url)
            ))),
        );
    };
    fetched.rows = rows.len();
    let items = rows
        .iter()
        .enumerate()
        .map(|(offset, row)| {
            let position = Position::Page {
                page: page_number,
                offset: offset as u64,
            };
            active
                .write(row, position)
                .map_err(SourceItemError::Rejected)
        })
        .collect();
    (writer, Ok((fetched, items)))
}

/// A JSON body, or a reason naming the call and the body's first bytes.
fn parse<'a, T: serde::Deserialize<'a>>(bytes: &'a [u8], url: &Url) -> Result<T, SourceError> {
    serde_json::from_slice(bytes).map_err(|error| {
        SourceError::new(format!(
            "bigquery answered {} with a body that is not the expected JSON ({error}): {}",
            display_url(url),
            crate::json_text::excerpt(bytes)
        ))
    })
}

/// A random UUID (v4), which makes `jobs.query` retries idempotent.
fn request_id() -> String {
    let mut bytes = [0u8; 16];
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        bytes = nanos.to_le_bytes();
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

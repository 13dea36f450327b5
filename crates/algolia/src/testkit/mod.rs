//! A fake Algolia for tests and benchmarks: the few Search API calls the pusher makes, in memory
//! ([`FakeAlgolia`] implements [`IndexingApi`]) or over HTTP ([`FakeAlgolia::serve`]).
//!
//! The model:
//!
//! - **state**: indices by name, each with records by `objectID` (kept as the raw JSON they were
//!   sent as), `settings` (a JSON object), `synonyms` and `rules` (JSON objects). A [`FakeAlgolia`]
//!   is a cheap handle (`Clone`) on one shared state behind a mutex; every server made from it
//!   and every in-memory call see the same indices.
//! - **writes**: batch actions (`addObject`, `updateObject`, `partialUpdateObject`,
//!   `partialUpdateObjectNoCreate`, `deleteObject`, `delete`, `clear`), `copy` (scoped or whole;
//!   from a missing index: an empty one with default settings), `move` (an atomic rename that
//!   overwrites the destination; from a missing index: a no-op), `deleteIndex`, `setSettings`.
//!   A batch is validated whole before any of it is applied: an unknown action, a malformed body
//!   or a record over the size limit (Algolia's exact message) refuses it with 400.
//! - **tasks**: every successful write gets the next task ID; a task answers `notPublished` to
//!   its first K polls (K = [`FakeAlgoliaBuilder::unpublished_polls`], default 1), then
//!   `published`.
//! - **faults**: a [`Faults`] plan (one shared, plus one per server) is consulted on every call
//!   before it is applied; a call answered by a fault changes nothing (see [`Fault`]).
//! - **pace**: every call waits a latency before it is answered, and writes beyond a concurrency
//!   limit are answered 429 `Too many jobs` (see [`Pace`]); the fake counts the most writes it had
//!   in progress at once and the writes it refused.
//! - **call log**: every call, its kind, records, task, the status answered and the server that
//!   took it ([`FakeAlgolia::calls`]).
//!
//! In memory, an answer of 4xx becomes [`AlgoliaError::Api`] and a 5xx, stall or reset becomes
//! [`AlgoliaError::Unreachable`] (one attempt: the in-memory mode never retries). Over HTTP,
//! requests must carry the configured application ID and API key.

#![expect(
    clippy::expect_used,
    reason = "a test double (feature `testkit`): a failed setup is a failed test"
)]

mod browse;
mod dispatch;
mod faults;
mod http;
mod log;
mod pace;
mod state;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use serde_json::Value;

pub use browse::BrowseParams;
pub use faults::{Fault, Faults, Matcher, RandomFaults, Rule, When};
pub use http::{FakeServer, PACE_PATH, refused_url};
pub use log::{Call, CallKind};
pub use pace::{Pace, TOO_MANY_JOBS};

use crate::{AlgoliaError, BatchResponse, IndexingApi, Operation, TaskId, TaskStatus};
use dispatch::{Answer, Outcome, Request, Route, encode};
use pace::Gate;
use state::Indices;

/// The application ID a fake accepts unless told otherwise.
pub const DEFAULT_APP_ID: &str = "FAKEAPPID";
/// The API key a fake accepts unless told otherwise.
pub const DEFAULT_API_KEY: &str = "fake-api-key";
/// Algolia's default record-size limit, in bytes of JSON.
pub const DEFAULT_RECORD_SIZE_LIMIT: usize = 100_000;

/// A fake Algolia application: see the [module documentation](self).
#[derive(Clone, Debug)]
pub struct FakeAlgolia {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    app_id: String,
    api_key: String,
    record_size_limit: usize,
    unpublished_polls: u32,
    read_only: HashSet<String>,
    gate: Gate,
    state: Mutex<State>,
}

/// Everything that changes, under one lock.
#[derive(Debug, Default)]
pub(crate) struct State {
    indices: Indices,
    /// Polls so far, by task.
    tasks: HashMap<TaskId, u32>,
    last_task: TaskId,
    calls: Vec<Call>,
    faults: Faults,
    /// The parameters of every browse request, in order.
    browsed: Vec<browse::BrowseParams>,
}

impl State {
    fn new_task(&mut self) -> TaskId {
        self.last_task += 1;
        self.tasks.insert(self.last_task, 0);
        self.last_task
    }
}

/// Locks, ignoring poisoning (a panicking test must not hide the state from the others).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Configures a [`FakeAlgolia`].
#[derive(Debug)]
pub struct FakeAlgoliaBuilder {
    app_id: String,
    api_key: String,
    record_size_limit: usize,
    unpublished_polls: u32,
    read_only: HashSet<String>,
    faults: Faults,
    pace: Pace,
}

impl FakeAlgoliaBuilder {
    /// The application ID requests must carry over HTTP (default [`DEFAULT_APP_ID`]).
    pub fn app_id(mut self, app_id: impl Into<String>) -> Self {
        self.app_id = app_id.into();
        self
    }

    /// The API key requests must carry over HTTP (default [`DEFAULT_API_KEY`]).
    pub fn api_key(mut self, api_key: impl Into<String>) -> Self {
        self.api_key = api_key.into();
        self
    }

    /// The largest record accepted, in bytes of JSON (default [`DEFAULT_RECORD_SIZE_LIMIT`]).
    pub fn record_size_limit(mut self, bytes: usize) -> Self {
        self.record_size_limit = bytes;
        self
    }

    /// How many polls of each task answer `notPublished` before it is `published` (default 1).
    pub fn unpublished_polls(mut self, polls: u32) -> Self {
        self.unpublished_polls = polls;
        self
    }

    /// An index the key cannot write: writes to it answer 403
    /// `Method not allowed with this API key`.
    pub fn read_only_index(mut self, index: impl Into<String>) -> Self {
        self.read_only.insert(index.into());
        self
    }

    /// The shared fault plan to start with.
    pub fn faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }

    /// How long every call waits before it is answered (default none).
    pub fn latency(mut self, latency: std::time::Duration) -> Self {
        self.pace.latency = latency;
        self
    }

    /// Writes (indexing jobs) in progress at once beyond which a write is answered 429 `Too many
    /// jobs` (default none; reads are never refused).
    pub fn concurrency_limit(mut self, limit: usize) -> Self {
        self.pace.concurrency_limit = Some(limit);
        self
    }

    /// The fake, with no index.
    pub fn build(self) -> FakeAlgolia {
        let state = State {
            faults: self.faults,
            ..State::default()
        };
        FakeAlgolia {
            inner: Arc::new(Inner {
                app_id: self.app_id,
                api_key: self.api_key,
                record_size_limit: self.record_size_limit,
                unpublished_polls: self.unpublished_polls,
                read_only: self.read_only,
                gate: Gate::new(self.pace),
                state: Mutex::new(state),
            }),
        }
    }
}

impl Default for FakeAlgolia {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeAlgolia {
    /// A fake with the defaults: see [`FakeAlgoliaBuilder`].
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// Configures a fake.
    pub fn builder() -> FakeAlgoliaBuilder {
        FakeAlgoliaBuilder {
            app_id: DEFAULT_APP_ID.to_owned(),
            api_key: DEFAULT_API_KEY.to_owned(),
            record_size_limit: DEFAULT_RECORD_SIZE_LIMIT,
            unpublished_polls: 1,
            read_only: HashSet::new(),
            faults: Faults::new(),
            pace: Pace::default(),
        }
    }

    /// The application ID requests must carry over HTTP.
    pub fn app_id(&self) -> &str {
        &self.inner.app_id
    }

    /// The API key requests must carry over HTTP.
    pub fn api_key(&self) -> &str {
        &self.inner.api_key
    }

    /// Replaces the shared fault plan (consulted by in-memory calls and by every server).
    pub fn set_faults(&self, faults: Faults) {
        lock(&self.inner.state).faults = faults;
    }

    /// The shared fault plan, with its rules' counters.
    pub fn faults(&self) -> Faults {
        lock(&self.inner.state).faults.clone()
    }

    /// The pace (shared by in-memory calls and every server).
    pub fn pace(&self) -> Pace {
        self.inner.gate.pace()
    }

    /// Changes the pace; calls already waiting keep theirs.
    pub fn set_pace(&self, pace: Pace) {
        self.inner.gate.set_pace(pace);
    }

    /// The most writes that were in progress at once (refused ones not counted).
    pub fn peak_concurrency(&self) -> usize {
        self.inner.gate.peak()
    }

    /// Writes refused because the concurrency limit was reached.
    pub fn throttled_calls(&self) -> u64 {
        self.inner.gate.throttled()
    }

    /// Every call so far, in arrival order.
    pub fn calls(&self) -> Vec<Call> {
        lock(&self.inner.state).calls.clone()
    }

    /// The calls of one kind, in arrival order.
    pub fn calls_of(&self, kind: CallKind) -> Vec<Call> {
        let state = lock(&self.inner.state);
        state
            .calls
            .iter()
            .filter(|c| c.kind == kind)
            .cloned()
            .collect()
    }

    /// Empties the call log.
    pub fn clear_calls(&self) {
        lock(&self.inner.state).calls.clear();
    }

    /// The names of the existing indices, sorted.
    pub fn index_names(&self) -> Vec<String> {
        let state = lock(&self.inner.state);
        let mut names: Vec<_> = state.indices.by_name.keys().cloned().collect();
        names.sort();
        names
    }

    /// Whether the index exists.
    pub fn has_index(&self, index: &str) -> bool {
        lock(&self.inner.state).indices.by_name.contains_key(index)
    }

    /// The parameters of every browse request so far, in order.
    pub fn browse_requests(&self) -> Vec<browse::BrowseParams> {
        lock(&self.inner.state).browsed.clone()
    }

    /// The index's records by objectID, each with its `objectID` (empty when the index is missing).
    pub fn records(&self, index: &str) -> BTreeMap<String, Value> {
        let state = lock(&self.inner.state);
        let Some(found) = state.indices.by_name.get(index) else {
            return BTreeMap::new();
        };
        found
            .records
            .keys()
            .map(|id| (id.clone(), found.record(id).expect("listed")))
            .collect()
    }

    /// One record, with its `objectID`.
    pub fn record(&self, index: &str, object_id: &str) -> Option<Value> {
        lock(&self.inner.state)
            .indices
            .by_name
            .get(index)?
            .record(object_id)
    }

    /// One record's JSON exactly as it was sent (or as a partial update left it).
    pub fn raw_record(&self, index: &str, object_id: &str) -> Option<String> {
        let state = lock(&self.inner.state);
        let raw = state.indices.by_name.get(index)?.records.get(object_id)?;
        Some(String::from_utf8_lossy(raw).into_owned())
    }

    /// The number of records (0 when the index is missing).
    pub fn record_count(&self, index: &str) -> usize {
        let state = lock(&self.inner.state);
        state
            .indices
            .by_name
            .get(index)
            .map_or(0, |i| i.records.len())
    }

    /// The index's settings object, when the index exists.
    pub fn settings(&self, index: &str) -> Option<Value> {
        let state = lock(&self.inner.state);
        let found = state.indices.by_name.get(index)?;
        Some(Value::Object(found.settings.clone()))
    }

    /// The index's synonyms (empty when the index is missing).
    pub fn synonyms(&self, index: &str) -> Vec<Value> {
        let state = lock(&self.inner.state);
        state
            .indices
            .by_name
            .get(index)
            .map(|i| i.synonyms.clone())
            .unwrap_or_default()
    }

    /// The index's rules (empty when the index is missing).
    pub fn rules(&self, index: &str) -> Vec<Value> {
        let state = lock(&self.inner.state);
        state
            .indices
            .by_name
            .get(index)
            .map(|i| i.rules.clone())
            .unwrap_or_default()
    }

    /// Creates the index empty when it is missing (not logged, no task).
    pub fn create_index(&self, index: &str) {
        lock(&self.inner.state).indices.entry(index);
    }

    /// Replaces the index's records (creating the index). Each record needs an `objectID`
    /// (string or number); panics otherwise.
    pub fn set_records(&self, index: &str, records: impl IntoIterator<Item = Value>) {
        let records = records
            .into_iter()
            .map(|record| {
                let id = match record.get("objectID") {
                    Some(Value::String(id)) => id.clone(),
                    Some(Value::Number(id)) => id.to_string(),
                    _ => panic!("a seeded record needs an objectID: {record}"),
                };
                let raw = serde_json::to_vec(&record).expect("a value serializes");
                (id, Bytes::from(raw))
            })
            .collect();
        lock(&self.inner.state).indices.entry(index).records = records;
    }

    /// Replaces the index's settings (creating the index); `settings` must be an object.
    pub fn set_settings(&self, index: &str, settings: Value) {
        let Value::Object(settings) = settings else {
            panic!("settings must be a JSON object: {settings}");
        };
        lock(&self.inner.state).indices.entry(index).settings = settings;
    }

    /// Replaces the index's synonyms (creating the index).
    pub fn set_synonyms(&self, index: &str, synonyms: Vec<Value>) {
        lock(&self.inner.state).indices.entry(index).synonyms = synonyms;
    }

    /// Replaces the index's rules (creating the index).
    pub fn set_rules(&self, index: &str, rules: Vec<Value>) {
        lock(&self.inner.state).indices.entry(index).rules = rules;
    }

    /// Deletes the index if it exists (not logged, no task).
    pub fn remove_index(&self, index: &str) {
        lock(&self.inner.state).indices.by_name.remove(index);
    }

    /// The last task ID given (0 before the first write).
    pub fn last_task_id(&self) -> TaskId {
        lock(&self.inner.state).last_task
    }

    /// An in-memory call: the request the real client would send, answered as a result.
    async fn call(&self, method: &str, path: String, body: Bytes) -> Result<Answer, AlgoliaError> {
        let request = Request {
            method,
            path: &path,
            route: Route::parse(method, &path),
            body: &body,
        };
        let admitted = self.inner.gate.enter(request.route.writes());
        if !admitted.latency.is_zero() {
            tokio::time::sleep(admitted.latency).await;
        }
        let outcome = self.process(request, None, None, admitted.throttled());
        drop(admitted);
        let call = format!("{method} {path}");
        let unreachable = |last: String| AlgoliaError::Unreachable {
            call: call.clone(),
            attempts: 1,
            last,
        };
        match outcome {
            Outcome::Answer(Answer::Error {
                status, message, ..
            }) => Err(if (400..500).contains(&status) {
                AlgoliaError::Api {
                    call,
                    status,
                    message,
                }
            } else {
                unreachable(format!("status {status}: {message}"))
            }),
            Outcome::Answer(answer) => Ok(answer),
            Outcome::Stall { .. } => Err(unreachable("timed out (injected stall)".to_owned())),
            Outcome::Reset => Err(unreachable("connection reset (injected)".to_owned())),
        }
    }
}

fn unexpected(call: String, answer: &Answer) -> AlgoliaError {
    AlgoliaError::MalformedResponse {
        call,
        reason: format!("unexpected answer {answer:?}"),
    }
}

impl IndexingApi for FakeAlgolia {
    async fn batch(
        &self,
        index: &str,
        body: Bytes,
        _idempotent: bool,
    ) -> Result<BatchResponse, AlgoliaError> {
        let path = format!("/1/indexes/{}/batch", encode(index));
        match self.call("POST", path.clone(), body).await? {
            Answer::Batch { task_id, .. } => Ok(BatchResponse {
                task_id,
                retries: Vec::new(),
            }),
            other => Err(unexpected(format!("POST {path}"), &other)),
        }
    }

    async fn operation(&self, index: &str, operation: &Operation) -> Result<TaskId, AlgoliaError> {
        let path = format!("/1/indexes/{}/operation", encode(index));
        match self.call("POST", path.clone(), operation.to_json()).await? {
            Answer::Updated { task_id } => Ok(task_id),
            other => Err(unexpected(format!("POST {path}"), &other)),
        }
    }

    async fn task_status(&self, index: &str, task_id: TaskId) -> Result<TaskStatus, AlgoliaError> {
        let path = format!("/1/indexes/{}/task/{task_id}", encode(index));
        match self.call("GET", path.clone(), Bytes::new()).await? {
            Answer::Task { status } => Ok(status),
            other => Err(unexpected(format!("GET {path}"), &other)),
        }
    }

    async fn delete_index(&self, index: &str) -> Result<TaskId, AlgoliaError> {
        let path = format!("/1/indexes/{}", encode(index));
        match self.call("DELETE", path.clone(), Bytes::new()).await? {
            Answer::Deleted { task_id } => Ok(task_id),
            other => Err(unexpected(format!("DELETE {path}"), &other)),
        }
    }
}

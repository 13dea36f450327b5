//! Applying stored pushes (`docs/api.md` D4): [`PushAppliers`] claim the pushes the API stored,
//! send their records to Algolia with the pusher (through the destination's
//! `attributesToExclude`; the task's transformation joins here with the transformations issue),
//! and record one event per push; a sweeper finishes the push runs that went idle.
//!
//! Pushes of one task and index are applied in arrival order: the store hands out only the head
//! of a group, with the pushes right behind it, and never two leases on one group. Within a
//! claim, a push is sent once Algolia has accepted the batches of the one before it (so they are
//! applied in order), without waiting for those to be published: the waits overlap the sending,
//! and the events are recorded a group at a time. A worker that
//! dies holding pushes loses its lease; another worker applies them again (Algolia's batch actions
//! are idempotent per `objectID`, so a push applied twice ends the same).

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{FutureExt as _, stream};
use ingest_algolia::{
    AlgoliaCredentials, AlgoliaError, HttpIndexingApi, IndexingApi, PushMode, PushPlan, Pusher,
    RunSummary, SentRun, TransportSettings, wait_task,
};
use ingest_connectors::{JsonDecoder, JsonOptions, RecordDecoder};
use ingest_core::exclude::Exclusions;
use ingest_core::{Record, RecordStream, Secret, SourceResult};
use ingest_model::{EventStatus, RunEvent, RunOutcome, RunProgress, RunRecorder};
use ingest_store::{ClaimedPushes, PushResult, StoreError, StoredPush};
use serde_json::{Map, Value, json};

use crate::Engine;
use crate::execute::action_type;
use crate::load::LoadError;
use crate::transformation::{Metadata, RecordTransformation, TransformationSpec};

/// The Algolia clients pushes are applied with, one per application, kept between claims:
/// building a client loads the TLS roots, which costs more than applying a small push. A changed
/// key gets a new client; the cache is emptied when it holds [`MAX_CACHED_APIS`].
#[derive(Default)]
pub(crate) struct PushApis(Mutex<HashMap<String, CachedApi>>);

/// A client and the key it was built with.
type CachedApi = (Secret<String>, Arc<HttpIndexingApi>);

const MAX_CACHED_APIS: usize = 64;

impl PushApis {
    fn api(
        &self,
        credentials: &AlgoliaCredentials,
        settings: &TransportSettings,
    ) -> Result<Arc<HttpIndexingApi>, AlgoliaError> {
        if let Ok(cache) = self.0.lock()
            && let Some((key, api)) = cache.get(&credentials.app_id)
            && key.expose() == credentials.api_key.expose()
        {
            return Ok(api.clone());
        }
        let api = Arc::new(HttpIndexingApi::new(
            credentials.transport(settings.clone())?,
        ));
        if let Ok(mut cache) = self.0.lock() {
            if cache.len() >= MAX_CACHED_APIS {
                cache.clear();
            }
            cache.insert(
                credentials.app_id.clone(),
                (credentials.api_key.clone(), api.clone()),
            );
        }
        Ok(api)
    }
}

/// How pushes are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PushApplySettings {
    /// Appliers per process (groups applied at once).
    pub appliers: usize,
    /// How long a claim holds its pushes before another worker may take them.
    pub lease: Duration,
    /// Records one claim takes at most (whole pushes; at least one push).
    pub max_records_per_claim: u64,
    /// A push run finishes after this long without a push.
    pub run_idle: Duration,
    /// ... or this long after it started.
    pub run_max_age: Duration,
    /// How often an idle applier looks for pushes when no signal wakes it.
    pub poll: Duration,
}

impl Default for PushApplySettings {
    fn default() -> Self {
        Self {
            appliers: 4,
            lease: Duration::from_secs(300),
            max_records_per_claim: 10_000,
            run_idle: Duration::from_secs(600),
            run_max_age: Duration::from_secs(24 * 3600),
            poll: Duration::from_millis(500),
        }
    }
}

/// The failed records an event lists at most.
const MAX_LISTED_FAILURES: usize = 100;

/// The batch actions a push may name, and how each is sent.
enum Action {
    /// Through the pusher, in this mode (`deleteObject` as deletions).
    Records { mode: PushMode, delete: bool },
    /// One request on the whole index (`clear`, `delete`).
    Index(&'static str),
}

fn action(name: &str) -> Option<Action> {
    Some(match name {
        "addObject" => Action::Records {
            mode: PushMode::Append,
            delete: false,
        },
        "updateObject" => Action::Records {
            mode: PushMode::Update,
            delete: false,
        },
        "partialUpdateObject" => Action::Records {
            mode: PushMode::Save,
            delete: false,
        },
        "partialUpdateObjectNoCreate" => Action::Records {
            mode: PushMode::PartialNoCreate,
            delete: false,
        },
        "deleteObject" => Action::Records {
            mode: PushMode::Append,
            delete: true,
        },
        "clear" => Action::Index("clear"),
        "delete" => Action::Index("delete"),
        _ => return None,
    })
}

/// A push on its way: its result, or its records sent and their tasks being waited for.
enum Pending {
    Ready(PushResult),
    Sent(Pin<Box<dyn Future<Output = RunSummary> + Send>>),
}

impl Pending {
    fn sent(run: SentRun) -> Self {
        Self::Sent(Box::pin(run.published()))
    }

    /// The result, if it is known without waiting.
    fn ready(&mut self, records: u64) -> Option<PushResult> {
        match self {
            Self::Ready(result) => Some(result.clone()),
            Self::Sent(published) => published
                .as_mut()
                .now_or_never()
                .map(|summary| summary_result(&summary, records)),
        }
    }

    /// The result, once Algolia has applied the push.
    async fn result(self, records: u64) -> PushResult {
        match self {
            Self::Ready(result) => result,
            Self::Sent(published) => summary_result(&published.await, records),
        }
    }
}

/// The destination's transformation for a claim of pushes: compiled once for each batch action
/// the claim's pushes use (what `helper.getMetadata().actionType` answers).
struct PushTransformations {
    spec: Option<TransformationSpec>,
    app_id: String,
    task_id: String,
    started: HashMap<&'static str, Arc<RecordTransformation>>,
}

impl PushTransformations {
    /// The transformation for records sent with `mode`; `None` without one or for deletions.
    async fn for_push(
        &mut self,
        engine: &Engine,
        index: &str,
        mode: PushMode,
        delete: bool,
    ) -> Result<Option<Arc<RecordTransformation>>, String> {
        let Some(spec) = &self.spec else {
            return Ok(None);
        };
        if delete {
            return Ok(None);
        }
        let action = action_type(mode);
        if let Some(started) = self.started.get(action) {
            return Ok(Some(started.clone()));
        }
        let metadata = Metadata {
            app_id: Some(self.app_id.clone()),
            task_id: Some(self.task_id.clone()),
            index_name: Some(index.to_owned()),
            action_type: Some(action.to_owned()),
        };
        let started = engine
            .start_transformation(spec.clone(), metadata, Arc::new(Quiet))
            .await?;
        self.started.insert(action, started.clone());
        Ok(Some(started))
    }
}

/// How often a claim records the pushes it has applied, at least (well under the lease).
const RECORD_EVERY: Duration = Duration::from_secs(5);

/// A recorder that keeps nothing: a push's outcome is its one event, built from the summary.
struct Quiet;

impl RunRecorder for Quiet {
    fn event(&self, _event: RunEvent) {}
    fn progress(&self, _progress: RunProgress) {}
}

fn result(status: EventStatus, data: Value) -> PushResult {
    PushResult {
        status,
        data: match data {
            Value::Object(map) => map,
            _ => Map::new(),
        },
    }
}

fn failed(message: impl Into<String>) -> PushResult {
    result(EventStatus::Failed, json!({ "message": message.into() }))
}

/// The records of a stored push as a stream, `objectID` read from each.
fn records(push: &StoredPush, delete: bool) -> RecordStream {
    // The JSON source's decoder: the stored array is split into records without building a
    // tree of each (the API checked every record's `objectID` before storing it).
    let mut decoder = JsonDecoder::new(JsonOptions {
        unique_id_column: None,
        max_record_bytes: STORED_RECORD_LIMIT,
    });
    let mut items = VecDeque::new();
    decoder.feed(push.records.as_bytes(), &mut items);
    decoder.finish(&mut items);
    let items: Vec<SourceResult> = items
        .into_iter()
        .map(|item| match item {
            Ok(Record {
                object_id: Some(id),
                ..
            }) if delete => Ok(Record::deletion(id)),
            other => other,
        })
        .collect();
    Box::pin(stream::iter(items))
}

/// The largest record the decoder takes from a stored push: its whole body at most. The batch
/// limit (`batch.max_record_bytes`) then rejects a record too big for Algolia by its objectID.
const STORED_RECORD_LIMIT: usize = 16 * 1024 * 1024;

/// The event of a push the pusher sent.
fn summary_result(summary: &RunSummary, records: u64) -> PushResult {
    if summary.outcome == RunOutcome::Success && summary.records_rejected == 0 {
        return result(
            EventStatus::Succeeded,
            json!({"message": "OK", "records": records}),
        );
    }
    let failures: Vec<Value> = summary
        .rejections
        .iter()
        .take(MAX_LISTED_FAILURES)
        .map(|r| json!({"objectID": r.object_id, "message": r.reason}))
        .collect();
    let message = match failures.first() {
        Some(first) if summary.outcome == RunOutcome::Success => format!(
            "{} of {records} records failed; the first: {}",
            summary.records_rejected,
            first["message"].as_str().unwrap_or_default()
        ),
        _ => summary.reason.clone(),
    };
    result(
        EventStatus::Failed,
        json!({"message": message, "records": records,
               "failedRecords": summary.records_rejected, "failures": failures}),
    )
}

impl Engine {
    /// Applies claimed pushes in order and records each one's event. Stops at the first push
    /// whose lease another worker has taken over; leaves the rest to the lease's expiry when the
    /// store fails.
    pub async fn apply_pushes(&self, claimed: ClaimedPushes) {
        let app = claimed.app_id.as_str();
        let resources = match &claimed.task {
            None => Err(format!("the task `{}` was deleted", claimed.task_id)),
            Some(task) => match self.load_task_resources(app, task).await {
                Ok(resources) => Ok(resources),
                Err(LoadError::Unusable(reason)) => Err(reason),
                Err(LoadError::Store(error)) => {
                    tracing::warn!(%error, "pushes: the store failed; they will be retried");
                    return;
                }
            },
        };
        let mut prepared = resources.and_then(|resources| {
            let api = self
                .push_apis()
                .api(&resources.algolia, &self.settings().algolia)
                .map_err(|error| format!("the destination's Algolia credentials: {error}"))?;
            let window = self
                .windows()
                .window(&resources.algolia.app_id, self.settings().push.window());
            let transformations = PushTransformations {
                spec: resources.transformation,
                app_id: claimed.app_id.clone(),
                task_id: claimed.task_id.clone(),
                started: HashMap::new(),
            };
            Ok((
                api,
                window,
                Exclusions::new(&resources.destination.input.attributes_to_exclude),
                transformations,
            ))
        });
        // Sent in order, each push once the one before it is accepted by Algolia; the tasks of
        // each are waited for while the next ones go out. Results are recorded in order, a group
        // at a time: at the end of the claim, or as soon as RECORD_EVERY has passed, so a claim
        // that meets a slow Algolia still records its progress well within its lease.
        let mut waiting: VecDeque<(&StoredPush, Pending)> = VecDeque::new();
        let mut done: Vec<(&StoredPush, PushResult)> = Vec::new();
        let mut recorded_at = Instant::now();
        for push in &claimed.pushes {
            let pending = match &mut prepared {
                Err(reason) => Pending::Ready(failed(reason.clone())),
                Ok((api, window, exclusions, transformations)) => {
                    self.send_one(
                        api,
                        window,
                        exclusions,
                        transformations,
                        &claimed.index,
                        push,
                    )
                    .await
                }
            };
            waiting.push_back((push, pending));
            while let Some((push, pending)) = waiting.front_mut() {
                let Some(result) = pending.ready(push.record_count) else {
                    break;
                };
                done.push((push, result));
                waiting.pop_front();
            }
            if !self
                .record_if_due(app, &claimed.lease_token, &mut done, &mut recorded_at)
                .await
            {
                return;
            }
        }
        while let Some((push, pending)) = waiting.pop_front() {
            done.push((push, pending.result(push.record_count).await));
            if !self
                .record_if_due(app, &claimed.lease_token, &mut done, &mut recorded_at)
                .await
            {
                return;
            }
        }
        if !done.is_empty() {
            self.record_pushes(app, &claimed.lease_token, &mut done)
                .await;
        }
    }

    /// [`Self::record_pushes`] once [`RECORD_EVERY`] has passed since `recorded_at` (then reset);
    /// `false` when the claim must stop.
    async fn record_if_due(
        &self,
        app: &str,
        lease_token: &str,
        done: &mut Vec<(&StoredPush, PushResult)>,
        recorded_at: &mut Instant,
    ) -> bool {
        if recorded_at.elapsed() < RECORD_EVERY || done.is_empty() {
            return true;
        }
        let go_on = self.record_pushes(app, lease_token, done).await;
        *recorded_at = Instant::now();
        go_on
    }

    /// Records the results in `done` (and empties it); `false` when the claim must stop: its
    /// lease was taken over or the store failed (the pushes will be applied again).
    async fn record_pushes(
        &self,
        app: &str,
        lease_token: &str,
        done: &mut Vec<(&StoredPush, PushResult)>,
    ) -> bool {
        let results: Vec<_> = done.iter().map(|(push, result)| (*push, result)).collect();
        let stored = self
            .store()
            .complete_pushes(app, &results, lease_token, self.clock().now())
            .await;
        let count = results.len();
        done.clear();
        match stored {
            Ok(()) => {
                tracing::debug!(pushes = count, "pushes applied");
                true
            }
            Err(StoreError::LeaseLost { .. }) => {
                tracing::warn!(
                    pushes = count,
                    "push lease lost: another worker applies them"
                );
                false
            }
            Err(error) => {
                tracing::warn!(%error, pushes = count, "pushes applied but not recorded");
                false
            }
        }
    }

    /// Sends one push: its records through a pusher, returning once Algolia accepted every
    /// batch; a whole-index action (`clear`, `delete`) is also waited for.
    async fn send_one(
        &self,
        api: &Arc<HttpIndexingApi>,
        window: &Arc<ingest_algolia::ConcurrencyWindow>,
        exclusions: &Exclusions,
        transformations: &mut PushTransformations,
        index: &str,
        push: &StoredPush,
    ) -> Pending {
        let Some(action) = action(&push.action) else {
            return Pending::Ready(failed(format!("unknown action `{}`", push.action)));
        };
        match action {
            Action::Index(name) => {
                let body =
                    Bytes::from(json!({"requests": [{"action": name, "body": {}}]}).to_string());
                let sent = match api.batch(index, body, true).await {
                    Ok(response) => {
                        wait_task(
                            api.as_ref(),
                            index,
                            response.task_id,
                            self.settings().push.wait,
                        )
                        .await
                    }
                    Err(error) => Err(error),
                };
                Pending::Ready(match sent {
                    Ok(()) => result(EventStatus::Succeeded, json!({"message": "OK"})),
                    Err(error) => failed(format!("`{name}` of `{index}`: {error}")),
                })
            }
            Action::Records { mode, delete } => {
                let records = records(push, delete);
                // Deletions skip the transformation (`docs/api.md` D5).
                let records = match transformations.for_push(self, index, mode, delete).await {
                    Ok(Some(transformation)) => transformation.stream(records),
                    Ok(None) => records,
                    Err(reason) => return Pending::Ready(failed(reason)),
                };
                let records = exclusions.clone().stream(records);
                let plan = PushPlan {
                    index: index.to_owned(),
                    mode,
                    failure_threshold: 100,
                    temporary_suffix: None,
                };
                let pusher = Pusher::with_window(api.clone(), self.settings().push, window.clone());
                Pending::sent(pusher.send(&plan, records, &Quiet).await)
            }
        }
    }
}

/// Applies pushes until `shutdown` resolves: `settings.appliers` loops claiming and applying,
/// woken by the store's queue signal (or every `settings.poll`), and one sweeper finishing the
/// push runs that went idle.
pub async fn apply_pushes_until(
    engine: Engine,
    settings: PushApplySettings,
    shutdown: impl Future<Output = ()>,
) {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut loops = tokio::task::JoinSet::new();
    for _ in 0..settings.appliers.max(1) {
        loops.spawn(applier(engine.clone(), settings, stopped.clone()));
    }
    loops.spawn(sweeper(engine, settings, stopped));
    shutdown.await;
    let _ = stop.send(true);
    while loops.join_next().await.is_some() {}
}

async fn applier(
    engine: Engine,
    settings: PushApplySettings,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut queued = engine.store().queued_runs();
    let mut backoff = Duration::from_millis(50);
    while !*stop.borrow() {
        // Pushes stored from now on wake this loop, even while the claim below is under way.
        queued.borrow_and_update();
        let claimed = engine
            .store()
            .claim_pushes(
                settings.lease,
                settings.max_records_per_claim,
                engine.clock().now(),
            )
            .await;
        match claimed {
            Ok(Some(claimed)) => {
                backoff = Duration::from_millis(50);
                engine.apply_pushes(claimed).await;
                continue;
            }
            Ok(None) => {
                tokio::select! {
                    _ = queued.changed() => {}
                    _ = stop.changed() => {}
                    () = tokio::time::sleep(settings.poll) => {}
                }
            }
            Err(error) => {
                tracing::warn!(%error, "pushes: cannot claim; backing off");
                tokio::select! {
                    _ = stop.changed() => {}
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    }
}

async fn sweeper(
    engine: Engine,
    settings: PushApplySettings,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let period =
        (settings.run_idle / 10).clamp(Duration::from_millis(100), Duration::from_secs(10));
    while !*stop.borrow() {
        match engine
            .store()
            .finish_idle_push_runs(
                settings.run_idle,
                settings.run_max_age,
                engine.clock().now(),
            )
            .await
        {
            Ok(finished) => {
                for run in finished {
                    tracing::info!(run_id = run.run_id, outcome = ?run.outcome, "push run finished");
                }
            }
            Err(error) => tracing::warn!(%error, "pushes: cannot finish idle runs"),
        }
        tokio::select! {
            _ = stop.changed() => {}
            () = tokio::time::sleep(period) => {}
        }
    }
}

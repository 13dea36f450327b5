//! [`Engine::execute`]: one claimed run, from the stored task to a finished run.
//!
//! The steps: load the task's source, destination and authentications (secrets are decrypted
//! here and nowhere else); refuse what this engine cannot run (destination types other than
//! `search`, sources `build_source` does not know) with a reason; compute the index (`docs/api.md` C16)
//! and the date window; build the source and the pusher over a [`FencedApi`]; push, reporting
//! through a [`StoreRecorder`]; and finish the run with the pusher's outcome. Each attempt of a
//! `replace` run writes into its own `{index}_tmp_{runID}_{attempt}`: a later attempt deletes the
//! earlier attempts' indices first, and whatever a stale worker still sends lands in an index
//! that is never moved. If the lease is lost the run is abandoned without a
//! word (another worker owns it); if the worker drains, the run is released.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use ingest_algolia::{
    AlgoliaCredentials, ConcurrencyWindows, HttpIndexingApi, IndexingApi, PushMode, PushPlan,
    PushSettings, Pusher, RunSummary, TransportSettings, attempt_suffix, temporary_index,
    wait_task,
};
use ingest_connectors::http::SourceHttpClient;
use ingest_connectors::{DateWindow, Endpoints, SourceContext};
use ingest_core::metrics::{self, Metrics};
use ingest_core::{RecordStream, SourceError, SourceItemError};
use ingest_model::{
    DestinationInput, DestinationType, RunEvent, RunOutcome, RunReasonCode, RunRecorder, Source,
    SourceInput, TaskInput, Timestamp, TriggerPayload,
};
use ingest_store::{ClaimedRun, FinishedRun, RunFinish, Store, StoreError};
use serde_json::Value;
use tracing::Instrument;

use crate::algolia_index;
use crate::fence::{FencedApi, Lease};
use crate::load::{LoadError, TaskResources};
use crate::recorder::StoreRecorder;
use crate::transformation::{Limits, Metadata, RecordTransformation, TransformationSpec};
use ingest_core::time::{Clock, sub};

mod passes;

use passes::combine;
pub(crate) use passes::indices;
pub use passes::{Pass, passes, send_insights};

/// What the engine needs to run tasks besides the store.
#[derive(Clone, Debug)]
pub struct EngineSettings {
    /// How records are pushed.
    pub push: PushSettings,
    /// How Algolia is reached (hosts, timeouts, retries).
    pub algolia: TransportSettings,
    /// The HTTP client of sources (with the URL policy).
    pub http: SourceHttpClient,
    /// Third-party hosts that tasks do not name.
    pub endpoints: Endpoints,
    /// The largest record accepted, in bytes of minified JSON.
    pub max_record_bytes: usize,
    /// The Insights API hosts (destination type `insights`).
    pub insights_hosts: Vec<String>,
    /// How transformations run (`[transform]`).
    pub transform: TransformSettings,
}

/// How transformations run: each runtime's limits, and the threads of a run's pool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransformSettings {
    /// Time per record, memory per runtime, `console.log` lines (the record size limit is
    /// `max_record_bytes`).
    pub limits: Limits,
    /// Threads of a code transformation's pool (one runtime each).
    pub threads: usize,
}

impl Default for TransformSettings {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            threads: std::thread::available_parallelism().map_or(2, usize::from),
        }
    }
}

/// How [`Engine::execute`] left the run.
#[derive(Debug)]
pub enum Ending {
    /// Finished (success or failure) in the store.
    Finished(Box<FinishedRun>),
    /// Given back to the queue because the worker is draining.
    Released,
    /// The lease was lost: another worker owns the run now; nothing was changed.
    LeaseLost,
    /// The store could not be reached to finish or release the run; its lease will expire and
    /// the reaper will requeue it.
    StoreUnavailable(StoreError),
}

/// Wraps each source's record stream (feature `testkit`: tests use it to plant faults, such as
/// a source that panics mid-stream).
pub type StreamHook = Arc<dyn Fn(RecordStream) -> RecordStream + Send + Sync>;

/// Runs claimed runs: see the [module documentation](self).
#[derive(Clone)]
pub struct Engine {
    store: Store,
    settings: EngineSettings,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    stream_hook: Option<StreamHook>,
    /// One concurrency window per Algolia application, shared by every run of the process.
    windows: Arc<ConcurrencyWindows>,
    /// The Algolia clients pushes are applied with, kept between claims.
    push_apis: Arc<crate::pushes::PushApis>,
}

/// Counts a run in progress until dropped (also when the run panics).
struct InProgress(Arc<Metrics>);

impl InProgress {
    fn count(metrics: &Arc<Metrics>) -> Self {
        metrics.shift(metrics::RUNS_IN_PROGRESS, &[], 1.0);
        Self(metrics.clone())
    }
}

impl Drop for InProgress {
    fn drop(&mut self) {
        self.0.shift(metrics::RUNS_IN_PROGRESS, &[], -1.0);
    }
}

/// Why a run stops before its records are pushed.
enum Stop {
    Fail(RunFinish),
    Store(StoreError),
}

fn fail(reason: impl Into<String>) -> Stop {
    Stop::Fail(RunFinish {
        outcome: RunOutcome::Failure,
        reason_code: RunReasonCode::Critical,
        reason: Some(reason.into()),
        progress: None,
    })
}

/// Everything a run needs, loaded and checked.
struct Prepared {
    passes: Vec<Pass>,
    insights: bool,
    source_input: SourceInput,
    algolia: AlgoliaCredentials,
    only: Option<HashSet<String>>,
}

impl Engine {
    /// An engine over `store`.
    pub fn new(
        store: Store,
        settings: EngineSettings,
        clock: Arc<dyn Clock>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            store,
            settings,
            clock,
            windows: Arc::new(ConcurrencyWindows::new(Some(metrics.clone()))),
            push_apis: Arc::default(),
            metrics,
            stream_hook: None,
        }
    }

    /// The same engine, with every source's record stream passed through `hook` first.
    #[cfg(feature = "testkit")]
    pub fn with_stream_hook(mut self, hook: StreamHook) -> Self {
        self.stream_hook = Some(hook);
        self
    }

    /// A pass's records, through the stream hook when there is one.
    fn records_of(&self, pass: &Pass) -> RecordStream {
        let records = pass.records();
        match &self.stream_hook {
            Some(hook) => hook(records),
            None => records,
        }
    }

    /// The concurrency windows of the process's Algolia applications.
    pub fn windows(&self) -> &Arc<ConcurrencyWindows> {
        &self.windows
    }

    /// The Algolia clients pushes are applied with.
    pub(crate) fn push_apis(&self) -> &crate::pushes::PushApis {
        &self.push_apis
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The settings.
    pub fn settings(&self) -> &EngineSettings {
        &self.settings
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The metrics registry.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Executes `claimed`, held through `lease`, and finishes (or releases) it.
    pub async fn execute(&self, claimed: &ClaimedRun, lease: Arc<Lease>) -> Ending {
        let span = tracing::info_span!(
            "run",
            run_id = %claimed.run.run_id,
            task_id = %claimed.task.task_id,
            attempt = claimed.attempt,
            source_type = tracing::field::Empty,
            index = tracing::field::Empty,
        );
        self.execute_in(claimed, lease, span.clone())
            .instrument(span)
            .await
    }

    async fn execute_in(
        &self,
        claimed: &ClaimedRun,
        lease: Arc<Lease>,
        span: tracing::Span,
    ) -> Ending {
        tracing::info!("run started");
        let _in_progress = InProgress::count(&self.metrics);
        let recorder = Arc::new(StoreRecorder::start(
            self.store.clone(),
            lease.clone(),
            self.clock.clone(),
            self.metrics.clone(),
        ));
        let finish = match self.prepare(claimed, &recorder, &span).await {
            Err(Stop::Fail(finish)) => Some(finish),
            Err(Stop::Store(error)) => {
                recorder.close().await;
                tracing::warn!(%error, "the store failed while loading the run; it will be retried");
                return Ending::StoreUnavailable(error);
            }
            Ok(prepared) => self.push(claimed, prepared, &lease, &recorder).await,
        };
        recorder.close().await;
        let Some(finish) = finish else {
            self.metrics.inc(metrics::LEASES_LOST, &[]);
            tracing::warn!("lease lost: another worker owns the run now");
            return Ending::LeaseLost;
        };
        if lease.interfered() {
            return match self
                .store
                .release_run(lease.run_id(), lease.token(), self.clock.now())
                .await
            {
                Ok(()) => {
                    tracing::info!("run released for another worker");
                    Ending::Released
                }
                Err(StoreError::LeaseLost { .. }) => Ending::LeaseLost,
                Err(error) => Ending::StoreUnavailable(error),
            };
        }
        self.finish(lease.as_ref(), finish).await
    }

    /// Finishes a run whose execution panicked with `message`: `failure`, reason code
    /// `internal`.
    pub(crate) async fn finish_after_panic(&self, lease: &Lease, message: &str) -> Ending {
        let finish = RunFinish {
            outcome: RunOutcome::Failure,
            reason_code: RunReasonCode::Internal,
            reason: Some(format!(
                "an internal error stopped the run (please report it): {message}"
            )),
            progress: None,
        };
        self.finish(lease, finish).await
    }

    /// Finishes a run stopped after `max_run` (`worker.max_run_ms`): `failure`, reason code
    /// `critical`.
    pub(crate) async fn finish_overtime(&self, lease: &Lease, max_run: Duration) -> Ending {
        let finish = RunFinish {
            outcome: RunOutcome::Failure,
            reason_code: RunReasonCode::Critical,
            reason: Some(format!(
                "the run was stopped after {}: it took longer than `worker.max_run_ms` allows",
                human_duration(max_run)
            )),
            progress: None,
        };
        self.finish(lease, finish).await
    }

    async fn finish(&self, lease: &Lease, mut finish: RunFinish) -> Ending {
        // A reason may quote a peer (an error message): never let it break the store.
        if let Some(reason) = &finish.reason
            && let std::borrow::Cow::Owned(clean) =
                ingest_core::text::sanitize(reason, ingest_core::text::MAX_TEXT_BYTES)
        {
            finish.reason = Some(clean);
        }
        let result = lease
            .while_held("finishing the run", || {
                self.store
                    .finish_run(lease.run_id(), lease.token(), &finish, self.clock.now())
            })
            .await;
        match result {
            Ok(finished) => {
                let outcome = finish.outcome.as_str();
                let code = finish.reason_code.as_str();
                self.metrics.inc(
                    metrics::RUNS_FINISHED,
                    &[("outcome", outcome), ("reason_code", code)],
                );
                tracing::info!(
                    outcome,
                    reason_code = code,
                    reason = finish.reason.as_deref().unwrap_or_default(),
                    "run finished"
                );
                if finished.task_disabled {
                    tracing::warn!("task disabled after repeated failures");
                }
                Ending::Finished(Box::new(finished))
            }
            Err(StoreError::LeaseLost { .. }) => {
                self.metrics.inc(metrics::LEASES_LOST, &[]);
                Ending::LeaseLost
            }
            Err(error) => {
                tracing::error!(%error, "could not finish the run; its lease will expire");
                Ending::StoreUnavailable(error)
            }
        }
    }

    async fn prepare(
        &self,
        claimed: &ClaimedRun,
        recorder: &Arc<StoreRecorder>,
        span: &tracing::Span,
    ) -> Result<Prepared, Stop> {
        let app = claimed.run.app_id.as_str();
        let task = &claimed.task;
        let TaskResources {
            source,
            destination,
            algolia,
            source_auth,
            transformation,
        } = self
            .load_task_resources(app, task)
            .await
            .map_err(|error| match error {
                LoadError::Unusable(reason) => fail(reason),
                LoadError::Store(error) => Stop::Store(error),
            })?;
        span.record("source_type", source.source_type.as_str());
        let index = index_name(&destination.input, &source);
        span.record("index", index.as_str());
        let (trigger_event, only) = trigger(claimed.trigger_payload.as_ref());
        // A run limited by its trigger (objectIDs, or a connector's event naming one object)
        // updates those objects only: it must never replace the whole index with them.
        let partial = only.is_some() || trigger_event.is_some();
        let context = SourceContext {
            http: self.settings.http.clone(),
            max_record_bytes: self.settings.max_record_bytes,
            local_files: None,
            events: Some(recorder.clone() as Arc<dyn RunRecorder>),
            endpoints: self.settings.endpoints.clone(),
            window: window(task.input.as_ref(), self.clock.now()),
            trigger_event,
        };
        // A subscription-triggered run uses the task's `subscriptionAction` when it has one
        // (`docs/api.md` D2).
        let action = match task.subscription_action {
            Some(action) if partial => action,
            _ => task.action,
        };
        let mode = PushMode::of(action, partial);
        let plan = PushPlan {
            index,
            mode,
            failure_threshold: task.failure_threshold,
            temporary_suffix: Some(attempt_suffix(&claimed.run.run_id, claimed.attempt)),
        };
        let metadata = Metadata {
            app_id: Some(app.to_owned()),
            task_id: Some(task.task_id.clone()),
            index_name: Some(plan.index.clone()),
            action_type: Some(action_type(mode).to_owned()),
        };
        let mut passes = match &source.input {
            SourceInput::AlgoliaIndex(input) => vec![
                algolia_index::pass(
                    input,
                    &algolia,
                    self.settings.algolia.clone(),
                    &destination.input,
                    plan,
                    Some(recorder.clone() as Arc<dyn RunRecorder>),
                )
                .map_err(fail)?,
            ],
            _ => passes(
                &source.input,
                &destination.input,
                source_auth.as_ref(),
                &context,
                plan,
            )
            .map_err(|error| fail(format!("the source cannot be read: {error}")))?,
        };
        if let Some(spec) = transformation {
            let started = self
                .start_transformation(spec, metadata, recorder.clone() as Arc<dyn RunRecorder>)
                .await
                .map_err(fail)?;
            for pass in &mut passes {
                pass.transformation = Some(started.clone());
            }
        }
        Ok(Prepared {
            passes,
            insights: destination.destination_type == DestinationType::Insights,
            source_input: source.input.clone(),
            algolia,
            only,
        })
    }

    /// Compiles `spec` and starts its pool for one run or one claim of pushes, with the
    /// engine's limits.
    pub(crate) async fn start_transformation(
        &self,
        spec: TransformationSpec,
        metadata: Metadata,
        recorder: Arc<dyn RunRecorder>,
    ) -> Result<Arc<RecordTransformation>, String> {
        let limits = Limits {
            max_record_bytes: self.settings.max_record_bytes,
            ..self.settings.transform.limits.clone()
        };
        crate::transformation::start(
            spec,
            metadata,
            limits,
            self.settings.transform.threads,
            Some(recorder),
        )
        .await
    }

    /// Pushes the records; `None` when the lease was lost on the way.
    async fn push(
        &self,
        claimed: &ClaimedRun,
        prepared: Prepared,
        lease: &Arc<Lease>,
        recorder: &Arc<StoreRecorder>,
    ) -> Option<RunFinish> {
        let algolia = if prepared.insights {
            TransportSettings {
                hosts: Some(self.settings.insights_hosts.clone()),
                ..self.settings.algolia.clone()
            }
        } else {
            self.settings.algolia.clone()
        };
        let transport = match prepared.algolia.transport(algolia) {
            Ok(transport) => transport,
            Err(error) => return Some(finish_failed(format!("cannot reach Algolia: {error}"))),
        };
        let Prepared {
            passes,
            insights,
            source_input,
            only,
            algolia: credentials,
        } = prepared;
        // Every pass of a run shares the destination's transformation.
        let transformation = passes.first().and_then(|pass| pass.transformation.clone());
        if insights {
            let transport = Arc::new(transport);
            let work = async {
                let mut finishes = Vec::new();
                for pass in passes {
                    let records = cut_on_drain(
                        filter_ids(self.records_of(&pass), only.clone(), recorder.clone()),
                        lease.clone(),
                    );
                    let summary = send_insights(
                        transport.clone(),
                        &source_input,
                        &pass.plan.index,
                        records,
                        pass.plan.failure_threshold,
                        recorder.as_ref(),
                    )
                    .await;
                    self.count(&summary);
                    finishes.push((pass.plan.index, finish_of(summary)));
                }
                with_dropped(combine(finishes), transformation.as_deref())
            };
            return tokio::select! {
                finish = work => Some(finish),
                () = lease.lost() => None,
            };
        }
        let api = Arc::new(FencedApi::new(
            Arc::new(HttpIndexingApi::new(transport)),
            lease.clone(),
            self.store.clone(),
            self.clock.clone(),
        ));
        let window = self
            .windows
            .window(&credentials.app_id, self.settings.push.window());
        let work = async {
            let mut finishes = Vec::new();
            for pass in passes {
                let plan = pass.plan.clone();
                if plan.mode == PushMode::Replace && claimed.attempt > 1 {
                    for earlier in 1..claimed.attempt {
                        let suffix = attempt_suffix(&claimed.run.run_id, earlier);
                        let temporary = temporary_index(&plan.index, &suffix);
                        let deleted = match api.delete_index(&temporary).await {
                            Ok(task) => {
                                wait_task(api.as_ref(), &temporary, task, self.settings.push.wait)
                                    .await
                            }
                            Err(error) => Err(error),
                        };
                        if let Err(error) = deleted {
                            return finish_failed(format!(
                                "could not delete the temporary index `{temporary}` of attempt {earlier}: {error}"
                            ));
                        }
                    }
                    recorder.event(RunEvent::log(format!(
                        "temporary indices of attempts 1 to {} deleted: attempt {} starts afresh in `{}`",
                        claimed.attempt - 1,
                        claimed.attempt,
                        plan.temporary_index()
                    )));
                }
                let records = cut_on_drain(
                    filter_ids(self.records_of(&pass), only.clone(), recorder.clone()),
                    lease.clone(),
                );
                let pusher = Pusher::with_window(api.clone(), self.settings.push, window.clone());
                let summary = pusher.run(&plan, records, recorder.as_ref()).await;
                self.count(&summary);
                let failed = summary.outcome == RunOutcome::Failure;
                finishes.push((plan.index.clone(), finish_of(summary)));
                if failed {
                    break;
                }
            }
            with_dropped(combine(finishes), transformation.as_deref())
        };
        tokio::select! {
            finish = work => Some(finish),
            () = lease.lost() => None,
        }
    }

    fn count(&self, summary: &RunSummary) {
        self.metrics
            .add(metrics::RECORDS_PUSHED, &[], summary.records_pushed);
        self.metrics
            .add(metrics::RECORDS_REJECTED, &[], summary.records_rejected);
        self.metrics.add(metrics::BATCHES, &[], summary.batches);
        self.metrics.add(metrics::BATCH_BYTES, &[], summary.bytes);
    }
}

fn finish_of(summary: RunSummary) -> RunFinish {
    RunFinish {
        outcome: summary.outcome,
        reason_code: summary.reason_code,
        reason: Some(summary.reason),
        progress: None,
    }
}

/// `finish` with the records the transformation dropped in its reason (they are in no count of
/// the pusher's: `recordsRead` counts the records after the transformation).
fn with_dropped(mut finish: RunFinish, transformation: Option<&RecordTransformation>) -> RunFinish {
    let Some((_, _, dropped, _)) = transformation.map(RecordTransformation::counts) else {
        return finish;
    };
    if dropped > 0 {
        let reason = finish.reason.take().unwrap_or_default();
        finish.reason = Some(format!(
            "{reason}; {dropped} records dropped by the transformation"
        ));
    }
    finish
}

fn finish_failed(reason: String) -> RunFinish {
    RunFinish {
        outcome: RunOutcome::Failure,
        reason_code: RunReasonCode::Critical,
        reason: Some(reason),
        progress: None,
    }
}

/// The index of a destination for `source` (`docs/api.md` C16: see [`DestinationInput::index_for`]).
pub fn index_name(destination: &DestinationInput, source: &Source) -> String {
    destination.index_for(&source.name)
}

/// The date window of a task's input: `startDate`..`endDate`, or the last `timeframe` days.
pub fn window(input: Option<&TaskInput>, now: Timestamp) -> Option<DateWindow> {
    match input? {
        TaskInput::OnDemandDateUtilsInput {
            start_date,
            end_date,
        } => Some(DateWindow {
            start: Timestamp::parse(start_date).ok()?,
            end: Timestamp::parse(end_date).ok()?,
        }),
        TaskInput::ScheduleDateUtilsInput { timeframe } => Some(DateWindow {
            start: sub(now, Duration::from_secs(86_400 * u64::from(*timeframe))),
            end: now,
        }),
    }
}

/// What a subscription run reads: `objectIDs` limit it to those objects; a connector's own
/// event is handed to the source.
pub fn trigger(payload: Option<&TriggerPayload>) -> (Option<Value>, Option<HashSet<String>>) {
    match payload {
        None => (None, None),
        Some(TriggerPayload::ObjectIds(ids)) => (None, Some(ids.iter().cloned().collect())),
        Some(TriggerPayload::ConnectorEvent(event)) => (Some(Value::Object(event.clone())), None),
    }
}

/// Keeps only the records whose objectID is in `only` (all when `None`); says at the end which
/// objectIDs were not found.
fn filter_ids(
    records: RecordStream,
    only: Option<HashSet<String>>,
    recorder: Arc<StoreRecorder>,
) -> RecordStream {
    let Some(only) = only else { return records };
    let wanted = only.len();
    let seen = Arc::new(std::sync::Mutex::new(HashSet::new()));
    let seen_in = seen.clone();
    let kept = records.filter(move |item| {
        let keep = match item {
            Ok(record) => record.object_id.as_deref().is_some_and(|id| {
                let hit = only.contains(id);
                if hit && let Ok(mut seen) = seen_in.lock() {
                    seen.insert(id.to_owned());
                }
                hit
            }),
            Err(_) => true,
        };
        futures::future::ready(keep)
    });
    let tail = futures::stream::once(async move {
        let found = seen.lock().map(|s| s.len()).unwrap_or_default();
        recorder.event(RunEvent::log(format!(
            "subscription run limited to {wanted} objectID(s): {found} found in the source"
        )));
    })
    .filter_map(|()| futures::future::ready(None));
    kept.chain(tail).boxed()
}

/// The batch action a transformation's `helper.getMetadata().actionType` names for `mode`.
pub fn action_type(mode: PushMode) -> &'static str {
    match mode {
        PushMode::Replace | PushMode::Append => "addObject",
        PushMode::Save => "partialUpdateObject",
        PushMode::PartialNoCreate => "partialUpdateObjectNoCreate",
        PushMode::Update => "updateObject",
    }
}

/// Ends the stream with a fatal item once the worker drains (the run will be released).
fn cut_on_drain(records: RecordStream, lease: Arc<Lease>) -> RecordStream {
    let stop = {
        let lease = lease.clone();
        async move { lease.drained().await }
    };
    let cut = futures::stream::once(async move {
        lease.is_draining().then(|| {
            lease.mark_interfered();
            Err(SourceItemError::Fatal(SourceError::new(
                "the worker is shutting down; the run goes back to the queue",
            )))
        })
    })
    .filter_map(futures::future::ready);
    records.take_until(Box::pin(stop)).chain(cut).boxed()
}

/// `90 s`, `15 min`, `6 h` (the largest whole unit).
fn human_duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    if seconds >= 3600 && seconds.is_multiple_of(3600) {
        format!("{} h", seconds / 3600)
    } else if seconds >= 60 && seconds.is_multiple_of(60) {
        format!("{} min", seconds / 60)
    } else if seconds >= 1 {
        format!("{seconds} s")
    } else {
        format!("{} ms", duration.as_millis())
    }
}

#[cfg(test)]
mod tests;

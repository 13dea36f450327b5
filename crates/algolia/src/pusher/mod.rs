//! [`Pusher`]: a record stream in, Algolia batches out.
//!
//! Records are packed by the [`Batcher`]; each closed batch is sent by its own task once it holds
//! a [`Permit`] of the application's [`ConcurrencyWindow`] (adaptive, shared by every run that
//! writes to the application: see [`crate::ConcurrencyWindows`]), while the source keeps being
//! read. A run never has more than `max_in_flight` batch bodies on the wire, whatever the
//! latency; the window's value and RTT estimate are logged as the run's first batch leaves and
//! once its last batch is answered. Each accepted batch's Algolia task is polled at once, in the
//! background (`tasks`), so the end of a run waits only for the last ones.
//!
//! `replace` writes into a temporary index (`{index}_tmp_{suffix}`) and follows Algolia's
//! `replaceAllObjects` sequence (copy settings, synonyms and rules → batches → wait every task →
//! copy again → move), but streaming, and it only moves when the run succeeded: on any failure,
//! too many rejections, or nothing pushed, the temporary index is deleted and the destination is
//! left as it was. `save` sends `partialUpdateObject` batches to the index itself.

mod batch_task;
mod finish;
pub(crate) mod summary;
mod tasks;

use std::sync::Arc;

use futures::StreamExt;
use ingest_core::{
    Batch, BatchAction, BatchLimits, Batcher, Position, PushOutcome, RecordRejection, RecordStream,
    SourceItemError,
};
use ingest_model::{ActionType, EventStatus, EventType, RunEvent, RunProgress, RunRecorder};
use serde_json::json;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::api::{IndexingApi, Operation, Scope, TaskId, WaitPolicy};
use crate::concurrency::{ConcurrencyWindow, Permit, WindowSettings, WindowSnapshot};
use batch_task::{BatchDone, send_batch};
use summary::{Counts, Ending};
pub use summary::{MAX_LISTED_REJECTIONS, RejectionSummary, RunSummary};
use tasks::{TaskWatch, Watched};

/// How the pusher behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PushSettings {
    /// Batches on the wire at once when the application's window is made (at least 1).
    pub in_flight: usize,
    /// The most batches on the wire at once the window may grow to (at least `in_flight`;
    /// equal to it for a fixed window).
    pub max_in_flight: usize,
    /// How batch bodies are cut.
    pub limits: BatchLimits,
    /// How Algolia tasks are waited for.
    pub wait: WaitPolicy,
    /// Rejected records recorded as events, one each; beyond, one `log` event counts the rest.
    pub max_rejection_events: usize,
}

impl Default for PushSettings {
    fn default() -> Self {
        Self {
            in_flight: 4,
            max_in_flight: 32,
            limits: BatchLimits::default(),
            wait: WaitPolicy::default(),
            max_rejection_events: 1000,
        }
    }
}

impl PushSettings {
    /// The bounds of a concurrency window.
    pub fn window(&self) -> WindowSettings {
        WindowSettings {
            initial: self.in_flight.max(1),
            max: self.max_in_flight.max(self.in_flight).max(1),
        }
    }
}

/// What a run does to its index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PushMode {
    /// Replace every record, through a temporary index moved into place (run type `reindex`).
    Replace,
    /// Partial updates, creating missing records (task actions `save` and `partial`); every
    /// record needs an `objectID`.
    Save,
    /// Partial updates of existing records only (`partialUpdateObjectNoCreate`); every record
    /// needs an `objectID`.
    PartialNoCreate,
    /// Whole records added to the live index (`addObject`): a record without `objectID` gets one
    /// from Algolia. No temporary index.
    Append,
    /// Whole records replaced by `objectID` in the live index (`updateObject`, pushes only);
    /// every record needs an `objectID`.
    Update,
}

impl PushMode {
    /// The mode of a task's action (`docs/api.md` D2). A run limited to some objects (a webhook,
    /// runSource's `entityIDs`) must never replace the whole index with them: pass `limited`.
    pub fn of(action: ActionType, limited: bool) -> Self {
        match action {
            ActionType::Replace if limited => Self::Save,
            ActionType::Replace => Self::Replace,
            ActionType::Save | ActionType::Partial => Self::Save,
            ActionType::PartialNoCreate => Self::PartialNoCreate,
            ActionType::Append => Self::Append,
        }
    }

    /// The batch action of the records this mode writes.
    fn batch_action(self) -> BatchAction {
        match self {
            Self::Replace | Self::Append => BatchAction::AddObject,
            Self::Update => BatchAction::UpdateObject,
            Self::Save => BatchAction::PartialUpdateObject,
            Self::PartialNoCreate => BatchAction::PartialUpdateObjectNoCreate,
        }
    }

    /// Whether every record needs an `objectID` (partial updates address records by it).
    fn needs_object_id(self) -> bool {
        matches!(self, Self::Save | Self::PartialNoCreate | Self::Update)
    }
}

/// One run's destination and rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushPlan {
    /// The destination index.
    pub index: String,
    /// Replace or save.
    pub mode: PushMode,
    /// The percentage of rejected records the run may have and still succeed.
    pub failure_threshold: u8,
    /// The temporary index's suffix (`{index}_tmp_{suffix}`); random when `None`.
    pub temporary_suffix: Option<String>,
}

impl PushPlan {
    /// The temporary index a `replace` writes into.
    pub fn temporary_index(&self) -> String {
        let suffix = self
            .temporary_suffix
            .clone()
            .unwrap_or_else(|| rand::random_range(100_000..1_100_000u32).to_string());
        crate::temporary_index(&self.index, &suffix)
    }
}

/// Pushes record streams into Algolia through an [`IndexingApi`].
#[derive(Debug)]
pub struct Pusher<A> {
    api: Arc<A>,
    settings: PushSettings,
    window: Arc<ConcurrencyWindow>,
}

impl<A: IndexingApi + 'static> Pusher<A> {
    /// A pusher over `api` with a concurrency window of its own.
    pub fn new(api: Arc<A>, settings: PushSettings) -> Self {
        let window = ConcurrencyWindow::private(settings.window());
        Self::with_window(api, settings, window)
    }

    /// A pusher over `api` pacing its batches with `window` (the application's, shared).
    pub fn with_window(
        api: Arc<A>,
        settings: PushSettings,
        window: Arc<ConcurrencyWindow>,
    ) -> Self {
        Self {
            api,
            settings,
            window,
        }
    }

    /// The window its batches go through.
    pub fn window(&self) -> &Arc<ConcurrencyWindow> {
        &self.window
    }

    /// Runs `records` into the plan's index, reporting to `recorder`.
    pub async fn run(
        &self,
        plan: &PushPlan,
        records: RecordStream,
        recorder: &dyn RunRecorder,
    ) -> RunSummary {
        let started = Instant::now();
        let target: Arc<str> = match plan.mode {
            PushMode::Replace => plan.temporary_index().into(),
            PushMode::Save | PushMode::PartialNoCreate | PushMode::Append | PushMode::Update => {
                plan.index.as_str().into()
            }
        };
        let mut run = self.start(plan, recorder, target);
        run.stream(records).await;
        let ending = run.finish().await;
        let threshold = plan.failure_threshold;
        summary::judge(
            run.counts,
            ending,
            threshold,
            started.elapsed(),
            summary::Target::Index(&plan.index),
        )
    }

    /// A run of `plan` writing into `target`, before its first record.
    fn start<'a>(
        &'a self,
        plan: &'a PushPlan,
        recorder: &'a dyn RunRecorder,
        target: Arc<str>,
    ) -> RunState<'a, A> {
        RunState {
            api: &self.api,
            settings: self.settings,
            window: &self.window,
            window_at_start: None,
            plan,
            recorder,
            target,
            counts: Counts::default(),
            in_flight: JoinSet::new(),
            launched: 0,
            finished: 0,
            source_done: false,
            tasks: TaskWatch::new(self.settings.window().max, self.settings.wait),
            copy_task: None,
            failure: None,
            destination_failed: false,
        }
    }

    /// Like [`Pusher::run`] on the live index, but returns once every batch is sent and
    /// accepted: the batches' Algolia tasks are still being polled in the background, and
    /// [`SentRun::published`] waits for them and judges the run. What is sent after this returns
    /// reaches Algolia after these batches, so a caller applying pushes in order sends the next
    /// one without waiting for this one's tasks. A `replace` plan runs whole here (its move is
    /// part of sending).
    pub async fn send(
        &self,
        plan: &PushPlan,
        records: RecordStream,
        recorder: &dyn RunRecorder,
    ) -> SentRun {
        let started = Instant::now();
        if plan.mode == PushMode::Replace {
            let summary = self.run(plan, records, recorder).await;
            return SentRun {
                state: Sent::Judged(summary),
                started,
            };
        }
        let mut run = self.start(plan, recorder, plan.index.as_str().into());
        run.stream(records).await;
        let ending = run.ending_before_wait();
        let tasks = std::mem::replace(&mut run.tasks, TaskWatch::new(1, self.settings.wait));
        SentRun {
            state: Sent::Waiting {
                counts: std::mem::take(&mut run.counts),
                ending,
                tasks,
                index: plan.index.clone(),
                threshold: plan.failure_threshold,
            },
            started,
        }
    }
}

/// A run whose batches are all sent ([`Pusher::send`]); its tasks may still be unpublished.
#[derive(Debug)]
pub struct SentRun {
    state: Sent,
    started: Instant,
}

#[derive(Debug)]
enum Sent {
    /// Judged already (a `replace`).
    Judged(RunSummary),
    /// Waiting for its tasks, unless `ending` says how it ended.
    Waiting {
        counts: Counts,
        ending: Option<Ending>,
        tasks: TaskWatch,
        index: String,
        threshold: u8,
    },
}

impl SentRun {
    /// Waits until Algolia has applied every batch of the run, then judges it as
    /// [`Pusher::run`] would have.
    pub async fn published(self) -> RunSummary {
        let (counts, ending, mut tasks, index, threshold) = match self.state {
            Sent::Judged(summary) => return summary,
            Sent::Waiting {
                counts,
                ending,
                tasks,
                index,
                threshold,
            } => (counts, ending, tasks, index, threshold),
        };
        let ending = match ending {
            Some(ending) => ending,
            None => match tasks.all_published().await {
                Ok(()) => Ending::Completed,
                Err((what, error)) => Ending::Failed(finish::unpublished(what, error, &index)),
            },
        };
        summary::judge(
            counts,
            ending,
            threshold,
            self.started.elapsed(),
            summary::Target::Index(&index),
        )
    }
}

struct RunState<'a, A> {
    api: &'a Arc<A>,
    settings: PushSettings,
    window: &'a Arc<ConcurrencyWindow>,
    /// The window as the first batch left.
    window_at_start: Option<WindowSnapshot>,
    plan: &'a PushPlan,
    recorder: &'a dyn RunRecorder,
    target: Arc<str>,
    counts: Counts,
    in_flight: JoinSet<BatchDone>,
    launched: u64,
    finished: u64,
    source_done: bool,
    /// Algolia's tasks being waited for.
    tasks: TaskWatch,
    /// `replace`: the first copy of settings, synonyms and rules, once sent.
    copy_task: Option<TaskId>,
    failure: Option<String>,
    /// Algolia failed the run: nothing more is sent.
    destination_failed: bool,
}

impl<A: IndexingApi + 'static> RunState<'_, A> {
    async fn stream(&mut self, mut records: RecordStream) {
        let mut batcher = Batcher::new(self.plan.mode.batch_action(), self.settings.limits);
        // Runs on the live index may also delete records (a webhook saying a product is gone); deletions
        // go in their own batches, and switching kinds closes the other open batch so the
        // order of changes is kept batch by batch.
        let mut deletions = Batcher::new(BatchAction::DeleteObject, self.settings.limits);
        let mut source_failed = false;
        while self.failure.is_none() {
            while let Some(joined) = self.in_flight.try_join_next() {
                self.finished(joined);
            }
            let Some(item) = records.next().await else {
                break;
            };
            self.counts.read += 1;
            match item {
                Ok(record) if record.delete && self.plan.mode == PushMode::Replace => {
                    self.reject(RecordRejection {
                        position: Position::Record(self.counts.read),
                        object_id: record.object_id,
                        reason:
                            "a replace run writes every record anew; a deletion has no place in it"
                                .into(),
                    });
                }
                Ok(record) if self.plan.mode.needs_object_id() && record.object_id.is_none() => {
                    self.reject(RecordRejection {
                        position: Position::Record(self.counts.read),
                        object_id: None,
                        reason: "a partial update finds records by objectID, and this record has none: set the source's uniqueIDColumn".into(),
                    });
                }
                Ok(record) => {
                    let (this, other) = if record.delete {
                        (&mut deletions, &mut batcher)
                    } else {
                        (&mut batcher, &mut deletions)
                    };
                    if let Some(batch) = other.finish() {
                        self.launch(batch).await;
                    }
                    let object_id = record.object_id.clone();
                    match this.push(record) {
                        PushOutcome::Buffered => {}
                        PushOutcome::Closed(batch) => self.launch(batch).await,
                        PushOutcome::TooBig { size, limit } => self.reject(RecordRejection {
                            position: Position::Record(self.counts.read),
                            object_id,
                            reason: ingest_core::too_big_reason(size, limit),
                        }),
                    }
                }
                Err(SourceItemError::Rejected(rejection)) => self.reject(rejection),
                Err(SourceItemError::Fatal(error)) => {
                    self.counts.read -= 1;
                    self.failure = Some(error.message().to_owned());
                    source_failed = true;
                }
            }
        }
        drop(records);
        for batch in [batcher.finish(), deletions.finish()].into_iter().flatten() {
            // Records already read are not lost: after a source failure, a `save` still sends
            // them (a `replace` will not move, so sending them would be wasted).
            if self.failure.is_none() || source_failed {
                self.launch(batch).await;
            } else {
                self.counts.unsent += batch.len() as u64;
            }
        }
        self.source_done = true;
        while let Some(joined) = self.in_flight.join_next().await {
            self.finished(joined);
        }
        self.report_progress();
        self.log_window_at_end();
    }

    async fn launch(&mut self, batch: Batch) {
        if self.plan.mode == PushMode::Replace && self.copy_task.is_none() && self.failure.is_none()
        {
            self.start_temporary_index().await;
        }
        while self.in_flight.len() >= self.settings.window().max {
            match self.in_flight.join_next().await {
                Some(joined) => self.finished(joined),
                None => break,
            }
        }
        let permit = self.permit().await;
        if !self.may_send() {
            self.counts.unsent += batch.len() as u64;
            return;
        }
        if self.window_at_start.is_none() {
            self.log_window_at_start();
        }
        self.launched += 1;
        let task = send_batch(
            self.api.clone(),
            self.target.clone(),
            self.launched,
            batch,
            permit,
        );
        self.in_flight.spawn(task);
    }

    /// A permit of the window; batches of this run that end meanwhile are taken in.
    async fn permit(&mut self) -> Permit {
        let window = self.window.clone();
        let acquire = window.acquire();
        tokio::pin!(acquire);
        loop {
            let joined = tokio::select! {
                permit = &mut acquire => return permit,
                Some(joined) = self.in_flight.join_next() => joined,
            };
            self.finished(joined);
        }
    }

    fn log_window_at_start(&mut self) {
        let now = self.window.snapshot();
        self.window_at_start = Some(now);
        self.recorder.event(RunEvent::new(
            EventType::Log,
            EventStatus::Succeeded,
            0,
            json!({
                "message": format!(
                    "concurrency toward Algolia: window of {} batch(es) in flight (adaptive, at most {}), RTT estimate {}",
                    now.limit, now.max, rtt_words(now.rtt)
                ),
                "window": now.limit,
                "maxWindow": now.max,
                "rttMs": rtt_ms(now.rtt),
            }),
        ));
    }

    fn log_window_at_end(&self) {
        let Some(start) = self.window_at_start else {
            return;
        };
        let end = self.window.snapshot();
        let (during, before) = (end.totals, start.totals);
        let increases = during.increases - before.increases;
        let decreases = during.decreases - before.decreases;
        let throttled = during.throttled - before.throttled;
        self.recorder.event(RunEvent::new(
            EventType::Log,
            EventStatus::Succeeded,
            0,
            json!({
                "message": format!(
                    "concurrency toward Algolia at the end: window of {} (it was {}), RTT estimate {}; during the run the window grew {increases} time(s) and shrank {decreases} time(s), {throttled} call(s) were throttled (429)",
                    end.limit, start.limit, rtt_words(end.rtt)
                ),
                "window": end.limit,
                "windowAtStart": start.limit,
                "rttMs": rtt_ms(end.rtt),
                "increases": increases,
                "decreases": decreases,
                "throttled": throttled,
            }),
        ));
    }

    /// Whether batches may still go out: not after a destination failure, and for `replace` not
    /// after any failure (the temporary index will not be moved).
    fn may_send(&self) -> bool {
        !self.destination_failed && (self.plan.mode != PushMode::Replace || self.failure.is_none())
    }

    /// `replace`, step 1: copy the index's settings, synonyms and rules to the temporary index.
    async fn start_temporary_index(&mut self) {
        let copy = Operation::Copy {
            destination: self.target.to_string(),
            scope: Scope::ALL.to_vec(),
        };
        match self.api.operation(&self.plan.index, &copy).await {
            Ok(task) => {
                self.copy_task = Some(task);
                self.tasks
                    .watch(self.api, self.target.clone(), task, Watched::Copy);
                self.log(format!(
                    "temporary index `{}` created: settings, synonyms and rules copied from `{}`",
                    self.target, self.plan.index
                ));
            }
            Err(error) => {
                self.destination_failed = true;
                self.failure = Some(format!(
                    "could not create the temporary index `{}`: {error}",
                    self.target
                ));
            }
        }
    }

    fn finished(&mut self, joined: Result<BatchDone, tokio::task::JoinError>) {
        let done = match joined {
            Ok(done) => done,
            Err(error) => {
                self.destination_failed = true;
                self.failure.get_or_insert_with(|| {
                    format!("internal error: a batch task ended abnormally: {error}")
                });
                return;
            }
        };
        self.finished += 1;
        for rejection in &done.rejections {
            self.reject(rejection.clone());
        }
        let index = self.target.to_string();
        if !done.retries.is_empty() {
            self.recorder.event(RunEvent::new(
                EventType::Record,
                EventStatus::Retried,
                done.closed_with as u64,
                json!({ "index": index, "batch": done.number, "retries": done.retries }),
            ));
        }
        match &done.error {
            None => {
                if let Some(task_id) = done.task_id {
                    self.tasks
                        .watch(self.api, self.target.clone(), task_id, Watched::Batch);
                    self.counts.pushed += done.accepted as u64;
                    self.counts.batches += 1;
                    self.counts.bytes += done.bytes as u64;
                    self.recorder.event(RunEvent::new(
                        EventType::Record,
                        EventStatus::Succeeded,
                        done.accepted as u64,
                        json!({ "index": index, "batch": done.number, "taskID": task_id,
                                "records": done.accepted, "bytes": done.bytes }),
                    ));
                }
            }
            Some(error) => {
                let unsent = done.closed_with - done.rejections.len();
                self.counts.unsent += unsent as u64;
                self.destination_failed = true;
                self.recorder.event(RunEvent::new(
                    EventType::Record,
                    EventStatus::Failed,
                    unsent as u64,
                    json!({ "index": index, "batch": done.number, "records": unsent,
                            "error": error.to_string() }),
                ));
                self.failure
                    .get_or_insert_with(|| format!("pushing to `{index}` failed: {error}"));
            }
        }
        self.report_progress();
    }

    fn report_progress(&self) {
        self.recorder.progress(RunProgress {
            expected_nb_of_events: if self.source_done { self.launched } else { 0 },
            received_nb_of_events: self.finished,
        });
    }

    fn reject(&mut self, rejection: RecordRejection) {
        self.counts
            .reject(rejection, self.recorder, self.settings.max_rejection_events);
    }

    fn log(&self, message: String) {
        self.recorder.event(RunEvent::log(message));
    }
}

fn rtt_ms(rtt: Option<std::time::Duration>) -> Option<f64> {
    rtt.map(|rtt| (rtt.as_secs_f64() * 10_000.0).round() / 10.0)
}

fn rtt_words(rtt: Option<std::time::Duration>) -> String {
    match rtt_ms(rtt) {
        Some(ms) => format!("{ms} ms"),
        None => "not measured yet".to_owned(),
    }
}

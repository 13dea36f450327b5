//! `run-task`: executes one task and prints a JSON run summary: from a task file (no database),
//! or a stored task (`--task-id`): then the run is a real one, created, claimed, recorded and
//! finished in the store like a worker's, and visible in the API; the printed JSON is the run.
//!
//! Exit status: 0 when the run succeeds, 1 when it fails, 2 for a usage, settings or task-file
//! error (one line naming the problem).

// A failed unwrap is a failed test; outside tests, every error is handled.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use ingest_algolia::{
    AlgoliaCredentials, ConcurrencyWindow, HttpIndexingApi, IndexingApi, PushMode, PushPlan,
    PushSettings, Pusher, RunSummary, Transport, TransportSettings,
};
use ingest_connectors::SourceContext;
use ingest_connectors::http::SourceHttpClient;
use ingest_core::RecordStream;
use ingest_core::time::{Clock, SystemClock};
use ingest_engine::transformation::{self, Limits, Metadata};
use ingest_engine::{algolia_index, passes};
use ingest_model::{DestinationType, RunOutcome, SourceInput};
use ingestion::dry_run::DryRunApi;
use ingestion::progress::Progress;
use ingestion::run_log::LogRecorder;
use ingestion::settings::{LogFormat, Settings};
use ingestion::task_file::TaskFile;

#[path = "run_task/stored.rs"]
mod stored;

/// Executes one ingestion task and prints its run summary as JSON.
#[derive(Debug, Parser)]
#[command(name = "run-task", version)]
struct Args {
    /// The task to run: JSON, or TOML (`.toml`) with the same structure.
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "task_id",
        conflicts_with = "task_id"
    )]
    task_file: Option<PathBuf>,
    /// A stored task to run once through the store (a real run, visible in the API).
    #[arg(long, value_name = "ID")]
    task_id: Option<String>,
    /// With --task-id: the task's application (default: the only configured one, or the one in
    /// `<data-dir>/credentials.json`).
    #[arg(long, value_name = "APP", requires = "task_id")]
    app_id: Option<String>,
    /// With --task-id: `postgres://...` or `sqlite://PATH` (default: `INGESTION__STORE__URL`,
    /// else SQLite in the data directory).
    #[arg(long, value_name = "URL", requires = "task_id")]
    database_url: Option<String>,
    /// With --task-id: the data directory of `ingestion serve` (SQLite file, secret key).
    #[arg(long, value_name = "DIR", default_value = "./data")]
    data_dir: PathBuf,
    /// Send nothing: write every batch body that would be sent to OUT, one per line.
    #[arg(long, value_name = "OUT")]
    dry_run: Option<PathBuf>,
    /// Settings file overriding the embedded defaults (see config/example.toml).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

fn usage_error(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("run-task: {message}");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args = Args::parse();
    // On a terminal the run's story and its progress; otherwise (a pipe, a log file, a CI job)
    // nothing but warnings and errors, unless `RUST_LOG` asks for more.
    let default_level = if std::io::stderr().is_terminal() {
        "info"
    } else {
        "warn"
    };
    ingestion::telemetry::init(LogFormat::Text, default_level);
    let settings = match Settings::load(args.config.as_deref(), std::env::vars()) {
        Ok(settings) => settings,
        Err(error) => return usage_error(error),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return usage_error(format!("cannot start the runtime: {error}")),
    };
    let Some(task_file) = args.task_file else {
        if args.dry_run.is_some() {
            return usage_error("--dry-run works with --task-file only");
        }
        let stored = stored::StoredTask {
            task_id: args.task_id.unwrap_or_default(),
            app_id: args.app_id,
            database_url: args.database_url,
            data_dir: args.data_dir,
        };
        return runtime.block_on(stored.run(settings));
    };
    let task = match TaskFile::load(&task_file) {
        Ok(task) => task,
        Err(error) => return usage_error(error),
    };
    runtime.block_on(run(settings, task, task_file, args.dry_run))
}

async fn run(
    settings: Settings,
    task: TaskFile,
    task_file: PathBuf,
    dry_run: Option<PathBuf>,
) -> ExitCode {
    let recorder = Arc::new(LogRecorder::new(Progress::stderr(), dry_run.is_some()));
    let http = match SourceHttpClient::new(settings.url_policy.clone(), settings.http.clone()) {
        Ok(http) => http,
        Err(error) => return usage_error(error),
    };
    let base = task_file
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), PathBuf::from);
    let context = SourceContext {
        http,
        max_record_bytes: settings.batch.max_record_bytes(),
        local_files: Some(base),
        events: Some(recorder.clone()),
        endpoints: settings.endpoints.clone(),
        window: ingest_engine::window(task.input.as_ref(), SystemClock.now()),
        trigger_event: None,
    };
    let plan = PushPlan {
        index: task.index_name(),
        mode: PushMode::of(task.action, false),
        failure_threshold: task.failure_threshold,
        temporary_suffix: None,
    };
    // One pass, or one per locale for a commercetools source with locales and an indexPrefix.
    let metadata = Metadata {
        app_id: task
            .destination_auth
            .as_ref()
            .and_then(AlgoliaCredentials::from_auth)
            .map(|credentials| credentials.app_id),
        task_id: None,
        index_name: Some(plan.index.clone()),
        action_type: Some(ingest_engine::action_type(plan.mode).to_owned()),
    };
    let built = match &task.source {
        // An index of the destination's application, browsed with its credentials.
        SourceInput::AlgoliaIndex(input) => {
            let Some(credentials) = task
                .destination_auth
                .as_ref()
                .and_then(AlgoliaCredentials::from_auth)
            else {
                return usage_error(
                    "destination.authentication: an `algolia` authentication is needed to browse an `algoliaIndex` source",
                );
            };
            algolia_index::pass(
                input,
                &credentials,
                settings.algolia.clone(),
                &task.destination,
                plan,
                Some(recorder.clone()),
            )
            .map(|pass| vec![pass])
            .map_err(|error| format!("source: {error}"))
        }
        _ => passes(
            &task.source,
            &task.destination,
            task.source_auth.as_ref(),
            &context,
            plan,
        )
        .map_err(|error| format!("source.{error}")),
    };
    let mut passes = match built {
        Ok(passes) => passes,
        Err(error) => return usage_error(error),
    };
    if let Some(spec) = task.transformation.clone() {
        let limits = Limits {
            max_record_bytes: settings.batch.max_record_bytes(),
            ..settings.transform.limits.clone()
        };
        let threads = settings.transform.threads;
        match transformation::start(spec, metadata, limits, threads, Some(recorder.clone())).await {
            Ok(started) => {
                for pass in &mut passes {
                    pass.transformation = Some(started.clone());
                }
            }
            Err(error) => return usage_error(error),
        }
    }
    let insights = task.destination_type == DestinationType::Insights;
    if insights && dry_run.is_some() {
        return usage_error(
            "--dry-run writes Search batch bodies; an `insights` destination has none to write",
        );
    }
    let destination = match dry_run {
        Some(out) => match DryRunApi::create(&out) {
            Ok(api) => Destination::DryRun(Arc::new(api)),
            Err(error) => return usage_error(error),
        },
        None => {
            let Some(credentials) = task
                .destination_auth
                .as_ref()
                .and_then(AlgoliaCredentials::from_auth)
            else {
                return usage_error(
                    "destination.authentication: an `algolia` authentication (appID, apiKey) is needed to push; use --dry-run OUT to push nothing",
                );
            };
            let transport_settings = if insights {
                TransportSettings {
                    hosts: Some(settings.insights_hosts.clone()),
                    ..settings.algolia.clone()
                }
            } else {
                settings.algolia.clone()
            };
            match credentials.transport(transport_settings) {
                Ok(transport) if insights => Destination::Insights(Arc::new(transport)),
                Ok(transport) => Destination::Algolia(Arc::new(HttpIndexingApi::new(transport))),
                Err(error) => return usage_error(error),
            }
        }
    };
    // One concurrency window for every pass: they write to the same application.
    let window = ConcurrencyWindow::private(settings.push.window());
    let mut failed = false;
    for pass in passes {
        tracing::info!(source = %pass.source.describe(), index = %pass.plan.index, "run started");
        let records = pass.records();
        let summary = match &destination {
            Destination::DryRun(api) => {
                // One batch at a time keeps the file in the batches' order.
                let push = PushSettings {
                    in_flight: 1,
                    max_in_flight: 1,
                    ..settings.push
                };
                let pusher = Pusher::new(api.clone(), push);
                let mut summary = push_records(&pusher, &pass.plan, records, &recorder).await;
                if let Err(error) = api.close() {
                    summary.outcome = RunOutcome::Failure;
                    summary.reason_code = ingest_model::RunReasonCode::Critical;
                    summary.reason = error;
                }
                summary
            }
            Destination::Algolia(api) => {
                let pusher = Pusher::with_window(api.clone(), settings.push, window.clone());
                push_records(&pusher, &pass.plan, records, &recorder).await
            }
            Destination::Insights(transport) => {
                send_insights(
                    transport.clone(),
                    &task,
                    &pass.plan.index,
                    records,
                    &recorder,
                )
                .await
            }
        };
        match serde_json::to_string(&summary) {
            Ok(json) => println!("{json}"),
            Err(error) => return usage_error(format!("cannot print the summary: {error}")),
        }
        failed |= summary.outcome == RunOutcome::Failure;
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Where a run's records go.
enum Destination {
    /// Batch bodies written to a file.
    DryRun(Arc<DryRunApi>),
    /// An Algolia application (or a compatible engine).
    Algolia(Arc<HttpIndexingApi>),
    /// The Insights API.
    Insights(Arc<Transport>),
}

/// Sends Insights events (the engine's own path: GA4/GA360 item events mapped first).
async fn send_insights(
    transport: Arc<Transport>,
    task: &TaskFile,
    index: &str,
    records: RecordStream,
    recorder: &LogRecorder,
) -> RunSummary {
    let summary = ingest_engine::send_insights(
        transport,
        &task.source,
        index,
        records,
        task.failure_threshold,
        recorder,
    )
    .await;
    recorder.finish();
    tracing::info!(outcome = %summary.outcome, reason = %summary.reason, "run finished");
    summary
}

async fn push_records<A: IndexingApi + 'static>(
    pusher: &Pusher<A>,
    plan: &PushPlan,
    records: RecordStream,
    recorder: &LogRecorder,
) -> RunSummary {
    let summary = pusher.run(plan, records, recorder).await;
    recorder.finish();
    tracing::info!(outcome = %summary.outcome, reason = %summary.reason, "run finished");
    summary
}

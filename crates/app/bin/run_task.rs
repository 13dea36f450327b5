//! `run-task`: executes one task from a task file and prints a JSON run summary.
//!
//! Exit status: 0 when the run succeeds, 1 when it fails, 2 for a usage, settings or task-file
//! error (one line naming the problem).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use ingest_connectors::http::SourceHttpClient;
use ingest_connectors::{SourceContext, build_source};
use ingest_core::{BatchAction, Batcher};
use ingest_model::{ActionType, RunOutcome};
use ingestion::dry_run::DryRunFile;
use ingestion::progress::Progress;
use ingestion::settings::Settings;
use ingestion::task_file::TaskFile;

/// Executes one ingestion task and prints its run summary as JSON.
#[derive(Debug, Parser)]
#[command(name = "run-task", version)]
struct Args {
    /// The task to run: JSON, or TOML (`.toml`) with the same structure.
    #[arg(long, value_name = "FILE")]
    task_file: PathBuf,
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
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let settings = match Settings::load(args.config.as_deref(), std::env::vars()) {
        Ok(settings) => settings,
        Err(error) => return usage_error(error),
    };
    let task = match TaskFile::load(&args.task_file) {
        Ok(task) => task,
        Err(error) => return usage_error(error),
    };
    let Some(out) = args.dry_run else {
        return usage_error(
            "pushing to Algolia is not available yet; use --dry-run OUT to write the batch bodies to a file",
        );
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return usage_error(format!("cannot start the runtime: {error}")),
    };
    runtime.block_on(run(settings, task, args.task_file, out))
}

async fn run(settings: Settings, task: TaskFile, task_file: PathBuf, out: PathBuf) -> ExitCode {
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
    };
    let source = match build_source(&task.source, task.source_auth.as_ref(), &context) {
        Ok(source) => source,
        Err(error) => return usage_error(format!("source.{error}")),
    };
    let mut sink = match DryRunFile::create(&out).await {
        Ok(sink) => sink,
        Err(error) => return usage_error(error),
    };
    let action = match task.action {
        ActionType::Replace => BatchAction::AddObject,
        ActionType::Save => BatchAction::PartialUpdateObject,
    };
    tracing::info!(source = %source.describe(), index = %task.index_name(), "run started");
    let mut summary = ingestion::pipeline::run(
        source.records(),
        Batcher::new(action, settings.batch),
        &mut sink,
        task.failure_threshold,
        &mut Progress::stderr(),
    )
    .await;
    if let Err(error) = sink.close().await {
        summary.outcome = RunOutcome::Failure;
        summary.reason_code = ingest_model::RunReasonCode::Critical;
        summary.reason = error;
    }
    match serde_json::to_string(&summary) {
        Ok(json) => println!("{json}"),
        Err(error) => return usage_error(format!("cannot print the summary: {error}")),
    }
    match summary.outcome {
        RunOutcome::Success => ExitCode::SUCCESS,
        RunOutcome::Failure => ExitCode::FAILURE,
    }
}

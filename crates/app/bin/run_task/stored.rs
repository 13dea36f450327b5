//! `run-task --task-id ID`: one run of a stored task, through the store and the engine.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use ingest_core::Secret;
use ingest_core::metrics::Metrics;
use ingest_core::time::SystemClock;
use ingest_engine::{Ending, run_claimed};
use ingest_model::RunOutcome;
use ingest_store::SecretKey;
use ingestion::process::{engine, open_store};
use ingestion::settings::Settings;

use crate::usage_error;

/// What `--task-id` needs.
pub struct StoredTask {
    pub task_id: String,
    pub app_id: Option<String>,
    pub database_url: Option<String>,
    pub data_dir: PathBuf,
}

impl StoredTask {
    fn app_id(&self, settings: &Settings) -> Result<String, String> {
        if let Some(app) = &self.app_id {
            return Ok(app.clone());
        }
        if let [only] = settings.server.apps.as_slice() {
            return Ok(only.app_id.clone());
        }
        let file = self.data_dir.join("credentials.json");
        let text = std::fs::read_to_string(&file).map_err(|_| {
            "--app-id: required (no single configured application, no credentials file)".to_owned()
        })?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| format!("{}: invalid JSON: {e}", file.display()))?;
        value["appId"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("{}: no application ID; use --app-id", file.display()))
    }

    pub async fn run(self, settings: Settings) -> ExitCode {
        let app = match self.app_id(&settings) {
            Ok(app) => app,
            Err(error) => return usage_error(error),
        };
        let key_file = self.data_dir.join("secret.key");
        let key = match settings.server.secret_key.clone() {
            Some(key) => key,
            None if key_file.exists() => match SecretKey::load_or_generate(&key_file) {
                Ok(key) => key,
                Err(error) => return usage_error(error),
            },
            None => {
                return usage_error(format!(
                    "the secret key is needed: set INGESTION__STORE__SECRET_KEY or use --data-dir (no {})",
                    key_file.display()
                ));
            }
        };
        let url = self
            .database_url
            .clone()
            .map(Secret::new)
            .or(settings.server.database_url.clone());
        let store = match open_store(url.as_ref(), &self.data_dir, key).await {
            Ok(store) => store,
            Err(error) => return usage_error(format!("{error:#}")),
        };
        let engine = match engine(&settings, store.clone(), Arc::new(Metrics::new())) {
            Ok(engine) => engine,
            Err(error) => return usage_error(format!("{error:#}")),
        };
        let clock = SystemClock;
        use ingest_core::time::Clock as _;
        let run = match store.create_run(&app, &self.task_id, clock.now()).await {
            Ok(run) => run,
            Err(error) => return usage_error(format!("--task-id: {error}")),
        };
        let mut worker = settings.worker.clone();
        worker.owner = format!("run-task-{}", std::process::id());
        let asked = tokio::time::Instant::now();
        let claimed = match store
            .claim_run(&run.run_id, &worker.owner, worker.lease, clock.now())
            .await
        {
            Ok(Some(claimed)) => claimed,
            Ok(None) => {
                eprintln!(
                    "run-task: run {} was queued, but the task already has a run in progress (or a worker took it): it will run after",
                    run.run_id
                );
                return ExitCode::FAILURE;
            }
            Err(error) => return usage_error(format!("cannot claim the run: {error}")),
        };
        let (_keep, draining) = tokio::sync::watch::channel(false);
        let ending = run_claimed(engine, claimed, &worker, asked, draining).await;
        let Ending::Finished(finished) = ending else {
            eprintln!("run-task: the run did not finish: {ending:?}");
            return ExitCode::FAILURE;
        };
        match serde_json::to_string(&finished.run) {
            Ok(json) => println!("{json}"),
            Err(error) => return usage_error(format!("cannot print the run: {error}")),
        }
        match finished.run.outcome {
            Some(RunOutcome::Success) => ExitCode::SUCCESS,
            _ => ExitCode::FAILURE,
        }
    }
}

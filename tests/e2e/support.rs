//! Running `run-task` as a user would, and reading what it leaves behind.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

/// A scratch directory with a task file and an output path.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

/// What one `run-task` invocation produced.
#[derive(Debug)]
pub struct RunResult {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
    /// The dry-run file, one batch body per line (empty when absent).
    pub batches: Vec<Value>,
}

impl RunResult {
    pub fn summary(&self) -> Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|error| panic!("stdout is not one JSON object ({error}): {self:?}"))
    }

    /// Every record body of every batch, in order.
    pub fn bodies(&self) -> Vec<Value> {
        self.batches
            .iter()
            .flat_map(|batch| batch["requests"].as_array().cloned().unwrap_or_default())
            .map(|request| request["body"].clone())
            .collect()
    }
}

impl Scratch {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, content).expect("write scratch file");
        path
    }

    pub fn task(&self, task: &Value) -> PathBuf {
        self.write("task.json", serde_json::to_vec_pretty(task).unwrap())
    }

    /// Runs `run-task --task-file FILE --dry-run OUT` plus `extra` arguments.
    pub async fn dry_run(&self, task_file: &Path, env: &[(&str, &str)]) -> RunResult {
        let out = self.path("out.jsonl");
        let args = [
            "--task-file".as_ref(),
            task_file.as_os_str(),
            "--dry-run".as_ref(),
            out.as_os_str(),
        ];
        self.run(&args, env).await
    }

    pub async fn run(&self, args: &[&std::ffi::OsStr], env: &[(&str, &str)]) -> RunResult {
        let out = self.path("out.jsonl");
        let _ = std::fs::remove_file(&out);
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_run-task"));
        command.args(args).current_dir(self.dir.path());
        for (key, value) in env {
            command.env(key, value);
        }
        let Output {
            status,
            stdout,
            stderr,
        } = command.output().await.expect("run-task runs");
        let batches = std::fs::read_to_string(&out)
            .map(|text| {
                text.lines()
                    .map(|line| serde_json::from_str(line).expect("each line is one JSON body"))
                    .collect()
            })
            .unwrap_or_default();
        RunResult {
            status: status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            batches,
        }
    }
}

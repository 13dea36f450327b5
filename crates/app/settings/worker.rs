//! `[worker]`, `[scheduler]`, `[retention]` and `[log]`: the engine's processes.

use std::time::Duration;

use ingest_engine::{RetentionSettings, SchedulerSettings, WorkerSettings, default_owner};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWorker {
    concurrency: usize,
    lease_ms: u64,
    heartbeat_ms: u64,
    reaper_ms: u64,
    max_attempts: u32,
    poll_ms: u64,
    shutdown_grace_ms: u64,
    max_run_ms: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScheduler {
    tick_ms: u64,
    batch: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRetention {
    days: u32,
    batch: u32,
    interval_secs: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLog {
    format: String,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    /// Parses `text` or `json`.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "text" => Some(Self::Text),
            "json" => Some(Self::Json),
            _ => None,
        }
    }
}

pub(super) fn validate_worker(raw: RawWorker, problems: &mut Vec<String>) -> WorkerSettings {
    if raw.concurrency == 0 {
        problems.push("worker.concurrency: must be at least 1".to_owned());
    }
    if raw.lease_ms == 0 || raw.heartbeat_ms == 0 || raw.reaper_ms == 0 || raw.poll_ms == 0 {
        problems.push("worker: durations must be at least 1 ms".to_owned());
    }
    if raw.heartbeat_ms * 2 > raw.lease_ms {
        problems.push(
            "worker.heartbeat_ms: must be at most half of worker.lease_ms (a late heartbeat would lose the lease)"
                .to_owned(),
        );
    }
    if raw.max_run_ms == 0 {
        problems.push("worker.max_run_ms: must be at least 1 ms".to_owned());
    }
    if raw.max_attempts == 0 {
        problems.push("worker.max_attempts: must be at least 1".to_owned());
    }
    WorkerSettings {
        concurrency: raw.concurrency,
        lease: Duration::from_millis(raw.lease_ms),
        heartbeat: Duration::from_millis(raw.heartbeat_ms),
        reaper: Duration::from_millis(raw.reaper_ms),
        max_attempts: raw.max_attempts,
        poll: Duration::from_millis(raw.poll_ms),
        shutdown_grace: Duration::from_millis(raw.shutdown_grace_ms),
        max_run: Duration::from_millis(raw.max_run_ms),
        owner: default_owner(),
    }
}

pub(super) fn validate_scheduler(
    raw: RawScheduler,
    problems: &mut Vec<String>,
) -> SchedulerSettings {
    if raw.tick_ms == 0 || raw.batch == 0 {
        problems.push("scheduler: tick_ms and batch must be at least 1".to_owned());
    }
    SchedulerSettings {
        tick: Duration::from_millis(raw.tick_ms),
        batch: raw.batch,
    }
}

/// The longest retention accepted: 100 years (past it, 0 means "keep everything").
const MAX_RETENTION_DAYS: u32 = 36_500;

pub(super) fn validate_retention(
    raw: RawRetention,
    problems: &mut Vec<String>,
) -> RetentionSettings {
    if raw.days > MAX_RETENTION_DAYS {
        problems.push(format!(
            "retention.days: at most {MAX_RETENTION_DAYS} (0 keeps history without limit)"
        ));
    }
    if raw.batch == 0 || raw.interval_secs == 0 {
        problems.push("retention: batch and interval_secs must be at least 1".to_owned());
    }
    RetentionSettings {
        keep: (raw.days > 0).then(|| Duration::from_secs(u64::from(raw.days) * 86_400)),
        batch: raw.batch,
        interval: Duration::from_secs(raw.interval_secs),
    }
}

pub(super) fn validate_log(raw: RawLog, problems: &mut Vec<String>) -> LogFormat {
    LogFormat::parse(&raw.format).unwrap_or_else(|| {
        problems.push(format!(
            "log.format: expected `text` or `json`, found {:?}",
            raw.format
        ));
        LogFormat::Text
    })
}

#[cfg(test)]
mod tests {
    use crate::settings::{LogFormat, Settings};
    use std::time::Duration;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_follow_the_design() {
        let settings = Settings::load(None, env(&[])).unwrap();
        assert_eq!(settings.worker.lease, Duration::from_secs(30));
        assert_eq!(settings.worker.heartbeat, Duration::from_secs(10));
        assert_eq!(settings.worker.reaper, Duration::from_secs(5));
        assert_eq!(settings.worker.max_attempts, 3);
        assert_eq!(settings.scheduler.tick, Duration::from_secs(1));
        assert_eq!(
            settings.retention,
            ingest_engine::RetentionSettings::default()
        );
        assert_eq!(settings.log_format, LogFormat::Text);
    }

    #[test]
    fn overrides_and_problems() {
        let settings = Settings::load(
            None,
            env(&[
                ("INGESTION__WORKER__CONCURRENCY", "16"),
                ("INGESTION__LOG__FORMAT", "json"),
            ]),
        )
        .unwrap();
        assert_eq!(settings.worker.concurrency, 16);
        assert_eq!(settings.log_format, LogFormat::Json);
        let error = Settings::load(
            None,
            env(&[
                ("INGESTION__WORKER__HEARTBEAT_MS", "20000"),
                ("INGESTION__WORKER__CONCURRENCY", "0"),
                ("INGESTION__LOG__FORMAT", "xml"),
            ]),
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("worker.heartbeat_ms"), "{error}");
        assert!(error.contains("worker.concurrency"), "{error}");
        assert!(error.contains("log.format"), "{error}");
    }
}

//! Settings: the embedded `config/default.toml`, then `--config FILE`, then
//! `INGESTION__SECTION__KEY` environment variables; parsed strictly, then validated, with every
//! problem reported at once.

use std::path::Path;
use std::time::Duration;

use ingest_algolia::{PushSettings, TransportSettings, WaitPolicy};
use ingest_connectors::http::HttpSettings;
use ingest_connectors::http::url_policy::UrlPolicy;
use ingest_core::BatchLimits;
use serde::Deserialize;
use toml::{Table, Value};

/// The embedded defaults.
pub const DEFAULT_TOML: &str = include_str!("../../config/default.toml");

const ENV_PREFIX: &str = "INGESTION__";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    batch: RawBatch,
    sources: RawSources,
    algolia: RawAlgolia,
    push: RawPush,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAlgolia {
    hosts: Vec<String>,
    connect_timeout_ms: u64,
    read_timeout_ms: u64,
    write_timeout_ms: u64,
    host_down_for_ms: u64,
    max_attempts: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPush {
    in_flight: usize,
    wait_max_polls: u32,
    wait_step_ms: u64,
    wait_max_delay_ms: u64,
    max_rejection_events: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBatch {
    max_records: usize,
    max_bytes: usize,
    max_record_bytes: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSources {
    allow_networks: Vec<String>,
    connect_timeout_ms: u64,
    read_timeout_ms: u64,
    max_retries: usize,
    max_decompressed_bytes: u64,
}

/// Validated settings.
#[derive(Clone, Debug)]
pub struct Settings {
    /// When batches close, and the record size limit.
    pub batch: BatchLimits,
    /// Which networks sources may reach.
    pub url_policy: UrlPolicy,
    /// How source requests behave.
    pub http: HttpSettings,
    /// How Algolia is reached.
    pub algolia: TransportSettings,
    /// How records are pushed (the batch limits included).
    pub push: PushSettings,
}

/// Settings that could not be loaded: every problem found.
#[derive(Debug, thiserror::Error)]
#[error("invalid settings: {}", .problems.join("; "))]
pub struct SettingsError {
    /// One line per problem, naming the setting.
    pub problems: Vec<String>,
}

impl Settings {
    /// Loads the defaults, then `file`, then the `INGESTION__*` variables of `env`.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, SettingsError> {
        let mut problems = Vec::new();
        let mut table: Table = DEFAULT_TOML.parse().map_err(|error| SettingsError {
            problems: vec![format!("embedded defaults: {error}")],
        })?;
        if let Some(file) = file {
            match std::fs::read_to_string(file) {
                Ok(text) => match text.parse::<Table>() {
                    Ok(overrides) => merge(&mut table, overrides),
                    Err(error) => problems.push(format!("{}: {error}", file.display())),
                },
                Err(error) => problems.push(format!("{}: {error}", file.display())),
            }
        }
        for (key, value) in env {
            if let Some(path) = key.strip_prefix(ENV_PREFIX)
                && let Err(problem) = apply_env(&mut table, path, &value)
            {
                problems.push(format!("{key}: {problem}"));
            }
        }
        let raw: Option<RawSettings> = match Value::Table(table).try_into() {
            Ok(raw) => Some(raw),
            Err(error) => {
                problems.push(error.to_string().trim().replace('\n', " "));
                None
            }
        };
        let settings = raw.and_then(|raw| validate(raw, &mut problems));
        match settings {
            Some(settings) if problems.is_empty() => Ok(settings),
            _ => Err(SettingsError { problems }),
        }
    }
}

fn validate(raw: RawSettings, problems: &mut Vec<String>) -> Option<Settings> {
    let batch = BatchLimits::new(
        raw.batch.max_records,
        raw.batch.max_bytes,
        raw.batch.max_record_bytes,
    )
    .map_err(|error| problems.push(format!("batch: {error}")))
    .ok();
    let url_policy = UrlPolicy::new(&raw.sources.allow_networks)
        .map_err(|error| problems.push(format!("sources.allow_networks: {error}")))
        .ok();
    if raw.sources.connect_timeout_ms == 0 || raw.sources.read_timeout_ms == 0 {
        problems.push("sources: timeouts must be at least 1 ms".to_owned());
    }
    let http = HttpSettings {
        connect_timeout: Duration::from_millis(raw.sources.connect_timeout_ms),
        read_timeout: Duration::from_millis(raw.sources.read_timeout_ms),
        max_retries: raw.sources.max_retries,
        max_decompressed_bytes: raw.sources.max_decompressed_bytes,
        ..HttpSettings::default()
    };
    let algolia = validate_algolia(raw.algolia, problems);
    let push = validate_push(raw.push, problems);
    let batch = batch?;
    Some(Settings {
        batch,
        url_policy: url_policy?,
        http,
        algolia: algolia?,
        push: PushSettings {
            limits: batch,
            ..push?
        },
    })
}

fn validate_algolia(raw: RawAlgolia, problems: &mut Vec<String>) -> Option<TransportSettings> {
    let before = problems.len();
    if raw.connect_timeout_ms == 0 || raw.read_timeout_ms == 0 || raw.write_timeout_ms == 0 {
        problems.push("algolia: timeouts must be at least 1 ms".to_owned());
    }
    if raw.max_attempts == 0 {
        problems.push("algolia.max_attempts: must be at least 1".to_owned());
    }
    let hosts: Vec<String> = raw.hosts.iter().map(|h| h.trim().to_owned()).collect();
    if hosts.iter().any(String::is_empty) {
        problems.push("algolia.hosts: a host is empty".to_owned());
    }
    (problems.len() == before).then(|| TransportSettings {
        hosts: (!hosts.is_empty()).then_some(hosts),
        connect_timeout: Duration::from_millis(raw.connect_timeout_ms),
        read_timeout: Duration::from_millis(raw.read_timeout_ms),
        write_timeout: Duration::from_millis(raw.write_timeout_ms),
        host_down_for: Duration::from_millis(raw.host_down_for_ms),
        max_attempts: raw.max_attempts,
        ..TransportSettings::default()
    })
}

fn validate_push(raw: RawPush, problems: &mut Vec<String>) -> Option<PushSettings> {
    let before = problems.len();
    if raw.in_flight == 0 {
        problems.push("push.in_flight: must be at least 1".to_owned());
    }
    if raw.wait_max_polls == 0 {
        problems.push("push.wait_max_polls: must be at least 1".to_owned());
    }
    (problems.len() == before).then(|| PushSettings {
        in_flight: raw.in_flight,
        wait: WaitPolicy {
            max_polls: raw.wait_max_polls,
            step: Duration::from_millis(raw.wait_step_ms),
            max_delay: Duration::from_millis(raw.wait_max_delay_ms),
        },
        max_rejection_events: raw.max_rejection_events,
        ..PushSettings::default()
    })
}

fn merge(base: &mut Table, overrides: Table) {
    for (key, value) in overrides {
        match (base.get_mut(&key), value) {
            (Some(Value::Table(base)), Value::Table(overrides)) => merge(base, overrides),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// Sets `SECTION__KEY` from an environment value, typed like the default it replaces.
fn apply_env(table: &mut Table, path: &str, value: &str) -> Result<(), String> {
    let lower = path.to_ascii_lowercase();
    let (section, key) = lower
        .split_once("__")
        .ok_or_else(|| "expected INGESTION__SECTION__KEY".to_owned())?;
    let section_table = table
        .get_mut(section)
        .and_then(Value::as_table_mut)
        .ok_or_else(|| format!("unknown settings section `{section}`"))?;
    let current = section_table
        .get(key)
        .ok_or_else(|| format!("unknown setting `{section}.{key}`"))?;
    let typed = match current {
        Value::Array(_) => Value::Array(
            value
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(|item| Value::String(item.to_owned()))
                .collect(),
        ),
        Value::Integer(_) => Value::Integer(
            value
                .trim()
                .parse()
                .map_err(|_| format!("expected an integer, found {value:?}"))?,
        ),
        Value::Boolean(_) => Value::Boolean(
            value
                .trim()
                .parse()
                .map_err(|_| format!("expected true or false, found {value:?}"))?,
        ),
        _ => Value::String(value.to_owned()),
    };
    section_table.insert(key.to_owned(), typed);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_load() {
        let settings = Settings::load(None, env(&[])).unwrap();
        assert_eq!(settings.batch, BatchLimits::default());
        assert_eq!(settings.http.max_retries, 5);
        assert_eq!(settings.algolia, TransportSettings::default());
        assert_eq!(settings.push, PushSettings::default());
        let loopback = url::Url::parse("http://127.0.0.1:8000/x.csv").unwrap();
        assert!(settings.url_policy.check_url(&loopback).is_ok());
    }

    #[test]
    fn file_then_env_override() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "[batch]\nmax_records = 10\n").unwrap();
        let settings = Settings::load(
            Some(&file),
            env(&[
                ("INGESTION__BATCH__MAX_BYTES", "2000000"),
                ("INGESTION__SOURCES__ALLOW_NETWORKS", ""),
                ("OTHER", "ignored"),
            ]),
        )
        .unwrap();
        assert_eq!(settings.batch.max_records(), 10);
        assert_eq!(settings.batch.max_bytes(), 2_000_000);
        let loopback = url::Url::parse("http://127.0.0.1/").unwrap();
        assert!(settings.url_policy.check_url(&loopback).is_err());
    }

    #[test]
    fn algolia_hosts_from_the_environment() {
        let settings = Settings::load(
            None,
            env(&[
                (
                    "INGESTION__ALGOLIA__HOSTS",
                    "http://127.0.0.1:7700, http://127.0.0.1:7701",
                ),
                ("INGESTION__PUSH__IN_FLIGHT", "8"),
            ]),
        )
        .unwrap();
        assert_eq!(
            settings.algolia.hosts,
            Some(vec![
                "http://127.0.0.1:7700".into(),
                "http://127.0.0.1:7701".into()
            ])
        );
        assert_eq!(settings.push.in_flight, 8);
        assert_eq!(settings.push.limits, settings.batch);
        let error = Settings::load(None, env(&[("INGESTION__PUSH__IN_FLIGHT", "0")])).unwrap_err();
        assert!(error.to_string().contains("push.in_flight"), "{error}");
    }

    #[test]
    fn every_problem_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(
            &file,
            "[batch]\nmax_records = 0\n[sources]\nallow_networks = [\"x\"]\n",
        )
        .unwrap();
        let error = Settings::load(
            Some(&file),
            env(&[
                ("INGESTION__BATCH__MAX_BYTES", "lots"),
                ("INGESTION__NOPE__X", "1"),
            ]),
        )
        .unwrap_err();
        let text = error.to_string();
        assert!(
            text.contains("INGESTION__BATCH__MAX_BYTES: expected an integer"),
            "{text}"
        );
        assert!(text.contains("unknown settings section `nope`"), "{text}");
        assert!(
            text.contains("batch: batch max records must be at least 1"),
            "{text}"
        );
        assert!(text.contains("sources.allow_networks"), "{text}");
    }

    #[test]
    fn unknown_keys_in_a_file_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "[batch]\nmax_recs = 10\n").unwrap();
        let error = Settings::load(Some(&file), env(&[])).unwrap_err();
        assert!(error.to_string().contains("max_recs"), "{error}");
    }
}

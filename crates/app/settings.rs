//! Settings: the embedded `config/default.toml`, then `--config FILE`, then
//! `INGESTION__SECTION__KEY` environment variables; parsed strictly, then validated, with every
//! problem reported at once.

use std::path::Path;
use std::time::Duration;

use ingest_algolia::{PushSettings, TransportSettings};
use ingest_api::rate_limit::{Limit, RateLimitSettings};
use ingest_api::{AppCredentials, ServeSettings};
use ingest_connectors::http::HttpSettings;
use ingest_connectors::http::url_policy::UrlPolicy;
use ingest_core::{BatchLimits, Secret};
use ingest_store::SecretKey;
use serde::Deserialize;
use toml::{Table, Value};

/// The embedded defaults.
pub const DEFAULT_TOML: &str = include_str!("../../config/default.toml");

mod endpoints;
mod push;
mod worker;

pub use worker::LogFormat;
use worker::{
    RawLog, RawRetention, RawScheduler, RawWorker, validate_log, validate_retention,
    validate_scheduler, validate_worker,
};

use endpoints::{
    RawBigCommerce, RawBigQuery, RawGoogle, RawInsights, validate_endpoints, validate_insights,
    webhook_client_secret,
};
use ingest_connectors::Endpoints;
use push::{RawAlgolia, RawPush, validate_algolia, validate_push, validate_pushes};

const ENV_PREFIX: &str = "INGESTION__";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    batch: RawBatch,
    sources: RawSources,
    server: RawServer,
    auth: RawAuth,
    rate_limit: RawRateLimit,
    store: RawStore,
    algolia: RawAlgolia,
    push: RawPush,
    bigquery: RawBigQuery,
    google: RawGoogle,
    bigcommerce: RawBigCommerce,
    insights: RawInsights,
    worker: RawWorker,
    scheduler: RawScheduler,
    retention: RawRetention,
    validate: RawValidate,
    transform: RawTransform,
    console: RawConsole,
    log: RawLog,
}

/// `[console]`: the web console of `ingestion serve`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConsole {
    enabled: bool,
    secure_cookies: bool,
    session_idle_secs: u64,
    sign_ins_per_minute: u32,
}

fn validate_console(
    raw: &RawConsole,
    problems: &mut Vec<String>,
) -> ingest_console::ConsoleSettings {
    if !(60..=30 * 86_400).contains(&raw.session_idle_secs) {
        problems.push("console.session_idle_secs: from 60 to 2592000 (30 days)".to_owned());
    }
    if !(1..=10_000).contains(&raw.sign_ins_per_minute) {
        problems.push("console.sign_ins_per_minute: from 1 to 10000".to_owned());
    }
    ingest_console::ConsoleSettings {
        enabled: raw.enabled,
        secure_cookies: raw.secure_cookies,
        session_idle: Duration::from_secs(raw.session_idle_secs),
        sign_ins_per_minute: raw.sign_ins_per_minute,
    }
}

/// `[transform]`: the limits of JavaScript transformations (`docs/api.md` D5).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTransform {
    max_ms_per_record: u64,
    max_memory_mib: usize,
    max_log_lines: usize,
    threads: usize,
}

fn validate_transform(
    raw: &RawTransform,
    problems: &mut Vec<String>,
) -> ingest_engine::TransformSettings {
    if !(1..=60_000).contains(&raw.max_ms_per_record) {
        problems.push("transform.max_ms_per_record: from 1 to 60000".to_owned());
    }
    if !(1..=4096).contains(&raw.max_memory_mib) {
        problems.push("transform.max_memory_mib: from 1 to 4096".to_owned());
    }
    if raw.max_log_lines > 10_000 {
        problems.push("transform.max_log_lines: at most 10000".to_owned());
    }
    if raw.threads > 256 {
        problems.push("transform.threads: at most 256 (0 uses every core)".to_owned());
    }
    let defaults = ingest_engine::TransformSettings::default();
    ingest_engine::TransformSettings {
        limits: ingest_engine::transformation::Limits {
            max_ms_per_record: raw.max_ms_per_record,
            max_memory_bytes: raw.max_memory_mib * 1024 * 1024,
            max_log_lines: raw.max_log_lines,
            ..defaults.limits
        },
        threads: if raw.threads == 0 {
            defaults.threads
        } else {
            raw.threads
        },
    }
}

/// `[validate]`: how `POST /1/sources/validate` reads a source (`docs/api.md` D6).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawValidate {
    sample: usize,
    max_secs: u64,
}

/// What a source validation reads at most.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValidateSettings {
    /// Records read and returned.
    pub sample: usize,
    /// Time spent reading.
    pub max_time: Duration,
}

/// The largest `[validate] sample` and `max_secs` accepted.
const MAX_VALIDATE_SAMPLE: usize = 1_000;
const MAX_VALIDATE_SECS: u64 = 600;

fn validate_validate(raw: &RawValidate, problems: &mut Vec<String>) -> ValidateSettings {
    if !(1..=MAX_VALIDATE_SAMPLE).contains(&raw.sample) {
        problems.push(format!(
            "validate.sample: from 1 to {MAX_VALIDATE_SAMPLE} records"
        ));
    }
    if !(1..=MAX_VALIDATE_SECS).contains(&raw.max_secs) {
        problems.push(format!(
            "validate.max_secs: from 1 to {MAX_VALIDATE_SECS} seconds"
        ));
    }
    ValidateSettings {
        sample: raw.sample,
        max_time: Duration::from_secs(raw.max_secs),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    header_read_timeout_ms: u64,
    request_timeout_ms: u64,
    max_body_bytes: usize,
    shutdown_grace_ms: u64,
    cors_origins: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApp {
    app_id: String,
    api_key: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAuth {
    app_id: String,
    api_key: String,
    apps: Vec<RawApp>,
}

// Hand-written so that no key can reach a log through `{:?}`.
impl std::fmt::Debug for RawAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawAuth")
            .field("app_id", &self.app_id)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRateLimit {
    requests: u32,
    period_secs: u64,
    runs_requests: u32,
    runs_period_secs: u64,
    trusted_proxies: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStore {
    url: String,
    secret_key: String,
}

impl std::fmt::Debug for RawStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RawStore { url: ***, secret_key: *** }")
    }
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
    stall_window_ms: u64,
    stall_floor_bytes: u64,
    proxy: Secret<String>,
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
    /// The API server (`ingestion serve`).
    pub server: ServerSettings,
    /// How Algolia is reached.
    pub algolia: TransportSettings,
    /// How records are pushed (the batch limits included).
    pub push: PushSettings,
    /// The push routes: body limit, `watch` timeout, budget per application.
    pub push_routes: ingest_api::push::PushRouteSettings,
    /// How workers apply stored pushes.
    pub push_apply: ingest_engine::PushApplySettings,
    /// Third-party API hosts that tasks do not name.
    pub endpoints: Endpoints,
    /// The BigCommerce app's client secret: connector events posted to the webhook endpoint
    /// must then be signed with it (Standard Webhooks).
    pub webhook_client_secret: Option<Secret<String>>,
    /// Insights API hosts (destination type `insights`).
    pub insights_hosts: Vec<String>,
    /// Workers: concurrency, lease, heartbeat, reaper, shutdown.
    pub worker: ingest_engine::WorkerSettings,
    /// The cron scheduler.
    pub scheduler: ingest_engine::SchedulerSettings,
    /// How long history is kept (`[retention]`).
    pub retention: ingest_engine::RetentionSettings,
    /// How source validations read (`[validate]`).
    pub validate: ValidateSettings,
    /// How transformations run (`[transform]`).
    pub transform: ingest_engine::TransformSettings,
    /// The web console (`[console]`).
    pub console: ingest_console::ConsoleSettings,
    /// How logs are written.
    pub log_format: LogFormat,
}

/// The settings of `ingestion serve`.
#[derive(Clone, Debug)]
pub struct ServerSettings {
    /// Header-read timeout and shutdown grace.
    pub serve: ServeSettings,
    /// Longest time a request may take (503 past it).
    pub request_timeout: Duration,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Origins browsers may call the API from (CORS).
    pub cors_origins: Vec<String>,
    /// Configured applications; empty means "generate credentials on first start".
    pub apps: Vec<AppCredentials>,
    /// Rate limits per client IP.
    pub rate_limits: RateLimitSettings,
    /// The database URL (may hold a password); `None` means SQLite in the data directory.
    pub database_url: Option<Secret<String>>,
    /// The key encrypting secrets at rest; `None` means `<data-dir>/secret.key`.
    pub secret_key: Option<SecretKey>,
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
    if raw.sources.connect_timeout_ms == 0
        || raw.sources.read_timeout_ms == 0
        || raw.sources.stall_window_ms == 0
    {
        problems.push("sources: timeouts must be at least 1 ms".to_owned());
    }
    let http = HttpSettings {
        connect_timeout: Duration::from_millis(raw.sources.connect_timeout_ms),
        read_timeout: Duration::from_millis(raw.sources.read_timeout_ms),
        max_retries: raw.sources.max_retries,
        max_decompressed_bytes: raw.sources.max_decompressed_bytes,
        stall_window: Duration::from_millis(raw.sources.stall_window_ms),
        stall_floor_bytes: raw.sources.stall_floor_bytes,
        proxy: validate_proxy(raw.sources.proxy, problems),
        ..HttpSettings::default()
    };
    let server = validate_server(raw.server, raw.auth, raw.rate_limit, raw.store, problems);
    let algolia = validate_algolia(raw.algolia, problems);
    let push = validate_push(&raw.push, problems);
    let pushes = validate_pushes(&raw.push, problems);
    let endpoints = validate_endpoints(raw.bigquery, raw.google, &raw.bigcommerce, problems);
    let webhook_client_secret = webhook_client_secret(raw.bigcommerce);
    let insights_hosts = validate_insights(raw.insights, problems);
    let worker = validate_worker(raw.worker, problems);
    let scheduler = validate_scheduler(raw.scheduler, problems);
    let retention = validate_retention(raw.retention, problems);
    let validate = validate_validate(&raw.validate, problems);
    let transform = validate_transform(&raw.transform, problems);
    let console = validate_console(&raw.console, problems);
    let log_format = validate_log(raw.log, problems);
    let batch = batch?;
    Some(Settings {
        batch,
        url_policy: url_policy?,
        http,
        server: server?,
        algolia: algolia?,
        push: PushSettings {
            limits: batch,
            ..push?
        },
        push_routes: pushes?.0,
        push_apply: pushes?.1,
        endpoints,
        webhook_client_secret,
        insights_hosts,
        worker,
        scheduler,
        retention,
        validate,
        transform,
        console,
        log_format,
    })
}

/// `[sources] proxy`: empty for none, else an `http://` or `https://` URL (never echoed: it may
/// hold credentials).
fn validate_proxy(proxy: Secret<String>, problems: &mut Vec<String>) -> Option<Secret<String>> {
    let text = proxy.expose().trim();
    if text.is_empty() {
        return None;
    }
    let valid = url::Url::parse(text)
        .is_ok_and(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some());
    if !valid {
        problems.push("sources.proxy: must be an http:// or https:// URL (or empty)".to_owned());
        return None;
    }
    Some(Secret::new(text.to_owned()))
}

fn validate_server(
    server: RawServer,
    auth: RawAuth,
    rate: RawRateLimit,
    store: RawStore,
    problems: &mut Vec<String>,
) -> Option<ServerSettings> {
    let before = problems.len();
    if server.header_read_timeout_ms == 0 || server.request_timeout_ms == 0 {
        problems.push("server: timeouts must be at least 1 ms".to_owned());
    }
    if server.max_body_bytes == 0 {
        problems.push("server.max_body_bytes: must be at least 1".to_owned());
    }
    for origin in &server.cors_origins {
        if !is_origin(origin) {
            problems.push(format!(
                "server.cors_origins: `{origin}` is not an origin (`https://host` or `http://host:port`, no path)"
            ));
        }
    }
    let mut apps = Vec::new();
    match (auth.app_id.trim().is_empty(), auth.api_key.is_empty()) {
        (true, true) => {}
        (false, false) => apps.push(AppCredentials {
            app_id: auth.app_id.trim().to_owned(),
            api_key: Secret::new(auth.api_key),
        }),
        (true, false) => problems.push("auth.app_id: required when auth.api_key is set".to_owned()),
        (false, true) => problems.push("auth.api_key: required when auth.app_id is set".to_owned()),
    }
    for (i, app) in auth.apps.into_iter().enumerate() {
        if app.app_id.trim().is_empty() || app.api_key.is_empty() {
            problems.push(format!(
                "auth.apps[{i}]: app_id and api_key must not be empty"
            ));
            continue;
        }
        apps.push(AppCredentials {
            app_id: app.app_id.trim().to_owned(),
            api_key: Secret::new(app.api_key),
        });
    }
    for (i, app) in apps.iter().enumerate() {
        if apps[..i].iter().any(|other| other.app_id == app.app_id) {
            problems.push(format!(
                "auth: application `{}` is configured twice",
                app.app_id
            ));
        }
    }
    if rate.requests == 0 || rate.runs_requests == 0 {
        problems.push("rate_limit: requests must be at least 1".to_owned());
    }
    if rate.period_secs == 0 || rate.runs_period_secs == 0 {
        problems.push("rate_limit: periods must be at least 1 s".to_owned());
    }
    let mut trusted_proxies = Vec::new();
    for entry in &rate.trusted_proxies {
        let parsed = entry
            .parse::<ipnet::IpNet>()
            .or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from));
        match parsed {
            Ok(net) => trusted_proxies.push(net),
            Err(_) => problems.push(format!(
                "rate_limit.trusted_proxies: `{entry}` is not an IP address or CIDR"
            )),
        }
    }
    let secret_key = match store.secret_key.trim() {
        "" => None,
        text => SecretKey::parse(text)
            .map_err(|error| problems.push(format!("store.secret_key: {error}")))
            .ok(),
    };
    if problems.len() > before {
        return None;
    }
    let url = store.url.trim();
    Some(ServerSettings {
        serve: ServeSettings {
            header_read_timeout: Duration::from_millis(server.header_read_timeout_ms),
            shutdown_grace: Duration::from_millis(server.shutdown_grace_ms),
        },
        request_timeout: Duration::from_millis(server.request_timeout_ms),
        max_body_bytes: server.max_body_bytes,
        cors_origins: server.cors_origins,
        apps,
        rate_limits: RateLimitSettings {
            general: Limit {
                requests: rate.requests,
                period: Duration::from_secs(rate.period_secs),
            },
            runs: Limit {
                requests: rate.runs_requests,
                period: Duration::from_secs(rate.runs_period_secs),
            },
            trusted_proxies,
        },
        database_url: (!url.is_empty()).then(|| Secret::new(url.to_owned())),
        secret_key,
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
mod tests;

/// Whether `text` is a web origin: `http` or `https`, a host, an optional port, nothing else.
fn is_origin(text: &str) -> bool {
    let Some(rest) = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
    else {
        return false;
    };
    !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

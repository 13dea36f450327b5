//! The `[algolia]` and `[push]` sections: how Algolia is reached and how records are pushed.

use std::time::Duration;

use ingest_algolia::{Compression, PushSettings, TransportSettings, WaitPolicy};
use ingest_api::Limit;
use ingest_api::push::PushRouteSettings;
use ingest_engine::PushApplySettings;
use serde::Deserialize;

/// The largest `push.max_in_flight`: each batch on the wire holds its body (up to
/// `batch.max_bytes`) in memory.
const MAX_IN_FLIGHT: usize = 256;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAlgolia {
    hosts: Vec<String>,
    connect_timeout_ms: u64,
    read_timeout_ms: u64,
    write_timeout_ms: u64,
    host_down_for_ms: u64,
    max_attempts: u32,
    compression: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPush {
    in_flight: usize,
    max_in_flight: usize,
    wait_max_polls: u32,
    wait_step_ms: u64,
    wait_max_delay_ms: u64,
    max_rejection_events: usize,
    appliers: usize,
    max_body_bytes: usize,
    watch_timeout_secs: u64,
    run_idle_secs: u64,
    run_max_age_secs: u64,
    rate_limit_requests: u32,
    rate_limit_period_ms: u64,
}

/// The push routes' body limit: Algolia's own, 5 MB.
const MAX_PUSH_BODY_BYTES: usize = 5_000_000;

/// The push routes (`docs/api.md` D4) and how workers apply pushes.
pub(super) fn validate_pushes(
    raw: &RawPush,
    problems: &mut Vec<String>,
) -> Option<(PushRouteSettings, PushApplySettings)> {
    let before = problems.len();
    if raw.appliers == 0 {
        problems.push("push.appliers: must be at least 1".to_owned());
    }
    if raw.max_body_bytes == 0 || raw.max_body_bytes > MAX_PUSH_BODY_BYTES {
        problems.push(format!(
            "push.max_body_bytes: 1 to {MAX_PUSH_BODY_BYTES}, got {}",
            raw.max_body_bytes
        ));
    }
    if raw.run_idle_secs == 0 || raw.run_max_age_secs == 0 {
        problems.push("push.run_idle_secs and push.run_max_age_secs: at least 1".to_owned());
    }
    if raw.rate_limit_requests == 0 || raw.rate_limit_period_ms == 0 {
        problems.push("push.rate_limit_requests and _period_ms: at least 1".to_owned());
    }
    (problems.len() == before).then(|| {
        (
            PushRouteSettings {
                max_body_bytes: raw.max_body_bytes,
                watch_timeout: Duration::from_secs(raw.watch_timeout_secs),
                rate: Limit {
                    requests: raw.rate_limit_requests,
                    period: Duration::from_millis(raw.rate_limit_period_ms),
                },
            },
            PushApplySettings {
                appliers: raw.appliers,
                run_idle: Duration::from_secs(raw.run_idle_secs),
                run_max_age: Duration::from_secs(raw.run_max_age_secs),
                ..PushApplySettings::default()
            },
        )
    })
}

pub(super) fn validate_algolia(
    raw: RawAlgolia,
    problems: &mut Vec<String>,
) -> Option<TransportSettings> {
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
    let compression = Compression::parse(raw.compression.trim());
    if compression.is_none() {
        problems.push(format!(
            "algolia.compression: expected `none` or `gzip`, got `{}`",
            raw.compression
        ));
    }
    (problems.len() == before).then(|| TransportSettings {
        hosts: (!hosts.is_empty()).then_some(hosts),
        connect_timeout: Duration::from_millis(raw.connect_timeout_ms),
        read_timeout: Duration::from_millis(raw.read_timeout_ms),
        write_timeout: Duration::from_millis(raw.write_timeout_ms),
        host_down_for: Duration::from_millis(raw.host_down_for_ms),
        max_attempts: raw.max_attempts,
        compression: compression.unwrap_or_default(),
        ..TransportSettings::default()
    })
}

pub(super) fn validate_push(raw: &RawPush, problems: &mut Vec<String>) -> Option<PushSettings> {
    let before = problems.len();
    if raw.in_flight == 0 {
        problems.push("push.in_flight: must be at least 1".to_owned());
    }
    if raw.max_in_flight < raw.in_flight {
        problems.push(format!(
            "push.max_in_flight: must be at least push.in_flight ({}), got {}",
            raw.in_flight, raw.max_in_flight
        ));
    }
    if raw.max_in_flight > MAX_IN_FLIGHT {
        problems.push(format!(
            "push.max_in_flight: at most {MAX_IN_FLIGHT} batches per application, got {}",
            raw.max_in_flight
        ));
    }
    if raw.wait_max_polls == 0 {
        problems.push("push.wait_max_polls: must be at least 1".to_owned());
    }
    (problems.len() == before).then(|| PushSettings {
        in_flight: raw.in_flight,
        max_in_flight: raw.max_in_flight,
        wait: WaitPolicy {
            max_polls: raw.wait_max_polls,
            step: Duration::from_millis(raw.wait_step_ms),
            max_delay: Duration::from_millis(raw.wait_max_delay_ms),
        },
        max_rejection_events: raw.max_rejection_events,
        ..PushSettings::default()
    })
}

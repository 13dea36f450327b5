//! `[bigquery]`, `[google]`, `[bigcommerce]` and `[insights]`: the third-party hosts a task does
//! not name, configurable for private deployments and tests.

use ingest_connectors::Endpoints;
use ingest_core::Secret;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBigQuery {
    api_base: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGoogle {
    token_url: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBigCommerce {
    api_base: String,
    webhook_client_secret: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawInsights {
    hosts: Vec<String>,
}

fn base_url(setting: &str, value: &str, problems: &mut Vec<String>) -> String {
    let trimmed = value.trim().trim_end_matches('/').to_owned();
    match url::Url::parse(&trimmed) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {}
        _ => problems.push(format!(
            "{setting}: expected an http(s) URL, found {value:?}"
        )),
    }
    trimmed
}

pub(super) fn validate_endpoints(
    bigquery: RawBigQuery,
    google: RawGoogle,
    bigcommerce: &RawBigCommerce,
    problems: &mut Vec<String>,
) -> Endpoints {
    Endpoints {
        bigquery_api_base: base_url("bigquery.api_base", &bigquery.api_base, problems),
        google_token_url: base_url("google.token_url", &google.token_url, problems),
        bigcommerce_api_base: base_url("bigcommerce.api_base", &bigcommerce.api_base, problems),
    }
}

/// The BigCommerce app's client secret that webhooks are verified with; `None` when empty.
pub(super) fn webhook_client_secret(bigcommerce: RawBigCommerce) -> Option<Secret<String>> {
    let secret = bigcommerce.webhook_client_secret.trim();
    (!secret.is_empty()).then(|| Secret::new(secret.to_owned()))
}

pub(super) fn validate_insights(insights: RawInsights, problems: &mut Vec<String>) -> Vec<String> {
    if insights.hosts.is_empty() {
        problems.push("insights.hosts: at least one host is needed".to_owned());
    }
    insights
        .hosts
        .iter()
        .map(|host| base_url("insights.hosts", host, problems))
        .collect()
}

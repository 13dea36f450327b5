//! BigCommerce product webhooks (`docs/connectors.md` §2.8) for `subscription` runs.
//!
//! Two steps, in two places:
//!
//! 1. **Verification, where the webhook is received** (the receiver has the headers and the raw
//!    body; a run only gets the parsed payload): [`verify_webhook`] checks either the custom
//!    secret header set when the hook was created (compared in constant time), or a Standard
//!    Webhooks signature (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64
//!    HMAC-SHA256("{id}.{timestamp}.{body}")>` keyed with the app's client secret, the
//!    timestamp within five minutes). The receiver also de-duplicates on the payload's `hash`.
//! 2. **Acting, in the run**: the verified payload is the run's
//!    [`SourceContext::trigger_event`](crate::SourceContext::trigger_event); [`ProductEvent::
//!    from_payload`] reads it, and the source refuses an event of another store (`producer`).

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::header::HeaderMap;
use serde_json::Value;
use sha2::Sha256;

/// How far a signed webhook's timestamp may be from now.
pub const SIGNATURE_TOLERANCE: Duration = Duration::from_secs(300);

/// What a webhook is verified with.
#[derive(Clone)]
pub enum WebhookSecret {
    /// A custom header given when the hook was created (`headers` of `POST /v3/hooks`).
    Header {
        /// The header's name, e.g. `X-Webhook-Secret`.
        name: String,
        /// Its expected value.
        value: String,
    },
    /// A Standard Webhooks signature keyed with the app's client secret (its raw bytes).
    Signature {
        /// The app's client secret.
        client_secret: String,
    },
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WebhookSecret::Header { name, .. } => write!(f, "Header({name}: ***)"),
            WebhookSecret::Signature { .. } => f.write_str("Signature(***)"),
        }
    }
}

/// Why a webhook was refused (answer 401, start no run).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// The secret header is missing or wrong, or the signature does not match.
    #[error("bigcommerce webhook: the {0} does not match")]
    Unverified(&'static str),
    /// The signed timestamp is too old or in the future (a replay).
    #[error("bigcommerce webhook: the timestamp is more than five minutes away from now")]
    Stale,
    /// The body is not a product event.
    #[error("bigcommerce webhook: {0}")]
    Payload(String),
}

/// What happened to which product.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductEvent {
    /// The product id.
    pub product_id: u64,
    /// Whether the product was deleted (else created or updated: fetch it).
    pub deleted: bool,
    /// `producer` (`stores/{store_hash}`), when the payload has one.
    pub producer: Option<String>,
    /// The payload's `hash`, for de-duplication.
    pub hash: Option<String>,
}

impl ProductEvent {
    /// Reads a product webhook payload: `Ok(None)` when it is not a BigCommerce product event at
    /// all (no `store/product/…` scope), an error when it claims to be one but is malformed or
    /// of a scope this connector does not act on.
    pub fn from_payload(payload: &Value) -> Result<Option<Self>, WebhookError> {
        let Some(scope) = payload.get("scope").and_then(Value::as_str) else {
            return Ok(None);
        };
        let Some(action) = scope.strip_prefix("store/product/") else {
            return Ok(None);
        };
        let deleted = match action {
            "deleted" => true,
            "created" | "updated" | "inventory/updated" | "inventory/order/updated" => false,
            other => {
                return Err(WebhookError::Payload(format!(
                    "scope `store/product/{other}` is not handled (use store/product/created, updated or deleted)"
                )));
            }
        };
        let data = payload.get("data");
        let product_id = data
            .and_then(|data| data.get("id"))
            .and_then(Value::as_u64)
            .ok_or_else(|| {
                WebhookError::Payload(format!("`{scope}` event without a numeric `data.id`"))
            })?;
        if let Some(kind) = data
            .and_then(|data| data.get("type"))
            .and_then(Value::as_str)
            && kind != "product"
        {
            return Err(WebhookError::Payload(format!(
                "`{scope}` event about a `{kind}`, not a product"
            )));
        }
        Ok(Some(Self {
            product_id,
            deleted,
            producer: payload
                .get("producer")
                .and_then(Value::as_str)
                .map(str::to_owned),
            hash: payload
                .get("hash")
                .and_then(Value::as_str)
                .map(str::to_owned),
        }))
    }
}

/// Verifies a received webhook (`headers`, raw `body`) with `secret` at `now`, and reads its
/// product event. Call it where webhooks are received, before starting a run with the payload.
pub fn verify_webhook(
    headers: &HeaderMap,
    body: &[u8],
    secret: &WebhookSecret,
    now: SystemTime,
) -> Result<ProductEvent, WebhookError> {
    match secret {
        WebhookSecret::Header { name, value } => {
            let given = headers
                .get(name.as_str())
                .map(|given| given.as_bytes())
                .unwrap_or_default();
            if !constant_time_eq(given, value.as_bytes()) {
                return Err(WebhookError::Unverified("secret header"));
            }
        }
        WebhookSecret::Signature { client_secret } => {
            verify_signature(headers, body, client_secret.as_bytes(), now)?;
        }
    }
    let payload: Value = serde_json::from_slice(body)
        .map_err(|error| WebhookError::Payload(format!("the body is not JSON: {error}")))?;
    ProductEvent::from_payload(&payload)?
        .ok_or_else(|| WebhookError::Payload("not a store/product event".into()))
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<&'a str, WebhookError> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .ok_or(WebhookError::Unverified("signature"))
}

/// Verifies a Standard Webhooks signature (`webhook-id`, `webhook-timestamp` within five minutes
/// of `now`, `webhook-signature` holding a matching `v1,…`) of the raw `body`, keyed with `key`
/// (the app's client secret, its raw bytes).
pub fn verify_signature(
    headers: &HeaderMap,
    body: &[u8],
    key: &[u8],
    now: SystemTime,
) -> Result<(), WebhookError> {
    let id = header(headers, "webhook-id")?;
    let timestamp = header(headers, "webhook-timestamp")?;
    let signatures = header(headers, "webhook-signature")?;
    let seconds: u64 = timestamp
        .trim()
        .parse()
        .map_err(|_| WebhookError::Unverified("signature"))?;
    // A timestamp past what the clock can hold is as stale as one far in the past.
    let sent = SystemTime::UNIX_EPOCH
        .checked_add(Duration::from_secs(seconds))
        .ok_or(WebhookError::Stale)?;
    let skew = now
        .duration_since(sent)
        .unwrap_or_else(|error| error.duration());
    if skew > SIGNATURE_TOLERANCE {
        return Err(WebhookError::Stale);
    }
    let expected = sign(key, id, timestamp, body);
    let matches = signatures
        .split(' ')
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .any(|given| constant_time_eq(given.as_bytes(), expected.as_bytes()));
    if matches {
        Ok(())
    } else {
        Err(WebhookError::Unverified("signature"))
    }
}

/// The Standard Webhooks `v1` signature (base64) of a body.
pub fn sign(key: &[u8], id: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    STANDARD.encode(mac.finalize().into_bytes())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

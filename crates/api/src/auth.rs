//! Authentication: every request under `/1/` carries `X-Algolia-Application-Id` and
//! `X-Algolia-API-Key`; the pair must match one configured application.
//!
//! Keys are never kept in memory in clear: [`AppKeys`] holds SHA-256 digests of the application
//! IDs and admin keys, and a request's pair is hashed and compared in constant time against
//! every configured application (no early exit, so timing does not tell which part was wrong).
//! Every failure is the same 403 body ([`crate::error::FORBIDDEN_MESSAGE`]).

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use ingest_core::Secret;
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

use crate::error::ApiError;

/// The application header.
pub const APP_ID_HEADER: &str = "x-algolia-application-id";
/// The API key header.
pub const API_KEY_HEADER: &str = "x-algolia-api-key";

/// Longest header value we hash; longer values fail like any wrong value.
const MAX_CREDENTIAL_LEN: usize = 1024;

/// An application and its admin key, as configured.
#[derive(Debug, Clone)]
pub struct AppCredentials {
    /// The application ID (`X-Algolia-Application-Id`).
    pub app_id: String,
    /// The admin API key (`X-Algolia-API-Key`).
    pub api_key: Secret<String>,
}

/// The application a request was authenticated as: resources belong to it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AppId(pub String);

#[derive(Clone)]
struct Entry {
    app_id: String,
    app_digest: [u8; 32],
    key_digest: [u8; 32],
}

/// The configured applications, by digest.
#[derive(Clone, Default)]
pub struct AppKeys {
    entries: Vec<Entry>,
}

impl std::fmt::Debug for AppKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppKeys")
            .field(
                "apps",
                &self.entries.iter().map(|e| &e.app_id).collect::<Vec<_>>(),
            )
            .finish()
    }
}

fn digest(value: &[u8]) -> [u8; 32] {
    Sha256::digest(value).into()
}

impl AppKeys {
    /// Keys for these applications.
    pub fn new(apps: &[AppCredentials]) -> Self {
        Self {
            entries: apps
                .iter()
                .map(|app| Entry {
                    app_id: app.app_id.clone(),
                    app_digest: digest(app.app_id.as_bytes()),
                    key_digest: digest(app.api_key.expose().as_bytes()),
                })
                .collect(),
        }
    }

    /// The application whose ID and key are these, if any. Takes the same time whichever part
    /// is wrong and whichever application matches.
    pub fn verify(&self, app_id: &[u8], api_key: &[u8]) -> Option<AppId> {
        let app_digest = digest(app_id);
        let key_digest = digest(api_key);
        let mut found: Option<&Entry> = None;
        for entry in &self.entries {
            let hit: Choice =
                entry.app_digest.ct_eq(&app_digest) & entry.key_digest.ct_eq(&key_digest);
            if bool::from(hit) && found.is_none() {
                found = Some(entry);
            }
        }
        found.map(|entry| AppId(entry.app_id.clone()))
    }

    /// Checks the credential headers of a request.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<AppId, ApiError> {
        let value = |name: &str| {
            headers
                .get(name)
                .map(|v| v.as_bytes())
                .filter(|v| !v.is_empty() && v.len() <= MAX_CREDENTIAL_LEN)
        };
        let (Some(app_id), Some(api_key)) = (value(APP_ID_HEADER), value(API_KEY_HEADER)) else {
            return Err(ApiError::Forbidden);
        };
        self.verify(app_id, api_key).ok_or(ApiError::Forbidden)
    }
}

/// Middleware: authenticates the request and stores its [`AppId`] in the extensions.
pub async fn require_app(
    State(keys): State<std::sync::Arc<AppKeys>>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let app = keys.authenticate(req.headers())?;
    req.extensions_mut().insert(app);
    Ok(next.run(req).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> AppKeys {
        AppKeys::new(&[
            AppCredentials {
                app_id: "APP1".into(),
                api_key: Secret::new("key-one".into()),
            },
            AppCredentials {
                app_id: "APP2".into(),
                api_key: Secret::new("key-two".into()),
            },
        ])
    }

    #[test]
    fn pairs_must_match_one_app() {
        let keys = keys();
        assert_eq!(keys.verify(b"APP1", b"key-one"), Some(AppId("APP1".into())));
        assert_eq!(keys.verify(b"APP2", b"key-two"), Some(AppId("APP2".into())));
        assert_eq!(keys.verify(b"APP1", b"key-two"), None);
        assert_eq!(keys.verify(b"APP3", b"key-one"), None);
        assert_eq!(keys.verify(b"", b""), None);
        assert!(!format!("{keys:?}").contains("key-one"));
    }

    #[test]
    fn headers_missing_empty_or_huge_fail_alike() {
        let keys = keys();
        let mut headers = HeaderMap::new();
        assert!(keys.authenticate(&headers).is_err());
        headers.insert(APP_ID_HEADER, "APP1".parse().unwrap());
        headers.insert(API_KEY_HEADER, "".parse().unwrap());
        assert!(keys.authenticate(&headers).is_err());
        headers.insert(API_KEY_HEADER, "k".repeat(10_000).parse().unwrap());
        assert!(keys.authenticate(&headers).is_err());
        headers.insert(API_KEY_HEADER, "key-one".parse().unwrap());
        assert_eq!(keys.authenticate(&headers).unwrap(), AppId("APP1".into()));
    }
}

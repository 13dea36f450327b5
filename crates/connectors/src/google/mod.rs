//! Google service-account authentication (`googleServiceAccount`).
//!
//! The OAuth 2 JWT-bearer flow: the account signs a one-hour JWT assertion (RS256, `iss` = the
//! account's email, `aud` = the token endpoint, `scope`) with its private key and exchanges it
//! at the token endpoint for an access token. [`GoogleTokens`] caches the token and renews it a
//! minute before it expires; a caller whose request was refused with 401 mid-run
//! [invalidates](GoogleTokens::invalidate) it and asks again, so one expired or revoked token
//! costs one exchange, not the run.
//!
//! Which endpoint: a token endpoint configured for this deployment (`[google] token_url`, when it
//! is not Google's default) wins; otherwise a key file's own `token_uri` when it is an `https`
//! URL on `googleapis.com`; otherwise Google's default. The private key, the assertion and the
//! access token never appear in logs, events or errors.

mod failure;
mod key;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ingest_core::{Secret, SourceError};
use serde::Deserialize;
use tokio::sync::Mutex;
use url::Url;

use crate::http::{SourceHttpClient, TOKEN_BODY_CAP, display_url, read_capped, token_lifetime};
pub(crate) use failure::Refusal;
pub use key::ServiceAccount;

/// Google's token endpoint.
pub const DEFAULT_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";

/// Tokens are renewed this long before they expire.
const EARLY_RENEWAL: Duration = Duration::from_secs(60);

/// Access tokens of one service account for one scope, cached.
#[derive(Debug)]
pub struct GoogleTokens {
    account: ServiceAccount,
    token_url: Url,
    scope: String,
    cached: Mutex<Option<(Secret<String>, Instant)>>,
}

#[derive(Deserialize)]
struct TokenResponse {
    #[serde(default)]
    access_token: Option<Secret<String>>,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

impl GoogleTokens {
    /// Tokens for `account` with `scope`, from the endpoint chosen as the module says between
    /// the configured `token_url` and the key's own.
    pub fn new(account: ServiceAccount, token_url: &str, scope: &str) -> Result<Self, String> {
        let chosen = choose_token_url(token_url, account.token_uri());
        let token_url = Url::parse(chosen).map_err(|error| {
            format!("the token endpoint `{chosen}` is not a valid URL: {error}")
        })?;
        Ok(Self {
            account,
            token_url,
            scope: scope.to_owned(),
            cached: Mutex::new(None),
        })
    }

    /// The token endpoint in use.
    pub fn token_url(&self) -> &Url {
        &self.token_url
    }

    /// The service account's email.
    pub fn client_email(&self) -> &str {
        self.account.client_email()
    }

    /// A valid access token: the cached one, or a new one when there is none or it is about to
    /// expire.
    pub async fn token(&self, http: &SourceHttpClient) -> Result<Secret<String>, SourceError> {
        let mut cached = self.cached.lock().await;
        if let Some((token, expires)) = cached.as_ref()
            && Instant::now() + EARLY_RENEWAL < *expires
        {
            return Ok(token.clone());
        }
        let (token, lifetime) = self.exchange(http).await?;
        *cached = Some((token.clone(), Instant::now() + lifetime));
        Ok(token)
    }

    /// Forgets `stale` (a token the API refused), so that the next [`token`](Self::token)
    /// fetches a new one. A token already renewed by someone else is kept.
    pub async fn invalidate(&self, stale: &Secret<String>) {
        let mut cached = self.cached.lock().await;
        if cached.as_ref().is_some_and(|(token, _)| token == stale) {
            *cached = None;
        }
    }

    async fn exchange(
        &self,
        http: &SourceHttpClient,
    ) -> Result<(Secret<String>, Duration), SourceError> {
        let shown = display_url(&self.token_url);
        let email = self.account.client_email();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_secs() as i64)
            .unwrap_or_default();
        let assertion = self
            .account
            .assertion(self.token_url.as_str(), &self.scope, now)
            .map_err(|error| {
                SourceError::new(format!("google service account {email}: {error}"))
            })?;
        let form = format!(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={assertion}"
        );
        let response = http
            .post_secret_form(&self.token_url, &form)
            .await
            .map_err(|error| self.refused(&error))?;
        let body = read_capped(
            response,
            TOKEN_BODY_CAP,
            &format!("google token endpoint {shown}"),
        )
        .await?;
        let parsed: TokenResponse = serde_json::from_slice(&body).map_err(|error| {
            SourceError::new(format!(
                "google token endpoint {shown} answered with invalid JSON ({error})"
            ))
        })?;
        match parsed {
            TokenResponse {
                access_token: Some(token),
                expires_in,
                ..
            } if !token.expose().is_empty() => Ok((token, token_lifetime(expires_in))),
            TokenResponse {
                error,
                error_description,
                ..
            } => Err(SourceError::new(format!(
                "google token endpoint {shown} gave no access token for {email}{}",
                match (error, error_description) {
                    (Some(error), Some(description)) => format!(": {error}: {description}"),
                    (Some(error), None) => format!(": {error}"),
                    (None, Some(description)) => format!(": {description}"),
                    (None, None) => String::new(),
                }
            ))),
        }
    }

    /// A token request error in words a user can act on.
    fn refused(&self, error: &SourceError) -> SourceError {
        let email = self.account.client_email();
        let shown = display_url(&self.token_url);
        let Some(refusal) = Refusal::of(error) else {
            return SourceError::new(format!(
                "google token request for {email}: {}",
                error.message()
            ));
        };
        let said = refusal.message().unwrap_or_default();
        let hint = match refusal.reason().as_deref() {
            Some("invalid_grant") => {
                "check that the private key is the current key of this service account and that the server clock is right"
            }
            Some("invalid_client") | Some("unauthorized_client") => {
                "the service account or its key no longer exists; create a new key"
            }
            _ => "check the service account's clientEmail and privateKey",
        };
        SourceError::new(format!(
            "google refused the credentials of service account {email} ({} from {shown}{}): {hint}",
            refusal.status,
            if said.is_empty() {
                String::new()
            } else {
                format!(": {said}")
            }
        ))
    }
}

/// The token endpoint to use: see the module documentation.
fn choose_token_url<'a>(configured: &'a str, from_key: Option<&'a str>) -> &'a str {
    if configured.trim_end_matches('/') != DEFAULT_TOKEN_URL {
        return configured;
    }
    match from_key.and_then(|uri| Url::parse(uri).ok().map(|url| (uri, url))) {
        Some((uri, url))
            if url.scheme() == "https"
                && url.host_str().is_some_and(|host| {
                    host == "googleapis.com" || host.ends_with(".googleapis.com")
                }) =>
        {
            uri
        }
        _ => configured,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configured_endpoint_wins_then_a_google_key_uri() {
        assert_eq!(
            choose_token_url(
                "http://127.0.0.1:9/token",
                Some("https://oauth2.googleapis.com/token")
            ),
            "http://127.0.0.1:9/token"
        );
        assert_eq!(
            choose_token_url(
                DEFAULT_TOKEN_URL,
                Some("https://oauth2.googleapis.com/token")
            ),
            "https://oauth2.googleapis.com/token"
        );
        assert_eq!(
            choose_token_url(
                DEFAULT_TOKEN_URL,
                Some("https://accounts.google.com.evil.io/token")
            ),
            DEFAULT_TOKEN_URL
        );
        assert_eq!(
            choose_token_url(
                DEFAULT_TOKEN_URL,
                Some("http://oauth2.googleapis.com/token")
            ),
            DEFAULT_TOKEN_URL
        );
        assert_eq!(choose_token_url(DEFAULT_TOKEN_URL, None), DEFAULT_TOKEN_URL);
    }
}

//! OAuth 2 client credentials: a token fetched from the authentication's `url`, cached until
//! shortly before it expires.

use std::time::{Duration, Instant};

use ingest_core::{Secret, SourceError};
use serde::Deserialize;
use tokio::sync::Mutex;
use url::Url;

use super::body::read_capped;
use super::client::{SourceHttpClient, display_url};

/// A client-credentials token source with its cache.
#[derive(Debug)]
pub struct OAuthTokens {
    token_url: Url,
    client_id: String,
    client_secret: Secret<String>,
    cached: Mutex<Option<(Secret<String>, Instant)>>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: Secret<String>,
    expires_in: Option<u64>,
}

/// Tokens are renewed this long before they expire.
const EARLY_RENEWAL: Duration = Duration::from_secs(30);

/// The largest token response read: a real one is well under 8 KiB.
pub(crate) const TOKEN_BODY_CAP: usize = 64 * 1024;

/// The longest a token is trusted, whatever the endpoint says.
const LONGEST_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// How long a token is kept: its `expires_in` (an hour when absent), at most a day, so a peer's
/// number can neither overflow a deadline nor pin a token for ever.
pub(crate) fn token_lifetime(expires_in: Option<u64>) -> Duration {
    Duration::from_secs(expires_in.unwrap_or(3600)).min(LONGEST_TOKEN_LIFETIME)
}

impl OAuthTokens {
    /// Tokens from `token_url` for this client.
    pub fn new(token_url: Url, client_id: String, client_secret: Secret<String>) -> Self {
        Self {
            token_url,
            client_id,
            client_secret,
            cached: Mutex::new(None),
        }
    }

    /// A valid token, fetched when none is cached or the cached one is about to expire.
    pub(crate) async fn token(
        &self,
        http: &SourceHttpClient,
    ) -> Result<Secret<String>, SourceError> {
        let mut cached = self.cached.lock().await;
        if let Some((token, expires)) = cached.as_ref()
            && Instant::now() + EARLY_RENEWAL < *expires
        {
            return Ok(token.clone());
        }
        let shown = display_url(&self.token_url);
        let form = format!(
            "grant_type=client_credentials&client_id={}&client_secret={}",
            form_encode(&self.client_id),
            form_encode(self.client_secret.expose())
        );
        let response = http
            .post_secret_form(&self.token_url, &form)
            .await
            .map_err(|error| {
                SourceError::new(format!("oauth token request: {}", error.message()))
            })?;
        let body = read_capped(
            response,
            TOKEN_BODY_CAP,
            &format!("oauth token request to {shown}"),
        )
        .await?;
        let token: TokenResponse = serde_json::from_slice(&body).map_err(|error| {
            SourceError::new(format!(
                "oauth token response from {shown} has no usable `access_token`: {error}"
            ))
        })?;
        *cached = Some((
            token.access_token.clone(),
            Instant::now() + token_lifetime(token.expires_in),
        ));
        Ok(token.access_token)
    }
}

/// `application/x-www-form-urlencoded` encoding of one value.
fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_lifetime_is_an_hour_by_default_and_a_day_at_most() {
        assert_eq!(token_lifetime(None), Duration::from_secs(3600));
        assert_eq!(token_lifetime(Some(120)), Duration::from_secs(120));
        assert_eq!(token_lifetime(Some(u64::MAX)), LONGEST_TOKEN_LIFETIME);
        // The deadline it makes never overflows.
        assert!(
            Instant::now()
                .checked_add(token_lifetime(Some(u64::MAX)))
                .is_some()
        );
    }
}

//! [`AlgoliaCredentials`]: the application ID and API key a destination writes with, taken from
//! its decrypted `algolia` authentication, in one place for every caller (runs, the clean-up of
//! abandoned runs, `run-task`).

use ingest_core::Secret;
use ingest_model::AuthInput;

use crate::{AlgoliaError, Transport, TransportSettings};

/// An Algolia application's ID and API key.
#[derive(Clone, Debug)]
pub struct AlgoliaCredentials {
    /// The application ID (`appID`).
    pub app_id: String,
    /// The API key (`apiKey`): it can push to an index and change its settings.
    pub api_key: Secret<String>,
}

impl AlgoliaCredentials {
    /// The credentials of an authentication input; `None` when it is not of type `algolia`.
    pub fn from_auth(input: &AuthInput) -> Option<Self> {
        match input {
            AuthInput::Algolia { app_id, api_key } => Some(Self {
                app_id: app_id.clone(),
                api_key: api_key.clone(),
            }),
            _ => None,
        }
    }

    /// A transport to this application with `settings`.
    pub fn transport(&self, settings: TransportSettings) -> Result<Transport, AlgoliaError> {
        Transport::new(&self.app_id, &self.api_key, settings)
    }
}

/// The temporary index a `replace` run writes into before it is moved onto `index`:
/// `{index}_tmp_{suffix}`. The pusher names it and the clean-up of abandoned runs finds it by
/// this one function, so the two can never drift apart.
pub fn temporary_index(index: &str, suffix: &str) -> String {
    format!("{index}_tmp_{suffix}")
}

/// The temporary-index suffix of attempt `attempt` (1, 2, ...) of run `run_id`: `{runID}_{attempt}`.
/// Each attempt writes its own index, so a batch a stale worker still sends for an earlier attempt
/// never lands in the index a later attempt moves into production (`docs/architecture.md` 4).
pub fn attempt_suffix(run_id: &str, attempt: u32) -> String {
    format!("{run_id}_{attempt}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_algolia_authentications_carry_credentials() {
        let algolia = AuthInput::Algolia {
            app_id: "APP".into(),
            api_key: Secret::new("key".into()),
        };
        let credentials = AlgoliaCredentials::from_auth(&algolia).unwrap();
        assert_eq!(credentials.app_id, "APP");
        assert_eq!(credentials.api_key.expose(), "key");
        let basic = AuthInput::Basic {
            username: "u".into(),
            password: Secret::new("p".into()),
        };
        assert!(AlgoliaCredentials::from_auth(&basic).is_none());
    }

    #[test]
    fn temporary_index_names() {
        assert_eq!(temporary_index("products", "42"), "products_tmp_42");
        assert_eq!(
            temporary_index("products", &attempt_suffix("r1", 2)),
            "products_tmp_r1_2"
        );
    }
}

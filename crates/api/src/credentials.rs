//! First-start credentials: when no application is configured, `ingestion serve` generates an
//! application ID and an admin API key and writes them to `<data-dir>/credentials.json`
//! (mode 0600); later starts read that file back. The key is never logged.

use std::io::Write;
use std::path::{Path, PathBuf};

use ingest_core::Secret;
use rand::RngExt;
use serde::{Deserialize, Serialize};

use crate::auth::AppCredentials;

/// The file name in the data directory.
pub const FILE_NAME: &str = "credentials.json";

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(rename = "appId")]
    app_id: String,
    #[serde(rename = "apiKey")]
    api_key: String,
}

/// Why the credentials file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// Reading or writing the file failed.
    #[error("cannot use {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not the JSON we write.
    #[error("{path} is not a credentials file: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong (never the key).
        reason: String,
    },
}

fn random_string(len: usize, alphabet: &[u8]) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(alphabet[rng.random_range(0..alphabet.len())]))
        .collect()
}

/// Reads `<data_dir>/credentials.json`, or creates it with fresh credentials. Returns the
/// credentials, the file's path and whether it was created now.
pub fn load_or_create(
    data_dir: &Path,
) -> Result<(AppCredentials, PathBuf, bool), CredentialsError> {
    let path = data_dir.join(FILE_NAME);
    let io = |source| CredentialsError::Io {
        path: path.clone(),
        source,
    };
    match std::fs::read(&path) {
        Ok(bytes) => {
            let file: File =
                serde_json::from_slice(&bytes).map_err(|e| CredentialsError::Invalid {
                    path: path.clone(),
                    reason: format!("line {} column {}", e.line(), e.column()),
                })?;
            if file.app_id.is_empty() || file.api_key.is_empty() {
                return Err(CredentialsError::Invalid {
                    path,
                    reason: "empty appId or apiKey".to_owned(),
                });
            }
            let creds = AppCredentials {
                app_id: file.app_id,
                api_key: Secret::new(file.api_key),
            };
            return Ok((creds, path, false));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    std::fs::create_dir_all(data_dir).map_err(io)?;
    let file = File {
        app_id: random_string(10, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"),
        api_key: random_string(32, b"0123456789abcdef"),
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut out = options.open(&path).map_err(io)?;
    let json = serde_json::to_vec_pretty(&file).map_err(|e| io(e.into()))?;
    out.write_all(&json)
        .and_then(|()| out.sync_all())
        .map_err(io)?;
    let creds = AppCredentials {
        app_id: file.app_id,
        api_key: Secret::new(file.api_key),
    };
    Ok((creds, path, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_then_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let (first, path, created) = load_or_create(dir.path()).unwrap();
        assert!(created);
        assert_eq!(first.app_id.len(), 10);
        assert_eq!(first.api_key.expose().len(), 32);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (second, _, created) = load_or_create(dir.path()).unwrap();
        assert!(!created);
        assert_eq!(second.app_id, first.app_id);
        assert_eq!(second.api_key.expose(), first.api_key.expose());
    }
}

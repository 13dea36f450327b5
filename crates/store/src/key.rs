//! [`SecretKey`]: the 32-byte key that encrypts authentication secrets at rest (`docs/api.md` C5).
//!
//! Each value is sealed with XChaCha20-Poly1305 under a fresh random 24-byte nonce and stored as
//! `v1.` + base64url(nonce ‖ ciphertext ‖ tag). The caller's associated data (the row's
//! application and ID) is authenticated, so a sealed value only opens in the row it was written
//! for. The key never enters the database: it comes from a file (`<data-dir>/secret.key`,
//! generated at first start) or from configuration (64 hex digits or base64).

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::StoreError;

const VERSION: &str = "v1.";
const NONCE_LEN: usize = 24;

/// Why a key could not be loaded, parsed or generated. Never contains key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key file could not be read or written.
    #[error("cannot {action} secret key file `{}`", path.display())]
    Io {
        /// `read` or `write`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// The text is not 32 bytes in hex or base64.
    #[error("invalid secret key: {reason}")]
    Invalid {
        /// What is wrong (never the key itself).
        reason: &'static str,
    },
    /// The operating system's random generator failed.
    #[error("cannot generate a secret key: no randomness available")]
    Random,
}

/// The key that encrypts authentication secrets. `Debug` prints `SecretKey(***)`.
#[derive(Clone)]
pub struct SecretKey([u8; 32]);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(***)")
    }
}

impl SecretKey {
    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A new random key.
    pub fn generate() -> Result<Self, KeyError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|_| KeyError::Random)?;
        Ok(Self(bytes))
    }

    /// Parses a configured key: 64 hex digits, or 32 bytes in base64 (standard or URL-safe,
    /// padded or not). Surrounding whitespace is ignored.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let text = text.trim();
        if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            let mut bytes = [0u8; 32];
            for (i, pair) in text.as_bytes().chunks(2).enumerate() {
                bytes[i] = (hex_digit(pair[0]) << 4) | hex_digit(pair[1]);
            }
            return Ok(Self(bytes));
        }
        let decoded = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(text).ok())
            .ok_or(KeyError::Invalid {
                reason: "expected 64 hex digits or base64",
            })?;
        let bytes: [u8; 32] = decoded.try_into().map_err(|_| KeyError::Invalid {
            reason: "the key must be 32 bytes",
        })?;
        Ok(Self(bytes))
    }

    /// The key in `path`, or a new one written there (base64, mode 0600 on unix) when the file
    /// does not exist yet. Two processes starting together end up with the same key.
    pub fn load_or_generate(path: impl AsRef<Path>) -> Result<Self, KeyError> {
        let path = path.as_ref();
        match std::fs::read_to_string(path) {
            Ok(text) => return Self::parse(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(io_error("read", path, source)),
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| io_error("write", path, e))?;
        }
        let key = Self::generate()?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(path) {
            Ok(mut file) => {
                let text = format!("{}\n", STANDARD.encode(key.0));
                file.write_all(text.as_bytes())
                    .and_then(|()| file.sync_all())
                    .map_err(|e| io_error("write", path, e))?;
                Ok(key)
            }
            // Another process created it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let text = std::fs::read_to_string(path).map_err(|e| io_error("read", path, e))?;
                Self::parse(&text)
            }
            Err(e) => Err(io_error("write", path, e)),
        }
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&self.0.into())
    }

    /// Seals `plaintext`, binding it to `aad`.
    pub(crate) fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<String, StoreError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|_| StoreError::internal("no randomness available"))?;
        let sealed = self
            .cipher()
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| StoreError::internal("cannot encrypt a secret"))?;
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(format!("{VERSION}{}", URL_SAFE_NO_PAD.encode(out)))
    }

    /// Opens a value sealed by [`SecretKey::seal`] with the same `aad`.
    pub(crate) fn open(&self, aad: &[u8], sealed: &str) -> Result<Vec<u8>, StoreError> {
        let corrupt = || {
            StoreError::internal(
                "a stored secret does not decrypt (wrong secret key or corrupt data)",
            )
        };
        let body = sealed.strip_prefix(VERSION).ok_or_else(corrupt)?;
        let raw = URL_SAFE_NO_PAD.decode(body).map_err(|_| corrupt())?;
        if raw.len() < NONCE_LEN {
            return Err(corrupt());
        }
        let (nonce, msg) = raw.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| corrupt())?;
        self.cipher()
            .decrypt(&XNonce::from(nonce), Payload { msg, aad })
            .map_err(|_| corrupt())
    }
}

impl FromStr for SecretKey {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

fn hex_digit(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => c - b'A' + 10,
    }
}

fn io_error(action: &'static str, path: &Path, source: std::io::Error) -> KeyError {
    KeyError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens_with_the_same_aad_only() {
        let key = SecretKey::generate().unwrap();
        let a = key.seal(b"app/1", b"hunter2").unwrap();
        let b = key.seal(b"app/1", b"hunter2").unwrap();
        assert_ne!(a, b, "a fresh nonce per value");
        assert!(!a.contains("hunter2"));
        assert_eq!(key.open(b"app/1", &a).unwrap(), b"hunter2");
        assert!(key.open(b"app/2", &a).is_err());
        assert!(SecretKey::generate().unwrap().open(b"app/1", &a).is_err());
        assert!(key.open(b"app/1", "v1.!!").is_err());
        assert!(key.open(b"app/1", "garbage").is_err());
    }

    #[test]
    fn parses_hex_and_base64() {
        let hex = "00".repeat(31) + "ff";
        assert_eq!(SecretKey::parse(&hex).unwrap().0[31], 0xff);
        let b64 = STANDARD.encode([7u8; 32]);
        assert_eq!(SecretKey::parse(&format!(" {b64}\n")).unwrap().0, [7u8; 32]);
        assert_eq!(
            SecretKey::parse(&URL_SAFE_NO_PAD.encode([9u8; 32]))
                .unwrap()
                .0,
            [9u8; 32]
        );
        assert!(SecretKey::parse("short").is_err());
        assert!(SecretKey::parse(&STANDARD.encode([1u8; 16])).is_err());
        assert_eq!(
            format!("{:?}", SecretKey::from_bytes([1; 32])),
            "SecretKey(***)"
        );
    }

    #[test]
    fn generates_once_then_loads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data").join("secret.key");
        let first = SecretKey::load_or_generate(&path).unwrap();
        let again = SecretKey::load_or_generate(&path).unwrap();
        assert_eq!(first.0, again.0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "not a key").unwrap();
        assert!(matches!(
            SecretKey::load_or_generate(&path),
            Err(KeyError::Invalid { .. })
        ));
    }
}

//! A service account's signing key, and the RS256 JWT assertion it signs.
//!
//! The key is read once, when the source is built: a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`,
//! what Google's key files hold), a PKCS#1 PEM (`-----BEGIN RSA PRIVATE KEY-----`), or a whole
//! service-account key file (JSON) whose `private_key`, `private_key_id` and `token_uri` are
//! then used. Signing is RSASSA-PKCS1-v1_5 with SHA-256 through `aws-lc-rs`, the crypto
//! provider the workspace's TLS stack already compiles.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::Deserialize;
use serde_json::json;

/// A service account: its email and its private key, ready to sign.
#[derive(Clone)]
pub struct ServiceAccount {
    client_email: String,
    key: Arc<RsaKeyPair>,
    key_id: Option<String>,
    token_uri: Option<String>,
}

impl fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("client_email", &self.client_email)
            .field("key_id", &self.key_id)
            .field("token_uri", &self.token_uri)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct KeyFile {
    private_key: String,
    #[serde(default)]
    private_key_id: Option<String>,
    #[serde(default)]
    token_uri: Option<String>,
    #[serde(default)]
    client_email: Option<String>,
}

impl ServiceAccount {
    /// Reads `private_key` (a PEM or a whole JSON key file) for `client_email`. The error says
    /// what is wrong without quoting the key.
    pub fn new(client_email: &str, private_key: &str) -> Result<Self, String> {
        let client_email = client_email.trim();
        if client_email.is_empty() {
            return Err("the service account's clientEmail is empty".into());
        }
        let text = private_key.trim();
        let (pem, key_id, token_uri) = if text.starts_with('{') {
            let file: KeyFile = serde_json::from_str(text).map_err(|error| {
                format!(
                    "privateKey looks like a JSON key file but cannot be read (line {}, column {}); paste the file as Google gave it, or only its private_key",
                    error.line(),
                    error.column()
                )
            })?;
            if let Some(email) = &file.client_email
                && email != client_email
            {
                return Err(format!(
                    "privateKey is the key file of `{email}`, not of clientEmail `{client_email}`"
                ));
            }
            (file.private_key, file.private_key_id, file.token_uri)
        } else {
            (text.to_owned(), None, None)
        };
        let key = parse_pem(&pem)?;
        Ok(Self {
            client_email: client_email.to_owned(),
            key: Arc::new(key),
            key_id,
            token_uri,
        })
    }

    /// The account's email (`iss` of its assertions).
    pub fn client_email(&self) -> &str {
        &self.client_email
    }

    /// The token endpoint named by the key file, if the key came as one.
    pub fn token_uri(&self) -> Option<&str> {
        self.token_uri.as_deref()
    }

    /// A signed JWT asking `audience` (the token endpoint) for a token with `scope`, issued at
    /// `now` (Unix seconds) and valid for one hour.
    pub fn assertion(&self, audience: &str, scope: &str, now: i64) -> Result<String, String> {
        let mut header = json!({"alg": "RS256", "typ": "JWT"});
        if let Some(kid) = &self.key_id {
            header["kid"] = json!(kid);
        }
        // A little slack for clocks running ahead of Google's; the lifetime stays one hour.
        let issued = now - 10;
        let claims = json!({
            "iss": self.client_email,
            "scope": scope,
            "aud": audience,
            "iat": issued,
            "exp": issued + 3600,
        });
        let mut token = URL_SAFE_NO_PAD.encode(header.to_string());
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(claims.to_string()));
        let mut signature = vec![0u8; self.key.public_modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &aws_lc_rs::rand::SystemRandom::new(),
                token.as_bytes(),
                &mut signature,
            )
            .map_err(|_| "signing the token request failed".to_owned())?;
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(signature));
        Ok(token)
    }
}

/// The RSA key of a PEM text (PKCS#8 or PKCS#1). Keys pasted with literal `\n` sequences (as
/// they appear inside a JSON string) are accepted.
fn parse_pem(pem: &str) -> Result<RsaKeyPair, String> {
    let pem = pem.replace("\\n", "\n");
    let (label, body) = pem_body(&pem).ok_or_else(|| {
        "privateKey is not a PEM private key (expected -----BEGIN PRIVATE KEY-----)".to_owned()
    })?;
    let der = STANDARD
        .decode(body)
        .map_err(|_| "privateKey's PEM body is not valid base64".to_owned())?;
    let parsed = match label {
        "PRIVATE KEY" => RsaKeyPair::from_pkcs8(&der),
        "RSA PRIVATE KEY" => RsaKeyPair::from_der(&der),
        other => {
            return Err(format!(
                "privateKey holds a `{other}`, not an RSA private key"
            ));
        }
    };
    parsed.map_err(|error| format!("privateKey is not a usable RSA key: {error}"))
}

/// The label and the base64 body (whitespace removed) of the first PEM block.
fn pem_body(pem: &str) -> Option<(&str, String)> {
    let start = pem.find("-----BEGIN ")? + "-----BEGIN ".len();
    let label_end = start + pem[start..].find("-----")?;
    let label = &pem[start..label_end];
    let body_start = label_end + "-----".len();
    let end_marker = format!("-----END {label}-----");
    let body_end = body_start + pem[body_start..].find(&end_marker)?;
    let body = pem[body_start..body_end]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    Some((label, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_that_are_not_pem_are_refused_without_quoting_them() {
        let error = ServiceAccount::new("a@b.iam.gserviceaccount.com", "hunter2").unwrap_err();
        assert!(error.contains("not a PEM private key"), "{error}");
        assert!(!error.contains("hunter2"));
        let error = ServiceAccount::new(
            "a@b",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
        )
        .unwrap_err();
        assert!(error.contains("not a usable RSA key"), "{error}");
        let error = ServiceAccount::new(
            "a@b",
            "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----",
        )
        .unwrap_err();
        assert!(error.contains("EC PRIVATE KEY"), "{error}");
        let error = ServiceAccount::new("", "x").unwrap_err();
        assert!(error.contains("clientEmail"), "{error}");
    }

    #[test]
    fn a_key_file_of_another_account_is_refused() {
        let file = r#"{"client_email":"other@x","private_key":"-----BEGIN PRIVATE KEY-----\nAA\n-----END PRIVATE KEY-----\n"}"#;
        let error = ServiceAccount::new("me@x", file).unwrap_err();
        assert!(error.contains("other@x"), "{error}");
    }

    #[test]
    fn pem_bodies_are_found() {
        let (label, body) = pem_body(
            "junk\n-----BEGIN RSA PRIVATE KEY-----\nQUJD\nREVG\n-----END RSA PRIVATE KEY-----\n",
        )
        .unwrap();
        assert_eq!(label, "RSA PRIVATE KEY");
        assert_eq!(body, "QUJDREVG");
    }
}

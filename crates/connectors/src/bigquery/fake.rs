//! A wire-level fake of Google's token endpoint and BigQuery REST v2 (`docs/connectors.md` §3, §4),
//! on one wiremock server.
//!
//! Behind the `testkit` feature: for the connector's tests and benchmarks, never shipped.

#![expect(
    clippy::unwrap_used,
    reason = "a test double (feature `testkit`): a failed setup is a failed test"
)]

use std::sync::{Arc, Mutex};

use crate::http::url_policy::UrlPolicy;
use crate::http::{HttpSettings, SourceHttpClient};
use crate::{DateWindow, Endpoints, Source as _, SourceContext};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use futures::StreamExt;
use ingest_core::{SourceItemError, SourceResult};
use ingest_model::{AuthInput, MemoryRecorder, RunRecorder, SourceInput, SourceType};
use serde_json::{Value, json};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The service account's e-mail address.
pub const EMAIL: &str = "reader@my-proj.iam.gserviceaccount.com";

/// A test service account key: the PEM the source gets, the public key the fake verifies with.
pub struct TestKey {
    /// The private key, PEM (PKCS#8).
    pub pem: String,
    /// The public key, DER.
    pub public: Vec<u8>,
}

impl TestKey {
    /// A fresh 2048-bit RSA key.
    pub fn generate() -> Self {
        let pair = KeyPair::generate(KeySize::Rsa2048).unwrap();
        let der = AsDer::as_der(&pair).unwrap();
        let body = STANDARD.encode(der.as_ref());
        let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
        for line in body.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).unwrap());
            pem.push('\n');
        }
        pem.push_str("-----END PRIVATE KEY-----\n");
        Self {
            pem,
            public: pair.public_key().as_ref().to_vec(),
        }
    }

    /// The `googleServiceAccount` authentication holding this key.
    pub fn auth(&self) -> AuthInput {
        AuthInput::GoogleServiceAccount {
            client_email: EMAIL.into(),
            private_key: self.pem.clone().into(),
        }
    }
}

/// The token endpoint: verifies each assertion (signature and claims) and hands out
/// `tokens[n]` for the n-th exchange (the last one again after that).
pub struct TokenEndpoint {
    /// The key assertions must be signed with.
    pub public: Vec<u8>,
    /// The `aud` claim assertions must carry.
    pub audience: String,
    /// The access tokens handed out, in order.
    pub tokens: Vec<&'static str>,
    /// The claims of every assertion received.
    pub claims: Arc<Mutex<Vec<Value>>>,
}

impl Respond for TokenEndpoint {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let form: Vec<(String, String)> = url::form_urlencoded::parse(&request.body)
            .into_owned()
            .collect();
        let field = |name: &str| {
            form.iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
                .unwrap_or_default()
        };
        let invalid = |why: &str| {
            ResponseTemplate::new(400)
                .set_body_json(json!({"error": "invalid_grant", "error_description": why}))
        };
        if field("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
            return invalid("bad grant_type");
        }
        let assertion = field("assertion");
        let parts: Vec<&str> = assertion.split('.').collect();
        if parts.len() != 3 {
            return invalid("Invalid JWT.");
        }
        let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap_or_default();
        let signed = format!("{}.{}", parts[0], parts[1]);
        if UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &self.public)
            .verify(signed.as_bytes(), &signature)
            .is_err()
        {
            return invalid("Invalid JWT Signature.");
        }
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        if header["alg"] != "RS256" || claims["aud"] != self.audience.as_str() {
            return invalid("Invalid JWT: wrong alg or audience");
        }
        let mut seen = self.claims.lock().unwrap();
        seen.push(claims);
        let token = self.tokens[(seen.len() - 1).min(self.tokens.len() - 1)];
        ResponseTemplate::new(200).set_body_json(
            json!({"access_token": token, "expires_in": 3599, "token_type": "Bearer"}),
        )
    }
}

/// The fake server with its token endpoint mounted.
pub struct Fake {
    /// The server (BigQuery's API and the token endpoint under one base URL).
    pub server: MockServer,
    /// The service account's key.
    pub key: TestKey,
    /// The claims of every token request.
    pub claims: Arc<Mutex<Vec<Value>>>,
}

impl Fake {
    /// A fake handing out one token.
    pub async fn start() -> Self {
        Self::with_tokens(vec!["ya29.fake"]).await
    }

    /// A fake handing out `tokens` in turn.
    pub async fn with_tokens(tokens: Vec<&'static str>) -> Self {
        let server = MockServer::start().await;
        let key = TestKey::generate();
        let claims = Arc::new(Mutex::new(Vec::new()));
        Mock::given(wiremock::matchers::method("POST"))
            .and(wiremock::matchers::path("/token"))
            .respond_with(TokenEndpoint {
                public: key.public.clone(),
                audience: format!("{}/token", server.uri()),
                tokens,
                claims: claims.clone(),
            })
            .mount(&server)
            .await;
        Self {
            server,
            key,
            claims,
        }
    }

    /// The fake's base URL.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// Token exchanges so far.
    pub fn exchanges(&self) -> usize {
        self.claims.lock().unwrap().len()
    }

    /// A source context pointing at the fake at `base`, with fast retries.
    pub fn context(&self, recorder: Option<Arc<dyn RunRecorder>>) -> SourceContext {
        context(&self.uri(), recorder, None)
    }

    /// Requests to BigQuery (not the token endpoint).
    pub async fn api_requests(&self) -> Vec<Request> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|request| request.url.path().starts_with("/bigquery/"))
            .collect()
    }

    /// Reads the source of `input` to its end.
    pub async fn read(&self, input: Value) -> Vec<SourceResult> {
        self.read_with(input, self.context(None)).await
    }

    /// Reads the source of `input` to its end with `context`.
    pub async fn read_with(&self, input: Value, context: SourceContext) -> Vec<SourceResult> {
        let SourceInput::BigQuery(input) =
            SourceInput::parse(SourceType::BigQuery, &input).unwrap()
        else {
            panic!("a BigQuery input parses as one");
        };
        let source = super::build(&input, Some(&self.key.auth()), &context).unwrap();
        source.records().collect().await
    }
}

/// A source context pointing at the fake at `base`, with fast retries.
pub fn context(
    base: &str,
    recorder: Option<Arc<dyn RunRecorder>>,
    window: Option<DateWindow>,
) -> SourceContext {
    let settings = HttpSettings {
        min_backoff: std::time::Duration::from_millis(5),
        max_retries: 3,
        ..HttpSettings::default()
    };
    SourceContext {
        http: SourceHttpClient::new(UrlPolicy::new(&["127.0.0.0/8"]).unwrap(), settings).unwrap(),
        max_record_bytes: 100 * 1024,
        local_files: None,
        events: recorder,
        endpoints: Endpoints {
            bigquery_api_base: base.to_owned(),
            google_token_url: format!("{base}/token"),
            ..Endpoints::default()
        },
        window,
        trigger_event: None,
    }
}

/// A recorder keeping events in memory.
pub fn recorder() -> Arc<MemoryRecorder> {
    Arc::new(MemoryRecorder::default())
}

/// The records' JSON, and the message of a fatal error when the stream ended with one.
pub fn split(items: &[SourceResult]) -> (Vec<Value>, Vec<String>, Option<String>) {
    let mut records = Vec::new();
    let mut rejections = Vec::new();
    let mut fatal = None;
    for item in items {
        match item {
            Ok(record) => records.push(serde_json::from_slice(&record.json).unwrap()),
            Err(SourceItemError::Rejected(rejection)) => rejections.push(rejection.to_string()),
            Err(SourceItemError::Fatal(error)) => fatal = Some(error.message().to_owned()),
        }
    }
    (records, rejections, fatal)
}

/// A schema of `(name, type)` columns.
pub fn schema(columns: &[(&str, &str)]) -> Value {
    json!({"fields": columns.iter().map(|(name, kind)| json!({"name": name, "type": kind, "mode": "NULLABLE"})).collect::<Vec<_>>()})
}

/// Rows of plain text cells.
pub fn rows(rows: &[Vec<Value>]) -> Value {
    json!(
        rows.iter()
            .map(|cells| json!({"f": cells.iter().map(|v| json!({"v": v})).collect::<Vec<_>>()}))
            .collect::<Vec<_>>()
    )
}

/// `n` rows `[id-{i}, i]` starting at `from`.
pub fn numbered(from: usize, n: usize) -> Value {
    rows(
        &(from..from + n)
            .map(|i| vec![json!(format!("id-{i}")), json!(i.to_string())])
            .collect::<Vec<_>>(),
    )
}

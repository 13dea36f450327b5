//! The test server: the real router over real HTTP on a loopback port, on a fresh SQLite file
//! or a fresh PostgreSQL schema (`TEST_DATABASE_URL`, dropped after the test), with two
//! applications configured. Tests run on both backends with [`ingest_store::both_backends!`],
//! which starts a [`Server`] per test ([`TestHarness`]).

use std::time::Duration;

use ingest_api::rate_limit::Limit;
use ingest_api::{ApiConfig, AppCredentials, RateLimitSettings, ServeSettings};
use ingest_core::Secret;
use ingest_store::testkit::{TestDatabase, TestHarness};
use ingest_store::{SecretKey, Store};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// Application A (the default caller).
pub const APP_A: &str = "APPAAAAAAA";
/// Application A's key.
pub const KEY_A: &str = "key-of-application-a";
/// Application B.
pub const APP_B: &str = "APPBBBBBBB";
/// Application B's key.
pub const KEY_B: &str = "key-of-application-b";

/// A response: status, headers and JSON body (`Value::Null` when the body is not JSON).
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    pub body: Value,
}

impl Resp {
    /// The body's string field `name` (panics with the body when absent).
    pub fn str(&self, name: &str) -> String {
        self.body[name]
            .as_str()
            .unwrap_or_else(|| panic!("no string `{name}` in {} {}", self.status, self.text))
            .to_owned()
    }

    /// Asserts the status, printing the body otherwise.
    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(
            self.status, status,
            "unexpected status, body: {}",
            self.text
        );
        self
    }

    /// Asserts an error body: this status, `{"message", "status"}` exactly, message containing
    /// `needle`.
    #[track_caller]
    pub fn error(self, status: u16, needle: &str) -> Self {
        assert_eq!(
            self.status, status,
            "unexpected status, body: {}",
            self.text
        );
        let keys = sorted_keys(&self.body);
        assert_eq!(keys, ["message", "status"], "error body: {}", self.text);
        assert_eq!(self.body["status"], json!(status), "{}", self.text);
        let message = self.body["message"].as_str().unwrap();
        assert!(
            message.contains(needle),
            "`{message}` does not contain `{needle}`"
        );
        self
    }
}

/// The keys of a JSON object, sorted.
pub fn sorted_keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}

/// Asserts the exact key set of an object.
#[track_caller]
pub fn assert_keys(value: &Value, expected: &[&str]) {
    let mut want: Vec<String> = expected.iter().map(|s| (*s).to_owned()).collect();
    want.sort();
    assert_eq!(sorted_keys(value), want, "in {value}");
}

/// A running server.
pub struct Server {
    pub base: String,
    pub http: reqwest::Client,
    pub store: Store,
    pub db: TestDatabase,
    app: (String, String),
    shutdown: Option<oneshot::Sender<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Limits high enough never to get in the way.
pub fn no_limits() -> RateLimitSettings {
    let huge = Limit {
        requests: u32::MAX,
        period: Duration::from_secs(60),
    };
    RateLimitSettings {
        general: huge,
        runs: huge,
        trusted_proxies: Vec::new(),
    }
}

/// The configuration of the test servers: two applications, no rate limits, and a short
/// `watch` on pushes (no worker applies them here).
pub fn config() -> ApiConfig {
    ApiConfig {
        apps: vec![
            AppCredentials {
                app_id: APP_A.into(),
                api_key: Secret::new(KEY_A.into()),
            },
            AppCredentials {
                app_id: APP_B.into(),
                api_key: Secret::new(KEY_B.into()),
            },
        ],
        rate_limits: no_limits(),
        push: ingest_api::push::PushRouteSettings {
            watch_timeout: Duration::from_millis(200),
            ..Default::default()
        },
        validation: Some(source_reading(&["127.0.0.1/32"])),
        ..ApiConfig::default()
    }
}

/// Validations that may read the addresses of `allow` (the URL policy's allow list), with no
/// retry and a 3 s limit.
pub fn source_reading(allow: &[&str]) -> ingest_api::validate::SourceReading {
    use ingest_connectors::http::{HttpSettings, SourceHttpClient, url_policy::UrlPolicy};
    let http = SourceHttpClient::new(
        UrlPolicy::new(allow).unwrap(),
        HttpSettings {
            max_retries: 0,
            connect_timeout: Duration::from_secs(2),
            ..HttpSettings::default()
        },
    )
    .unwrap();
    ingest_api::validate::SourceReading {
        max_time: Duration::from_secs(3),
        ..ingest_api::validate::SourceReading::new(http, Default::default(), 100_000)
    }
}

/// A test key (fixed, so a database dump can be checked for secrets in clear).
pub fn secret_key() -> SecretKey {
    SecretKey::from_bytes([7u8; 32])
}

impl TestHarness for Server {
    async fn start(db: TestDatabase) -> Self {
        Self::serve(db, config()).await
    }

    fn database(&self) -> &TestDatabase {
        &self.db
    }
}

impl Server {
    /// A server on a fresh SQLite file with [`config`].
    pub async fn sqlite() -> Self {
        Self::sqlite_with(config()).await
    }

    /// A server on a fresh SQLite file with `config`.
    pub async fn sqlite_with(config: ApiConfig) -> Self {
        Self::serve(TestDatabase::sqlite(), config).await
    }

    /// A server with `config` over a store opened on `db`.
    pub async fn serve(db: TestDatabase, config: ApiConfig) -> Self {
        let store = db.open(secret_key()).await.expect("open the store");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = ingest_api::router(store.clone(), &config);
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(ingest_api::serve(
            listener,
            router,
            ServeSettings {
                header_read_timeout: Duration::from_secs(2),
                shutdown_grace: Duration::from_secs(1),
            },
            async move {
                let _ = rx.await;
            },
        ));
        Self {
            base: format!("http://{addr}"),
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            store,
            db,
            app: (APP_A.into(), KEY_A.into()),
            shutdown: Some(tx),
        }
    }

    /// A request with application A's credentials.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .header("X-Algolia-Application-Id", &self.app.0)
            .header("X-Algolia-API-Key", &self.app.1)
    }

    /// A request with these credentials (`None`: header left out).
    pub fn request_as(
        &self,
        method: Method,
        path: &str,
        app: Option<&str>,
        key: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(app) = app {
            req = req.header("X-Algolia-Application-Id", app);
        }
        if let Some(key) = key {
            req = req.header("X-Algolia-API-Key", key);
        }
        req
    }

    /// Sends and reads a response.
    pub async fn send(req: reqwest::RequestBuilder) -> Resp {
        let resp = req.send().await.expect("request failed");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            text,
            body,
        }
    }

    /// A call as application A with an optional JSON body.
    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Resp {
        let mut req = self.request(method, path);
        if let Some(body) = body {
            req = req
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        Self::send(req).await
    }

    /// A call as application B.
    pub async fn call_b(&self, method: Method, path: &str, body: Option<&Value>) -> Resp {
        let mut req = self.request_as(method, path, Some(APP_B), Some(KEY_B));
        if let Some(body) = body {
            req = req.body(body.to_string());
        }
        Self::send(req).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Resp {
        self.call(Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.call(Method::DELETE, path, None).await
    }

    pub async fn put(&self, path: &str) -> Resp {
        self.call(Method::PUT, path, None).await
    }

    // ---- fixtures ----

    /// Creates an authentication from a full body; returns its ID.
    pub async fn create_auth(&self, body: Value) -> String {
        self.post("/1/authentications", &body)
            .await
            .expect(200)
            .str("authenticationID")
    }

    /// An `algolia` authentication.
    pub async fn algolia_auth(&self) -> String {
        self.create_auth(json!({"type": "algolia", "name": "algolia creds",
            "input": {"appID": "MYAPP", "apiKey": "algolia-admin-key"}}))
            .await
    }

    /// An `oauth` authentication for commercetools.
    pub async fn oauth_auth(&self) -> String {
        self.create_auth(json!({"type": "oauth", "name": "ct creds", "platform": "commercetools",
            "input": {"url": "http://auth.example/oauth/token", "client_id": "cid", "client_secret": "csecret"}}))
            .await
    }

    /// A destination writing to `index`.
    pub async fn destination(&self, index: &str) -> String {
        self.post(
            "/1/destinations",
            &json!({"type": "search", "name": format!("dest {index}"), "input": {"indexName": index}}),
        )
        .await
        .expect(200)
        .str("destinationID")
    }

    /// A JSON source, with or without `uniqueIDColumn`.
    pub async fn json_source(&self, name: &str, unique_id: bool) -> String {
        let mut input = json!({"url": "https://example.com/products.json"});
        if unique_id {
            input["uniqueIDColumn"] = json!("sku");
        }
        self.post(
            "/1/sources",
            &json!({"type": "json", "name": name, "input": input}),
        )
        .await
        .expect(200)
        .str("sourceID")
    }

    /// An on-demand `replace` task from `source` to `destination`.
    pub async fn task(&self, source: &str, destination: &str) -> String {
        self.post(
            "/1/tasks",
            &json!({"sourceID": source, "destinationID": destination,
                "trigger": {"type": "onDemand"}, "action": "replace"}),
        )
        .await
        .expect(200)
        .str("taskID")
    }
}

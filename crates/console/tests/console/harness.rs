//! A console server on a loopback port (the API's router and the console's, as `ingestion serve`
//! merges them) over a fresh store, and a small cookie-keeping client that signs in like a
//! browser does.

use std::time::Duration;

use ingest_api::rate_limit::Limit;
use ingest_api::{ApiConfig, AppCredentials, RateLimitSettings, ServeSettings};
use ingest_console::ConsoleSettings;
use ingest_core::Secret;
use ingest_store::testkit::{TestDatabase, TestHarness};
use ingest_store::{SecretKey, Store};
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub const APP_A: &str = "APPAAAAAAA";
pub const KEY_A: &str = "key-of-application-a";
pub const APP_B: &str = "APPBBBBBBB";
pub const KEY_B: &str = "key-of-application-b";

/// A running server.
pub struct Server {
    pub base: String,
    pub store: Store,
    db: TestDatabase,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

fn config() -> ApiConfig {
    let huge = Limit {
        requests: u32::MAX,
        period: Duration::from_secs(60),
    };
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
        rate_limits: RateLimitSettings {
            general: huge,
            runs: huge,
            trusted_proxies: Vec::new(),
        },
        ..ApiConfig::default()
    }
}

impl TestHarness for Server {
    async fn start(db: TestDatabase) -> Self {
        Self::serve(db, ConsoleSettings::default()).await
    }

    fn database(&self) -> &TestDatabase {
        &self.db
    }
}

impl Server {
    /// A server on a fresh SQLite file with these console settings.
    pub async fn sqlite_with(settings: ConsoleSettings) -> Self {
        Self::serve(TestDatabase::sqlite(), settings).await
    }

    async fn serve(db: TestDatabase, settings: ConsoleSettings) -> Self {
        let store = db
            .open(SecretKey::from_bytes([9u8; 32]))
            .await
            .expect("open the store");
        let config = config();
        let state = ingest_api::state(store.clone(), &config);
        let router = ingest_console::router(state.clone(), &config, settings)
            .merge(ingest_api::router_with_state(state, &config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
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
            store,
            db,
            shutdown: Some(tx),
        }
    }

    /// A browser that has not signed in.
    pub fn browser(&self) -> Browser {
        Browser {
            base: self.base.clone(),
            http: reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: Vec::new(),
            csrf: String::new(),
        }
    }

    /// A browser signed in as application A.
    pub async fn signed_in(&self) -> Browser {
        let mut browser = self.browser();
        let page = browser.sign_in(APP_A, KEY_A).await;
        assert_eq!(page.status, 303, "{}", page.text);
        browser
    }

    /// Calls the API as `app` with `key`.
    pub async fn api(
        &self,
        (app, key): (&str, &str),
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        let mut req = reqwest::Client::new()
            .request(method, format!("{}{path}", self.base))
            .header("X-Algolia-Application-Id", app)
            .header("X-Algolia-API-Key", key);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{status} {body}");
        body
    }
}

/// A page as the browser got it.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
}

impl Page {
    /// Where a redirect goes.
    pub fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The `Set-Cookie` headers.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_owned)
            .collect()
    }
}

/// A client that keeps cookies and the last CSRF token it saw, as a browser would.
pub struct Browser {
    pub base: String,
    http: reqwest::Client,
    pub cookies: Vec<(String, String)>,
    pub csrf: String,
}

/// The value of the first `name="_csrf"` field of a page.
pub fn csrf_of(text: &str) -> Option<String> {
    let at = text.find("name=\"_csrf\" value=\"")? + "name=\"_csrf\" value=\"".len();
    Some(text[at..].chars().take_while(|c| *c != '"').collect())
}

impl Browser {
    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&mut self, page: &Page) {
        for cookie in page.set_cookies() {
            let Some((pair, _)) = cookie.split_once(';') else {
                continue;
            };
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            self.cookies.retain(|(k, _)| k != name);
            if !value.is_empty() {
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
        if let Some(token) = csrf_of(&page.text) {
            self.csrf = token;
        }
    }

    /// Sends `request` with the cookies; keeps the answer's cookies and CSRF token.
    async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let resp = request
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        let page = Page {
            status: resp.status().as_u16(),
            headers: resp.headers().clone(),
            text: resp.text().await.unwrap(),
        };
        self.keep(&page);
        page
    }

    /// `GET path`.
    pub async fn get(&mut self, path: &str) -> Page {
        let request = self.http.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    /// `POST path` with `fields` as a form, as they are (no token added).
    pub async fn post_raw(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(
                form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(fields)
                    .finish(),
            );
        self.send(request).await
    }

    /// `POST path` with `fields` and the CSRF token.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let token = self.csrf.clone();
        let mut all = vec![("_csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }

    /// Signs in through the form; the answer of the POST.
    pub async fn sign_in(&mut self, app: &str, key: &str) -> Page {
        let form = self.get("/console/sign-in").await;
        assert_eq!(form.status, 200);
        self.post(
            "/console/sign-in",
            &[("appId", app), ("apiKey", key), ("next", "/console/")],
        )
        .await
    }
}

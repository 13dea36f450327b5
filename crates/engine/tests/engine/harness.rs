//! One store per test on a fresh database (SQLite file, or a fresh PostgreSQL schema dropped
//! afterwards: [`TestDatabase`]), a driven clock, the fake Algolia over HTTP, a CSV server, and
//! fixtures created through the store. Tests run on both backends with
//! [`ingest_store::both_backends!`].

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use ingest_algolia::testkit::{FakeAlgolia, FakeServer};
use ingest_algolia::{PushSettings, TransportSettings, WaitPolicy};
use ingest_connectors::Endpoints;
use ingest_connectors::http::url_policy::UrlPolicy;
use ingest_connectors::http::{HttpSettings, SourceHttpClient};
use ingest_core::BatchLimits;
use ingest_core::metrics::Metrics;
use ingest_core::time::{Clock as _, ManualClock};
use ingest_engine::{Engine, EngineSettings, WorkerSettings, Workers};
use ingest_model::{RunStatus, Task, Timestamp, from_value};
use ingest_store::testkit::{TestDatabase, TestHarness};
use ingest_store::{EventQuery, PageRequest, SecretKey, Store};
use serde_json::{Value, json};
use tokio::sync::oneshot;

pub const APP: &str = "APP1";

pub struct Harness {
    pub store: Store,
    pub clock: Arc<ManualClock>,
    pub metrics: Arc<Metrics>,
    pub fake: FakeAlgolia,
    pub server: FakeServer,
    pub csv: String,
    /// The key the store's secrets are sealed with (a second handle on the store needs it).
    pub key: SecretKey,
    db: TestDatabase,
}

/// 2024-01-01T00:00:00Z.
pub const START: i64 = 1_704_067_200;

impl TestHarness for Harness {
    async fn start(db: TestDatabase) -> Self {
        let key = SecretKey::generate().unwrap();
        let store = db.open(key.clone()).await.unwrap();
        let fake = FakeAlgolia::new();
        let server = fake.serve();
        Self {
            store,
            clock: Arc::new(ManualClock::new(Timestamp::from_unix(START, 0))),
            metrics: Arc::new(Metrics::new()),
            fake,
            server,
            csv: csv_server().await,
            key,
            db,
        }
    }

    fn database(&self) -> &TestDatabase {
        &self.db
    }
}

/// Rows `1..=n` as CSV: `id,name,price`.
pub fn csv_rows(n: usize) -> String {
    let mut out = String::from("id,name,price\n");
    for i in 1..=n {
        out.push_str(&format!("{i},product {i},{}.5\n", i % 100));
    }
    out
}

/// A CSV body that trickles in: a header, then `rows` rows named `{name} {i}`, one every 100 ms.
fn trickle(name: &'static str, rows: usize) -> Body {
    let lines = futures::stream::unfold(0usize, move |i| async move {
        if i > rows {
            return None;
        }
        if i > 0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let line = if i == 0 {
            "id,name,price\n".to_owned()
        } else {
            format!("{i},{name} {i},1\n")
        };
        Some((Ok::<_, std::io::Error>(Bytes::from(line)), i + 1))
    });
    Body::from_stream(lines)
}

async fn csv_server() -> String {
    let app = Router::new()
        .route("/products.csv", get(|| async { csv_rows(25) }))
        .route("/many.csv", get(|| async { csv_rows(2_500) }))
        .route("/empty.csv", get(|| async { "id,name,price\n" }))
        // A rejected row whose objectID holds a NUL character (PostgreSQL refuses NUL in text).
        .route(
            "/nul.csv",
            get(|| async { "id,name,price\na\u{0}b,x,not a number\n2,y,1\n" }),
        )
        .route(
            "/down.csv",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "down").into_response() }),
        )
        // A header, then 40 rows, one every 100 ms: a run of about four seconds.
        .route("/trickle.csv", get(|| async { trickle("trickle", 40) }))
        // A header, then one row every 100 ms, for a minute.
        .route("/slow.csv", get(|| async { trickle("slow", 600) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

impl Harness {
    /// The PostgreSQL URL and schema of this harness, when it runs on PostgreSQL.
    pub fn postgres(&self) -> Option<(&str, &str)> {
        self.db.postgres_schema()
    }

    pub fn engine(&self) -> Engine {
        self.engine_on(self.store.clone())
    }

    /// An engine over another handle on the same store.
    pub fn engine_on(&self, store: Store) -> Engine {
        self.engine_batching(store, BatchLimits::default())
    }

    /// [`Harness::engine_on`] with batches cut by `limits`.
    pub fn engine_batching(&self, store: Store, limits: BatchLimits) -> Engine {
        let http = SourceHttpClient::new(
            UrlPolicy::new(&["127.0.0.0/8"]).unwrap(),
            HttpSettings {
                max_retries: 0,
                min_backoff: Duration::from_millis(10),
                ..HttpSettings::default()
            },
        )
        .unwrap();
        let settings = EngineSettings {
            push: PushSettings {
                wait: WaitPolicy {
                    step: Duration::from_millis(5),
                    ..WaitPolicy::default()
                },
                limits,
                ..PushSettings::default()
            },
            algolia: TransportSettings {
                hosts: Some(vec![self.server.url()]),
                max_attempts: 2,
                min_backoff: Duration::from_millis(5),
                ..TransportSettings::default()
            },
            http,
            endpoints: Endpoints::default(),
            max_record_bytes: 100_000,
            insights_hosts: vec![self.server.url()],
            transform: Default::default(),
        };
        Engine::new(store, settings, self.clock.clone(), self.metrics.clone())
    }

    pub fn worker_settings(&self) -> WorkerSettings {
        WorkerSettings {
            concurrency: 2,
            poll: Duration::from_millis(20),
            shutdown_grace: Duration::from_secs(10),
            ..WorkerSettings::default()
        }
    }

    pub fn now(&self) -> Timestamp {
        self.clock.advance(Duration::from_millis(1))
    }

    /// An algolia authentication, a CSV source at `path`, a destination (index `index`) and a
    /// task with `action` and `trigger`.
    pub async fn task(&self, path: &str, index: &str, action: &str, trigger: Value) -> Task {
        self.task_to(path, json!({"indexName": index}), "search", action, trigger)
            .await
    }

    pub async fn task_to(
        &self,
        path: &str,
        destination: Value,
        destination_type: &str,
        action: &str,
        trigger: Value,
    ) -> Task {
        let source = json!({"type": "csv", "name": "Products", "input": {
            "url": format!("{}{path}", self.csv), "uniqueIDColumn": "id",
            "mapping": {"price": "float"}}});
        self.task_with(source, destination, destination_type, action, trigger)
            .await
    }

    /// A task from a source body (`POST /1/sources`) to a destination of its own, written with
    /// the fake's credentials.
    pub async fn task_with(
        &self,
        source: Value,
        destination: Value,
        destination_type: &str,
        action: &str,
        trigger: Value,
    ) -> Task {
        let auth = self
            .store
            .create_authentication(
                APP,
                &from_value(&json!({"type": "algolia", "name": "algolia", "input": {
                    "appID": self.fake.app_id(), "apiKey": self.fake.api_key()}}))
                .unwrap(),
                self.now(),
            )
            .await
            .unwrap();
        let source = self
            .store
            .create_source(APP, &from_value(&source).unwrap(), self.now())
            .await
            .unwrap();
        let destination = self
            .store
            .create_destination(
                APP,
                &from_value(
                    &json!({"type": destination_type, "name": "dst", "input": destination,
                    "authenticationID": auth.authentication_id}),
                )
                .unwrap(),
                self.now(),
            )
            .await
            .unwrap();
        let next_run = match trigger["cron"].as_str() {
            Some(cron) => ingest_model::cron::Schedule::parse(cron)
                .unwrap()
                .next_after_timestamp(self.clock.now()),
            None => None,
        };
        self.store
            .create_task(
                APP,
                &from_value(&json!({"sourceID": source.source_id,
                    "destinationID": destination.destination_id,
                    "trigger": trigger, "action": action}))
                .unwrap(),
                next_run,
                self.now(),
            )
            .await
            .unwrap()
    }
}

/// Runs workers until every run of `runs` is finished (or 30 s pass).
pub async fn work_until_finished(h: &Harness, runs: &[&str]) -> Vec<ingest_model::Run> {
    work_until_finished_with(h, h.engine(), runs).await
}

/// [`work_until_finished`] with workers over `engine`.
pub async fn work_until_finished_with(
    h: &Harness,
    engine: Engine,
    runs: &[&str],
) -> Vec<ingest_model::Run> {
    let (stop, stopped) = oneshot::channel::<()>();
    let workers = Workers::new(engine, h.worker_settings());
    let handle = tokio::spawn(workers.run(async {
        let _ = stopped.await;
    }));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut finished = Vec::new();
    for id in runs {
        loop {
            let run = h.store.get_run(APP, id).await.unwrap();
            if run.status == RunStatus::Finished {
                finished.push(run);
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "run {id} did not finish: {run:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let _ = stop.send(());
    handle.await.unwrap();
    finished
}

/// The first 100 events of run `run_id`.
pub async fn events(h: &Harness, run_id: &str) -> Vec<ingest_model::Event> {
    let query = EventQuery {
        page: PageRequest {
            page: 1,
            items_per_page: 100,
        },
        ..EventQuery::default()
    };
    h.store
        .list_events(APP, run_id, &query)
        .await
        .unwrap()
        .items
}

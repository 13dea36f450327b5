//! The long-running roles of `ingestion`: the API, the scheduler and the workers (with the
//! reaper), started together or apart over one store, and stopped together on a signal.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use ingest_api::validate::SourceReading;
use ingest_api::{ApiConfig, AppCredentials};
use ingest_connectors::http::SourceHttpClient;
use ingest_core::Secret;
use ingest_core::metrics::Metrics;
use ingest_core::time::SystemClock;
use ingest_engine::{Engine, EngineSettings, Retention, Scheduler, Workers, reaper};
use ingest_store::{PostgresConfig, SecretKey, SqliteConfig, Store};
use tokio::sync::watch;

use crate::settings::Settings;

/// Which parts a process runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Roles {
    /// The HTTP API.
    pub api: bool,
    /// The cron scheduler and history retention.
    pub scheduler: bool,
    /// Workers (and the reaper).
    pub worker: bool,
}

impl Roles {
    /// Parses `api,scheduler,worker` (any non-empty subset).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut roles = Roles::default();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part {
                "api" => roles.api = true,
                "scheduler" => roles.scheduler = true,
                "worker" => roles.worker = true,
                other => {
                    return Err(format!(
                        "unknown role `{other}`: expected api, scheduler or worker"
                    ));
                }
            }
        }
        if roles == Roles::default() {
            return Err("at least one role is needed: api, scheduler or worker".to_owned());
        }
        Ok(roles)
    }
}

/// Whether a database URL names PostgreSQL.
pub fn is_postgres(url: Option<&Secret<String>>) -> bool {
    url.is_some_and(|u| {
        let u = u.expose().trim();
        u.starts_with("postgres://") || u.starts_with("postgresql://")
    })
}

/// Opens the store named by `url` (`postgres://`, `postgresql://`, `sqlite://PATH`), or the
/// SQLite file `ingestion.db` in the data directory. Errors never show the URL (it may hold a
/// password).
pub async fn open_store(
    url: Option<&Secret<String>>,
    data_dir: &Path,
    key: SecretKey,
) -> anyhow::Result<Store> {
    let url = url.map(|u| u.expose().trim()).filter(|u| !u.is_empty());
    match url {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            let store = Store::connect_postgres(&PostgresConfig::new(url), key)
                .await
                .map_err(|e| anyhow::anyhow!("cannot open the PostgreSQL database: {e}"))?;
            tracing::info!("store: postgresql");
            Ok(store)
        }
        Some(url) => {
            let path = url
                .strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
                .ok_or_else(|| {
                    anyhow::anyhow!("unsupported database URL: expected postgres:// or sqlite://")
                })?;
            open_sqlite(Path::new(path), key).await
        }
        None => open_sqlite(&data_dir.join("ingestion.db"), key).await,
    }
}

async fn open_sqlite(path: &Path, key: SecretKey) -> anyhow::Result<Store> {
    let store = Store::open_sqlite(&SqliteConfig::new(path), key)
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the SQLite database {}: {e}", path.display()))?;
    tracing::info!(path = %path.display(), "store: sqlite");
    Ok(store)
}

/// The engine for `settings` over `store`.
pub fn engine(settings: &Settings, store: Store, metrics: Arc<Metrics>) -> anyhow::Result<Engine> {
    let http = SourceHttpClient::new(settings.url_policy.clone(), settings.http.clone())
        .map_err(|e| anyhow::anyhow!("cannot build the source HTTP client: {e}"))?;
    let engine_settings = EngineSettings {
        push: settings.push,
        algolia: settings.algolia.clone(),
        http,
        endpoints: settings.endpoints.clone(),
        max_record_bytes: settings.batch.max_record_bytes(),
        insights_hosts: settings.insights_hosts.clone(),
        transform: settings.transform.clone(),
    };
    Ok(Engine::new(
        store,
        engine_settings,
        Arc::new(SystemClock),
        metrics,
    ))
}

/// How the API's `validate` reads sources: the engine's HTTP client, URL policy and limits.
fn source_reading(settings: &Settings) -> anyhow::Result<SourceReading> {
    let http = SourceHttpClient::new(settings.url_policy.clone(), settings.http.clone())
        .map_err(|e| anyhow::anyhow!("cannot build the source HTTP client: {e}"))?;
    Ok(SourceReading {
        sample: settings.validate.sample,
        max_time: settings.validate.max_time,
        ..SourceReading::new(
            http,
            settings.endpoints.clone(),
            settings.batch.max_record_bytes(),
        )
    })
}

/// What a process serves over HTTP.
#[derive(Debug)]
pub enum HttpRole {
    /// The API, with `/health`, `/ready` and `/metrics` beside it.
    Api {
        /// The bound listener.
        listener: tokio::net::TcpListener,
        /// The applications and their keys.
        apps: Vec<AppCredentials>,
        /// A separate listener for `/health`, `/ready` and `/metrics` (`--metrics-listen`):
        /// `/metrics` then leaves the API's listener.
        metrics: Option<tokio::net::TcpListener>,
    },
    /// Only `/health`, `/ready` and `/metrics`: a process that runs workers or the scheduler
    /// without the API, so that it can be probed and scraped.
    Ops {
        /// The bound listener.
        listener: tokio::net::TcpListener,
    },
}

/// Runs `roles` (and serves `http`) until `signal` resolves, then stops each (the API drains
/// requests, workers release their runs) and returns when all have stopped.
pub async fn run(
    roles: Roles,
    settings: &Settings,
    store: Store,
    http: Option<HttpRole>,
    signal: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let metrics = Arc::new(Metrics::new());
    let (stop, stopped) = watch::channel(false);
    let until_stopped = move || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|s| *s).await;
        }
    };
    let mut tasks = tokio::task::JoinSet::new();
    let clock = Arc::new(SystemClock);
    let runner = if roles.worker || roles.scheduler {
        Some(engine(settings, store.clone(), metrics.clone())?)
    } else {
        None
    };
    if roles.worker
        && let Some(runner) = &runner
    {
        let workers = Workers::new(runner.clone(), settings.worker.clone());
        tasks.spawn(workers.run(until_stopped()));
        // Stored pushes are applied by the worker role too (`docs/api.md` D4).
        tasks.spawn(ingest_engine::apply_pushes_until(
            runner.clone(),
            settings.push_apply,
            until_stopped(),
        ));
    }
    if roles.worker || roles.scheduler {
        // The reaper also deletes the temporary index of a run it fails for good.
        tasks.spawn(reaper(
            store.clone(),
            clock.clone(),
            settings.worker.clone(),
            runner.clone(),
            until_stopped(),
        ));
    }
    if roles.scheduler {
        let scheduler = Scheduler::new(
            store.clone(),
            clock.clone(),
            metrics.clone(),
            settings.scheduler.clone(),
        );
        tasks.spawn(scheduler.run(until_stopped()));
        let retention = Retention::new(
            store.clone(),
            clock.clone(),
            metrics.clone(),
            settings.retention.clone(),
        );
        tasks.spawn(retention.run(until_stopped()));
    }
    let server = &settings.server;
    let mut served = Vec::new();
    match http {
        Some(HttpRole::Api {
            listener,
            apps,
            metrics: metrics_listener,
        }) => {
            let config = ApiConfig {
                apps,
                rate_limits: server.rate_limits.clone(),
                max_body_bytes: server.max_body_bytes,
                request_timeout: server.request_timeout,
                metrics: metrics.clone(),
                webhook_client_secret: settings.webhook_client_secret.clone(),
                clock: clock.clone(),
                serve_metrics: metrics_listener.is_none(),
                push: settings.push_routes,
                cors_origins: server.cors_origins.clone(),
                validation: Some(source_reading(settings)?),
            };
            let state = ingest_api::state(store.clone(), &config);
            let mut router = ingest_api::router_with_state(state.clone(), &config);
            if settings.console.enabled {
                router =
                    ingest_console::router(state, &config, settings.console.clone()).merge(router);
            }
            served.push((listener, router));
            if let Some(listener) = metrics_listener {
                served.push((
                    listener,
                    ingest_api::ops_router(store.clone(), metrics.clone()),
                ));
            }
        }
        Some(HttpRole::Ops { listener }) => served.push((
            listener,
            ingest_api::ops_router(store.clone(), metrics.clone()),
        )),
        None => {}
    }
    for (listener, router) in served {
        let address: SocketAddr = listener.local_addr()?;
        tracing::info!(%address, "listening");
        tasks.spawn(ingest_api::serve(
            listener,
            router,
            server.serve,
            until_stopped(),
        ));
    }
    signal.await;
    tracing::info!("shutting down");
    let _ = stop.send(true);
    while tasks.join_next().await.is_some() {}
    tracing::info!("stopped");
    Ok(())
}

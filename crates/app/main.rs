//! `ingestion`: the server of the Ingestion API and the workers that execute its tasks.
//!
//! `ingestion serve` opens the store (a SQLite file in the data directory unless a database URL
//! is given), loads or generates the credentials of the applications and the key that encrypts
//! secrets at rest, and runs the API, the cron scheduler and the workers in one process
//! (`--role` picks a subset) until SIGTERM or SIGINT, then drains: in-flight requests finish,
//! workers stop claiming and give their runs back to the queue. `ingestion worker` runs workers
//! only, against a shared PostgreSQL database. A process without the API serves `/health`,
//! `/ready` and `/metrics` alone (`serve` on `--listen`, `worker` when given `--listen`).
//!
//! Exit status: 0 after a clean shutdown, 1 when the process cannot start (store, port), 2 for a
//! usage or settings error.

// A failed unwrap is a failed test; outside tests, every error is handled.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ingest_api::credentials;
use ingest_core::Secret;
use ingest_store::SecretKey;
use ingestion::process::{HttpRole, Roles, is_postgres, open_store};
use ingestion::settings::{LogFormat, Settings};

/// The self-hostable Algolia Ingestion API and its workers.
#[derive(Debug, Parser)]
#[command(name = "ingestion", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serves the Ingestion API, and runs the scheduler and workers (see --role).
    Serve(ServeArgs),
    /// Runs workers only, against a shared PostgreSQL database.
    Worker(WorkerArgs),
}

#[derive(Debug, clap::Args)]
struct Common {
    /// Where the SQLite database, the generated credentials and the secret key live.
    #[arg(long, value_name = "DIR", default_value = "./data")]
    data_dir: PathBuf,
    /// `postgres://...` or `sqlite://PATH` (default: `INGESTION__STORE__URL`, else SQLite in
    /// the data directory).
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// Settings file overriding the embedded defaults (see config/default.toml).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// `text` or `json` (default: the `[log] format` setting).
    #[arg(long, value_name = "FORMAT")]
    log_format: Option<String>,
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    #[command(flatten)]
    common: Common,
    /// The address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The parts to run: any of api, scheduler, worker, comma-separated.
    #[arg(long, value_name = "ROLES", default_value = "api,scheduler,worker")]
    role: String,
    /// Serve `/health`, `/ready` and `/metrics` on this address instead, and `/metrics` no
    /// longer on `--listen` (e.g. to keep metrics off a public listener).
    #[arg(long, value_name = "ADDR")]
    metrics_listen: Option<SocketAddr>,
}

#[derive(Debug, clap::Args)]
struct WorkerArgs {
    #[command(flatten)]
    common: Common,
    /// Serve `/health`, `/ready` and `/metrics` on this address (none by default).
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (common, serve, listen, metrics_listen) = match cli.command {
        Command::Serve(args) => (
            args.common,
            Some(args.role),
            Some(args.listen),
            args.metrics_listen,
        ),
        Command::Worker(args) => (args.common, None, args.listen, None),
    };
    let settings = match Settings::load(common.config.as_deref(), std::env::vars()) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("ingestion: {error}");
            return ExitCode::from(2);
        }
    };
    let format = match common.log_format.as_deref().map(LogFormat::parse) {
        None => settings.log_format,
        Some(Some(format)) => format,
        Some(None) => {
            eprintln!("ingestion: --log-format: expected `text` or `json`");
            return ExitCode::from(2);
        }
    };
    ingestion::telemetry::init(format, "info,sqlx=warn");
    let roles = match &serve {
        Some(role) => match Roles::parse(role) {
            Ok(roles) => roles,
            Err(error) => {
                eprintln!("ingestion: --role: {error}");
                return ExitCode::from(2);
            }
        },
        None => Roles {
            worker: true,
            ..Roles::default()
        },
    };
    if metrics_listen.is_some() && !roles.api {
        eprintln!(
            "ingestion: --metrics-listen moves /metrics off the API's listener; without the api role, --listen serves /metrics already"
        );
        return ExitCode::from(2);
    }
    let url = common
        .database_url
        .clone()
        .map(Secret::new)
        .or(settings.server.database_url.clone());
    if serve.is_none() && !is_postgres(url.as_ref()) {
        eprintln!(
            "ingestion worker: a PostgreSQL database is required (--database-url postgres://... or INGESTION__STORE__URL); with SQLite, run the workers inside `ingestion serve`"
        );
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("ingestion: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let listeners = Listeners {
        main: listen,
        metrics: metrics_listen,
    };
    match runtime.block_on(start(common, settings, url, roles, listeners)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            eprintln!("ingestion: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// A server listening beyond this machine while sources may reach its loopback: anyone who can
/// create a source could read services bound to 127.0.0.1 (the embedded default suits a local
/// `serve`, not a shared one).
fn warn_if_loopback_is_reachable(settings: &Settings, listen: SocketAddr) {
    let loopback = std::net::IpAddr::from([127, 0, 0, 1]);
    if !listen.ip().is_loopback() && settings.url_policy.check_addr(loopback, Some(80)).is_ok() {
        tracing::warn!(
            %listen,
            "sources may read this machine's loopback (sources.allow_networks lists it) while the API listens beyond it: set INGESTION__SOURCES__ALLOW_NETWORKS= (empty) unless every API user is trusted"
        );
    }
}

/// The addresses a process listens on.
struct Listeners {
    /// `--listen`.
    main: Option<SocketAddr>,
    /// `serve --metrics-listen`.
    metrics: Option<SocketAddr>,
}

async fn bind(address: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {address}: {e}"))
}

async fn start(
    common: Common,
    settings: Settings,
    url: Option<Secret<String>>,
    roles: Roles,
    listeners: Listeners,
) -> anyhow::Result<()> {
    let data_dir = &common.data_dir;
    std::fs::create_dir_all(data_dir)
        .map_err(|e| anyhow::anyhow!("cannot create data directory {}: {e}", data_dir.display()))?;
    let key_file = data_dir.join("secret.key");
    if !roles.api && settings.server.secret_key.is_none() && !key_file.exists() {
        anyhow::bail!(
            "the secret key is needed to decrypt credentials: set INGESTION__STORE__SECRET_KEY (or [store] secret_key) to the API's key, or put it in {}",
            key_file.display()
        );
    }
    let key = match settings.server.secret_key.clone() {
        Some(key) => key,
        None => SecretKey::load_or_generate(key_file)?,
    };
    if let Some(listen) = listeners.main {
        warn_if_loopback_is_reachable(&settings, listen);
    }
    let store = open_store(url.as_ref(), data_dir, key).await?;
    let http = match listeners.main {
        Some(listen) => {
            let listener = bind(listen).await?;
            if roles.api {
                let mut apps = settings.server.apps.clone();
                if apps.is_empty() {
                    let (app, path, created) = credentials::load_or_create(data_dir)?;
                    if created {
                        tracing::info!(app_id = app.app_id, path = %path.display(), "generated credentials: the admin API key is in this file");
                    } else {
                        tracing::info!(app_id = app.app_id, path = %path.display(), "using the credentials of this file");
                    }
                    apps.push(app);
                }
                let metrics = match listeners.metrics {
                    Some(address) => Some(bind(address).await?),
                    None => None,
                };
                Some(HttpRole::Api {
                    listener,
                    apps,
                    metrics,
                })
            } else {
                Some(HttpRole::Ops { listener })
            }
        }
        None => None,
    };
    ingestion::process::run(roles, &settings, store, http, ingest_api::shutdown_signal()).await
}

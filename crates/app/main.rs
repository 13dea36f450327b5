//! `ingestion`: the server of the Ingestion API.
//!
//! `ingestion serve` opens the store (a SQLite file in the data directory unless a database URL
//! is given), loads or generates the credentials of the applications and the key that encrypts
//! secrets at rest, and serves the API until SIGTERM or SIGINT, then drains in-flight requests.
//!
//! Exit status: 0 after a clean shutdown, 1 when the server cannot start (store, port), 2 for a
//! usage or settings error.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use ingest_api::{ApiConfig, credentials};
use ingest_core::Secret;
use ingest_store::{PostgresStore, SecretKey, SqliteStore, Store};
use ingestion::settings::{ServerSettings, Settings};

/// The self-hostable Algolia Ingestion API.
#[derive(Debug, Parser)]
#[command(name = "ingestion", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serves the Ingestion API over HTTP.
    Serve(ServeArgs),
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Where the SQLite database, the generated credentials and the secret key live.
    #[arg(long, value_name = "DIR", default_value = "./data")]
    data_dir: PathBuf,
    /// The address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// `postgres://...` or `sqlite://PATH` (default: `INGESTION__STORE__URL`, else SQLite in
    /// the data directory).
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// Settings file overriding the embedded defaults (see config/default.toml).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn")),
        )
        .init();
    let Command::Serve(args) = cli.command;
    let settings = match Settings::load(args.config.as_deref(), std::env::vars()) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("ingestion: {error}");
            return ExitCode::from(2);
        }
    };
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
    match runtime.block_on(serve(args, settings.server)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            eprintln!("ingestion: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: ServeArgs, settings: ServerSettings) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data_dir).map_err(|e| {
        anyhow::anyhow!(
            "cannot create data directory {}: {e}",
            args.data_dir.display()
        )
    })?;
    let mut apps = settings.apps.clone();
    if apps.is_empty() {
        let (app, path, created) = credentials::load_or_create(&args.data_dir)?;
        if created {
            tracing::info!(app_id = app.app_id, path = %path.display(), "generated credentials: the admin API key is in this file");
        } else {
            tracing::info!(app_id = app.app_id, path = %path.display(), "using the credentials of this file");
        }
        apps.push(app);
    }
    let key = match settings.secret_key.clone() {
        Some(key) => key,
        None => SecretKey::load_or_generate(args.data_dir.join("secret.key"))?,
    };
    let url = args
        .database_url
        .map(Secret::new)
        .or(settings.database_url.clone());
    let store = open_store(url.as_ref(), &args.data_dir, key).await?;
    let config = ApiConfig {
        apps,
        rate_limits: settings.rate_limits.clone(),
        max_body_bytes: settings.max_body_bytes,
        request_timeout: settings.request_timeout,
    };
    let router = ingest_api::router(store, &config);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.listen))?;
    tracing::info!(address = %listener.local_addr()?, "listening");
    ingest_api::serve(
        listener,
        router,
        settings.serve,
        ingest_api::shutdown_signal(),
    )
    .await;
    tracing::info!("stopped");
    Ok(())
}

/// Opens the store named by `url` (`postgres://`, `postgresql://`, `sqlite://PATH`), or the
/// SQLite file `ingestion.db` in the data directory. Errors never show the URL (it may hold a
/// password).
async fn open_store(
    url: Option<&Secret<String>>,
    data_dir: &Path,
    key: SecretKey,
) -> anyhow::Result<Arc<dyn Store>> {
    let url = url.map(|u| u.expose().trim()).filter(|u| !u.is_empty());
    match url {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            let store = PostgresStore::connect(url, key)
                .await
                .map_err(|e| anyhow::anyhow!("cannot open the PostgreSQL database: {e}"))?;
            tracing::info!("store: postgresql");
            Ok(Arc::new(store))
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

async fn open_sqlite(path: &Path, key: SecretKey) -> anyhow::Result<Arc<dyn Store>> {
    let store = SqliteStore::open(path, key)
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the SQLite database {}: {e}", path.display()))?;
    tracing::info!(path = %path.display(), "store: sqlite");
    Ok(Arc::new(store))
}

use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn defaults_load() {
    let settings = Settings::load(None, env(&[])).unwrap();
    assert_eq!(settings.batch, BatchLimits::default());
    assert_eq!(settings.http.max_retries, 5);
    assert_eq!(settings.algolia, TransportSettings::default());
    assert_eq!(settings.push, PushSettings::default());
    assert_eq!(settings.endpoints, Endpoints::default());
    assert_eq!(settings.insights_hosts, ["https://insights.algolia.io"]);
    let loopback = url::Url::parse("http://127.0.0.1:8000/x.csv").unwrap();
    assert!(settings.url_policy.check_url(&loopback).is_ok());
}

#[test]
fn file_then_env_override() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.toml");
    std::fs::write(&file, "[batch]\nmax_records = 10\n").unwrap();
    let settings = Settings::load(
        Some(&file),
        env(&[
            ("INGESTION__BATCH__MAX_BYTES", "2000000"),
            ("INGESTION__SOURCES__ALLOW_NETWORKS", ""),
            ("OTHER", "ignored"),
        ]),
    )
    .unwrap();
    assert_eq!(settings.batch.max_records(), 10);
    assert_eq!(settings.batch.max_bytes(), 2_000_000);
    let loopback = url::Url::parse("http://127.0.0.1/").unwrap();
    assert!(settings.url_policy.check_url(&loopback).is_err());
}

#[test]
fn algolia_hosts_from_the_environment() {
    let settings = Settings::load(
        None,
        env(&[
            (
                "INGESTION__ALGOLIA__HOSTS",
                "http://127.0.0.1:7700, http://127.0.0.1:7701",
            ),
            ("INGESTION__PUSH__IN_FLIGHT", "8"),
        ]),
    )
    .unwrap();
    assert_eq!(
        settings.algolia.hosts,
        Some(vec![
            "http://127.0.0.1:7700".into(),
            "http://127.0.0.1:7701".into()
        ])
    );
    assert_eq!(settings.push.in_flight, 8);
    let settings = Settings::load(
        None,
        env(&[
            ("INGESTION__BIGQUERY__API_BASE", "http://127.0.0.1:9050/"),
            (
                "INGESTION__GOOGLE__TOKEN_URL",
                "http://127.0.0.1:9051/token",
            ),
            ("INGESTION__BIGCOMMERCE__API_BASE", "http://127.0.0.1:9052"),
            ("INGESTION__INSIGHTS__HOSTS", "http://127.0.0.1:9053"),
        ]),
    )
    .unwrap();
    assert_eq!(
        settings.endpoints.bigquery_api_base,
        "http://127.0.0.1:9050"
    );
    assert_eq!(
        settings.endpoints.google_token_url,
        "http://127.0.0.1:9051/token"
    );
    assert_eq!(
        settings.endpoints.bigcommerce_api_base,
        "http://127.0.0.1:9052"
    );
    assert_eq!(settings.insights_hosts, ["http://127.0.0.1:9053"]);
    let error =
        Settings::load(None, env(&[("INGESTION__BIGQUERY__API_BASE", "nope")])).unwrap_err();
    assert!(error.to_string().contains("bigquery.api_base"), "{error}");
    assert_eq!(settings.push.limits, settings.batch);
    let error = Settings::load(None, env(&[("INGESTION__PUSH__IN_FLIGHT", "0")])).unwrap_err();
    assert!(error.to_string().contains("push.in_flight"), "{error}");
}

#[test]
fn the_concurrency_window_bounds() {
    let settings = Settings::load(
        None,
        env(&[
            ("INGESTION__PUSH__IN_FLIGHT", "2"),
            ("INGESTION__PUSH__MAX_IN_FLIGHT", "64"),
        ]),
    )
    .unwrap();
    assert_eq!(
        (settings.push.in_flight, settings.push.max_in_flight),
        (2, 64)
    );
    assert_eq!(settings.push.window().initial, 2);
    let fixed = Settings::load(None, env(&[("INGESTION__PUSH__MAX_IN_FLIGHT", "4")])).unwrap();
    assert_eq!(fixed.push.window().max, 4);
    let error = Settings::load(
        None,
        env(&[
            ("INGESTION__PUSH__IN_FLIGHT", "8"),
            ("INGESTION__PUSH__MAX_IN_FLIGHT", "6"),
        ]),
    )
    .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("push.max_in_flight: must be at least push.in_flight (8), got 6"),
        "{error}"
    );
    let error =
        Settings::load(None, env(&[("INGESTION__PUSH__MAX_IN_FLIGHT", "1000")])).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("push.max_in_flight: at most 256 batches per application"),
        "{error}"
    );
}

#[test]
fn every_problem_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.toml");
    std::fs::write(
        &file,
        "[batch]\nmax_records = 0\n[sources]\nallow_networks = [\"x\"]\n",
    )
    .unwrap();
    let error = Settings::load(
        Some(&file),
        env(&[
            ("INGESTION__BATCH__MAX_BYTES", "lots"),
            ("INGESTION__NOPE__X", "1"),
        ]),
    )
    .unwrap_err();
    let text = error.to_string();
    assert!(
        text.contains("INGESTION__BATCH__MAX_BYTES: expected an integer"),
        "{text}"
    );
    assert!(text.contains("unknown settings section `nope`"), "{text}");
    assert!(
        text.contains("batch: batch max records must be at least 1"),
        "{text}"
    );
    assert!(text.contains("sources.allow_networks"), "{text}");
}

#[test]
fn server_settings_from_file_and_env() {
    let key = "ab".repeat(32);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.toml");
    std::fs::write(
        &file,
        "[[auth.apps]]\napp_id = \"A2\"\napi_key = \"k2\"\n\n[rate_limit]\ntrusted_proxies = [\"127.0.0.1\", \"10.0.0.0/8\"]\n",
    )
    .unwrap();
    let settings = Settings::load(
        Some(&file),
        env(&[
            ("INGESTION__AUTH__APP_ID", "A1"),
            ("INGESTION__AUTH__API_KEY", "k1"),
            ("INGESTION__RATE_LIMIT__REQUESTS", "5000"),
            ("INGESTION__STORE__URL", "postgres://u:p@h/db"),
            ("INGESTION__STORE__SECRET_KEY", key.as_str()),
        ]),
    )
    .unwrap();
    let server = settings.server;
    let ids: Vec<_> = server.apps.iter().map(|a| a.app_id.as_str()).collect();
    assert_eq!(ids, ["A1", "A2"]);
    assert_eq!(server.rate_limits.general.requests, 5000);
    assert_eq!(server.rate_limits.runs.period, Duration::from_secs(30));
    assert_eq!(server.rate_limits.trusted_proxies.len(), 2);
    assert_eq!(server.database_url.unwrap().expose(), "postgres://u:p@h/db");
    assert_eq!(server.max_body_bytes, 1 << 20);
    assert!(server.secret_key.is_some());
    let defaults = Settings::load(None, env(&[])).unwrap().server;
    assert!(defaults.apps.is_empty());
    assert!(defaults.database_url.is_none());
}

#[test]
fn server_problems_are_reported_without_keys() {
    let error = Settings::load(
        None,
        env(&[
            ("INGESTION__AUTH__API_KEY", "very-secret-key"),
            ("INGESTION__RATE_LIMIT__TRUSTED_PROXIES", "nope"),
            ("INGESTION__RATE_LIMIT__PERIOD_SECS", "0"),
            ("INGESTION__STORE__SECRET_KEY", "not-a-key"),
        ]),
    )
    .unwrap_err();
    let text = error.to_string();
    assert!(text.contains("auth.app_id: required"), "{text}");
    assert!(text.contains("`nope` is not an IP address"), "{text}");
    assert!(text.contains("periods must be at least 1 s"), "{text}");
    assert!(
        text.contains("store.secret_key: invalid secret key"),
        "{text}"
    );
    assert!(!text.contains("not-a-key"), "{text}");
    assert!(!text.contains("very-secret-key"), "{text}");
}

#[test]
fn the_example_file_loads() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/example.toml");
    let settings = Settings::load(Some(&file), env(&[])).unwrap();
    assert_eq!(settings.server.rate_limits.trusted_proxies.len(), 1);
    assert!(settings.server.apps.is_empty());
}

#[test]
fn unknown_keys_in_a_file_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.toml");
    std::fs::write(&file, "[batch]\nmax_recs = 10\n").unwrap();
    let error = Settings::load(Some(&file), env(&[])).unwrap_err();
    assert!(error.to_string().contains("max_recs"), "{error}");
}

#[test]
fn algolia_compression() {
    let settings =
        Settings::load(None, env(&[("INGESTION__ALGOLIA__COMPRESSION", "gzip")])).unwrap();
    assert_eq!(
        settings.algolia.compression,
        ingest_algolia::Compression::Gzip
    );
    let error =
        Settings::load(None, env(&[("INGESTION__ALGOLIA__COMPRESSION", "brotli")])).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("algolia.compression: expected `none` or `gzip`, got `brotli`"),
        "{error}"
    );
}

#[test]
fn a_webhook_client_secret_from_the_environment() {
    let settings = Settings::load(None, env(&[])).unwrap();
    assert!(settings.webhook_client_secret.is_none());
    let settings = Settings::load(
        None,
        env(&[("INGESTION__BIGCOMMERCE__WEBHOOK_CLIENT_SECRET", "s3cret")]),
    )
    .unwrap();
    assert_eq!(
        settings
            .webhook_client_secret
            .as_ref()
            .map(|s| s.expose().as_str()),
        Some("s3cret")
    );
    assert!(!format!("{settings:?}").contains("s3cret"));
}

#[test]
fn a_source_proxy_is_an_http_url_and_never_echoed() {
    assert!(Settings::load(None, env(&[])).unwrap().http.proxy.is_none());
    let settings = Settings::load(
        None,
        env(&[(
            "INGESTION__SOURCES__PROXY",
            "http://user:pw@proxy.internal:3128",
        )]),
    )
    .unwrap();
    assert_eq!(
        settings.http.proxy.unwrap().expose(),
        "http://user:pw@proxy.internal:3128"
    );
    let error = Settings::load(
        None,
        env(&[("INGESTION__SOURCES__PROXY", "socks9://user:hunter2@proxy")]),
    )
    .unwrap_err();
    let text = error.to_string();
    assert!(text.contains("sources.proxy"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
}

#[test]
fn console_settings() {
    let defaults = Settings::load(None, env(&[])).unwrap();
    assert_eq!(defaults.console, ingest_console::ConsoleSettings::default());
    let off = Settings::load(
        None,
        env(&[
            ("INGESTION__CONSOLE__ENABLED", "false"),
            ("INGESTION__CONSOLE__SECURE_COOKIES", "true"),
            ("INGESTION__CONSOLE__SESSION_IDLE_SECS", "3600"),
        ]),
    )
    .unwrap();
    assert!(!off.console.enabled && off.console.secure_cookies);
    assert_eq!(off.console.session_idle, Duration::from_secs(3600));
    let error = Settings::load(
        None,
        env(&[
            ("INGESTION__CONSOLE__SESSION_IDLE_SECS", "5"),
            ("INGESTION__CONSOLE__SIGN_INS_PER_MINUTE", "0"),
        ]),
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("console.session_idle_secs"), "{error}");
    assert!(error.contains("console.sign_ins_per_minute"), "{error}");
}

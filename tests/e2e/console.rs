//! The console in a real browser: `tests/e2e/console_browser.py` drives Debian's Chromium over
//! WebDriver (Python selenium and chromedriver, which `.ci/run` installs) against the real
//! `ingestion serve`, the fake Algolia and a CSV server on 127.0.0.1, and writes screenshots of
//! every page at 1280 px and 390 px under `target/console-screenshots/`.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use ingest_algolia::testkit::{FakeAlgolia, Pace};

const APP: &str = "CONSOLEAPP";
const KEY: &str = "console-admin-key";
const SECRET: &str = "0303030303030303030303030303030303030303030303030303030303030303";
/// Rows of the CSV; row 1235 (objectID `p1234`) has a price that is not a number.
const ROWS: usize = 3000;
const BAD_ID: &str = "p1234";

fn browser_available() -> bool {
    let selenium = std::process::Command::new("python3")
        .args(["-c", "import selenium"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    selenium
        && std::path::Path::new("/usr/bin/chromium").exists()
        && std::path::Path::new("/usr/bin/chromedriver").exists()
}

fn csv_body() -> String {
    let mut body = String::from("id,name,price\n");
    for i in 1..=ROWS {
        let price = if format!("p{i}") == BAD_ID {
            "abc".to_owned()
        } else {
            format!("{i}.5")
        };
        body.push_str(&format!("p{i},product {i},{price}\n"));
    }
    body
}

/// Serves `body` as `/products.csv` on 127.0.0.1.
async fn csv_server(body: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let body = body.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/csv\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(body.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    format!("http://{addr}/products.csv")
}

fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target")));
    target.join("console-screenshots")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_runs_a_task_from_the_console_in_a_real_browser() {
    if !browser_available() {
        // CI installs Chromium, chromedriver and selenium (.ci/run): there the test must run.
        assert!(
            std::env::var("CI").is_err(),
            "CI=true but Chromium, chromedriver or Python selenium is not installed"
        );
        eprintln!("skipped: Chromium, chromedriver or Python selenium is not installed");
        return;
    }
    let fake = FakeAlgolia::builder().app_id(APP).api_key(KEY).build();
    // Slow enough batches that the run page sees the run before it ends.
    fake.set_pace(Pace {
        latency: Duration::from_millis(40),
        concurrency_limit: None,
    });
    let algolia = fake.serve();
    let csv = csv_server(csv_body()).await;
    let data = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = tokio::process::Command::new(env!("CARGO_BIN_EXE_ingestion"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(data.path())
        .env_remove("INGESTION__STORE__URL")
        .env("INGESTION__AUTH__APP_ID", APP)
        .env("INGESTION__AUTH__API_KEY", KEY)
        .env("INGESTION__STORE__SECRET_KEY", SECRET)
        .env("INGESTION__ALGOLIA__HOSTS", algolia.url())
        .env("INGESTION__SOURCES__ALLOW_NETWORKS", "127.0.0.0/8")
        .env("INGESTION__BATCH__MAX_RECORDS", "50")
        .env("INGESTION__WORKER__POLL_MS", "50")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..200 {
        if let Ok(resp) = http.get(format!("{base}/ready")).send().await
            && resp.status() == 200
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ready, "ingestion serve did not become ready");
    let shots = screenshot_dir();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e/console_browser.py");
    let output = tokio::time::timeout(
        Duration::from_secs(300),
        tokio::process::Command::new("python3")
            .arg(script)
            .args([&base, APP, KEY, &csv, &(ROWS - 1).to_string(), BAD_ID])
            .arg(&shots)
            .output(),
    )
    .await
    .expect("the browser test ends within 5 minutes")
    .unwrap();
    let _ = server.start_kill();
    let log = match server.stderr.take() {
        Some(mut stderr) => {
            use tokio::io::AsyncReadExt;
            let mut log = String::new();
            let _ =
                tokio::time::timeout(Duration::from_secs(5), stderr.read_to_string(&mut log)).await;
            log
        }
        None => String::new(),
    };
    assert!(
        output.status.success(),
        "the browser test failed:\n{}\n{}\nserver log:\n{log}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // What the person did through the forms reached Algolia: every good row, not the bad one.
    let products = fake.records("products");
    assert_eq!(products.len(), ROWS - 1);
    assert!(!products.contains_key(BAD_ID));
    assert_eq!(products["p7"]["price"], 7.5);
    assert!(!log.contains(KEY), "the key is never logged");
    for page in [
        "run-detail",
        "tasks",
        "overview",
        "transformation-try",
        "source-form-error",
    ] {
        for width in [1280, 390] {
            let file = shots.join(format!("{page}-{width}.png"));
            assert!(file.exists(), "{} was written", file.display());
        }
    }
}

//! `run-task` against peers that misbehave on purpose: each fails its own run with a reason a
//! user can act on (exit status 1), never the process (a panic is 101, an abort or the kernel's
//! OOM killer a signal). Peak memory for the same inputs is measured on the release binary and
//! reported in `docs/connectors.md`; here only the behaviour is asserted.

use std::io::Write;
use std::time::Duration;

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::support::Scratch;

/// What a raw server does with each connection after reading the request.
#[derive(Clone, Copy)]
enum Peer {
    /// A `200` whose body never ends.
    EndlessBody,
    /// A token response whose `expires_in` is `u64::MAX`.
    HugeExpiry,
    /// A CSV answered one byte at a time, 50 ms apart.
    Trickle,
    /// A small CSV, for the data request after a token.
    Csv,
}

async fn raw_server(peer: Peer) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = vec![0u8; 16 * 1024];
                let read = socket.read(&mut request).await.unwrap_or(0);
                let is_token = request[..read].starts_with(b"POST");
                let peer = match peer {
                    Peer::HugeExpiry if !is_token => Peer::Csv,
                    other => other,
                };
                let _ = answer(&mut socket, peer).await;
            });
        }
    });
    base
}

async fn answer(socket: &mut tokio::net::TcpStream, peer: Peer) -> std::io::Result<()> {
    let head = "HTTP/1.1 200 OK\r\nconnection: close\r\n";
    match peer {
        Peer::EndlessBody => {
            socket
                .write_all(format!("{head}\r\n{{\"access_token\": \"").as_bytes())
                .await?;
            let block = vec![b'a'; 64 * 1024];
            loop {
                socket.write_all(&block).await?;
            }
        }
        Peer::HugeExpiry => {
            let body = r#"{"access_token": "t0k3n", "expires_in": 18446744073709551615}"#;
            let response = format!("{head}content-length: {}\r\n\r\n{body}", body.len());
            socket.write_all(response.as_bytes()).await
        }
        Peer::Trickle => {
            socket
                .write_all(format!("{head}\r\nid,name\n").as_bytes())
                .await?;
            loop {
                tokio::time::sleep(Duration::from_millis(50)).await;
                socket.write_all(b"1").await?;
            }
        }
        Peer::Csv => {
            let body = "id,name\n1,a\n2,b\n";
            let response = format!("{head}content-length: {}\r\n\r\n{body}", body.len());
            socket.write_all(response.as_bytes()).await
        }
    }
}

fn task(source: Value) -> Value {
    json!({
        "action": "replace",
        "source": source,
        "destination": { "type": "search", "input": { "indexName": "products" } }
    })
}

fn csv_with_oauth(data_url: &str, token_url: &str) -> Value {
    task(json!({
        "type": "csv",
        "input": { "url": data_url, "uniqueIDColumn": "id" },
        "authentication": { "type": "oauth",
                            "input": { "url": token_url, "client_id": "c", "client_secret": "s" } }
    }))
}

fn reason(result: &crate::support::RunResult) -> String {
    result.summary()["reason"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn a_token_endpoint_that_never_stops_fails_the_run_at_its_cap() {
    let token = raw_server(Peer::EndlessBody).await;
    let scratch = Scratch::new();
    let file = scratch.task(&csv_with_oauth(
        "http://127.0.0.1:9/data.csv",
        &format!("{token}/token"),
    ));
    let result = scratch.dry_run(&file, &[]).await;
    assert_eq!(result.status, 1, "{result:?}");
    assert!(
        reason(&result).contains("the response is larger than 64 KiB"),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_token_lifetime_past_the_clock_is_no_panic() {
    let server = raw_server(Peer::HugeExpiry).await;
    let scratch = Scratch::new();
    let file = scratch.task(&csv_with_oauth(
        &format!("{server}/data.csv"),
        &format!("{server}/token"),
    ));
    let result = scratch.dry_run(&file, &[]).await;
    assert_eq!(result.status, 0, "{result:?}");
    assert_eq!(result.summary()["recordsPushed"], 2);
}

#[tokio::test]
async fn a_trickling_source_fails_as_stalled() {
    let server = raw_server(Peer::Trickle).await;
    let scratch = Scratch::new();
    let file = scratch.task(&task(json!({
        "type": "csv", "input": { "url": format!("{server}/slow.csv") }
    })));
    let result = scratch
        .dry_run(&file, &[("INGESTION__SOURCES__STALL_WINDOW_MS", "300")])
        .await;
    assert_eq!(result.status, 1, "{result:?}");
    assert!(reason(&result).contains("stalled"), "{result:?}");
}

#[tokio::test]
async fn a_gzip_bomb_is_stopped_at_the_decompressed_cap() {
    let scratch = Scratch::new();
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(&vec![b' '; 64 * 1024 * 1024]).unwrap();
    encoder.write_all(b"[]").unwrap();
    scratch.write("bomb.json.gz", encoder.finish().unwrap());
    let file = scratch.task(&task(json!({
        "type": "json", "input": { "url": "./bomb.json.gz" }
    })));
    let capped = scratch
        .dry_run(
            &file,
            &[("INGESTION__SOURCES__MAX_DECOMPRESSED_BYTES", "8000000")],
        )
        .await;
    assert_eq!(capped.status, 1, "{capped:?}");
    assert!(
        reason(&capped).contains("decompresses to more than 8000000 bytes"),
        "{capped:?}"
    );
    // Under the default cap the same body is only whitespace around an empty array.
    let whole = scratch.dry_run(&file, &[]).await;
    assert_eq!(whole.summary()["recordsRead"], 0, "{whole:?}");
}

#[tokio::test]
async fn a_url_with_credentials_in_it_is_refused_before_anything_runs() {
    let scratch = Scratch::new();
    let file = scratch.task(&task(json!({
        "type": "csv", "input": { "url": "https://reader:pw@example.com/data.csv" }
    })));
    let result = scratch.dry_run(&file, &[]).await;
    assert_eq!(result.status, 2, "{result:?}");
    assert!(result.stderr.contains("source.input.url"), "{result:?}");
    assert!(
        result.stderr.contains("use a `basic` authentication"),
        "{result:?}"
    );
    assert!(!result.stderr.contains("reader:pw"), "{result:?}");
}

//! A fake Algolia over HTTP on 127.0.0.1, for benchmarks and trying `run-task` without an
//! Algolia account: prints its URL, application ID and API key on one line, then serves until
//! stopped (Ctrl-C or SIGTERM), printing the records of each index when it stops.
//!
//! `cargo run --example fake_algolia` (a free port); then push with
//! `INGESTION__ALGOLIA__HOSTS=<url> run-task --task-file …` and the printed credentials.

use ingest_algolia::testkit::FakeAlgolia;

#[tokio::main]
async fn main() {
    let fake = FakeAlgolia::builder().unpublished_polls(0).build();
    let server = fake.serve();
    println!("{} {} {}", server.url(), fake.app_id(), fake.api_key());
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("a SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    for index in fake.index_names() {
        eprintln!("{index}: {} records", fake.record_count(&index));
    }
    server.shutdown().await;
}

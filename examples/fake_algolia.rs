//! A fake Algolia over HTTP on 127.0.0.1, for benchmarks and trying `run-task` without an
//! Algolia account: prints its URL, application ID and API key on one line, then serves until
//! stopped (Ctrl-C or SIGTERM), printing the records of each index, the most calls it had in
//! progress at once and the calls it refused when it stops.
//!
//! `cargo run --example fake_algolia` (a free port); then push with
//! `INGESTION__ALGOLIA__HOSTS=<url> run-task --task-file …` and the printed credentials.
//!
//! Its pace (see `ingest_algolia::testkit::Pace`): `--latency-ms N` makes every call wait N ms
//! before it is answered, `--concurrency-limit N` answers 429 `Too many jobs` to writes beyond N
//! in progress at once (task polls and other reads are never refused); or `FAKE_ALGOLIA_LATENCY_MS` and `FAKE_ALGOLIA_CONCURRENCY_LIMIT`. Both
//! can be changed while it runs with `PUT /testkit/pace` (`{"latencyMs":20,"concurrencyLimit":8}`).

use std::process::ExitCode;
use std::time::Duration;

use ingest_algolia::testkit::{FakeAlgolia, Pace};

/// `--name VALUE` or `--name=VALUE` from the arguments, else the environment variable.
fn setting(args: &[String], name: &str, env: &str) -> Result<Option<u64>, String> {
    let flag = format!("--{name}");
    let mut value = std::env::var(env).ok();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if *arg == flag {
            value = args.next().cloned();
        } else if let Some(v) = arg.strip_prefix(&format!("{flag}=")) {
            value = Some(v.to_owned());
        }
    }
    value
        .map(|v| {
            v.trim()
                .parse()
                .map_err(|_| format!("{flag}: expected a whole number, got `{v}`"))
        })
        .transpose()
}

fn pace() -> Result<Pace, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(unknown) = args.iter().find(|a| {
        a.starts_with("--")
            && !a.starts_with("--latency-ms")
            && !a.starts_with("--concurrency-limit")
    }) {
        return Err(format!(
            "unknown option `{unknown}`: expected --latency-ms N or --concurrency-limit N"
        ));
    }
    let latency = setting(&args, "latency-ms", "FAKE_ALGOLIA_LATENCY_MS")?.unwrap_or(0);
    let limit = setting(&args, "concurrency-limit", "FAKE_ALGOLIA_CONCURRENCY_LIMIT")?;
    Ok(Pace {
        latency: Duration::from_millis(latency),
        concurrency_limit: limit.filter(|&n| n > 0).map(|n| n as usize),
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let pace = match pace() {
        Ok(pace) => pace,
        Err(error) => {
            eprintln!("fake_algolia: {error}");
            return ExitCode::from(2);
        }
    };
    let fake = FakeAlgolia::builder().unpublished_polls(0).build();
    fake.set_pace(pace);
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
    eprintln!(
        "most writes in progress at once: {}; writes refused with 429: {}",
        fake.peak_concurrency(),
        fake.throttled_calls()
    );
    server.shutdown().await;
    ExitCode::SUCCESS
}

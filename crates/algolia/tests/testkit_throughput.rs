//! How fast the fake takes records in (run with `--ignored --nocapture`, ideally `--release`).
#![cfg(feature = "testkit")]

use std::time::Instant;

use bytes::Bytes;
use ingest_algolia::IndexingApi;
use ingest_algolia::testkit::FakeAlgolia;

/// 1000 batches of 1000 records of about 120 bytes, in memory.
#[tokio::test]
#[ignore = "a measurement, not a check"]
async fn a_million_records_in_memory() {
    let fake = FakeAlgolia::new();
    let bodies: Vec<Bytes> = (0..1000)
        .map(|batch| {
            let mut body = String::from(r#"{"requests":["#);
            for n in 0..1000 {
                if n > 0 {
                    body.push(',');
                }
                let id = batch * 1000 + n;
                body.push_str(&format!(
                    r#"{{"action":"addObject","body":{{"objectID":"{id}","name":"product {id}","price":{n}.5,"tags":["a","b"],"inStock":true}}}}"#
                ));
            }
            body.push_str("]}");
            Bytes::from(body)
        })
        .collect();
    let bytes: usize = bodies.iter().map(Bytes::len).sum();
    let started = Instant::now();
    for body in bodies {
        fake.batch("p", body, true).await.unwrap();
    }
    let elapsed = started.elapsed();
    assert_eq!(fake.record_count("p"), 1_000_000);
    println!(
        "1 000 000 records ({} MB) in {elapsed:?}: {:.0} records/s",
        bytes / 1_000_000,
        1e6 / elapsed.as_secs_f64()
    );
}

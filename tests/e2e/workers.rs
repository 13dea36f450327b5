//! Worker processes over PostgreSQL: kill -9 mid-run and another worker finishes it; a paused
//! worker that wakes after losing its lease changes nothing; SIGTERM gives the run back; three
//! workers claim 1,000 runs each exactly once; a worker given `--listen` answers health, readiness
//! and metrics probes (and nothing of the API). Skipped without `TEST_DATABASE_URL` (fails in CI).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ingest_algolia::testkit::CallKind;
use ingest_model::{RunOutcome, RunStatus};
use serde_json::json;

use crate::fleet::{APP, Fleet, database_url, now, signal};

const FAST: &[(&str, &str)] = &[("INGESTION__BATCH__MAX_RECORDS", "10")];

fn old_records() -> Vec<serde_json::Value> {
    (1..=5)
        .map(|i| json!({"objectID": format!("old{i}")}))
        .collect()
}

/// Samples the production index every few milliseconds: the record counts it ever showed.
fn watch_production(
    fleet: &Fleet,
    index: &str,
) -> (Arc<Mutex<BTreeSet<usize>>>, tokio::task::JoinHandle<()>) {
    let seen = Arc::new(Mutex::new(BTreeSet::new()));
    let (fake, index, sink) = (fleet.fake.clone(), index.to_owned(), seen.clone());
    let handle = tokio::spawn(async move {
        loop {
            let count = fake.record_count(&index);
            sink.lock().unwrap().insert(count);
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    (seen, handle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_mid_run_another_worker_finishes() {
    let Some(url) = database_url() else { return };
    let mut fleet = Fleet::new(&url).await;
    fleet.fake.set_records("products", old_records());
    let task = fleet.task("/slow/60/40.csv", "products", "replace").await;
    for _ in 0..3 {
        fleet.start_worker(FAST);
    }
    let (seen, watcher) = watch_production(&fleet, "products");
    let run = fleet.store.create_run(APP, &task, now()).await.unwrap();
    fleet
        .wait_status(&run.run_id, RunStatus::Started, Duration::from_secs(20))
        .await;
    let temporary = format!("products_tmp_{}_1", run.run_id);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while fleet.fake.record_count(&temporary) < 10 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no batch reached the temporary index"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let victim = fleet.holder_pid(&run.run_id).await;
    signal(victim, "-9");
    let finished = fleet
        .wait_status(&run.run_id, RunStatus::Finished, Duration::from_secs(60))
        .await;
    watcher.abort();
    assert_eq!(finished.outcome, Some(RunOutcome::Success), "{finished:?}");
    let records = fleet.fake.records("products");
    assert_eq!(records.len(), 60);
    assert!((1..=60).all(|i| records.contains_key(&i.to_string())));
    assert!(!records.keys().any(|k| k.starts_with("old")));
    let names = fleet.fake.index_names();
    assert_eq!(names, ["products"], "a temporary index was left: {names:?}");
    // Production only ever changed by one atomic move: old content, then the full new content.
    let seen = seen.lock().unwrap().clone();
    assert!(
        seen.iter().all(|n| *n == 5 || *n == 60),
        "production showed {seen:?} records"
    );
    let calls = fleet.fake.calls();
    let moves: Vec<_> = calls
        .iter()
        .filter(|c| c.kind == CallKind::Move && c.status == 200)
        .collect();
    assert_eq!(moves.len(), 1, "{moves:?}");
    assert!(
        !calls
            .iter()
            .any(|c| c.kind == CallKind::Batch && c.index.as_deref() == Some("products"))
    );
    let attempt = fleet
        .query_i64(&format!(
            "SELECT attempt FROM runs WHERE id = '{}'",
            run.run_id
        ))
        .await;
    assert_eq!(attempt, 2);
    let holder = fleet
        .query_one_text(&format!(
            "SELECT lease_owner FROM runs WHERE id = '{}'",
            run.run_id
        ))
        .await;
    assert_eq!(holder, None);
    fleet.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_paused_worker_changes_nothing_when_it_wakes() {
    let Some(url) = database_url() else { return };
    let mut fleet = Fleet::new(&url).await;
    fleet.fake.set_records("products", old_records());
    let task = fleet.task("/slow/60/40.csv", "products", "replace").await;
    let paused = fleet.start_worker(FAST);
    let run = fleet.store.create_run(APP, &task, now()).await.unwrap();
    fleet
        .wait_status(&run.run_id, RunStatus::Started, Duration::from_secs(20))
        .await;
    let temporary = format!("products_tmp_{}_1", run.run_id);
    while fleet.fake.record_count(&temporary) < 10 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    signal(paused, "-STOP");
    fleet.start_worker(FAST);
    let finished = fleet
        .wait_status(&run.run_id, RunStatus::Finished, Duration::from_secs(60))
        .await;
    assert_eq!(finished.outcome, Some(RunOutcome::Success), "{finished:?}");
    let calls_before = fleet.fake.calls().len();
    let records_before = fleet.fake.records("products");
    signal(paused, "-CONT");
    tokio::time::sleep(Duration::from_secs(4)).await;
    let after = fleet.store.get_run(APP, &run.run_id).await.unwrap();
    assert_eq!(after, finished, "the woken worker changed the run");
    assert_eq!(fleet.fake.records("products"), records_before);
    let writes: Vec<_> = fleet.fake.calls()[calls_before..]
        .iter()
        .filter(|c| c.kind.writes())
        .cloned()
        .collect();
    assert!(
        writes.is_empty(),
        "the woken worker wrote to Algolia: {writes:?}"
    );
    assert_eq!(fleet.fake.index_names(), ["products"]);
    fleet.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_gives_the_run_back_at_once() {
    let Some(url) = database_url() else { return };
    let mut fleet = Fleet::new(&url).await;
    let task = fleet.task("/slow/600/50.csv", "products", "replace").await;
    let pid = fleet.start_worker(FAST);
    let run = fleet.store.create_run(APP, &task, now()).await.unwrap();
    fleet
        .wait_status(&run.run_id, RunStatus::Started, Duration::from_secs(20))
        .await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let asked = tokio::time::Instant::now();
    signal(pid, "-TERM");
    let status = fleet.workers[0].wait().await.unwrap();
    assert!(status.success(), "{status:?}");
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "took {:?}",
        asked.elapsed()
    );
    let run = fleet.store.get_run(APP, &run.run_id).await.unwrap();
    assert_eq!(run.status, RunStatus::Created, "{run:?}");
    assert!(
        fleet
            .fake
            .index_names()
            .iter()
            .all(|n| !n.contains("_tmp_"))
    );
    // The lease is gone: another worker resumes it without waiting for an expiry.
    fleet.start_worker(FAST);
    fleet
        .wait_status(&run.run_id, RunStatus::Started, Duration::from_secs(2))
        .await;
    fleet.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_workers_claim_1000_runs_each_once() {
    let Some(url) = database_url() else { return };
    let mut fleet = Fleet::new(&url).await;
    let tasks = fleet.tasks("/slow/0/0.csv", 100).await;
    for task in &tasks {
        for _ in 0..10 {
            fleet.store.create_run(APP, task, now()).await.unwrap();
        }
    }
    // This test is about claims, not expiry (the two tests above cover that): a lease long
    // enough that a worker starved of CPU on a loaded machine does not lose a run it holds.
    for _ in 0..3 {
        fleet.start_worker(&[("INGESTION__WORKER__LEASE_MS", "30000")]);
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
    loop {
        let done = fleet
            .query_i64("SELECT COUNT(*) FROM runs WHERE status = 'finished'")
            .await;
        if done == 1000 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{done} of 1000 finished"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let odd = fleet
        .query_one_text(
            "SELECT string_agg(r.id || ' attempt ' || r.attempt || ' ' || COALESCE(r.outcome, '') \
             || ': ' || COALESCE(r.reason, '') || ' [' || COALESCE((SELECT string_agg(e.data, ' | ') \
             FROM events e WHERE e.run_id = r.id AND e.type = 'log'), '') || ']', E'\\n') \
             FROM runs r WHERE r.attempt <> 1 OR r.outcome <> 'success'",
        )
        .await;
    assert_eq!(odd, None, "runs not claimed once or not successful");
    // Each run was started once: one claim, one finish, no requeue or release event.
    assert_eq!(
        fleet
            .query_i64("SELECT COUNT(*) FROM events WHERE type = 'log' AND data LIKE '%queue%'")
            .await,
        0
    );
    let owners = fleet
        .query_i64("SELECT COUNT(DISTINCT lease_owner) FROM runs")
        .await;
    assert_eq!(owners, 0, "leases are cleared when runs finish");
    fleet.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_with_listen_serves_probes_and_metrics_only() {
    let Some(url) = database_url() else { return };
    let mut fleet = Fleet::new(&url).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("127.0.0.1:{port}");
    fleet.start_worker_with(&[], &["--listen", &address]);
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("http://{address}{path}")).send();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let health = loop {
        match get("/health").await {
            Ok(response) => break response,
            Err(_) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => panic!("the worker never listened on {address}: {error}"),
        }
    };
    assert_eq!(health.status(), 200);
    assert_eq!(get("/ready").await.unwrap().status(), 200);
    let metrics = get("/metrics").await.unwrap();
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.unwrap();
    assert!(
        text.contains("ingestion_queue_depth 0"),
        "the queue depth is sampled on scrape: {text}"
    );
    let api = get("/1/tasks").await.unwrap();
    assert_eq!(api.status(), 404, "a worker serves no API");
    fleet.cleanup().await;
}

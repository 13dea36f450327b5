//! A store outage (PostgreSQL behind a TCP proxy that is cut, then restored): workers keep
//! trying, claim nothing while the store is gone, and run the queued run once it is back; an
//! outage in the middle of a run (heartbeats, event writes and perhaps the finish failing for
//! seconds) is ridden out with every record pushed and every event recorded.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ingest_core::BatchLimits;
use ingest_engine::{WorkerSettings, Workers};
use ingest_model::{EventType, Run, RunOutcome, RunStatus};
use ingest_store::testkit::{self, Backend};
use ingest_store::{EventQuery, PageRequest, PostgresConfig, Store};
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::harness::{APP, Harness};

/// A TCP forwarder that can drop every connection and refuse new ones.
struct Proxy {
    addr: SocketAddr,
    down: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let down = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(Mutex::new(Vec::new()));
        let (down_in, connections_in) = (down.clone(), connections.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if down_in.load(Ordering::SeqCst) {
                    continue; // dropped: the connection is refused
                }
                let target = target.clone();
                let forward = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                connections_in.lock().unwrap().push(forward);
            }
        });
        Self {
            addr,
            down,
            connections,
        }
    }

    /// Drops every open connection and refuses new ones.
    fn cut(&self) {
        self.down.store(true, Ordering::SeqCst);
        for connection in self.connections.lock().unwrap().drain(..) {
            connection.abort();
        }
    }

    fn restore(&self) {
        self.down.store(false, Ordering::SeqCst);
    }
}

/// A second handle on the harness's PostgreSQL store, through a [`Proxy`].
async fn proxied_store(h: &Harness) -> (Proxy, Store) {
    let (url, schema) = h.postgres().unwrap();
    let mut proxied = url::Url::parse(url).unwrap();
    let target = format!(
        "{}:{}",
        proxied.host_str().unwrap(),
        proxied.port().unwrap_or(5432)
    );
    let proxy = Proxy::start(target).await;
    proxied.set_host(Some("127.0.0.1")).unwrap();
    proxied.set_port(Some(proxy.addr.port())).unwrap();
    let config = PostgresConfig {
        url: proxied.to_string(),
        schema: Some(schema.to_owned()),
        max_connections: 2,
    };
    let through_proxy = Store::connect_postgres(&config, h.key.clone())
        .await
        .unwrap();
    (proxy, through_proxy)
}

/// A `replace` task from the CSV at `path` into `index`, and a run of it in the queue.
async fn queued_replace(h: &Harness, path: &str, index: &str) -> Run {
    let task = h
        .task(path, index, "replace", json!({"type": "onDemand"}))
        .await;
    h.store
        .create_run(APP, &task.task_id, h.now())
        .await
        .unwrap()
}

/// Waits until the run is finished, or panics after `seconds`.
async fn finished(h: &Harness, run_id: &str, seconds: u64) -> Run {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    loop {
        let run = h.store.get_run(APP, run_id).await.unwrap();
        if run.status == RunStatus::Finished {
            return run;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the run did not finish after the store came back: {run:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn workers_wait_out_a_store_outage_and_lose_no_run() {
    testkit::run(Backend::Postgres, outage_before_the_claim).await;
}

async fn outage_before_the_claim(h: &Harness) {
    let (proxy, through_proxy) = proxied_store(h).await;
    let run = queued_replace(h, "/products.csv", "products").await;

    proxy.cut();
    let (stop, stopped) = oneshot::channel::<()>();
    let workers = Workers::new(h.engine_on(through_proxy), h.worker_settings());
    let handle = tokio::spawn(workers.run(async {
        let _ = stopped.await;
    }));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let during = h.store.get_run(APP, &run.run_id).await.unwrap();
    assert_eq!(during.status, RunStatus::Created, "{during:?}");

    proxy.restore();
    let finished = finished(h, &run.run_id, 60).await;
    assert_eq!(finished.outcome, Some(RunOutcome::Success), "{finished:?}");
    assert_eq!(h.fake.record_count("products"), 25);
    let _ = stop.send(());
    handle.await.unwrap();
}

#[tokio::test]
async fn a_store_outage_mid_run_loses_no_record_and_no_event() {
    testkit::run(Backend::Postgres, outage_mid_run).await;
}

async fn outage_mid_run(h: &Harness) {
    let (proxy, through_proxy) = proxied_store(h).await;
    let run = queued_replace(h, "/trickle.csv", "trickled").await;
    // Five records a batch: a batch, and its record event, about every half second.
    let limits = BatchLimits::new(5, 1_000_000, 100_000).unwrap();
    let workers = Workers::new(
        h.engine_batching(through_proxy, limits),
        WorkerSettings {
            heartbeat: Duration::from_millis(300),
            ..h.worker_settings()
        },
    );
    let (stop, stopped) = oneshot::channel::<()>();
    let handle = tokio::spawn(workers.run(async {
        let _ = stopped.await;
    }));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while h.store.get_run(APP, &run.run_id).await.unwrap().status != RunStatus::Started {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the run never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Heartbeats, event writes and, for a run of ~4 s, perhaps the finish all meet the outage.
    tokio::time::sleep(Duration::from_millis(800)).await;
    proxy.cut();
    tokio::time::sleep(Duration::from_millis(3500)).await;
    proxy.restore();

    let finished = finished(h, &run.run_id, 60).await;
    assert_eq!(finished.outcome, Some(RunOutcome::Success), "{finished:?}");
    assert_eq!(h.fake.record_count("trickled"), 40);
    let events = h
        .store
        .list_events(
            APP,
            &run.run_id,
            &EventQuery {
                page: PageRequest {
                    page: 1,
                    items_per_page: 100,
                },
                ..EventQuery::default()
            },
        )
        .await
        .unwrap()
        .items;
    let batches = events
        .iter()
        .filter(|event| event.event_type == EventType::Record)
        .count();
    assert_eq!(batches, 8, "one record event per batch of 5: {events:#?}");
    let lost: Vec<_> = events
        .iter()
        .filter(|event| format!("{:?}", event.data).contains("not recorded"))
        .collect();
    assert!(lost.is_empty(), "events were dropped: {lost:#?}");
    let _ = stop.send(());
    handle.await.unwrap();
}

//! The adaptive window against the fake: it grows while a slow fake stays healthy, shrinks on
//! 429s and failures, settles under a fake that refuses more than 8 calls at once, is shared by
//! two pushers of one application, and bounds what a run holds whatever the latency. Counts and
//! states only; in memory under paused time, over HTTP where the transport's retries matter.

use std::sync::atomic::{AtomicUsize, Ordering};

use ingest_algolia::{ConcurrencyWindow, ConcurrencyWindows, WindowSettings};
use ingest_core::metrics::{self, Metrics};

use super::*;

fn windowed(in_flight: usize, max_in_flight: usize, batch: usize) -> PushSettings {
    PushSettings {
        in_flight,
        max_in_flight,
        ..settings(batch)
    }
}

fn http_api(fake: &FakeAlgolia, server: &ingest_algolia::testkit::FakeServer) -> HttpIndexingApi {
    let key = Secret::new(fake.api_key().to_owned());
    let transport = TransportSettings {
        hosts: Some(vec![server.url()]),
        max_attempts: 20,
        min_backoff: Duration::from_millis(5),
        ..TransportSettings::default()
    };
    HttpIndexingApi::new(Transport::new(fake.app_id(), &key, transport).unwrap())
}

/// The records accepted by successful batch calls, by objectID: each must be 1.
fn accepted_once(fake: &FakeAlgolia, n: usize) {
    let accepted: usize = fake
        .calls_of(CallKind::Batch)
        .iter()
        .filter(|c| c.succeeded())
        .map(|c| c.records)
        .sum();
    assert_eq!(accepted, n, "records accepted by batch calls");
}

fn window_event(recorder: &MemoryRecorder, starting: &str) -> Value {
    let event = recorder
        .events()
        .into_iter()
        .find(|e| e.message().is_some_and(|m| m.starts_with(starting)))
        .unwrap_or_else(|| panic!("no event starting with {starting:?}"));
    Value::Object(event.data)
}

#[tokio::test(start_paused = true)]
async fn the_window_grows_under_a_slow_but_healthy_fake() {
    let fake = FakeAlgolia::builder()
        .latency(Duration::from_millis(100))
        .build();
    let (summary, recorder) = push(
        &fake,
        &plan(PushMode::Replace, 0),
        windowed(4, 32, 10),
        records(3000),
    )
    .await;
    assert_eq!(summary.reason_code, RunReasonCode::Ok, "{summary:?}");
    assert_eq!(fake.record_count("products"), 3000);
    accepted_once(&fake, 3000);
    assert_eq!(fake.peak_concurrency(), 32);
    assert_eq!(fake.throttled_calls(), 0);
    let start = window_event(&recorder, "concurrency toward Algolia:");
    assert_eq!(start["window"], 4);
    assert_eq!(start["maxWindow"], 32);
    assert_eq!(start["rttMs"], Value::Null);
    let end = window_event(&recorder, "concurrency toward Algolia at the end");
    assert_eq!(end["window"], 32);
    assert_eq!(end["windowAtStart"], 4);
    assert_eq!(end["rttMs"], 100.0);
    assert_eq!(end["increases"], 28);
    assert_eq!(end["decreases"], 0);
}

#[tokio::test]
async fn the_window_shrinks_on_a_5xx_and_on_a_429_and_the_run_still_succeeds() {
    for (fault, reason) in [
        (Fault::status(503, "Service Unavailable"), "server_error"),
        (Fault::too_many_requests("0"), "rate_limited"),
    ] {
        let fake = FakeAlgolia::builder()
            .latency(Duration::from_millis(5))
            .faults(Faults::new().on(CallKind::Batch, When::Nth(40), fault))
            .build();
        let server = fake.serve();
        let metrics = Arc::new(Metrics::new());
        let window = Arc::new(ConcurrencyWindow::new(
            fake.app_id(),
            WindowSettings { initial: 8, max: 8 },
            Some(metrics.clone()),
        ));
        let pusher = Pusher::with_window(
            Arc::new(http_api(&fake, &server)),
            windowed(8, 8, 10),
            window.clone(),
        );
        let recorder = MemoryRecorder::default();
        let summary = pusher
            .run(
                &plan(PushMode::Replace, 0),
                stream::iter(records(1000)).boxed(),
                &recorder,
            )
            .await;
        assert_eq!(summary.reason_code, RunReasonCode::Ok, "{summary:?}");
        assert_eq!(fake.record_count("products"), 1000);
        accepted_once(&fake, 1000);
        let pairs = [("app_id", fake.app_id()), ("reason", reason)];
        assert_eq!(
            metrics.value(metrics::CONCURRENCY_DECREASES, &pairs),
            1.0,
            "{reason}"
        );
        let totals = window.snapshot().totals;
        assert_eq!(
            (totals.failed, totals.throttled),
            match reason {
                "server_error" => (1, 0),
                _ => (0, 1),
            }
        );
        // A window fixed at 8 went down to 4: a later increase brings it back, never beyond 8.
        assert!(window.snapshot().limit <= 8);
        assert!(totals.decreases >= 1);
        server.shutdown().await;
    }
}

#[tokio::test]
async fn against_a_fake_that_takes_8_calls_the_window_settles_and_429s_stay_rare() {
    let fake = FakeAlgolia::builder()
        .latency(Duration::from_millis(20))
        .concurrency_limit(8)
        .unpublished_polls(0)
        .build();
    let server = fake.serve();
    let pusher = Pusher::new(Arc::new(http_api(&fake, &server)), windowed(4, 32, 10));
    let recorder = MemoryRecorder::default();
    let summary = pusher
        .run(
            &plan(PushMode::Replace, 0),
            stream::iter(records(3000)).boxed(),
            &recorder,
        )
        .await;
    assert_eq!(summary.reason_code, RunReasonCode::Ok, "{summary:?}");
    assert_eq!(fake.record_count("products"), 3000);
    accepted_once(&fake, 3000);
    let calls = fake.calls();
    let throttled = calls.iter().filter(|c| c.status == 429).count();
    assert_eq!(throttled as u64, fake.throttled_calls());
    assert!(
        throttled * 100 < calls.len() * 5,
        "{throttled} of {} calls got a 429",
        calls.len()
    );
    let window = pusher.window().snapshot();
    assert!(window.limit <= 8, "{window:?}");
    assert!(window.totals.throttled >= 1, "{window:?}");
    assert!(fake.peak_concurrency() <= 8);
    let end = window_event(&recorder, "concurrency toward Algolia at the end");
    assert_eq!(end["throttled"], window.totals.throttled);
    assert!(
        calls
            .iter()
            .filter(|c| c.status == 429)
            .all(|c| c.injected && c.kind != CallKind::Copy && c.kind != CallKind::Move)
    );
    server.shutdown().await;
}

/// Two `save` runs at once on two indices of one application, each pusher over `window_of`.
async fn two_runs(fake: &FakeAlgolia, windows: [Arc<ConcurrencyWindow>; 2]) {
    let settings = windowed(4, 8, 10);
    let [a, b] = windows.map(|w| Pusher::with_window(Arc::new(fake.clone()), settings, w));
    let plan_of = |index: &str| PushPlan {
        index: index.into(),
        ..plan(PushMode::Save, 0)
    };
    let (plan_a, plan_b) = (plan_of("a"), plan_of("b"));
    let (recorder_a, recorder_b) = (MemoryRecorder::default(), MemoryRecorder::default());
    let (one, two) = tokio::join!(
        a.run(&plan_a, stream::iter(records(1000)).boxed(), &recorder_a),
        b.run(&plan_b, stream::iter(records(1000)).boxed(), &recorder_b),
    );
    assert_eq!(one.reason_code, RunReasonCode::Ok, "{one:?}");
    assert_eq!(two.reason_code, RunReasonCode::Ok, "{two:?}");
    assert_eq!(fake.record_count("a") + fake.record_count("b"), 2000);
}

#[tokio::test(start_paused = true)]
async fn two_pushers_to_one_application_share_one_window() {
    let slow = || {
        FakeAlgolia::builder()
            .latency(Duration::from_millis(100))
            .build()
    };
    let windows = ConcurrencyWindows::new(None);
    let settings = windowed(4, 8, 10).window();
    let shared = windows.window(DEFAULT_APP, settings);
    assert!(Arc::ptr_eq(&shared, &windows.window(DEFAULT_APP, settings)));
    let fake = slow();
    two_runs(&fake, [shared.clone(), shared.clone()]).await;
    // Both runs together never had more than the one window's maximum on the wire.
    assert_eq!(fake.peak_concurrency(), 8);
    assert_eq!(shared.snapshot().limit, 8);
    // Windows of their own would each have had 8.
    let fake = slow();
    two_runs(
        &fake,
        [
            ConcurrencyWindow::private(settings),
            ConcurrencyWindow::private(settings),
        ],
    )
    .await;
    assert_eq!(fake.peak_concurrency(), 16);
}

const DEFAULT_APP: &str = ingest_algolia::testkit::DEFAULT_APP_ID;

#[tokio::test(start_paused = true)]
async fn a_run_holds_at_most_max_in_flight_batches_whatever_the_latency() {
    for latency in [100, 2000] {
        let fake = FakeAlgolia::builder()
            .latency(Duration::from_millis(latency))
            .build();
        let pulled = Arc::new(AtomicUsize::new(0));
        let source = {
            let pulled = pulled.clone();
            stream::iter(records(2000))
                .inspect(move |_| {
                    pulled.fetch_add(1, Ordering::SeqCst);
                })
                .boxed()
        };
        let (max_in_flight, batch) = (6, 10);
        let pusher = Pusher::new(Arc::new(fake.clone()), windowed(2, max_in_flight, batch));
        let recorder = MemoryRecorder::default();
        let plan = plan(PushMode::Save, 0);
        let run = pusher.run(&plan, source, &recorder);
        tokio::pin!(run);
        let mut most = 0;
        let summary = loop {
            tokio::select! {
                summary = &mut run => break summary,
                () = tokio::time::sleep(Duration::from_millis(latency / 10)) => {
                    // Read but not yet applied: on the wire, waiting for a permit, or in the
                    // batch being filled.
                    let held = pulled.load(Ordering::SeqCst) - fake.record_count("products");
                    most = most.max(held);
                }
            }
        };
        assert_eq!(summary.reason_code, RunReasonCode::Ok, "{summary:?}");
        assert_eq!(fake.peak_concurrency(), max_in_flight);
        assert!(
            most <= (max_in_flight + 2) * batch,
            "{most} records held at {latency} ms"
        );
        assert!(
            most >= max_in_flight * batch,
            "{most} records held at {latency} ms"
        );
    }
}

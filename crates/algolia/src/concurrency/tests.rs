use super::*;

const SETTINGS: WindowSettings = WindowSettings { initial: 2, max: 8 };

#[tokio::test(start_paused = true)]
async fn permits_follow_the_window_as_it_shrinks_and_grows() {
    let window = ConcurrencyWindow::private(WindowSettings { initial: 4, max: 8 });
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(window.acquire().await);
    }
    assert_eq!(window.semaphore.available_permits(), 0);
    // A 429: the window halves while four permits are out.
    held[0].observe(Signal::Throttled);
    assert_eq!(window.snapshot().limit, 2);
    // Two come back and are forgotten; the next two come back as permits.
    held.truncate(2);
    assert_eq!(window.semaphore.available_permits(), 0);
    held.clear();
    assert_eq!(window.semaphore.available_permits(), 2);
    assert_eq!(window.snapshot().in_flight, 0);
}

#[tokio::test(start_paused = true)]
async fn growing_wakes_a_waiting_call() {
    let window = ConcurrencyWindow::private(WindowSettings { initial: 1, max: 4 });
    let first = window.acquire().await;
    let waiting = tokio::spawn({
        let window = window.clone();
        async move { window.acquire().await.limit() }
    });
    tokio::task::yield_now().await;
    assert!(!waiting.is_finished());
    // Healthy answers while a call waits: slow start adds a permit every second one, which the
    // waiting call takes.
    tokio::time::advance(Duration::from_millis(50)).await;
    first.observe(Signal::Healthy(Duration::from_millis(50)));
    tokio::task::yield_now().await;
    assert!(!waiting.is_finished());
    first.observe(Signal::Healthy(Duration::from_millis(50)));
    let limit = tokio::time::timeout(Duration::from_secs(1), waiting).await;
    assert_eq!(limit.unwrap().unwrap(), 2);
    drop(first);
    assert_eq!(window.snapshot().in_flight, 0);
    assert_eq!(window.semaphore.available_permits(), 2);
}

#[test]
fn one_window_per_application_with_its_gauges() {
    let metrics = Arc::new(Metrics::new());
    let windows = ConcurrencyWindows::new(Some(metrics.clone()));
    let a = windows.window("APP_A", SETTINGS);
    let again = windows.window("APP_A", WindowSettings { initial: 9, max: 9 });
    let b = windows.window("APP_B", SETTINGS);
    assert!(Arc::ptr_eq(&a, &again));
    assert!(!Arc::ptr_eq(&a, &b));
    assert_eq!(again.snapshot().max, 8);
    assert_eq!(a.app_id(), "APP_A");
    let text = metrics.render();
    assert!(
        text.contains("ingestion_algolia_concurrency_window{app_id=\"APP_A\"} 2\n"),
        "{text}"
    );
}

#[tokio::test(start_paused = true)]
async fn decreases_and_the_rtt_are_exported() {
    let metrics = Arc::new(Metrics::new());
    let window = Arc::new(ConcurrencyWindow::new(
        "APP",
        WindowSettings { initial: 4, max: 8 },
        Some(metrics.clone()),
    ));
    let permit = window.acquire().await;
    permit.observe(Signal::Healthy(Duration::from_millis(250)));
    permit.observe(Signal::Failed);
    drop(permit);
    let text = metrics.render();
    assert!(
        text.contains("ingestion_algolia_rtt_seconds{app_id=\"APP\"} 0.25\n"),
        "{text}"
    );
    assert!(
        text.contains("ingestion_algolia_concurrency_window{app_id=\"APP\"} 2\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "ingestion_algolia_concurrency_decreases_total{app_id=\"APP\",reason=\"server_error\"} 1\n"
        ),
        "{text}"
    );
}

#[test]
fn what_a_call_says_about_load() {
    let rtt = Some(Duration::from_millis(80));
    let ok = |retries: &[&str]| {
        let retries: Vec<String> = retries.iter().map(|r| (*r).to_owned()).collect();
        signal_of(Ok(&retries), rtt)
    };
    assert_eq!(ok(&[]), Signal::Healthy(Duration::from_millis(80)));
    assert_eq!(signal_of(Ok(&[]), None), Signal::Neutral);
    assert_eq!(ok(&["connection failed (a)"]), Signal::Neutral);
    assert_eq!(ok(&["503 Service Unavailable from a"]), Signal::Failed);
    assert_eq!(ok(&["timeout after 2s on a"]), Signal::Failed);
    assert_eq!(ok(&["500 from a", "429 from a"]), Signal::Throttled);
    let api = |status| AlgoliaError::Api {
        call: "POST /1/indexes/p/batch".into(),
        status,
        message: "m".into(),
    };
    assert_eq!(signal_of(Err(&api(429)), rtt), Signal::Throttled);
    assert_eq!(signal_of(Err(&api(502)), rtt), Signal::Failed);
    assert_eq!(signal_of(Err(&api(400)), rtt), Signal::Neutral);
    let unreachable = |last: &str| AlgoliaError::Unreachable {
        call: "c".into(),
        attempts: 3,
        last: last.into(),
    };
    assert_eq!(
        signal_of(Err(&unreachable("429 from a")), rtt),
        Signal::Throttled
    );
    assert_eq!(
        signal_of(Err(&unreachable("timeout after 1s")), rtt),
        Signal::Failed
    );
    let late = AlgoliaError::NotRetriable { call: "c".into() };
    assert_eq!(signal_of(Err(&late), rtt), Signal::Failed);
    let odd = AlgoliaError::MalformedResponse {
        call: "c".into(),
        reason: "r".into(),
    };
    assert_eq!(signal_of(Err(&odd), rtt), Signal::Neutral);
}

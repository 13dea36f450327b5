//! The pages over seeded data: the run page's counts, progress and rejected records (the store's
//! console queries, on both backends), the overview, the tasks list, and forms whose API errors
//! land next to their fields.

use ingest_model::{EventStatus, EventType, Timestamp};
use ingest_store::NewEvent;
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{APP_A, KEY_A, Server};

ingest_store::both_backends!(
    editing_a_destination_keeps_or_detaches_its_transformation,
    a_run_page_counts_its_events_and_finds_rejected_records,
    the_overview_and_the_tasks_list_count_runs,
    forms_show_the_api_errors_next_to_their_fields,
);

/// A source, a destination and a task of application A; the task's ID.
async fn task(server: &Server) -> String {
    let a = (APP_A, KEY_A);
    let auth = server
        .api(a, Method::POST, "/1/authentications", Some(json!({"type": "algolia", "name": "algolia", "input": {"appID": "APPX", "apiKey": "k"}})))
        .await;
    let source = server
        .api(a, Method::POST, "/1/sources", Some(json!({"type": "csv", "name": "catalog", "input": {"url": "http://127.0.0.1/c.csv"}})))
        .await;
    let destination = server
        .api(a, Method::POST, "/1/destinations", Some(json!({"type": "search", "name": "shop", "input": {"indexName": "shop"}, "authenticationID": auth["authenticationID"]})))
        .await;
    let task = server
        .api(a, Method::POST, "/2/tasks", Some(json!({"sourceID": source["sourceID"], "destinationID": destination["destinationID"], "action": "replace", "cron": "0 2 * * *"})))
        .await;
    task["taskID"].as_str().unwrap().to_owned()
}

fn event(kind: EventType, status: EventStatus, batch_size: u64, data: Value) -> NewEvent {
    let Value::Object(data) = data else {
        unreachable!()
    };
    NewEvent {
        parent_id: None,
        status,
        event_type: kind,
        data: Some(data),
        batch_size,
        published_at: Timestamp::parse("2026-12-04T07:00:00.000Z").unwrap(),
    }
}

async fn a_run_page_counts_its_events_and_finds_rejected_records(server: &Server) {
    let task_id = task(server).await;
    let run = server
        .api(
            (APP_A, KEY_A),
            Method::POST,
            &format!("/2/tasks/{task_id}/run"),
            None,
        )
        .await;
    let run_id = run["runID"].as_str().unwrap().to_owned();
    let mut events = vec![event(
        EventType::Fetch,
        EventStatus::Succeeded,
        0,
        json!({"url": "http://127.0.0.1/c.csv", "bytes": 5000, "durationMs": 12}),
    )];
    for batch in 0..3 {
        events.push(event(EventType::Record, EventStatus::Succeeded, 100, json!({"index": "shop_tmp_x_1", "batch": batch, "taskID": 40 + batch, "records": 100, "bytes": 2000})));
    }
    events.push(event(
        EventType::Record,
        EventStatus::Retried,
        0,
        json!({"index": "shop", "batch": 1, "retries": 1}),
    ));
    events.push(event(EventType::Record, EventStatus::Failed, 1, json!({"position": "row 17", "objectID": "sku-17", "reason": "failed to parse `price` as float: \"abc\""})));
    events.push(event(EventType::Record, EventStatus::Failed, 1, json!({"position": "row 90", "objectID": "sku-90", "reason": "record larger than 100000 bytes"})));
    server
        .store
        .insert_events(APP_A, &run_id, &events)
        .await
        .unwrap();
    let totals = server.store.run_totals(APP_A, &run_id).await.unwrap();
    assert_eq!(
        (totals.pushed, totals.batches, totals.pushed_bytes),
        (300, 3, 6000)
    );
    assert_eq!(
        (
            totals.rejected,
            totals.retried,
            totals.fetches,
            totals.fetched_bytes
        ),
        (2, 1, 1, 5000)
    );
    assert_eq!(totals.events, 7);

    let mut browser = server.signed_in().await;
    let page = browser.get(&format!("/console/runs/{run_id}")).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(
        page.text.contains(r#"<b id="count-pushed">300</b>"#),
        "{}",
        page.text
    );
    assert!(page.text.contains(r#"<b id="count-rejected">2</b>"#));
    assert!(page.text.contains(r#"<b id="count-batches">3</b>"#));
    assert!(
        page.text
            .contains("Batch 2 sent to the temporary index of shop: 100 records")
    );
    assert!(page.text.contains("Algolia task 42"));
    assert!(page.text.contains("row 17") && page.text.contains("sku-90"));
    assert!(
        page.text
            .contains(&format!(r#"data-live="/console/runs/{run_id}/progress""#))
    );
    assert!(
        page.text.contains(r#"data-state="live""#),
        "a queued run is live"
    );
    // The rejected records, filtered by text (any case), and the events by type.
    let found = browser
        .get(&format!("/console/runs/{run_id}?q=SKU-90"))
        .await;
    let table = |text: &str| {
        let start = text
            .find(r#"id="rejections""#)
            .expect("the rejected records table");
        text[start..start + text[start..].find("</table>").unwrap()].to_owned()
    };
    let rejected = table(&found.text);
    assert!(
        rejected.contains("sku-90") && !rejected.contains("sku-17"),
        "{rejected}"
    );
    let none = browser
        .get(&format!("/console/runs/{run_id}?q=nothing-like-it"))
        .await;
    assert!(none.text.contains("No rejected record matches."));
    let fetches = browser
        .get(&format!("/console/runs/{run_id}?type=fetch"))
        .await;
    assert!(
        fetches.text.contains("Read 5.0 kB from the source")
            && !fetches.text.contains("Batch 2 sent")
    );
    // The live fragment: the same summary, no page around it.
    let fragment = browser
        .get(&format!("/console/runs/{run_id}/progress"))
        .await;
    assert_eq!(fragment.status, 200);
    assert!(
        fragment
            .text
            .starts_with(r#"<div id="run-summary" data-state="live""#),
        "{}",
        fragment.text
    );
    assert!(!fragment.text.contains("<html"));
    // The overview sums today's succeeded batches.
    let overview = browser.get("/console/").await;
    assert!(
        overview.text.contains(
            r#"<span class="n">300</span><span class="l">records pushed today (UTC)</span>"#
        ),
        "{}",
        overview.text
    );
    // The task's page draws the run in its chart.
    let task_page = browser.get(&format!("/console/tasks/{task_id}")).await;
    assert!(task_page.text.contains("<svg") && task_page.text.contains("300 records"));
    assert!(
        task_page.text.contains("At 02:00"),
        "the cron in words: {}",
        task_page.text
    );
}

async fn the_overview_and_the_tasks_list_count_runs(server: &Server) {
    let task_id = task(server).await;
    for _ in 0..2 {
        server
            .api(
                (APP_A, KEY_A),
                Method::POST,
                &format!("/2/tasks/{task_id}/run"),
                None,
            )
            .await;
    }
    let mut browser = server.signed_in().await;
    let overview = browser.get("/console/").await;
    assert!(
        overview
            .text
            .contains(r#"<span class="n">2</span><span class="l">runs in the last 24 h</span>"#),
        "{}",
        overview.text
    );
    assert!(
        overview
            .text
            .contains(r#"<span class="n">2</span><span class="l">queued now</span>"#)
    );
    assert!(overview.text.contains("No task's last run failed."));
    let queued = browser.get("/console/runs?status=created").await;
    assert_eq!(queued.text.matches("badge neutral\">queued").count(), 2);
    let finished = browser
        .get("/console/runs?status=finished&outcome=failure")
        .await;
    assert!(finished.text.contains("No run matches these filters."));
    let tasks = browser.get("/console/tasks").await;
    assert!(tasks.text.contains("catalog → shop"), "{}", tasks.text);
    assert!(tasks.text.contains("queued"));
    let disabled_only = browser.get("/console/tasks?enabled=false").await;
    assert!(
        disabled_only
            .text
            .contains("No task matches these filters.")
    );
    // Disable from the list, then the filter finds it.
    let disabled = browser
        .post(&format!("/console/tasks/{task_id}/disable"), &[])
        .await;
    assert_eq!(disabled.status, 303);
    let page = browser.get(disabled.location()).await;
    assert!(page.text.contains("The task is disabled"));
    assert!(
        browser
            .get("/console/tasks?enabled=false")
            .await
            .text
            .contains("catalog → shop")
    );
    // Run now opens the new run.
    let run = browser
        .post(&format!("/console/tasks/{task_id}/run"), &[])
        .await;
    assert!(
        run.location().starts_with("/console/runs/"),
        "{}",
        run.location()
    );
}

async fn forms_show_the_api_errors_next_to_their_fields(server: &Server) {
    let mut browser = server.signed_in().await;
    browser.get("/console/sources/new?type=csv").await;
    let page = browser
        .post(
            "/console/sources/new?type=csv",
            &[
                ("name", "bad"),
                ("input.url", "http://127.0.0.1/c.csv"),
                ("input.delimiter", ";;"),
            ],
        )
        .await;
    assert_eq!(page.status, 400);
    assert!(
        page.text.contains(
            r#"<p class="error" id="f-input-delimiter-error" role="alert">input.delimiter: "#
        ),
        "{}",
        page.text
    );
    assert!(
        page.text.contains(r#"value=";;" aria-invalid="true""#),
        "the typed value stays"
    );
    // A JSON field that does not parse is caught before the API.
    browser
        .get("/console/authentications/new?type=secrets")
        .await;
    let page = browser
        .post(
            "/console/authentications/new?type=secrets",
            &[("name", "s"), ("input", "{not json")],
        )
        .await;
    assert!(page.text.contains("id=\"f-input-error\""), "{}", page.text);

    let task_id = task(server).await;
    browser.get(&format!("/console/tasks/{task_id}/edit")).await;
    let page = browser
        .post(
            &format!("/console/tasks/{task_id}/edit"),
            &[("cron", "every tuesday"), ("enabled", "true")],
        )
        .await;
    assert_eq!(page.status, 400);
    assert!(page.text.contains("id=\"f-cron-error\""), "{}", page.text);
    // A good edit turns the schedule into on demand.
    let saved = browser
        .post(
            &format!("/console/tasks/{task_id}/edit"),
            &[("cron", ""), ("enabled", "true"), ("failureThreshold", "5")],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.text);
    let stored = server.store.get_task(APP_A, &task_id).await.unwrap();
    assert_eq!(stored.trigger.trigger_type().as_str(), "onDemand");
    assert_eq!(stored.failure_threshold, 5);
    // Deleting asks first, then deletes.
    let confirm = browser
        .get(&format!("/console/tasks/{task_id}/delete"))
        .await;
    assert!(confirm.text.contains("This cannot be undone"));
    let deleted = browser
        .post(&format!("/console/tasks/{task_id}/delete"), &[])
        .await;
    assert_eq!(deleted.location(), "/console/tasks?done=deleted");
    assert!(server.store.get_task(APP_A, &task_id).await.is_err());
    // A transformation tried from the editor.
    browser.get("/console/transformations/new").await;
    let tried = browser
        .post(
            "/console/transformations/try",
            &[
                ("name", "t"),
                (
                    "code",
                    "async function transform(r) { r.seen = true; return r; }",
                ),
                ("sampleRecord", r#"{"objectID": "1"}"#),
            ],
        )
        .await;
    assert!(
        tried.text.contains("&quot;seen&quot;: true"),
        "{}",
        tried.text
    );
}

async fn editing_a_destination_keeps_or_detaches_its_transformation(server: &Server) {
    let a = (APP_A, KEY_A);
    let code = "async function transform(r) { return r; }";
    let t = server
        .api(
            a,
            Method::POST,
            "/1/transformations",
            Some(json!({"name": "label", "type": "code", "input": {"code": code}})),
        )
        .await;
    let t = t["transformationID"].as_str().unwrap().to_owned();
    let auth = server
        .api(a, Method::POST, "/1/authentications", Some(json!({"type": "algolia", "name": "algolia", "input": {"appID": "APPX", "apiKey": "k"}})))
        .await;
    let auth = auth["authenticationID"].as_str().unwrap().to_owned();
    let destination = server
        .api(a, Method::POST, "/1/destinations", Some(json!({"type": "search", "name": "shop", "input": {"indexName": "shop"}, "authenticationID": auth, "transformationIDs": [t]})))
        .await;
    let id = destination["destinationID"].as_str().unwrap();
    let mut browser = server.signed_in().await;
    let form = browser
        .get(&format!("/console/destinations/{id}/edit"))
        .await;
    assert!(
        form.text
            .contains(&format!(r#"<option value="{t}" selected>"#)),
        "{}",
        form.text
    );
    let path = format!("/console/destinations/{id}/edit");
    for (chosen, expected) in [(t.as_str(), json!([t])), ("", json!([]))] {
        let saved = browser
            .post(
                &path,
                &[
                    ("name", "shop renamed"),
                    ("input.indexName", "shop"),
                    ("authenticationID", &auth),
                    ("transformationIDs", chosen),
                ],
            )
            .await;
        assert_eq!(saved.status, 303, "{}", saved.text);
        let stored = server
            .api(a, Method::GET, &format!("/1/destinations/{id}"), None)
            .await;
        assert_eq!(stored["name"], "shop renamed");
        // Detached, the API leaves the field out.
        let ids = stored
            .get("transformationIDs")
            .cloned()
            .unwrap_or(json!([]));
        assert_eq!(ids, expected);
        browser.get(&path).await;
    }
}

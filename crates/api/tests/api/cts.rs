//! Replays every request of Algolia's client test suite (`tests/fixtures/cts-ingestion/`, one file
//! per operation) after creating what it refers to, and checks the response is a 200 with the shape
//! of the operation (parsed by the model's strict types).

use std::path::PathBuf;

use ingest_model::{EventStatus, EventType, Timestamp};
use ingest_store::NewEvent;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{APP_A, Server, assert_keys};

ingest_store::both_backends!(every_cts_request_is_accepted);

const PLACEHOLDER: &str = "6c02aeb1-775e-418e-870b-1faccd4b2c0f";
const EVENT_PLACEHOLDER: &str = "6c02aeb1-775e-418e-870b-1faccd4b2c0c";

fn fixtures_dir() -> PathBuf {
    // crates/api -> the repository's own copy of the suite.
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/cts-ingestion"
    ))
}

/// IDs created for one case.
struct World {
    auth: String,
    algolia_auth: String,
    source: String,
    destination: String,
    task: String,
    run: String,
    event: String,
    spare_auth: String,
    spare_source: String,
    spare_destination: String,
}

async fn world(s: &Server) -> World {
    let auth = s.oauth_auth().await;
    let algolia_auth = s.algolia_auth().await;
    let source = s
        .post(
            "/1/sources",
            &json!({"type": "commercetools", "name": "ct", "authenticationID": auth,
                "input": {"url": "http://ct.example", "projectKey": "p", "locales": ["en"]}}),
        )
        .await
        .expect(200)
        .str("sourceID");
    let destination = s
        .post(
            "/1/destinations",
            &json!({"type": "search", "name": "d", "authenticationID": algolia_auth,
                "input": {"indexName": "products"}}),
        )
        .await
        .expect(200)
        .str("destinationID");
    let task = s.task(&source, &destination).await;
    let run = s
        .call(Method::POST, &format!("/1/tasks/{task}/run"), None)
        .await
        .expect(200)
        .str("runID");
    let events = s
        .store
        .insert_events(
            APP_A,
            &run,
            &[NewEvent {
                parent_id: None,
                status: EventStatus::Succeeded,
                event_type: EventType::Fetch,
                data: Some(serde_json::from_value(json!({"bytes": 10})).unwrap()),
                batch_size: 0,
                published_at: Timestamp::from_unix(1_700_000_000, 0),
            }],
        )
        .await
        .unwrap();
    World {
        auth,
        algolia_auth,
        spare_auth: s.algolia_auth().await,
        spare_source: s.json_source("spare", true).await,
        spare_destination: s.destination("spare").await,
        source,
        destination,
        task,
        run,
        event: events[0].event_id.clone(),
    }
}

fn substitute(op: &str, path: &str, body: Option<&Value>, w: &World) -> (String, Option<Value>) {
    let id = match op {
        "deleteAuthentication" => &w.spare_auth,
        "deleteSource" => &w.spare_source,
        "deleteDestination" => &w.spare_destination,
        _ if path.starts_with("/1/authentications") => &w.auth,
        _ if path.starts_with("/1/destinations") => &w.destination,
        _ if path.starts_with("/1/sources") => &w.source,
        _ if path.starts_with("/1/tasks") => &w.task,
        _ => &w.run,
    };
    let path = path
        .replace(PLACEHOLDER, id)
        .replace(EVENT_PLACEHOLDER, &w.event);
    let body = body.map(|b| {
        let mut text = b.to_string();
        let auth = if op == "createDestination" {
            &w.algolia_auth
        } else if op.starts_with("search") {
            id
        } else {
            &w.auth
        };
        text = text
            .replace(&format!("\"{PLACEHOLDER}\""), &format!("\"{auth}\""))
            .replace(
                "\"search\",\"destinationID\"",
                &format!("\"{}\",\"destinationID\"", w.source),
            )
            .replace(
                "\"destinationName\",\"trigger\"",
                &format!("\"{}\",\"trigger\"", w.destination),
            );
        let mut value: Value = serde_json::from_str(&text).unwrap();
        if op == "createTask" {
            value["sourceID"] = json!(w.source);
            value["destinationID"] = json!(w.destination);
        }
        if op == "createSource" {
            // The fixture's commercetools source has an authentication: ours is an oauth one.
            value["authenticationID"] = json!(w.auth);
        }
        value
    });
    (path, body)
}

fn check_shape(op: &str, body: &Value) {
    let strict =
        |r: Result<(), serde_json::Error>| r.unwrap_or_else(|e| panic!("{op}: {e}: {body}"));
    let v = body.clone();
    match op {
        "getAuthentications" => {
            strict(serde_json::from_value::<ingest_model::ListAuthenticationsResponse>(v).map(drop))
        }
        "getDestinations" => {
            strict(serde_json::from_value::<ingest_model::ListDestinationsResponse>(v).map(drop))
        }
        "getSources" => assert_keys(body, &["sources", "pagination"]),
        "getTasks" => {
            strict(serde_json::from_value::<ingest_model::ListTasksResponse>(v).map(drop))
        }
        "getRuns" => strict(serde_json::from_value::<ingest_model::RunListResponse>(v).map(drop)),
        "getEvents" => {
            strict(serde_json::from_value::<ingest_model::ListEventsResponse>(v).map(drop))
        }
        "getAuthentication" => {
            strict(serde_json::from_value::<ingest_model::Authentication>(v).map(drop))
        }
        "getDestination" => {
            strict(serde_json::from_value::<ingest_model::Destination>(v).map(drop))
        }
        "getSource" => assert_keys(
            body,
            &[
                "sourceID",
                "type",
                "name",
                "input",
                "authenticationID",
                "createdAt",
                "updatedAt",
            ],
        ),
        "getTask" => strict(serde_json::from_value::<ingest_model::Task>(v).map(drop)),
        "getRun" => strict(serde_json::from_value::<ingest_model::Run>(v).map(drop)),
        "getEvent" => strict(serde_json::from_value::<ingest_model::Event>(v).map(drop)),
        "createAuthentication" => assert_keys(body, &["authenticationID", "name", "createdAt"]),
        "createDestination" => assert_keys(body, &["destinationID", "name", "createdAt"]),
        "createSource" => assert_keys(body, &["sourceID", "name", "createdAt"]),
        "createTask" => assert_keys(body, &["taskID", "createdAt"]),
        "updateAuthentication" => assert_keys(body, &["authenticationID", "name", "updatedAt"]),
        "updateDestination" => assert_keys(body, &["destinationID", "name", "updatedAt"]),
        "updateSource" => assert_keys(body, &["sourceID", "name", "updatedAt"]),
        "updateTask" | "enableTask" | "disableTask" => assert_keys(body, &["taskID", "updatedAt"]),
        "runTask" => assert_keys(body, &["runID", "createdAt"]),
        op if op.starts_with("delete") => assert_keys(body, &["deletedAt"]),
        op if op.starts_with("search") => {
            let items = body
                .as_array()
                .unwrap_or_else(|| panic!("{op}: not an array: {body}"));
            assert_eq!(
                items.len(),
                1,
                "{op}: the known ID is found, the unknown one skipped"
            );
        }
        other => panic!("no shape check for {other}"),
    }
}

async fn every_cts_request_is_accepted(s: &Server) {
    let dir = fixtures_dir();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 31, "one fixture file per operation");
    let mut replayed = 0;
    for (n, file) in files.iter().enumerate() {
        let op = file.file_stem().unwrap().to_str().unwrap().to_owned();
        let cases: Vec<Value> = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
        for case in cases {
            let w = world(s).await;
            let request = &case["request"];
            let method =
                Method::from_bytes(request["method"].as_str().unwrap().as_bytes()).unwrap();
            let (path, body) = substitute(
                &op,
                request["path"].as_str().unwrap(),
                request.get("body"),
                &w,
            );
            let mut req = s.request(method, &path);
            if let Some(body) = body {
                // Half as the JavaScript client sends bodies, half as Python does.
                let content_type = if n % 2 == 0 {
                    "text/plain"
                } else {
                    "application/json"
                };
                req = req
                    .header("content-type", content_type)
                    .body(body.to_string());
            }
            let resp = Server::send(req).await;
            assert_eq!(resp.status, 200, "{op} {}: {}", case["testName"], resp.text);
            check_shape(&op, &resp.body);
            replayed += 1;
        }
    }
    assert!(replayed >= 34, "{replayed} cases replayed");
}

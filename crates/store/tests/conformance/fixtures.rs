//! Builders for the model inputs the tests create, parsed from JSON like the API does.

use ingest_model::{
    Authentication, AuthenticationCreate, Destination, DestinationCreate, RunStatus, Source,
    SourceCreate, Task, TaskCreate, from_value,
};
use ingest_store::{StoreError, Timestamp};
use serde_json::{Value, json};

use crate::harness::Harness;

pub const APP: &str = "APP1";
pub const OTHER_APP: &str = "APP2";

pub fn parse<T: serde::de::DeserializeOwned>(value: Value) -> T {
    from_value(&value).unwrap_or_else(|e| panic!("fixture does not parse: {e}"))
}

/// A `basic` authentication body.
pub fn basic(name: &str, password: &str) -> AuthenticationCreate {
    parse(json!({
        "type": "basic",
        "name": name,
        "input": {"username": "user", "password": password}
    }))
}

pub async fn create_basic(h: &Harness, app: &str, name: &str) -> Authentication {
    h.store
        .create_authentication(app, &basic(name, "pw"), h.now())
        .await
        .unwrap()
}

pub async fn create_auth(h: &Harness, app: &str, body: Value) -> Authentication {
    h.store
        .create_authentication(app, &parse(body), h.now())
        .await
        .unwrap()
}

pub fn algolia_auth(name: &str) -> Value {
    json!({"type": "algolia", "name": name, "input": {"appID": "A1", "apiKey": "k"}})
}

/// A JSON source body (with `uniqueIDColumn` when `id_column` is set).
pub fn json_source(name: &str, id_column: Option<&str>, auth: Option<&str>) -> SourceCreate {
    let mut input = json!({"url": "https://example.com/data.json"});
    if let Some(column) = id_column {
        input["uniqueIDColumn"] = json!(column);
    }
    let mut body = json!({"type": "json", "name": name, "input": input});
    if let Some(auth) = auth {
        body["authenticationID"] = json!(auth);
    }
    parse(body)
}

pub async fn create_source(h: &Harness, app: &str, name: &str) -> Source {
    h.store
        .create_source(app, &json_source(name, Some("id"), None), h.now())
        .await
        .unwrap()
}

pub fn destination(name: &str, auth: Option<&str>) -> DestinationCreate {
    let mut body = json!({"type": "search", "name": name, "input": {"indexName": "products"}});
    if let Some(auth) = auth {
        body["authenticationID"] = json!(auth);
    }
    parse(body)
}

pub async fn create_destination(h: &Harness, app: &str, name: &str) -> Destination {
    h.store
        .create_destination(app, &destination(name, None), h.now())
        .await
        .unwrap()
}

pub fn task_body(source: &str, destination: &str, action: &str) -> TaskCreate {
    parse(json!({
        "sourceID": source,
        "destinationID": destination,
        "trigger": {"type": "onDemand"},
        "action": action
    }))
}

/// A source, a destination and an on-demand `replace` task between them.
pub async fn create_task(h: &Harness, app: &str) -> Task {
    let source = create_source(h, app, "src").await;
    let destination = create_destination(h, app, "dst").await;
    h.store
        .create_task(
            app,
            &task_body(&source.source_id, &destination.destination_id, "replace"),
            None,
            h.now(),
        )
        .await
        .unwrap()
}

/// `Timestamp` of an RFC 3339 string.
pub fn ts(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

/// Asserts `result` is a `NotFound`.
#[track_caller]
pub fn assert_not_found<T: std::fmt::Debug>(result: Result<T, StoreError>) {
    match result {
        Err(StoreError::NotFound { .. }) => {}
        other => panic!("expected not found, got {other:?}"),
    }
}

/// Asserts `result` is an `InvalidReference` on `field`.
#[track_caller]
pub fn assert_invalid_reference<T: std::fmt::Debug>(result: Result<T, StoreError>, field: &str) {
    match result {
        Err(StoreError::InvalidReference { field: f, .. }) if f == field => {}
        other => panic!("expected an invalid reference on {field}, got {other:?}"),
    }
}

/// Creates a run and moves it to `status` through the worker API; returns its ID.
pub async fn run_in(h: &Harness, task_id: &str, status: RunStatus) -> String {
    let run = h.store.create_run(APP, task_id, h.now()).await.unwrap();
    if status == RunStatus::Created {
        return run.run_id;
    }
    let claimed = h
        .store
        .claim_next_run("w", std::time::Duration::from_secs(30), h.now())
        .await
        .unwrap()
        .expect("a run to claim");
    assert_eq!(claimed.run.run_id, run.run_id);
    if status == RunStatus::Finished {
        let finish = ingest_store::RunFinish {
            outcome: ingest_model::RunOutcome::Success,
            reason_code: ingest_model::RunReasonCode::Ok,
            reason: None,
            progress: None,
        };
        h.store
            .finish_run(&run.run_id, &claimed.lease_token, &finish, h.now())
            .await
            .unwrap();
    }
    run.run_id
}

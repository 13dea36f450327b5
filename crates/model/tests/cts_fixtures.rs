//! Every request body of Algolia's client test suite (`tests/fixtures/cts-ingestion`) parses with
//! our types, chosen by the request's method and path.

use std::path::Path;

use ingest_model::{
    AuthenticationCreate, AuthenticationSearch, AuthenticationUpdate, DestinationCreate,
    DestinationInput, DestinationSearch, DestinationUpdate, SourceCreate, SourceInput,
    SourceSearch, SourceUpdate, TaskCreate, TaskCreateTrigger, TaskSearch, TaskUpdate,
    ValidationError, from_slice, from_value,
};
use serde_json::Value;

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/cts-ingestion"
);

/// Parses `body` as the request body of `method path`; the name of the type used.
fn parse_body(method: &str, path: &str, body: &Value) -> Result<&'static str, ValidationError> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let name = match (method, segments.as_slice()) {
        ("POST", ["1", "authentications"]) => {
            from_value::<AuthenticationCreate>(body)?;
            "AuthenticationCreate"
        }
        ("POST", ["1", "destinations"]) => {
            from_value::<DestinationCreate>(body)?;
            "DestinationCreate"
        }
        ("POST", ["1", "sources"]) => {
            from_value::<SourceCreate>(body)?;
            "SourceCreate"
        }
        ("POST", ["1", "tasks"]) => {
            from_value::<TaskCreate>(body)?;
            "TaskCreate"
        }
        ("POST", ["1", "authentications", "search"]) => {
            from_value::<AuthenticationSearch>(body)?;
            "AuthenticationSearch"
        }
        ("POST", ["1", "destinations", "search"]) => {
            from_value::<DestinationSearch>(body)?;
            "DestinationSearch"
        }
        ("POST", ["1", "sources", "search"]) => {
            from_value::<SourceSearch>(body)?;
            "SourceSearch"
        }
        ("POST", ["1", "tasks", "search"]) => {
            from_value::<TaskSearch>(body)?;
            "TaskSearch"
        }
        ("PATCH", ["1", "authentications", _]) => {
            from_value::<AuthenticationUpdate>(body)?;
            "AuthenticationUpdate"
        }
        ("PATCH", ["1", "destinations", _]) => {
            from_value::<DestinationUpdate>(body)?;
            "DestinationUpdate"
        }
        ("PATCH", ["1", "sources", _]) => {
            from_value::<SourceUpdate>(body)?;
            "SourceUpdate"
        }
        ("PATCH", ["1", "tasks", _]) => {
            from_value::<TaskUpdate>(body)?;
            "TaskUpdate"
        }
        _ => panic!("no request body type for {method} {path}"),
    };
    // The same body as raw bytes (what the server receives) parses too.
    let bytes = serde_json::to_vec(body).expect("re-serialize");
    match name {
        "SourceCreate" => drop(from_slice::<SourceCreate>(&bytes)?),
        "TaskCreate" => drop(from_slice::<TaskCreate>(&bytes)?),
        "AuthenticationCreate" => drop(from_slice::<AuthenticationCreate>(&bytes)?),
        _ => {}
    }
    Ok(name)
}

#[test]
fn every_cts_request_body_parses() {
    let mut files: Vec<_> = std::fs::read_dir(Path::new(FIXTURES))
        .expect("the fixtures are in the repository")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 31, "one fixture file per operation");

    let mut parsed = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read fixture");
        let cases: Vec<Value> = serde_json::from_str(&text).expect("fixture is JSON");
        for case in cases {
            let request = &case["request"];
            let Some(body) = request.get("body") else {
                continue;
            };
            let method = request["method"].as_str().expect("method");
            let path = request["path"].as_str().expect("path");
            match parse_body(method, path, body) {
                Ok(name) => parsed.push((case["testName"].to_string(), name)),
                Err(e) => panic!("{}: {method} {path}: {e}", file.display()),
            }
        }
    }
    // 2 authentications, 1 destination, 1 source, 3 tasks, 4 searches, 4 updates.
    assert_eq!(parsed.len(), 15, "{parsed:?}");
}

#[test]
fn cts_bodies_have_the_expected_content() {
    let read = |name: &str| -> Value {
        let text = std::fs::read_to_string(Path::new(FIXTURES).join(name)).expect("read");
        serde_json::from_str(&text).expect("json")
    };

    let source: SourceCreate =
        from_value(&read("createSource.json")[0]["request"]["body"]).unwrap();
    let SourceInput::Commercetools(ct) = &source.input else {
        panic!("commercetools expected: {source:?}");
    };
    assert_eq!(ct.locales.as_deref(), Some(&["de".to_owned()][..]));
    assert_eq!(ct.project_key, "keyID");

    let dest: DestinationCreate =
        from_value(&read("createDestination.json")[0]["request"]["body"]).unwrap();
    assert_eq!(dest.input, DestinationInput::prefix("prefix_"));

    let tasks = read("createTask.json");
    let schedule: TaskCreate = from_value(&tasks[1]["request"]["body"]).unwrap();
    assert_eq!(
        schedule.trigger,
        TaskCreateTrigger::Schedule {
            cron: "* * * * *".into()
        }
    );
    assert!(schedule.enabled, "enabled defaults to true");
    assert_eq!(schedule.failure_threshold, 0);

    let update: TaskUpdate = from_value(&read("updateTask.json")[0]["request"]["body"]).unwrap();
    assert_eq!(update.enabled, Some(false));

    let auth: AuthenticationCreate =
        from_value(&read("createAuthentication.json")[0]["request"]["body"]).unwrap();
    assert!(!format!("{auth:?}").contains("mySecret"));
}

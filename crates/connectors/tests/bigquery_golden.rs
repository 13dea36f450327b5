//! BigQuery golden files: each case directory under `tests/golden/bigquery/` holds the source
//! `input` (`source.json`), the fake's answers (`table.json` for `tables.get` when the source
//! reads a table, `page1.json`, `page2.json`… for the result pages, linked by `pageToken`
//! `P2`, `P3`…), and the expected stream (`expected.jsonl`, same line format as `golden.rs`).
//! A GA4 case also holds `insights.jsonl`: the Insights events of its records.
//!
//! The expected files are the specification (`docs/connectors.md` 4), not snapshots: `UPDATE_GOLDEN=1`
//! rewrites them, and every rewritten file must be read and checked against the rules by hand.

use ingest_connectors::bigquery::fake;

use std::path::{Path, PathBuf};

use fake::{Fake, context};
use futures::StreamExt;
use ingest_connectors::{DateWindow, build_source};
use ingest_core::{SourceItemError, SourceResult};
use ingest_model::{SourceInput, SourceType, Timestamp};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex, query_param, query_param_is_missing};
use wiremock::{Mock, ResponseTemplate};

fn case_dir(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/bigquery")
        .join(case)
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    serde_json::from_slice(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

async fn mount(fake: &Fake, dir: &Path, input: &Value) {
    let project = input["projectID"].as_str().unwrap();
    let table_file = dir.join("table.json");
    let pages: Vec<PathBuf> = (1..)
        .map(|n| dir.join(format!("page{n}.json")))
        .take_while(|file| file.exists())
        .collect();
    let (pages_path, first_page) = if table_file.exists() {
        let table = format!(
            "/bigquery/v2/projects/{project}/datasets/{}/tables/{}",
            input["datasetID"].as_str().unwrap(),
            input["table"].as_str().unwrap()
        );
        Mock::given(method("GET"))
            .and(path(table.clone()))
            .respond_with(ResponseTemplate::new(200).set_body_json(read_json(&table_file)))
            .mount(&fake.server)
            .await;
        (format!("{table}/data"), None)
    } else {
        Mock::given(method("POST"))
            .and(path(format!("/bigquery/v2/projects/{project}/queries")))
            .respond_with(ResponseTemplate::new(200).set_body_json(read_json(&pages[0])))
            .mount(&fake.server)
            .await;
        (
            format!("/bigquery/v2/projects/{project}/queries/job_1"),
            Some(()),
        )
    };
    for (at, file) in pages.iter().enumerate() {
        let mock = Mock::given(method("GET")).and(path(pages_path.clone()));
        let mock = match (at, first_page) {
            (0, Some(())) => continue,
            (0, None) => mock.and(query_param_is_missing("pageToken")),
            _ => mock.and(query_param("pageToken", format!("P{}", at + 1))),
        };
        mock.respond_with(ResponseTemplate::new(200).set_body_json(read_json(file)))
            .mount(&fake.server)
            .await;
    }
    Mock::given(path_regex("^/bigquery/"))
        .respond_with(ResponseTemplate::new(404).set_body_string("not in this case"))
        .with_priority(10)
        .mount(&fake.server)
        .await;
}

fn render(item: &SourceResult) -> String {
    match item {
        Ok(record) => {
            let json = std::str::from_utf8(&record.json).expect("records are UTF-8");
            format!(
                "{{\"record\":{json},\"objectID\":{}}}",
                serde_json::to_string(&record.object_id.as_deref()).unwrap()
            )
        }
        Err(SourceItemError::Rejected(rejection)) => json!({"rejected": {
            "position": rejection.position.to_string(),
            "objectID": rejection.object_id.as_deref(),
            "reason": rejection.reason,
        }})
        .to_string(),
        Err(SourceItemError::Fatal(error)) => json!({"fatal": error.message()}).to_string(),
    }
}

fn check(dir: &Path, file: &str, items: &[SourceResult]) {
    let actual: Vec<String> = items.iter().map(render).collect();
    for line in &actual {
        serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("invalid JSON {line}: {e}"));
    }
    let expected_file = dir.join(file);
    let mut text = actual.join("\n");
    text.push('\n');
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&expected_file, text).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&expected_file).unwrap_or_else(|error| {
        panic!(
            "{}: {error} (run with UPDATE_GOLDEN=1, then check the file by hand)",
            expected_file.display()
        )
    });
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        expected.lines().collect::<Vec<_>>(),
        "{}",
        expected_file.display()
    );
}

async fn run_case(case: &str) -> Vec<SourceResult> {
    let dir = case_dir(case);
    let input_json = read_json(&dir.join("source.json"));
    let fake = Fake::start().await;
    mount(&fake, &dir, &input_json).await;
    let window = DateWindow {
        start: Timestamp::parse("2024-06-01T00:00:00Z").unwrap(),
        end: Timestamp::parse("2024-06-02T00:00:00Z").unwrap(),
    };
    let input = SourceInput::parse(SourceType::BigQuery, &input_json).unwrap();
    let source = build_source(
        &input,
        Some(&fake.key.auth()),
        &context(&fake.uri(), None, Some(window)),
    )
    .unwrap();
    let items: Vec<SourceResult> = source.records().collect().await;
    check(&dir, "expected.jsonl", &items);
    items
}

#[tokio::test]
async fn every_type_and_mode() {
    run_case("types").await;
}

#[tokio::test]
async fn ga4_events_and_their_insights_events() {
    let items = run_case("ga4_events").await;
    let events: Vec<SourceResult> = ingest_connectors::bigquery::insights_events(
        futures::stream::iter(items).boxed(),
        "products",
    )
    .collect()
    .await;
    check(&case_dir("ga4_events"), "insights.jsonl", &events);
}

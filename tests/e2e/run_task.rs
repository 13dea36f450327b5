//! `run-task --dry-run` end to end.

use std::io::Write;

use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::Scratch;

const PRODUCTS_CSV: &str = "id,name,price,in_stock\r\nsku-1,\"Espresso, steel\",249.90,true\r\nsku-2,\"Cups \"\"x6\"\"\",19.5,0\r\nsku-3,Frother,abc,false\r\n";

fn csv_task(url: &str, threshold: u8) -> Value {
    json!({
        "action": "replace",
        "failureThreshold": threshold,
        "source": {
            "type": "csv",
            "input": { "url": url, "uniqueIDColumn": "id",
                       "mapping": { "price": "float", "in_stock": "boolean" }, "delimiter": "," },
            "authentication": { "type": "basic", "input": { "username": "reader", "password": "s3cret-pass" } }
        },
        "destination": {
            "type": "search", "input": { "indexName": "products" },
            "authentication": { "type": "algolia", "input": { "appID": "APP", "apiKey": "algolia-admin-key" } }
        }
    })
}

async fn serve(body: impl Into<Vec<u8>>, route: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(route))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(body.into()))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn csv_over_http_becomes_exact_batch_bodies() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/products.csv"))
        // "reader:s3cret-pass" in base64.
        .and(header("authorization", "Basic cmVhZGVyOnMzY3JldC1wYXNz"))
        .respond_with(ResponseTemplate::new(200).set_body_string(PRODUCTS_CSV))
        // Two runs: quiet, then with RUST_LOG=info.
        .expect(2)
        .mount(&server)
        .await;
    let scratch = Scratch::new();
    let task = scratch.task(&csv_task(&format!("{}/products.csv", server.uri()), 50));
    let result = scratch.dry_run(&task, &[]).await;

    assert_eq!(result.status, 0, "{result:?}");
    let out = std::fs::read_to_string(scratch.path("out.jsonl")).unwrap();
    assert_eq!(
        out,
        concat!(
            r#"{"requests":[{"action":"addObject","body":{"objectID":"sku-1","id":"sku-1","name":"Espresso, steel","price":249.90,"in_stock":true}},"#,
            r#"{"action":"addObject","body":{"objectID":"sku-2","id":"sku-2","name":"Cups \"x6\"","price":19.5,"in_stock":false}}]}"#,
            "\n"
        )
    );
    let summary = result.summary();
    assert_eq!(summary["outcome"], "success");
    assert_eq!(summary["reasonCode"], "ok");
    assert_eq!(summary["recordsRead"], 3);
    assert_eq!(summary["recordsPushed"], 2);
    assert_eq!(summary["recordsRejected"], 1);
    assert_eq!(summary["batches"], 1);
    assert_eq!(summary["bytes"], out.len() - 1);
    assert_eq!(
        summary["rejections"],
        json!([{ "position": "row 4", "objectID": "sku-3", "reason": "failed to parse `price` as float: \"abc\"" }])
    );
    assert!(summary["durationMs"].is_u64());
    for secret in ["s3cret-pass", "algolia-admin-key"] {
        assert!(!result.stdout.contains(secret) && !result.stderr.contains(secret));
    }
    // Not a terminal: nothing but warnings, as plain lines.
    assert!(!result.stderr.contains('\u{1b}'), "{}", result.stderr);
    let lines: Vec<&str> = result.stderr.lines().collect();
    assert!(
        !lines.is_empty() && lines.iter().all(|l| l.contains("WARN")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("record rejected") && l.contains("row 4")),
        "{lines:?}"
    );
    // With RUST_LOG=info, the run's story too: the dry run says what it would have done.
    let told = scratch.dry_run(&task, &[("RUST_LOG", "info")]).await;
    let lines: Vec<&str> = told.stderr.lines().collect();
    assert!(
        lines[0].contains("INFO") && lines[0].contains("run started"),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("[dry run] temporary index `products_tmp_")),
        "{lines:?}"
    );
    assert!(lines.last().unwrap().contains("run finished"), "{lines:?}");
}

#[tokio::test]
async fn rejections_over_the_threshold_fail_with_exit_status_1() {
    let server = serve(PRODUCTS_CSV, "/products.csv").await;
    let scratch = Scratch::new();
    let task = scratch.task(&csv_task(&format!("{}/products.csv", server.uri()), 0));
    let result = scratch.dry_run(&task, &[]).await;
    assert_eq!(result.status, 1, "{result:?}");
    let summary = result.summary();
    assert_eq!(summary["outcome"], "failure");
    assert_eq!(summary["reasonCode"], "too_many_errors");
    assert_eq!(summary["recordsRead"], 3);
}

#[tokio::test]
async fn batches_close_at_the_configured_record_count() {
    let mut csv = String::from("id,n\n");
    for i in 0..25 {
        csv.push_str(&format!("{i},{i}\n"));
    }
    let server = serve(csv, "/many.csv").await;
    let scratch = Scratch::new();
    let mut task = csv_task(&format!("{}/many.csv", server.uri()), 0);
    task["source"]["input"]["mapping"] = json!({ "n": "integer" });
    let task = scratch.task(&task);
    let result = scratch
        .dry_run(&task, &[("INGESTION__BATCH__MAX_RECORDS", "10")])
        .await;
    assert_eq!(result.status, 0, "{result:?}");
    let sizes: Vec<usize> = result
        .batches
        .iter()
        .map(|batch| batch["requests"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [10, 10, 5]);
    let ids: Vec<Value> = result.bodies().iter().map(|b| b["n"].clone()).collect();
    assert_eq!(ids, (0..25).map(Value::from).collect::<Vec<_>>());
    assert_eq!(result.summary()["batches"], 3);
}

#[tokio::test]
async fn json_from_a_local_file_with_save_gives_partial_updates() {
    let scratch = Scratch::new();
    scratch.write(
        "products.json",
        r#"[ {"sku": "a", "price": 1.50}, {"sku": 7, "tags": ["x"]}, 12, {"price": 3} ]"#,
    );
    let task = scratch.task(&json!({
        "action": "save",
        "failureThreshold": 50,
        "source": { "type": "json", "input": { "url": "./products.json", "uniqueIDColumn": "sku" } },
        "destination": { "type": "search", "input": { "indexName": "products" } }
    }));
    let result = scratch.dry_run(&task, &[]).await;
    assert_eq!(result.status, 0, "{result:?}");
    let out = std::fs::read_to_string(scratch.path("out.jsonl")).unwrap();
    assert_eq!(
        out,
        "{\"requests\":[{\"action\":\"partialUpdateObject\",\"body\":{\"objectID\":\"a\",\"sku\":\"a\",\"price\":1.50}},{\"action\":\"partialUpdateObject\",\"body\":{\"objectID\":\"7\",\"sku\":7,\"tags\":[\"x\"]}}]}\n"
    );
    let summary = result.summary();
    assert_eq!(summary["recordsRejected"], 2);
    assert_eq!(summary["rejections"][0]["position"], "element 2");
    assert_eq!(summary["rejections"][1]["position"], "element 3");
}

#[tokio::test]
async fn toml_task_files_and_gzip_files_work() {
    let scratch = Scratch::new();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(b"{\"objectID\":\"1\"}\n\n{\"objectID\":\"2\"}\n")
        .unwrap();
    scratch.write("items.ndjson.gz", gz.finish().unwrap());
    let task = scratch.write(
        "task.toml",
        "action = \"replace\"\n[source]\ntype = \"json\"\ninput = { url = \"./items.ndjson.gz\" }\n[destination]\ntype = \"search\"\ninput = { indexName = \"items\" }\n",
    );
    let result = scratch.dry_run(&task, &[]).await;
    assert_eq!(result.status, 0, "{result:?}");
    assert_eq!(
        result.bodies(),
        [json!({"objectID": "1"}), json!({"objectID": "2"})]
    );
}

#[tokio::test]
async fn a_task_file_error_names_the_field_and_exits_2() {
    let scratch = Scratch::new();
    let mut task = csv_task("http://127.0.0.1:1/x.csv", 0);
    task["source"]["input"]["delimiter"] = json!(";;");
    let result = scratch.dry_run(&scratch.task(&task), &[]).await;
    assert_eq!(result.status, 2);
    assert_eq!(result.stdout, "");
    assert_eq!(
        result.stderr,
        "run-task: source.input.delimiter: must be one character\n"
    );
}

#[tokio::test]
async fn pushing_needs_the_destinations_algolia_authentication() {
    let scratch = Scratch::new();
    let mut task = csv_task("http://127.0.0.1:1/x.csv", 0);
    task["destination"]
        .as_object_mut()
        .unwrap()
        .remove("authentication");
    let task = scratch.task(&task);
    let result = scratch
        .run(&["--task-file".as_ref(), task.as_os_str()], &[])
        .await;
    assert_eq!(result.status, 2);
    assert_eq!(result.stdout, "");
    assert!(
        result.stderr.contains(
            "run-task: destination.authentication: an `algolia` authentication (appID, apiKey) is needed"
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_failing_source_ends_the_run_with_a_clear_reason() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404).set_body_string("no such export"))
        .mount(&server)
        .await;
    let scratch = Scratch::new();
    let url = format!("{}/missing.csv?token=query-secret", server.uri());
    let result = scratch
        .dry_run(&scratch.task(&csv_task(&url, 0)), &[])
        .await;
    assert_eq!(result.status, 1, "{result:?}");
    let summary = result.summary();
    assert_eq!(summary["reasonCode"], "critical");
    let reason = summary["reason"].as_str().unwrap();
    assert!(reason.contains("404 Not Found"), "{reason}");
    assert!(reason.contains("no such export"), "{reason}");
    assert!(
        !reason.contains("query-secret") && !reason.contains("s3cret-pass"),
        "{reason}"
    );
}

#[tokio::test]
async fn the_url_policy_refuses_loopback_when_configured_to() {
    let server = serve(PRODUCTS_CSV, "/products.csv").await;
    let scratch = Scratch::new();
    let task = scratch.task(&csv_task(&format!("{}/products.csv", server.uri()), 0));
    let result = scratch
        .dry_run(&task, &[("INGESTION__SOURCES__ALLOW_NETWORKS", "")])
        .await;
    assert_eq!(result.status, 1, "{result:?}");
    let reason = result.summary()["reason"].as_str().unwrap().to_owned();
    assert!(reason.contains("refused by the URL policy"), "{reason}");
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn an_empty_source_pushes_nothing() {
    let server = serve("id,name,price,in_stock\n", "/empty.csv").await;
    let scratch = Scratch::new();
    let result = scratch
        .dry_run(
            &scratch.task(&csv_task(&format!("{}/empty.csv", server.uri()), 0)),
            &[],
        )
        .await;
    assert_eq!(result.status, 0, "{result:?}");
    assert_eq!(result.summary()["reasonCode"], "no_events");
    assert!(result.batches.is_empty());
}

#[tokio::test]
async fn a_task_file_transformation_shapes_the_dry_run_bodies() {
    let server = serve(PRODUCTS_CSV, "/products.csv").await;
    let scratch = Scratch::new();
    let mut task = csv_task(&format!("{}/products.csv", server.uri()), 50);
    task["transformation"] = json!({
        "type": "code",
        "input": {"code": "function transform(r, helper) {\n  if (r.id === 'sku-2') return null;\n  r.label = r.name + ' ' + helper.secrets.get('TAG');\n  r.index = helper.getMetadata().indexName;\n  return r;\n}"},
        "secrets": {"TAG": "tag-secret-value"}
    });
    let result = scratch.dry_run(&scratch.task(&task), &[]).await;
    assert_eq!(result.status, 0, "{result:?}");
    assert_eq!(
        result.batches,
        [json!({"requests": [{"action": "addObject", "body": {
            "objectID": "sku-1", "id": "sku-1", "name": "Espresso, steel", "price": 249.90,
            "in_stock": true, "label": "Espresso, steel tag-secret-value", "index": "products"}}]})]
    );
    let summary = result.summary();
    assert_eq!(summary["recordsPushed"], 1);
    assert_eq!(summary["recordsRejected"], 1, "sku-3's bad price");
    assert!(
        !result.stderr.contains("tag-secret-value") && !result.stdout.contains("tag-secret-value")
    );

    // A syntax error is refused before anything is read, with its line.
    task["transformation"] =
        json!({"type": "code", "input": {"code": "function transform(r) {\n  return r +;\n}"}});
    let refused = scratch.dry_run(&scratch.task(&task), &[]).await;
    assert_eq!(refused.status, 2, "{refused:?}");
    assert!(refused.stderr.contains("line 2"), "{}", refused.stderr);
}

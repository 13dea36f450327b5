//! 400s that name the field path: each enum, missing, unknown and mistyped fields, delimiter,
//! locales, timeframe, date windows, cron; bodies that are not JSON or too large.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::Server;

ingest_store::both_backends!(
    bodies_are_validated_with_field_paths,
    body_formats_and_limits
);

async fn bad(s: &Server, path: &str, body: Value, needle: &str) {
    let resp = s.post(path, &body).await;
    assert_eq!(resp.status, 400, "{body} → {}", resp.text);
    resp.error(400, needle);
}

async fn bodies_are_validated_with_field_paths(s: &Server) {
    let a = "/1/authentications";
    // Enums.
    bad(
        s,
        a,
        json!({"type": "password", "name": "n", "input": {}}),
        "type: unknown variant `password`",
    )
    .await;
    bad(s, a, json!({"type": "basic", "name": "n", "platform": "magento", "input": {"username": "u", "password": "p"}}), "platform: unknown variant").await;
    // Missing, unknown, wrong type.
    bad(
        s,
        a,
        json!({"type": "basic", "input": {"username": "u", "password": "p"}}),
        "name: missing field",
    )
    .await;
    bad(
        s,
        a,
        json!({"type": "basic", "name": "n", "input": {"username": "u"}}),
        "input.password: missing field",
    )
    .await;
    bad(s, a, json!({"type": "basic", "name": "n", "input": {"username": "u", "password": "p", "extra": 1}}), "input.extra: unknown field").await;
    bad(s, a, json!({"type": "basic", "name": "n", "input": {"username": "u", "password": "p"}, "authenticationID": "x"}), "authenticationID: unknown field").await;
    bad(
        s,
        a,
        json!({"type": "basic", "name": 5, "input": {"username": "u", "password": "p"}}),
        "name: invalid type",
    )
    .await;
    bad(s, a, json!({"type": "oauth", "name": "n", "input": {"url": "u", "clientId": "c", "client_secret": "s"}}), "input.clientId: unknown field").await;
    // Read-only fields.
    bad(s, a, json!({"type": "apiKey", "name": "n", "input": {"key": "k"}, "createdAt": "2024-01-01T00:00:00Z"}), "createdAt: unknown field").await;

    let d = "/1/destinations";
    bad(
        s,
        d,
        json!({"type": "ftp", "name": "n", "input": {"indexName": "i"}}),
        "type: unknown variant",
    )
    .await;
    bad(
        s,
        d,
        json!({"type": "search", "name": "n", "input": {}}),
        "input",
    )
    .await;
    bad(
        s,
        d,
        json!({"type": "search", "name": "n", "input": {"indexName": ""}}),
        "input.indexName",
    )
    .await;

    let src = "/1/sources";
    bad(
        s,
        src,
        json!({"type": "xml", "name": "n", "input": {}}),
        "type: unknown variant",
    )
    .await;
    bad(
        s,
        src,
        json!({"type": "csv", "name": "n", "input": {"url": "https://x/a.csv", "delimiter": ";;"}}),
        "input.delimiter",
    )
    .await;
    bad(
        s,
        src,
        json!({"type": "csv", "name": "n", "input": {"url": "https://x/a.csv", "delimiter": " "}}),
        "input.delimiter",
    )
    .await;
    bad(s, src, json!({"type": "csv", "name": "n", "input": {"url": "https://x/a.csv", "mapping": {"p": "money"}}}), "input.mapping.p: unknown variant").await;
    bad(
        s,
        src,
        json!({"type": "csv", "name": "n", "input": {"url": "https://x/a.csv", "method": "PUT"}}),
        "input.method: unknown variant",
    )
    .await;
    bad(
        s,
        src,
        json!({"type": "json", "name": "n", "input": {}}),
        "input.url: missing field",
    )
    .await;
    bad(s, src, json!({"type": "commercetools", "name": "n", "input": {"url": "u", "projectKey": "p", "locales": ["en", "fr_FR"]}}), "input.locales[1]").await;
    bad(s, src, json!({"type": "bigquery", "name": "n", "input": {"projectID": "p", "datasetID": "d", "dataType": "ga5"}}), "input.dataType: unknown variant").await;
    bad(s, src, json!({"type": "bigcommerce", "name": "n", "input": {"storeHash": "h", "channel": {"id": "one"}}}), "input.channel.id: invalid type").await;

    let source = s.json_source("src", true).await;
    let dest = s.destination("idx").await;
    let t = "/1/tasks";
    let task = |extra: Value| {
        let mut body = json!({"sourceID": source, "destinationID": dest,
            "trigger": {"type": "onDemand"}, "action": "replace"});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    bad(
        s,
        t,
        task(json!({"action": "upsert"})),
        "action: unknown variant",
    )
    .await;
    bad(
        s,
        t,
        task(json!({"trigger": {"type": "webhook"}})),
        "trigger.type: unknown variant",
    )
    .await;
    bad(
        s,
        t,
        task(json!({"trigger": {"type": "schedule"}})),
        "trigger.cron: missing field",
    )
    .await;
    bad(
        s,
        t,
        task(json!({"trigger": {"type": "schedule", "cron": "* * * *"}})),
        "trigger.cron: must have 5 fields",
    )
    .await;
    bad(
        s,
        t,
        task(json!({"trigger": {"type": "schedule", "cron": "61 * * * *"}})),
        "trigger.cron: invalid cron expression",
    )
    .await;
    bad(
        s,
        t,
        task(json!({"trigger": {"type": "schedule", "cron": "0 0 30 2 *"}})),
        "trigger.cron: never fires",
    )
    .await;
    bad(
        s,
        t,
        task(json!({"trigger": {"type": "onDemand", "cron": "* * * * *"}})),
        "trigger.cron",
    )
    .await;
    bad(
        s,
        t,
        task(json!({"input": {"timeframe": 0}})),
        "input.timeframe: must be between 1 and 30",
    )
    .await;
    bad(
        s,
        t,
        task(json!({"input": {"timeframe": 31}})),
        "input.timeframe",
    )
    .await;
    bad(s, t, task(json!({"input": {"startDate": "2024-02-01T00:00:00Z", "endDate": "2024-01-01T00:00:00Z"}})), "input.endDate: must be after").await;
    bad(
        s,
        t,
        task(json!({"input": {"startDate": "yesterday", "endDate": "2024-01-01T00:00:00Z"}})),
        "input.startDate",
    )
    .await;
    bad(
        s,
        t,
        task(json!({"failureThreshold": 101})),
        "failureThreshold",
    )
    .await;
    bad(
        s,
        t,
        task(json!({"enabled": "yes"})),
        "enabled: invalid type",
    )
    .await;
    bad(
        s,
        t,
        task(json!({"taskID": "mine"})),
        "taskID: unknown field",
    )
    .await;
    // Good ones pass.
    s.post(
        t,
        &task(json!({"input": {"timeframe": 30}, "failureThreshold": 100})),
    )
    .await
    .expect(200);
    let id = s
        .post(
            t,
            &task(json!({"trigger": {"type": "schedule", "cron": "15 3 * * 1-5"}})),
        )
        .await
        .expect(200)
        .str("taskID");

    // Updates.
    let p = format!("/1/tasks/{id}");
    s.patch(&p, &json!({"action": "save"}))
        .await
        .error(400, "action: cannot be changed");
    s.patch(&p, &json!({"sourceID": source}))
        .await
        .error(400, "sourceID: cannot be changed");
    s.patch(&p, &json!({"trigger": {"cron": "bad"}}))
        .await
        .error(400, "trigger.cron");
    let changed = s
        .patch(&p, &json!({"trigger": {"cron": "0 12 * * *"}}))
        .await
        .expect(200);
    assert!(changed.body["updatedAt"].is_string());
    let task_now = s.get(&p).await.expect(200);
    assert_eq!(task_now.body["trigger"]["cron"], "0 12 * * *");
    assert!(
        task_now.body["trigger"]["nextRun"]
            .as_str()
            .unwrap()
            .contains("T12:00:00.000Z")
    );
    s.patch(&format!("/1/sources/{source}"), &json!({"type": "csv"}))
        .await
        .error(400, "type: cannot be changed");
    s.patch(
        &format!("/1/sources/{source}"),
        &json!({"input": {"url": "https://x", "delimiter": ","}}),
    )
    .await
    .error(400, "input.delimiter: unknown field");
}

async fn body_formats_and_limits(s: &Server) {
    let body = json!({"type": "apiKey", "name": "k", "input": {"key": "secret"}}).to_string();
    for content_type in [
        "application/json",
        "text/plain",
        "text/plain;charset=UTF-8",
        "application/json; charset=utf-8",
    ] {
        let resp = Server::send(
            s.request(Method::POST, "/1/authentications")
                .header("content-type", content_type)
                .body(body.clone()),
        )
        .await;
        assert_eq!(resp.status, 200, "{content_type}: {}", resp.text);
    }
    let form = Server::send(
        s.request(Method::POST, "/1/authentications")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.clone()),
    )
    .await;
    form.error(400, "application/json");
    let broken = Server::send(
        s.request(Method::POST, "/1/authentications")
            .body("{\"type\":"),
    )
    .await;
    broken.error(400, "invalid JSON");
    let empty = Server::send(s.request(Method::POST, "/1/authentications")).await;
    empty.error(400, "body is required");
    let array = Server::send(s.request(Method::POST, "/1/authentications").body("[]")).await;
    array.error(400, "");
    // Over 1 MiB: 413, declared or streamed.
    let huge = format!(
        "{{\"type\":\"apiKey\",\"name\":\"{}\",\"input\":{{\"key\":\"k\"}}}}",
        "x".repeat(1 << 20)
    );
    Server::send(
        s.request(Method::POST, "/1/authentications")
            .body(huge.clone()),
    )
    .await
    .error(413, "larger than");
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = huge
        .into_bytes()
        .chunks(64 * 1024)
        .map(|c| Ok(c.to_vec()))
        .collect();
    let stream = reqwest::Body::wrap_stream(futures_stream(chunks));
    // The server answers 413 as soon as the limit is crossed and closes the connection; a client
    // still uploading may see that close before it reads the answer.
    match s
        .request(Method::POST, "/1/authentications")
        .body(stream)
        .send()
        .await
    {
        Ok(response) => assert_eq!(response.status().as_u16(), 413),
        Err(error) => assert!(error.is_request() || error.is_body(), "{error}"),
    }
    // Neither oversized body created anything: only the four accepted above exist.
    assert_eq!(
        s.get("/1/authentications").await.body["pagination"]["nbItems"],
        4
    );
    // Unknown routes and methods answer JSON too.
    s.get("/1/nope").await.error(404, "no route");
    s.call(Method::PUT, "/1/authentications", None)
        .await
        .error(405, "not allowed");
    s.get("/3/tasks").await.error(404, "no route");
}

fn futures_stream(
    chunks: Vec<Result<Vec<u8>, std::io::Error>>,
) -> impl futures::Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + Sync + 'static {
    futures::stream::iter(chunks)
}

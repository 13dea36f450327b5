//! Every operation's response shape: field names byte for byte, secrets `null`, and each body
//! parses as the model's type (whose `Deserialize` refuses unknown fields).

use ingest_model::{
    Authentication, Destination, ListAuthenticationsResponse, ListDestinationsResponse,
    ListEventsResponse, ListTasksResponse, Run, RunListResponse, Task,
};
use serde_json::json;

use crate::common::{Server, assert_keys};

ingest_store::both_backends!(every_operation_has_its_shape, secrets_are_null_everywhere);

fn parse<T: serde::de::DeserializeOwned>(value: &serde_json::Value) -> T {
    serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("{e}: {value}"))
}

async fn every_operation_has_its_shape(s: &Server) {
    // authentications 1-6
    let created = s
        .post(
            "/1/authentications",
            &json!({"type": "algolia", "name": "creds", "input": {"appID": "A1", "apiKey": "k"}}),
        )
        .await
        .expect(200);
    assert_keys(&created.body, &["authenticationID", "name", "createdAt"]);
    let auth = created.str("authenticationID");
    let got = s
        .get(&format!("/1/authentications/{auth}"))
        .await
        .expect(200);
    assert_keys(
        &got.body,
        &[
            "authenticationID",
            "type",
            "name",
            "input",
            "createdAt",
            "updatedAt",
        ],
    );
    assert_eq!(got.body["input"], json!({"appID": "A1", "apiKey": null}));
    assert_eq!(got.body["createdAt"], got.body["updatedAt"]);
    parse::<Authentication>(&got.body);
    let list = s.get("/1/authentications").await.expect(200);
    assert_keys(&list.body, &["authentications", "pagination"]);
    assert_keys(
        &list.body["pagination"],
        &["nbPages", "page", "nbItems", "itemsPerPage"],
    );
    parse::<ListAuthenticationsResponse>(&list.body);
    let found = s
        .post(
            "/1/authentications/search",
            &json!({"authenticationIDs": [auth]}),
        )
        .await
        .expect(200);
    assert_eq!(found.body.as_array().unwrap().len(), 1);
    assert_eq!(found.body[0], got.body);
    let updated = s
        .patch(
            &format!("/1/authentications/{auth}"),
            &json!({"name": "renamed"}),
        )
        .await
        .expect(200);
    assert_keys(&updated.body, &["authenticationID", "name", "updatedAt"]);
    assert_eq!(updated.str("name"), "renamed");

    // destinations 7-12
    let created = s
        .post(
            "/1/destinations",
            &json!({"type": "search", "name": "dest", "input": {"indexPrefix": "prefix_"},
                "authenticationID": auth}),
        )
        .await
        .expect(200);
    assert_keys(&created.body, &["destinationID", "name", "createdAt"]);
    let dest = created.str("destinationID");
    let got = s.get(&format!("/1/destinations/{dest}")).await.expect(200);
    assert_keys(
        &got.body,
        &[
            "destinationID",
            "type",
            "name",
            "input",
            "authenticationID",
            "createdAt",
            "updatedAt",
        ],
    );
    assert_eq!(
        got.body["input"],
        json!({"indexPrefix": "prefix_", "indexName": "prefix_"})
    );
    parse::<Destination>(&got.body);
    parse::<ListDestinationsResponse>(&s.get("/1/destinations").await.expect(200).body);
    let found = s
        .post("/1/destinations/search", &json!({"destinationIDs": [dest]}))
        .await
        .expect(200);
    assert_eq!(found.body[0], got.body);
    let updated = s
        .patch(&format!("/1/destinations/{dest}"), &json!({"name": "d2"}))
        .await
        .expect(200);
    assert_keys(&updated.body, &["destinationID", "name", "updatedAt"]);

    // sources 13-18
    let created = s
        .post(
            "/1/sources",
            &json!({"type": "csv", "name": "products", "input": {"url": "https://x.example/p.csv",
                "uniqueIDColumn": "sku", "mapping": {"price": "float"}, "delimiter": ";"}}),
        )
        .await
        .expect(200);
    assert_keys(&created.body, &["sourceID", "name", "createdAt"]);
    let source = created.str("sourceID");
    let got = s.get(&format!("/1/sources/{source}")).await.expect(200);
    assert_keys(
        &got.body,
        &[
            "sourceID",
            "type",
            "name",
            "input",
            "createdAt",
            "updatedAt",
        ],
    );
    assert_eq!(got.body["input"]["delimiter"], ";");
    assert_eq!(got.body["input"]["uniqueIDColumn"], "sku");
    let list = s.get("/1/sources").await.expect(200);
    assert_keys(&list.body, &["sources", "pagination"]);
    let found = s
        .post("/1/sources/search", &json!({"sourceIDs": [source]}))
        .await
        .expect(200);
    assert_eq!(found.body[0], got.body);
    let updated = s
        .patch(&format!("/1/sources/{source}"), &json!({"name": "p2"}))
        .await
        .expect(200);
    assert_keys(&updated.body, &["sourceID", "name", "updatedAt"]);

    // tasks 19-27
    let created = s
        .post(
            "/1/tasks",
            &json!({"sourceID": source, "destinationID": dest,
                "trigger": {"type": "schedule", "cron": "0 * * * *"}, "action": "save"}),
        )
        .await
        .expect(200);
    assert_keys(&created.body, &["taskID", "createdAt"]);
    let task = created.str("taskID");
    let got = s.get(&format!("/1/tasks/{task}")).await.expect(200);
    assert_keys(
        &got.body,
        &[
            "taskID",
            "sourceID",
            "destinationID",
            "trigger",
            "enabled",
            "action",
            "failureThreshold",
            "createdAt",
            "updatedAt",
        ],
    );
    assert_keys(&got.body["trigger"], &["type", "cron", "nextRun"]);
    let next_run = got.body["trigger"]["nextRun"].as_str().unwrap();
    assert!(next_run.ends_with(":00:00.000Z"), "{next_run}");
    assert_eq!(got.body["enabled"], true);
    parse::<Task>(&got.body);
    parse::<ListTasksResponse>(&s.get("/1/tasks").await.expect(200).body);
    let found = s
        .post("/1/tasks/search", &json!({"taskIDs": [task]}))
        .await
        .expect(200);
    assert_eq!(found.body[0], got.body);
    let updated = s
        .patch(&format!("/1/tasks/{task}"), &json!({"enabled": false}))
        .await
        .expect(200);
    assert_keys(&updated.body, &["taskID", "updatedAt"]);
    let enabled = s.put(&format!("/1/tasks/{task}/enable")).await.expect(200);
    assert_keys(&enabled.body, &["taskID", "updatedAt"]);
    let disabled = s.put(&format!("/1/tasks/{task}/disable")).await.expect(200);
    assert_keys(&disabled.body, &["taskID", "updatedAt"]);
    assert_eq!(
        s.get(&format!("/1/tasks/{task}")).await.body["enabled"],
        false
    );
    let run = s
        .post(&format!("/1/tasks/{task}/run"), &json!(null))
        .await
        .expect(200);
    assert_keys(&run.body, &["runID", "createdAt"]);
    let run_id = run.str("runID");

    // runs 28-31
    let got = s.get(&format!("/1/runs/{run_id}")).await.expect(200);
    assert_eq!(got.body["status"], "created");
    assert_eq!(got.body["type"], "update");
    assert_eq!(got.body["taskID"], task.as_str());
    assert_eq!(got.body["appID"], crate::common::APP_A);
    for key in [
        "runID",
        "appID",
        "taskID",
        "status",
        "type",
        "createdAt",
        "updatedAt",
    ] {
        assert!(got.body.get(key).is_some(), "{key} missing in {}", got.body);
    }
    parse::<Run>(&got.body);
    let runs = s.get("/1/runs").await.expect(200);
    assert_keys(&runs.body, &["runs", "pagination", "window"]);
    assert_keys(&runs.body["window"], &["startDate", "endDate"]);
    parse::<RunListResponse>(&runs.body);
    let events = s.get(&format!("/1/runs/{run_id}/events")).await.expect(200);
    assert_keys(&events.body, &["events", "pagination", "window"]);
    parse::<ListEventsResponse>(&events.body);
    s.get(&format!(
        "/1/runs/{run_id}/events/00000000-0000-4000-8000-000000000000"
    ))
    .await
    .error(404, "not found");

    // deletes 6, 12, 18, 24
    let deleted = s.delete(&format!("/1/tasks/{task}")).await.expect(200);
    assert_keys(&deleted.body, &["deletedAt"]);
    for path in [
        format!("/1/sources/{source}"),
        format!("/1/destinations/{dest}"),
        format!("/1/authentications/{auth}"),
    ] {
        let deleted = s.delete(&path).await.expect(200);
        assert_keys(&deleted.body, &["deletedAt"]);
        s.get(&path).await.error(404, "not found");
    }
}

async fn secrets_are_null_everywhere(s: &Server) {
    let bodies = [
        json!({"type": "googleServiceAccount", "name": "g", "input": {"clientEmail": "a@b.c", "privateKey": "PK-SECRET"}}),
        json!({"type": "basic", "name": "b", "input": {"username": "u", "password": "PW-SECRET"}}),
        json!({"type": "apiKey", "name": "k", "input": {"key": "KEY-SECRET"}}),
        json!({"type": "oauth", "name": "o", "input": {"url": "http://t", "client_id": "c", "client_secret": "CS-SECRET"}}),
        json!({"type": "algolia", "name": "a", "input": {"appID": "X", "apiKey": "AK-SECRET"}}),
    ];
    let mut ids = Vec::new();
    for body in &bodies {
        ids.push(s.create_auth(body.clone()).await);
    }
    let mut seen = String::new();
    for id in &ids {
        seen += &s.get(&format!("/1/authentications/{id}")).await.text;
    }
    seen += &s.get("/1/authentications?itemsPerPage=100").await.text;
    seen += &s
        .post(
            "/1/authentications/search",
            &json!({"authenticationIDs": ids}),
        )
        .await
        .text;
    assert!(!seen.contains("SECRET"), "a secret leaked: {seen}");
    let list = s.get("/1/authentications").await.expect(200);
    for auth in list.body["authentications"].as_array().unwrap() {
        let input = auth["input"].as_object().unwrap();
        let secrets: Vec<_> = input
            .iter()
            .filter(|(k, _)| ingest_model::SECRET_FIELDS.contains(&k.as_str()))
            .collect();
        assert_eq!(secrets.len(), 1, "{auth}");
        assert!(secrets[0].1.is_null(), "{auth}");
    }
    // A PATCH that omits the secret keeps it; one that sends null keeps it too.
    let basic = &ids[1];
    s.patch(
        &format!("/1/authentications/{basic}"),
        &json!({"input": {"username": "u2"}}),
    )
    .await
    .expect(200);
    s.patch(
        &format!("/1/authentications/{basic}"),
        &json!({"input": {"username": "u3", "password": null}}),
    )
    .await
    .expect(200);
    let kept = s
        .store
        .authentication_with_secrets(crate::common::APP_A, basic)
        .await
        .unwrap();
    assert_eq!(
        kept.input.to_secret_json(),
        json!({"username": "u3", "password": "PW-SECRET"})
    );
}

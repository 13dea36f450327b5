//! References between resources (`docs/api.md` C7, C8), deletes refused while in use (`docs/api.md` C6), soft
//! delete, and isolation between applications.

use reqwest::Method;
use serde_json::json;

use crate::common::Server;

ingest_store::both_backends!(
    references_and_deletes,
    applications_are_isolated,
    concurrent_creates
);

const UNKNOWN: &str = "00000000-0000-4000-8000-000000000000";

async fn references_and_deletes(s: &Server) {
    let algolia = s.algolia_auth().await;
    let oauth = s.oauth_auth().await;
    // A destination's authentication must exist, be live, and be an `algolia` one.
    s.post("/1/destinations", &json!({"type": "search", "name": "d", "input": {"indexName": "i"}, "authenticationID": UNKNOWN}))
        .await
        .error(400, "authenticationID");
    s.post("/1/destinations", &json!({"type": "search", "name": "d", "input": {"indexName": "i"}, "authenticationID": oauth}))
        .await
        .error(400, "authenticationID");
    let dest = s
        .post("/1/destinations", &json!({"type": "search", "name": "d", "input": {"indexName": "i"}, "authenticationID": algolia}))
        .await
        .expect(200)
        .str("destinationID");
    // A commercetools source needs an oauth authentication.
    let ct = json!({"url": "http://ct", "projectKey": "p"});
    s.post(
        "/1/sources",
        &json!({"type": "commercetools", "name": "c", "input": ct, "authenticationID": algolia}),
    )
    .await
    .error(400, "authenticationID");
    let ct_source = s
        .post(
            "/1/sources",
            &json!({"type": "commercetools", "name": "c", "input": ct, "authenticationID": oauth}),
        )
        .await
        .expect(200)
        .str("sourceID");
    // A task's source and destination must exist.
    s.post("/1/tasks", &json!({"sourceID": UNKNOWN, "destinationID": dest, "trigger": {"type": "onDemand"}, "action": "replace"}))
        .await
        .error(400, "sourceID");
    s.post("/1/tasks", &json!({"sourceID": ct_source, "destinationID": UNKNOWN, "trigger": {"type": "onDemand"}, "action": "replace"}))
        .await
        .error(400, "destinationID");
    // `save` needs objectIDs: refused for a JSON source without uniqueIDColumn.
    let no_ids = s.json_source("no ids", false).await;
    s.post("/1/tasks", &json!({"sourceID": no_ids, "destinationID": dest, "trigger": {"type": "onDemand"}, "action": "save"}))
        .await
        .error(400, "");
    let with_ids = s.json_source("ids", true).await;
    let save = s
        .post("/1/tasks", &json!({"sourceID": with_ids, "destinationID": dest, "trigger": {"type": "onDemand"}, "action": "save"}))
        .await
        .expect(200)
        .str("taskID");
    // ... and a source update may not take it away while the save task lives.
    s.patch(
        &format!("/1/sources/{with_ids}"),
        &json!({"input": {"url": "https://example.com/p.json"}}),
    )
    .await
    .error(400, "uniqueIDColumn");
    let task = s.task(&ct_source, &dest).await;

    // Deletes refused while a live task uses the resource, naming the task.
    s.delete(&format!("/1/sources/{ct_source}"))
        .await
        .error(400, &task);
    s.delete(&format!("/1/destinations/{dest}"))
        .await
        .error(400, "task");
    s.delete(&format!("/1/authentications/{oauth}"))
        .await
        .error(400, "source");
    s.delete(&format!("/1/authentications/{algolia}"))
        .await
        .error(400, "destination");

    // Runs: on enabled and disabled tasks; type follows the action.
    s.put(&format!("/1/tasks/{save}/disable")).await.expect(200);
    let run = s
        .call(Method::POST, &format!("/1/tasks/{save}/run"), None)
        .await
        .expect(200)
        .str("runID");
    let got = s.get(&format!("/1/runs/{run}")).await.expect(200);
    assert_eq!(
        (got.body["status"].as_str(), got.body["type"].as_str()),
        (Some("created"), Some("update"))
    );
    let reindex = s
        .call(Method::POST, &format!("/1/tasks/{task}/run"), None)
        .await
        .expect(200)
        .str("runID");
    assert_eq!(
        s.get(&format!("/1/runs/{reindex}")).await.body["type"],
        "reindex"
    );

    // Once the tasks are gone, the rest can go, and deleted things are 404 everywhere.
    s.delete(&format!("/1/tasks/{task}")).await.expect(200);
    s.delete(&format!("/1/tasks/{save}")).await.expect(200);
    s.get(&format!("/1/tasks/{task}"))
        .await
        .error(404, "not found");
    s.patch(&format!("/1/tasks/{task}"), &json!({"enabled": true}))
        .await
        .error(404, "not found");
    s.put(&format!("/1/tasks/{task}/enable"))
        .await
        .error(404, "not found");
    s.call(Method::POST, &format!("/1/tasks/{task}/run"), None)
        .await
        .error(404, "not found");
    s.delete(&format!("/1/tasks/{task}"))
        .await
        .error(404, "not found");
    let search = s
        .post("/1/tasks/search", &json!({"taskIDs": [task, save]}))
        .await
        .expect(200);
    assert_eq!(search.body, json!([]));
    assert_eq!(s.get("/1/tasks").await.body["pagination"]["nbItems"], 0);
    // Runs stay readable after their task is deleted.
    s.get(&format!("/1/runs/{run}")).await.expect(200);
    s.delete(&format!("/1/sources/{ct_source}"))
        .await
        .expect(200);
    s.delete(&format!("/1/destinations/{dest}"))
        .await
        .expect(200);
    s.delete(&format!("/1/authentications/{oauth}"))
        .await
        .expect(200);
    s.delete(&format!("/1/authentications/{algolia}"))
        .await
        .expect(200);
    // A deleted authentication cannot be referred to.
    s.post("/1/destinations", &json!({"type": "search", "name": "d", "input": {"indexName": "i"}, "authenticationID": algolia}))
        .await
        .error(400, "authenticationID");
    // Unknown IDs, including odd ones, are 404.
    for id in [UNKNOWN, "not-a-uuid", "%20", "a%2Fb", &"x".repeat(5000)] {
        s.get(&format!("/1/sources/{id}"))
            .await
            .error(404, "not found");
        s.get(&format!("/1/runs/{id}/events"))
            .await
            .error(404, "not found");
    }
}

async fn applications_are_isolated(s: &Server) {
    let auth = s.algolia_auth().await;
    let dest = s.destination("a-index").await;
    let source = s.json_source("a-source", true).await;
    let task = s.task(&source, &dest).await;
    let run = s
        .call(Method::POST, &format!("/1/tasks/{task}/run"), None)
        .await
        .expect(200)
        .str("runID");
    for path in [
        format!("/1/authentications/{auth}"),
        format!("/1/destinations/{dest}"),
        format!("/1/sources/{source}"),
        format!("/1/tasks/{task}"),
        format!("/1/runs/{run}"),
        format!("/1/runs/{run}/events"),
    ] {
        s.call_b(Method::GET, &path, None)
            .await
            .error(404, "not found");
    }
    s.call_b(Method::DELETE, &format!("/1/tasks/{task}"), None)
        .await
        .error(404, "not found");
    s.call_b(
        Method::PATCH,
        &format!("/1/sources/{source}"),
        Some(&json!({"name": "stolen"})),
    )
    .await
    .error(404, "not found");
    s.call_b(Method::POST, &format!("/1/tasks/{task}/run"), None)
        .await
        .error(404, "not found");
    s.call_b(Method::PUT, &format!("/1/tasks/{task}/disable"), None)
        .await
        .error(404, "not found");
    for (path, ids) in [
        ("/1/tasks/search", json!({"taskIDs": [task]})),
        ("/1/sources/search", json!({"sourceIDs": [source]})),
        ("/1/destinations/search", json!({"destinationIDs": [dest]})),
        (
            "/1/authentications/search",
            json!({"authenticationIDs": [auth]}),
        ),
    ] {
        let found = s.call_b(Method::POST, path, Some(&ids)).await.expect(200);
        assert_eq!(found.body, json!([]), "{path}");
    }
    for list in [
        "/1/authentications",
        "/1/destinations",
        "/1/sources",
        "/1/tasks",
        "/1/runs",
    ] {
        let page = s.call_b(Method::GET, list, None).await.expect(200);
        assert_eq!(page.body["pagination"]["nbItems"], 0, "{list}");
    }
    // B cannot refer to A's resources either.
    s.call_b(Method::POST, "/1/tasks", Some(&json!({"sourceID": source, "destinationID": dest, "trigger": {"type": "onDemand"}, "action": "replace"})))
        .await
        .error(400, "sourceID");
    s.call_b(Method::POST, "/1/destinations", Some(&json!({"type": "search", "name": "d", "input": {"indexName": "i"}, "authenticationID": auth})))
        .await
        .error(400, "authenticationID");
    // A still sees everything.
    s.get(&format!("/1/sources/{source}")).await.expect(200);
    assert_eq!(s.get("/1/sources").await.body["pagination"]["nbItems"], 1);
}

async fn concurrent_creates(s: &Server) {
    let dest = s.destination("concurrent").await;
    let source = s.json_source("concurrent", true).await;
    // Forty requests in flight at once: the server handles each connection on a task of its own.
    let creates = (0..40).map(|i| {
        let (dest, source) = (&dest, &source);
        async move {
            if i % 2 == 0 {
                s.task(source, dest).await
            } else {
                s.json_source(&format!("s{i}"), false).await
            }
        }
    });
    let mut ids = futures::future::join_all(creates).await;
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 40, "every create got its own ID");
    assert_eq!(s.get("/1/tasks").await.body["pagination"]["nbItems"], 20);
    assert_eq!(s.get("/1/sources").await.body["pagination"]["nbItems"], 21);
}

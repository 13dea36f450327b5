//! Today's fields and enums (docs/api.md D3) on the v1 resources.

use serde_json::json;

use crate::common::*;

ingest_store::both_backends!(
    modern_source_types,
    modern_authentications,
    modern_destinations,
    modern_filters_and_actions
);

async fn modern_source_types(s: &Server) {
    // push: no input, none returned.
    let push = s
        .post("/1/sources", &json!({"type": "push", "name": "pushed"}))
        .await
        .expect(200)
        .str("sourceID");
    let got = s.get(&format!("/1/sources/{push}")).await.expect(200);
    assert_eq!(got.body["type"], "push");
    assert!(got.body.get("input").is_none(), "{}", got.text);
    s.post(
        "/1/sources",
        &json!({"type": "push", "name": "p", "input": {"url": "https://x"}}),
    )
    .await
    .error(400, "input.url");

    // ga4BigqueryExport: stored as the BigQuery GA4 source it is.
    let ga4 = s
        .post(
            "/1/sources",
            &json!({"type": "ga4BigqueryExport", "name": "analytics",
                "input": {"projectID": "p", "datasetID": "analytics_1", "tablePrefix": "events_"}}),
        )
        .await
        .expect(200)
        .str("sourceID");
    let got = s.get(&format!("/1/sources/{ga4}")).await.expect(200);
    assert_eq!(got.body["type"], "bigquery");
    assert_eq!(
        got.body["input"],
        json!({"projectID": "p", "datasetID": "analytics_1", "dataType": "ga4", "tablePrefix": "events_"})
    );
    s.post(
        "/1/sources",
        &json!({"type": "ga4BigqueryExport", "name": "a", "input": {"projectID": "p", "datasetID": "d"}}),
    )
    .await
    .error(400, "input.tablePrefix");

    // algoliaIndex: accepted, stored, updated.
    let index = s
        .post(
            "/1/sources",
            &json!({"type": "algoliaIndex", "name": "copy",
                "input": {"indexName": "products", "filters": "brand:acme"}}),
        )
        .await
        .expect(200)
        .str("sourceID");
    s.patch(
        &format!("/1/sources/{index}"),
        &json!({"input": {"filters": "brand:other"}}),
    )
    .await
    .expect(200);
    let got = s.get(&format!("/1/sources/{index}")).await.expect(200);
    assert_eq!(
        got.body["input"],
        json!({"indexName": "products", "filters": "brand:other"})
    );
    s.post(
        "/1/sources",
        &json!({"type": "algoliaIndex", "name": "x", "input": {}}),
    )
    .await
    .error(400, "input.indexName");

    // shopify and docker: refused, naming the type.
    for kind in ["shopify", "docker"] {
        s.post(
            "/1/sources",
            &json!({"type": kind, "name": "x", "input": {"shopURL": "https://s"}}),
        )
        .await
        .error(
            400,
            &format!("type: `{kind}` sources are not supported by this engine"),
        );
        s.post("/1/sources", &json!({"type": kind, "name": "x"}))
            .await
            .error(400, "not supported by this engine");
    }
    s.post("/1/sources", &json!({"type": "csv", "name": "x"}))
        .await
        .error(400, "input: missing field");
    let list = s.get("/1/sources?type=push,algoliaIndex").await.expect(200);
    assert_eq!(list.body["pagination"]["nbItems"], 2);
}

async fn modern_authentications(s: &Server) {
    let insights = s
        .create_auth(json!({"type": "algoliaInsights", "name": "events",
            "input": {"appID": "APP1", "apiKey": "insights-key"}}))
        .await;
    let got = s
        .get(&format!("/1/authentications/{insights}"))
        .await
        .expect(200);
    assert_eq!(got.body["input"], json!({"appID": "APP1", "apiKey": null}));

    let secrets = s
        .create_auth(json!({"type": "secrets", "name": "vault",
            "input": {"API_TOKEN": "t0ps3cret", "other-one": "x"}}))
        .await;
    let got = s
        .get(&format!("/1/authentications/{secrets}"))
        .await
        .expect(200);
    assert_eq!(
        got.body["input"],
        json!({"API_TOKEN": null, "other-one": null})
    );
    assert!(!got.text.contains("t0ps3cret"));
    // Echoing the response back keeps the values.
    s.patch(
        &format!("/1/authentications/{secrets}"),
        &json!({"input": got.body["input"].clone()}),
    )
    .await
    .expect(200);
    for (input, needle) in [
        (json!({}), "input: must hold 1 to 100 named secrets"),
        (
            json!({"bad name": "x"}),
            "secret names are 1 to 64 characters",
        ),
        (json!({"k": 1}), "input.k: must be a string"),
    ] {
        s.post(
            "/1/authentications",
            &json!({"type": "secrets", "name": "v", "input": input}),
        )
        .await
        .error(400, needle);
    }

    // OAuth: only `url` is required.
    let oauth = s
        .create_auth(json!({"type": "oauth", "name": "o", "input": {"url": "https://auth/token", "scope": "read"}}))
        .await;
    let got = s
        .get(&format!("/1/authentications/{oauth}"))
        .await
        .expect(200);
    assert_eq!(
        got.body["input"],
        json!({"url": "https://auth/token", "scope": "read"})
    );
    let with_code = s
        .create_auth(json!({"type": "oauth", "name": "o2",
            "input": {"url": "https://auth/token", "client_id": "c", "client_secret": "s", "code": "authcode"}}))
        .await;
    let got = s
        .get(&format!("/1/authentications/{with_code}"))
        .await
        .expect(200);
    assert_eq!(got.body["input"]["code"], json!(null));
    assert_eq!(got.body["input"]["client_secret"], json!(null));
    assert!(!got.text.contains("authcode"));
    let list = s
        .get("/1/authentications?type=secrets,algoliaInsights")
        .await
        .expect(200);
    assert_eq!(list.body["pagination"]["nbItems"], 2);
}

async fn modern_destinations(s: &Server) {
    let created = s
        .post(
            "/1/destinations",
            &json!({"type": "search", "name": "trimmed", "input": {"indexName": "products",
                "recordType": "variant", "attributesToExclude": ["cost", "meta.internal", "debug.*"]}}),
        )
        .await
        .expect(200)
        .str("destinationID");
    let got = s
        .get(&format!("/1/destinations/{created}"))
        .await
        .expect(200);
    assert_eq!(
        got.body["input"],
        json!({"indexName": "products", "recordType": "variant",
            "attributesToExclude": ["cost", "meta.internal", "debug.*"]})
    );
    assert!(got.body.get("transformationIDs").is_none());
    let base = |input: serde_json::Value| json!({"type": "search", "name": "d", "input": input});
    for (body, needle) in [
        (
            base(json!({"indexName": "p", "attributesToExclude": ["a..b"]})),
            "input.attributesToExclude[0]",
        ),
        (
            base(json!({"indexName": "p", "attributesToExclude": ["ok", "*"]})),
            "input.attributesToExclude[1]",
        ),
        (
            base(json!({"indexName": "p", "attributesToExclude": ["objectID"]})),
            "input.attributesToExclude[0]",
        ),
        (
            base(json!({"indexName": "p", "recordType": "bundle"})),
            "input.recordType",
        ),
    ] {
        s.post("/1/destinations", &body).await.error(400, needle);
    }
    let mut two = base(json!({"indexName": "p"}));
    two["transformationIDs"] = json!(["t1", "t2"]);
    s.post("/1/destinations", &two)
        .await
        .error(400, "transformationIDs: at most one transformation");
    let mut unknown = base(json!({"indexName": "p"}));
    unknown["transformationIDs"] = json!(["t1"]);
    s.post("/1/destinations", &unknown)
        .await
        .error(400, "transformationIDs");
    s.patch(
        &format!("/1/destinations/{created}"),
        &json!({"transformationIDs": ["t9"]}),
    )
    .await
    .error(400, "t9");
    let filtered = s
        .get("/1/destinations?transformationID=t1")
        .await
        .expect(200);
    assert_eq!(filtered.body["destinations"], json!([]));
    assert_eq!(filtered.body["pagination"]["nbItems"], 0);
    let all = s.get("/1/destinations").await.expect(200);
    assert_eq!(all.body["pagination"]["nbItems"], 1);
}

async fn modern_filters_and_actions(s: &Server) {
    let source = s.json_source("catalog", true).await;
    let destination = s.destination("products").await;
    for action in ["partial", "partialNoCreate", "append"] {
        s.post(
            "/1/tasks",
            &json!({"sourceID": source, "destinationID": destination,
                "trigger": {"type": "onDemand"}, "action": action}),
        )
        .await
        .expect(200);
    }
    s.post(
        "/1/tasks",
        &json!({"sourceID": source, "destinationID": destination,
            "trigger": {"type": "streaming"}, "action": "save"}),
    )
    .await
    .error(
        400,
        "trigger.type: streaming tasks are not supported by this engine",
    );
    let no_ids = s.json_source("no ids", false).await;
    s.post(
        "/1/tasks",
        &json!({"sourceID": no_ids, "destinationID": destination,
            "trigger": {"type": "onDemand"}, "action": "partial"}),
    )
    .await
    .error(400, "action: `partial` needs records with an objectID");
    let task = s.task(&source, &destination).await;
    s.post(&format!("/1/tasks/{task}/run"), &json!({}))
        .await
        .expect(200);
    let reindex = s.get("/1/runs?type=reindex").await.expect(200);
    assert_eq!(reindex.body["pagination"]["nbItems"], 1);
    let update = s.get("/1/runs?type=update,push").await.expect(200);
    assert_eq!(update.body["pagination"]["nbItems"], 0);
    s.get("/1/runs?type=nope").await.error(400, "type");
}

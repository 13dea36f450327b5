//! `/2/tasks` (docs/api.md D1, D2): the same tasks as `/1/tasks`, in today's shape.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::*;

ingest_store::both_backends!(
    one_store_two_views,
    lists_filter_on_the_v2_fields,
    put_replaces_and_patch_updates,
    runs_keep_their_metadata,
    bad_v2_bodies_name_the_field
);

async fn put_json(s: &Server, path: &str, body: &Value) -> Resp {
    s.call(Method::PUT, path, Some(body)).await
}

/// A source with objectIDs and a destination.
async fn resources(s: &Server) -> (String, String) {
    (
        s.json_source("catalog", true).await,
        s.destination("products").await,
    )
}

async fn one_store_two_views(s: &Server) {
    let (source, destination) = resources(s).await;
    let created = s
        .post(
            "/2/tasks",
            &json!({"sourceID": source, "destinationID": destination, "action": "partial",
                "cron": "0 3 * * *", "cursor": "c-1",
                "notifications": {"email": {"enabled": true}},
                "policies": {"criticalThreshold": 3}}),
        )
        .await
        .expect(200);
    assert_keys(&created.body, &["taskID", "createdAt"]);
    let id = created.str("taskID");

    let v2 = s.get(&format!("/2/tasks/{id}")).await.expect(200);
    assert!(v2.body.get("trigger").is_none(), "{}", v2.text);
    assert_eq!(v2.body["cron"], "0 3 * * *");
    assert!(
        v2.body["nextRun"]
            .as_str()
            .unwrap()
            .ends_with("T03:00:00.000Z")
    );
    assert_eq!(v2.body["action"], "partial");
    assert_eq!(v2.body["cursor"], "c-1");
    assert_eq!(
        v2.body["notifications"],
        json!({"email": {"enabled": true}})
    );
    assert_eq!(v2.body["policies"], json!({"criticalThreshold": 3}));
    assert_eq!(v2.body["enabled"], true);
    assert_eq!(v2.body["failureThreshold"], 0);

    // The same row through v1: a schedule trigger.
    let v1 = s.get(&format!("/1/tasks/{id}")).await.expect(200);
    assert_eq!(v1.body["trigger"]["type"], "schedule");
    assert_eq!(v1.body["trigger"]["cron"], "0 3 * * *");

    // A v1 subscription task, read on v2 and run there.
    let sub = s
        .post(
            "/1/tasks",
            &json!({"sourceID": source, "destinationID": destination,
                "trigger": {"type": "subscription"}, "action": "save"}),
        )
        .await
        .expect(200)
        .str("taskID");
    let read = s.get(&format!("/2/tasks/{sub}")).await.expect(200);
    assert!(read.body.get("cron").is_none());
    assert_eq!(read.body["action"], "save");
    let found = s
        .post("/2/tasks/search", &json!({"taskIDs": [id, sub]}))
        .await
        .expect(200);
    assert_eq!(found.body.as_array().unwrap().len(), 2);
    assert!(found.body[0].get("trigger").is_none());

    // Enable, disable and delete answer as on v1.
    let disabled = s.put(&format!("/2/tasks/{id}/disable")).await.expect(200);
    assert_keys(&disabled.body, &["taskID", "updatedAt"]);
    assert_eq!(
        s.get(&format!("/1/tasks/{id}")).await.body["enabled"],
        false
    );
    s.put(&format!("/2/tasks/{id}/enable")).await.expect(200);
    assert_eq!(s.get(&format!("/2/tasks/{id}")).await.body["enabled"], true);
    let deleted = s.delete(&format!("/2/tasks/{id}")).await.expect(200);
    assert_keys(&deleted.body, &["deletedAt"]);
    s.get(&format!("/1/tasks/{id}")).await.expect(404);
    s.get(&format!("/2/tasks/{id}")).await.expect(404);

    // Another application sees none of it.
    let other = s
        .call_b(Method::GET, &format!("/2/tasks/{sub}"), None)
        .await;
    assert_eq!(other.status, 404, "{}", other.text);
}

async fn lists_filter_on_the_v2_fields(s: &Server) {
    let (source, destination) = resources(s).await;
    let plain = s
        .post(
            "/2/tasks",
            &json!({"sourceID": source, "destinationID": destination, "action": "replace"}),
        )
        .await
        .expect(200)
        .str("taskID");
    let notified = s
        .post(
            "/2/tasks",
            &json!({"sourceID": source, "destinationID": destination, "action": "append",
                "cron": "*/5 * * * *", "notifications": {"email": {"enabled": true}}}),
        )
        .await
        .expect(200)
        .str("taskID");
    let subscribed = s
        .post(
            "/2/tasks",
            &json!({"sourceID": source, "destinationID": destination, "action": "save",
                "subscriptionAction": "partialNoCreate"}),
        )
        .await
        .expect(200)
        .str("taskID");
    let ids = |resp: Resp| -> Vec<String> {
        assert_keys(&resp.body, &["tasks", "pagination"]);
        let mut ids: Vec<String> = resp.body["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["taskID"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    let sorted = |mut v: Vec<&String>| {
        v.sort();
        v.into_iter().cloned().collect::<Vec<_>>()
    };
    assert_eq!(
        ids(s.get("/2/tasks").await.expect(200)),
        sorted(vec![&plain, &notified, &subscribed])
    );
    assert_eq!(
        ids(s
            .get("/2/tasks?withEmailNotifications=true")
            .await
            .expect(200)),
        std::slice::from_ref(&notified)
    );
    assert_eq!(
        ids(s
            .get("/2/tasks?withEmailNotifications=false")
            .await
            .expect(200)),
        sorted(vec![&plain, &subscribed])
    );
    assert_eq!(
        ids(s.get("/2/tasks?triggerType=subscription").await.expect(200)),
        std::slice::from_ref(&subscribed)
    );
    assert_eq!(
        ids(s.get("/2/tasks?triggerType=schedule").await.expect(200)),
        std::slice::from_ref(&notified)
    );
    assert_eq!(
        ids(s.get("/2/tasks?action=append,replace").await.expect(200)),
        sorted(vec![&plain, &notified])
    );
    assert_eq!(
        ids(s.get("/2/tasks?sourceType=json").await.expect(200)).len(),
        3
    );
    assert!(ids(s.get("/2/tasks?sourceType=csv").await.expect(200)).is_empty());
    let sorted_by_action = s.get("/2/tasks?sort=action&order=asc").await.expect(200);
    let actions: Vec<&str> = sorted_by_action.body["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["append", "replace", "save"]);
    s.get("/2/tasks?sourceType=ftp")
        .await
        .error(400, "sourceType");
    // The v1 list sees the same tasks.
    let v1 = s.get("/1/tasks").await.expect(200);
    assert_eq!(v1.body["tasks"].as_array().unwrap().len(), 3);
}

async fn put_replaces_and_patch_updates(s: &Server) {
    let (source, destination) = resources(s).await;
    let other_destination = s.destination("other").await;
    let id = s
        .post(
            "/2/tasks",
            &json!({"sourceID": source, "destinationID": destination, "action": "replace",
                "cron": "0 * * * *", "failureThreshold": 20, "cursor": "c",
                "notifications": {"email": {"enabled": true}}}),
        )
        .await
        .expect(200)
        .str("taskID");

    // PATCH changes what it names and keeps the rest.
    let patched = s
        .patch(
            &format!("/2/tasks/{id}"),
            &json!({"subscriptionAction": "partial", "policies": {"criticalThreshold": 2}}),
        )
        .await
        .expect(200);
    assert_keys(&patched.body, &["taskID", "updatedAt"]);
    let task = s.get(&format!("/2/tasks/{id}")).await.expect(200).body;
    assert_eq!(task["cron"], "0 * * * *");
    assert_eq!(task["failureThreshold"], 20);
    assert_eq!(task["subscriptionAction"], "partial");
    assert_eq!(task["policies"], json!({"criticalThreshold": 2}));
    assert_eq!(task["cursor"], "c");

    // PUT replaces the whole task: what is left out goes back to its default.
    put_json(
        s,
        &format!("/2/tasks/{id}"),
        &json!({"destinationID": other_destination, "action": "append"}),
    )
    .await
    .expect(200);
    let task = s.get(&format!("/2/tasks/{id}")).await.expect(200).body;
    assert_eq!(task["destinationID"], other_destination.as_str());
    assert_eq!(task["action"], "append");
    assert_eq!(task["sourceID"], source.as_str());
    assert_eq!(task["failureThreshold"], 0);
    for gone in [
        "cron",
        "nextRun",
        "cursor",
        "notifications",
        "policies",
        "subscriptionAction",
    ] {
        assert!(task.get(gone).is_none(), "{gone} survived: {task}");
    }
    let v1 = s.get(&format!("/1/tasks/{id}")).await.expect(200).body;
    assert_eq!(v1["trigger"]["type"], "onDemand");

    // A v1 subscription task keeps its trigger through a replace that derives nothing else.
    let sub = s
        .post(
            "/1/tasks",
            &json!({"sourceID": source, "destinationID": destination,
                "trigger": {"type": "subscription"}, "action": "save"}),
        )
        .await
        .expect(200)
        .str("taskID");
    put_json(
        s,
        &format!("/2/tasks/{sub}"),
        &json!({"destinationID": destination, "action": "partial"}),
    )
    .await
    .expect(200);
    let v1 = s.get(&format!("/1/tasks/{sub}")).await.expect(200).body;
    assert_eq!(v1["trigger"]["type"], "subscription");
    assert_eq!(v1["action"], "partial");

    // A cron on PATCH makes a schedule.
    s.patch(&format!("/2/tasks/{sub}"), &json!({"cron": "30 2 * * *"}))
        .await
        .expect(200);
    let v1 = s.get(&format!("/1/tasks/{sub}")).await.expect(200).body;
    assert_eq!(v1["trigger"]["type"], "schedule");

    // A replace onto a partial action needs a source with objectIDs.
    let no_ids = s.json_source("no ids", false).await;
    let append_only = s
        .post(
            "/2/tasks",
            &json!({"sourceID": no_ids, "destinationID": destination, "action": "append"}),
        )
        .await
        .expect(200)
        .str("taskID");
    put_json(
        s,
        &format!("/2/tasks/{append_only}"),
        &json!({"destinationID": destination, "action": "partialNoCreate"}),
    )
    .await
    .error(400, "action");
    put_json(
        s,
        "/2/tasks/00000000-0000-4000-8000-000000000000",
        &json!({"destinationID": destination, "action": "save"}),
    )
    .await
    .expect(404);
}

async fn runs_keep_their_metadata(s: &Server) {
    let (source, destination) = resources(s).await;
    let id = s
        .post(
            "/2/tasks",
            &json!({"sourceID": source, "destinationID": destination, "action": "replace"}),
        )
        .await
        .expect(200)
        .str("taskID");
    let with = s
        .post(
            &format!("/2/tasks/{id}/run"),
            &json!({"runMetadata": {"triggeredBy": "ci", "build": 42}}),
        )
        .await
        .expect(200);
    assert_keys(&with.body, &["runID", "createdAt"]);
    let run = s
        .get(&format!("/1/runs/{}", with.str("runID")))
        .await
        .expect(200);
    assert_eq!(
        run.body["runMetadata"],
        json!({"triggeredBy": "ci", "build": 42})
    );
    assert_eq!(run.body["type"], "reindex");
    // Without a body, a run has no metadata.
    let without = s
        .call(Method::POST, &format!("/2/tasks/{id}/run"), None)
        .await
        .expect(200);
    let run = s
        .get(&format!("/1/runs/{}", without.str("runID")))
        .await
        .expect(200);
    assert!(run.body.get("runMetadata").is_none(), "{}", run.text);
    s.post(&format!("/2/tasks/{id}/run"), &json!({"runMetadata": [1]}))
        .await
        .error(400, "runMetadata");
}

async fn bad_v2_bodies_name_the_field(s: &Server) {
    let (source, destination) = resources(s).await;
    let base = |extra: Value| {
        let mut body =
            json!({"sourceID": source, "destinationID": destination, "action": "replace"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    let cases = [
        (
            base(json!({"policies": {"criticalThreshold": 0}})),
            "policies.criticalThreshold",
        ),
        (
            base(json!({"policies": {"criticalThreshold": 11}})),
            "policies.criticalThreshold",
        ),
        (base(json!({"trigger": {"type": "onDemand"}})), "trigger"),
        (base(json!({"action": "stream"})), "action"),
        (base(json!({"cron": "61 * * * *"})), "cron"),
        (
            base(json!({"notifications": {"email": {"enabled": "yes"}}})),
            "notifications.email.enabled",
        ),
        (base(json!({"enabled": "true"})), "enabled"),
        (
            json!({"sourceID": source, "action": "save"}),
            "destinationID",
        ),
    ];
    for (body, needle) in cases {
        s.post("/2/tasks", &body).await.error(400, needle);
    }
    // Nothing half-written.
    let list = s.get("/2/tasks").await.expect(200);
    assert_eq!(list.body["tasks"], json!([]));
    let id = s
        .post("/2/tasks", &base(json!({})))
        .await
        .expect(200)
        .str("taskID");
    s.patch(&format!("/2/tasks/{id}"), &json!({"action": "save"}))
        .await
        .error(400, "action");
    s.patch(&format!("/2/tasks/{id}"), &json!({"cursor": "x"}))
        .await
        .error(400, "cursor");
    put_json(s, &format!("/2/tasks/{id}"), &json!({"action": "save"}))
        .await
        .error(400, "destinationID");
    put_json(
        s,
        &format!("/2/tasks/{id}"),
        &json!({"destinationID": destination, "action": "save", "sourceID": source}),
    )
    .await
    .error(400, "sourceID");
    s.patch(
        &format!("/2/tasks/{id}"),
        &json!({"destinationID": "00000000-0000-4000-8000-000000000000"}),
    )
    .await
    .error(400, "destinationID");
}

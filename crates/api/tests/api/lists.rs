//! Paging, sorting and filters of the list endpoints (`docs/api.md` C2, C3).

use serde_json::{Value, json};

use crate::common::Server;

ingest_store::both_backends!(
    paging_defaults_and_bounds,
    sorting,
    filters_in_both_array_forms
);

fn names(list: &Value, key: &str, field: &str) -> Vec<String> {
    list[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item[field].as_str().unwrap().to_owned())
        .collect()
}

async fn paging_defaults_and_bounds(s: &Server) {
    let empty = s.get("/1/tasks").await.expect(200);
    assert_eq!(
        empty.body["pagination"],
        json!({"nbPages": 1, "page": 1, "nbItems": 0, "itemsPerPage": 10})
    );
    for i in 0..12 {
        s.json_source(&format!("source-{i:02}"), false).await;
    }
    let first = s.get("/1/sources").await.expect(200);
    assert_eq!(
        first.body["pagination"],
        json!({"nbPages": 2, "page": 1, "nbItems": 12, "itemsPerPage": 10})
    );
    // Default sort: createdAt, newest first.
    let got = names(&first.body, "sources", "name");
    assert_eq!(got.len(), 10);
    assert_eq!(got[0], "source-11");
    let second = s.get("/1/sources?page=2").await.expect(200);
    assert_eq!(
        names(&second.body, "sources", "name"),
        ["source-01", "source-00"]
    );
    let past = s.get("/1/sources?page=9").await.expect(200);
    assert_eq!(past.body["sources"], json!([]));
    assert_eq!(past.body["pagination"]["page"], 9);
    let five = s.get("/1/sources?itemsPerPage=5&page=3").await.expect(200);
    assert_eq!(five.body["pagination"]["nbPages"], 3);
    assert_eq!(
        names(&five.body, "sources", "name"),
        ["source-01", "source-00"]
    );
    let all = s.get("/1/sources?itemsPerPage=100").await.expect(200);
    assert_eq!(all.body["sources"].as_array().unwrap().len(), 12);
    for bad in [
        "itemsPerPage=0",
        "itemsPerPage=101",
        "itemsPerPage=ten",
        "page=0",
        "page=-3",
        "sort=nope",
        "order=sideways",
    ] {
        let param = bad.split('=').next().unwrap();
        s.get(&format!("/1/sources?{bad}")).await.error(400, param);
    }
    // Unknown parameters (the JavaScript client's agent) are ignored.
    s.get("/1/sources?x-algolia-agent=Algolia%20for%20JavaScript")
        .await
        .expect(200);
}

async fn sorting(s: &Server) {
    for name in ["banana", "apple", "cherry"] {
        s.json_source(name, false).await;
    }
    let asc = s.get("/1/sources?sort=name&order=asc").await.expect(200);
    assert_eq!(
        names(&asc.body, "sources", "name"),
        ["apple", "banana", "cherry"]
    );
    let desc = s.get("/1/sources?sort=name&order=desc").await.expect(200);
    assert_eq!(
        names(&desc.body, "sources", "name"),
        ["cherry", "banana", "apple"]
    );
    let oldest = s
        .get("/1/sources?sort=createdAt&order=asc")
        .await
        .expect(200);
    assert_eq!(
        names(&oldest.body, "sources", "name"),
        ["banana", "apple", "cherry"]
    );
    // Authentications accept `auth_type` and its later name `type`.
    s.algolia_auth().await;
    s.oauth_auth().await;
    let by_type = s
        .get("/1/authentications?sort=auth_type&order=asc")
        .await
        .expect(200);
    assert_eq!(
        names(&by_type.body, "authentications", "type"),
        ["algolia", "oauth"]
    );
    let by_type = s
        .get("/1/authentications?sort=type&order=desc")
        .await
        .expect(200);
    assert_eq!(
        names(&by_type.body, "authentications", "type"),
        ["oauth", "algolia"]
    );
    s.get("/1/tasks?sort=name").await.error(400, "sort");
    s.get("/1/tasks?sort=triggerType&order=asc")
        .await
        .expect(200);
    s.get("/1/runs?sort=status").await.expect(200);
    s.get("/1/runs?sort=name").await.error(400, "sort");
}

async fn filters_in_both_array_forms(s: &Server) {
    let algolia = s.algolia_auth().await;
    let oauth = s.oauth_auth().await;
    let d1 = s.destination("one").await;
    let d2 = s.destination("two").await;
    let json_src = s.json_source("j", true).await;
    let csv_src = s
        .post(
            "/1/sources",
            &json!({"type": "csv", "name": "c", "authenticationID": algolia,
                "input": {"url": "https://x.example/c.csv"}}),
        )
        .await
        .expect(200)
        .str("sourceID");
    let t1 = s.task(&json_src, &d1).await;
    let t2 = s
        .post(
            "/1/tasks",
            &json!({"sourceID": json_src, "destinationID": d2, "action": "save",
                "trigger": {"type": "schedule", "cron": "*/5 * * * *"}, "enabled": false}),
        )
        .await
        .expect(200)
        .str("taskID");

    // Authentications: type and platform (with `none`).
    for query in [
        "type=algolia,oauth",
        "type=algolia&type=oauth",
        "type=algolia%2Coauth",
    ] {
        let list = s
            .get(&format!("/1/authentications?{query}"))
            .await
            .expect(200);
        assert_eq!(list.body["pagination"]["nbItems"], 2, "{query}");
    }
    let ct = s
        .get("/1/authentications?platform=commercetools")
        .await
        .expect(200);
    assert_eq!(
        names(&ct.body, "authentications", "authenticationID"),
        [oauth.as_str()]
    );
    let none = s.get("/1/authentications?platform=none").await.expect(200);
    assert_eq!(
        names(&none.body, "authentications", "authenticationID"),
        [algolia.as_str()]
    );
    let both = s
        .get("/1/authentications?platform=commercetools,none")
        .await
        .expect(200);
    assert_eq!(both.body["pagination"]["nbItems"], 2);
    s.get("/1/authentications?type=algolia,nope")
        .await
        .error(400, "type[1]");
    s.get("/1/authentications?platform=magento")
        .await
        .error(400, "platform");

    // Sources: type and authenticationID (with `none`).
    for query in ["type=csv,json", "type=csv&type=json"] {
        let list = s.get(&format!("/1/sources?{query}")).await.expect(200);
        assert_eq!(list.body["pagination"]["nbItems"], 2, "{query}");
    }
    let csv = s.get("/1/sources?type=csv").await.expect(200);
    assert_eq!(names(&csv.body, "sources", "sourceID"), [csv_src.as_str()]);
    let by_auth = s
        .get(&format!("/1/sources?authenticationID={algolia}"))
        .await
        .expect(200);
    assert_eq!(
        names(&by_auth.body, "sources", "sourceID"),
        [csv_src.as_str()]
    );
    let without = s.get("/1/sources?authenticationID=none").await.expect(200);
    assert_eq!(
        names(&without.body, "sources", "sourceID"),
        [json_src.as_str()]
    );
    let either = s
        .get(&format!("/1/sources?authenticationID={algolia},none"))
        .await
        .expect(200);
    assert_eq!(either.body["pagination"]["nbItems"], 2);
    s.get("/1/sources?type=xml").await.error(400, "type[0]");

    // Destinations: type, authenticationID.
    let search = s
        .get("/1/destinations?type=search&type=insights")
        .await
        .expect(200);
    assert_eq!(search.body["pagination"]["nbItems"], 2);
    let insights = s.get("/1/destinations?type=insights").await.expect(200);
    assert_eq!(insights.body["pagination"]["nbItems"], 0);

    // Tasks: action, enabled, sourceID, destinationID, triggerType.
    let save = s.get("/1/tasks?action=save").await.expect(200);
    assert_eq!(names(&save.body, "tasks", "taskID"), [t2.as_str()]);
    let both = s.get("/1/tasks?action=save,replace").await.expect(200);
    assert_eq!(both.body["pagination"]["nbItems"], 2);
    let enabled = s.get("/1/tasks?enabled=true").await.expect(200);
    assert_eq!(names(&enabled.body, "tasks", "taskID"), [t1.as_str()]);
    let disabled = s.get("/1/tasks?enabled=false").await.expect(200);
    assert_eq!(names(&disabled.body, "tasks", "taskID"), [t2.as_str()]);
    s.get("/1/tasks?enabled=yes").await.error(400, "enabled");
    let by_dest = s
        .get(&format!("/1/tasks?destinationID={d1}"))
        .await
        .expect(200);
    assert_eq!(names(&by_dest.body, "tasks", "taskID"), [t1.as_str()]);
    let by_dests = s
        .get(&format!("/1/tasks?destinationID={d1}&destinationID={d2}"))
        .await
        .expect(200);
    assert_eq!(by_dests.body["pagination"]["nbItems"], 2);
    let by_source = s
        .get(&format!("/1/tasks?sourceID={json_src}"))
        .await
        .expect(200);
    assert_eq!(by_source.body["pagination"]["nbItems"], 2);
    let by_trigger = s.get("/1/tasks?triggerType=schedule").await.expect(200);
    assert_eq!(names(&by_trigger.body, "tasks", "taskID"), [t2.as_str()]);
    let by_triggers = s
        .get("/1/tasks?triggerType=schedule,onDemand")
        .await
        .expect(200);
    assert_eq!(by_triggers.body["pagination"]["nbItems"], 2);
    s.get("/1/tasks?triggerType=cron")
        .await
        .error(400, "triggerType");

    // Runs: status (both forms), taskID, window.
    let r1 = s
        .post(&format!("/1/tasks/{t1}/run"), &json!({}))
        .await
        .expect(200)
        .str("runID");
    s.post(&format!("/1/tasks/{t2}/run"), &json!({}))
        .await
        .expect(200);
    for query in [
        "status=created",
        "status=created,finished",
        "status=created&status=finished",
    ] {
        let runs = s.get(&format!("/1/runs?{query}")).await.expect(200);
        assert_eq!(runs.body["pagination"]["nbItems"], 2, "{query}");
    }
    let finished = s.get("/1/runs?status=finished").await.expect(200);
    assert_eq!(finished.body["pagination"]["nbItems"], 0);
    // Values today's clients no longer emit are still accepted as filters.
    s.get("/1/runs?status=idled").await.expect(200);
    s.get("/1/runs?status=running")
        .await
        .error(400, "status[0]");
    let of_t1 = s.get(&format!("/1/runs?taskID={t1}")).await.expect(200);
    assert_eq!(names(&of_t1.body, "runs", "runID"), [r1.as_str()]);
    let future = s
        .get("/1/runs?startDate=2999-01-01T00:00:00Z")
        .await
        .expect(200);
    assert_eq!(future.body["pagination"]["nbItems"], 0);
    assert_eq!(
        future.body["window"]["startDate"],
        "2999-01-01T00:00:00.000Z"
    );
    s.get("/1/runs?startDate=yesterday")
        .await
        .error(400, "startDate");
    s.get("/1/runs?startDate=2024-02-01T00:00:00Z&endDate=2024-01-01T00:00:00Z")
        .await
        .error(400, "endDate");

    // Events: status and type, both forms.
    let events = s
        .get(&format!(
            "/1/runs/{r1}/events?status=failed&status=succeeded&type=fetch,record"
        ))
        .await
        .expect(200);
    assert_eq!(events.body["pagination"]["nbItems"], 0);
    s.get(&format!("/1/runs/{r1}/events?type=nope"))
        .await
        .error(400, "type[0]");
    s.get(&format!("/1/runs/{r1}/events?sort=createdAt"))
        .await
        .error(400, "sort");
}

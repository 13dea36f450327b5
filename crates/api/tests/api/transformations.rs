//! Transformations (docs/api.md D5) over HTTP: the resource (create, list, get, search, PUT,
//! delete), what is refused at create with a 400 naming the field, references from destinations
//! and to `secrets` authentications, scoping, and `try`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::*;

ingest_store::both_backends!(
    every_operation_over_http,
    references_and_deletes_in_use,
    another_application_sees_nothing,
);

const IDENTITY: &str = "function transform(record) { return record; }";

async fn create(s: &Server, body: Value) -> String {
    s.post("/1/transformations", &body)
        .await
        .expect(200)
        .str("transformationID")
}

async fn put(s: &Server, id: &str, body: &Value) -> Resp {
    s.call(Method::PUT, &format!("/1/transformations/{id}"), Some(body))
        .await
}

fn names(resp: &Resp) -> Vec<&str> {
    resp.body["transformations"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", resp.text))
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect()
}

async fn every_operation_over_http(s: &Server) {
    let created = s
        .post(
            "/1/transformations",
            &json!({"name": "b-code", "type": "code", "input": {"code": IDENTITY},
                "description": "as is"}),
        )
        .await
        .expect(200);
    assert_keys(&created.body, &["transformationID", "createdAt"]);
    let code_id = created.str("transformationID");
    let legacy = create(s, json!({"name": "c-legacy", "code": IDENTITY})).await;
    let steps = json!([{"type": "removeAttribute", "attribute": "cost"}]);
    let no_code = create(
        s,
        json!({"name": "a-steps", "type": "noCode", "input": {"steps": steps}}),
    )
    .await;

    let got = s
        .get(&format!("/1/transformations/{code_id}"))
        .await
        .expect(200);
    assert_keys(
        &got.body,
        &[
            "transformationID",
            "code",
            "name",
            "type",
            "input",
            "description",
            "createdAt",
            "updatedAt",
        ],
    );
    assert_eq!(got.body["code"], IDENTITY);
    assert_eq!(got.body["input"], json!({"code": IDENTITY}));
    serde_json::from_value::<ingest_model::Transformation>(got.body.clone()).unwrap();
    let got = s
        .get(&format!("/1/transformations/{legacy}"))
        .await
        .expect(200);
    assert_eq!(
        (&got.body["type"], &got.body["input"]),
        (&json!("code"), &json!({"code": IDENTITY}))
    );
    let got = s
        .get(&format!("/1/transformations/{no_code}"))
        .await
        .expect(200);
    assert_eq!(
        (&got.body["type"], &got.body["code"], &got.body["input"]),
        (&json!("noCode"), &json!(""), &json!({"steps": steps}))
    );

    let all = s.get("/1/transformations").await.expect(200);
    assert_keys(&all.body, &["transformations", "pagination"]);
    serde_json::from_value::<ingest_model::ListTransformationsResponse>(all.body.clone()).unwrap();
    assert_eq!(names(&all), ["a-steps", "c-legacy", "b-code"]);
    let only = s.get("/1/transformations?type=noCode").await.expect(200);
    assert_eq!(names(&only), ["a-steps"]);
    let sorted = s
        .get("/1/transformations?sort=name&order=asc&itemsPerPage=2&page=2")
        .await
        .expect(200);
    assert_eq!(names(&sorted), ["c-legacy"]);
    assert_eq!(
        sorted.body["pagination"],
        json!({"nbPages": 2, "page": 2, "nbItems": 3, "itemsPerPage": 2})
    );
    s.get("/1/transformations?sort=type")
        .await
        .error(400, "sort: unknown variant `type`");
    s.get("/1/transformations?type=lua")
        .await
        .error(400, "type[0]: unknown variant `lua`");

    let found = s
        .post(
            "/1/transformations/search",
            &json!({"transformationIDs": [no_code, "unknown", code_id]}),
        )
        .await
        .expect(200);
    let found: Vec<&str> = found
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["transformationID"].as_str().unwrap())
        .collect();
    assert_eq!(found, [no_code.as_str(), code_id.as_str()]);

    let replaced = put(
        s,
        &code_id,
        &json!({"name": "renamed", "input": {"steps": []}}),
    )
    .await
    .expect(200);
    assert_keys(&replaced.body, &["transformationID", "updatedAt"]);
    let got = s
        .get(&format!("/1/transformations/{code_id}"))
        .await
        .expect(200);
    assert_eq!(got.body["name"], "renamed");
    assert_eq!(got.body["type"], "noCode");
    assert!(got.body.get("description").is_none(), "a PUT replaces all");
    assert_eq!(got.body["updatedAt"], replaced.body["updatedAt"]);

    let deleted = s
        .delete(&format!("/1/transformations/{code_id}"))
        .await
        .expect(200);
    assert_keys(&deleted.body, &["deletedAt"]);
    s.get(&format!("/1/transformations/{code_id}"))
        .await
        .error(404, "transformation");
    s.delete(&format!("/1/transformations/{code_id}"))
        .await
        .error(404, "transformation");
    put(s, &code_id, &json!({"name": "back"}))
        .await
        .error(404, "transformation");
    // `/try` and `/search` are routes of their own, not IDs.
    s.get("/1/transformations/search").await.expect(405);
    s.get("/1/transformations/try").await.expect(405);
}

async fn references_and_deletes_in_use(s: &Server) {
    let algolia = s.algolia_auth().await;
    let secrets = s
        .create_auth(json!({"type": "secrets", "name": "vault", "input": {"TOKEN": "t0k"}}))
        .await;
    let with = |auth: &str| json!({"name": "t", "code": IDENTITY, "authenticationIDs": [auth]});
    s.post("/1/transformations", &with("unknown"))
        .await
        .error(400, "authenticationIDs: no authentication `unknown`");
    s.post("/1/transformations", &with(&algolia)).await.error(
        400,
        "authenticationIDs: a transformation needs a `secrets` authentication",
    );
    let id = create(s, with(&secrets)).await;
    let got = s.get(&format!("/1/transformations/{id}")).await.expect(200);
    assert_eq!(got.body["authenticationIDs"], json!([secrets]));
    assert!(!got.text.contains("t0k"));
    s.delete(&format!("/1/authentications/{secrets}"))
        .await
        .error(400, &format!("is used by transformation `{id}`"));

    let destination = |ids: Value| {
        json!({"type": "search", "name": "d", "input": {"indexName": "products"},
            "transformationIDs": ids})
    };
    s.post("/1/destinations", &destination(json!(["unknown"])))
        .await
        .error(400, "transformationIDs: no transformation `unknown`");
    let dest = s
        .post("/1/destinations", &destination(json!([id])))
        .await
        .expect(200)
        .str("destinationID");
    let got = s.get(&format!("/1/destinations/{dest}")).await.expect(200);
    assert_eq!(got.body["transformationIDs"], json!([id]));
    let other = s.destination("other").await;
    let using = s
        .get(&format!("/1/destinations?transformationID={id}"))
        .await
        .expect(200);
    let using: Vec<&str> = using.body["destinations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["destinationID"].as_str().unwrap())
        .collect();
    assert_eq!(using, [dest.as_str()]);
    assert_ne!(dest, other);

    s.delete(&format!("/1/transformations/{id}"))
        .await
        .error(400, &format!("is used by destination `{dest}`"));
    s.patch(
        &format!("/1/destinations/{dest}"),
        &json!({"transformationIDs": []}),
    )
    .await
    .expect(200);
    let got = s.get(&format!("/1/destinations/{dest}")).await.expect(200);
    assert!(got.body.get("transformationIDs").is_none(), "{}", got.text);
    s.delete(&format!("/1/transformations/{id}"))
        .await
        .expect(200);
    s.delete(&format!("/1/authentications/{secrets}"))
        .await
        .expect(200);
}

async fn another_application_sees_nothing(s: &Server) {
    let id = create(s, json!({"name": "mine", "code": IDENTITY})).await;
    let path = format!("/1/transformations/{id}");
    s.call_b(Method::GET, &path, None)
        .await
        .error(404, "transformation");
    s.call_b(Method::PUT, &path, Some(&json!({"name": "theirs"})))
        .await
        .error(404, "transformation");
    s.call_b(Method::DELETE, &path, None)
        .await
        .error(404, "transformation");
    s.call_b(
        Method::POST,
        &format!("{path}/try"),
        Some(&json!({"sampleRecord": {}})),
    )
    .await
    .error(404, "transformation");
    let list = s
        .call_b(Method::GET, "/1/transformations", None)
        .await
        .expect(200);
    assert_eq!(list.body["pagination"]["nbItems"], 0);
    let search = s
        .call_b(
            Method::POST,
            "/1/transformations/search",
            Some(&json!({"transformationIDs": [id]})),
        )
        .await
        .expect(200);
    assert_eq!(search.body, json!([]));
    s.call_b(
        Method::POST,
        "/1/destinations",
        Some(
            &json!({"type": "search", "name": "d", "input": {"indexName": "i"},
            "transformationIDs": [id]}),
        ),
    )
    .await
    .error(400, "transformationIDs");
    s.get(&path).await.expect(200);
}

#[tokio::test]
async fn bad_transformations_are_refused_naming_the_field() {
    let s = Server::sqlite().await;
    let refused = async |body: Value, needle: &str| {
        s.post("/1/transformations", &body).await.error(400, needle)
    };
    let syntax = refused(
        json!({"name": "t", "input": {"code": "function transform(r) {\n  return r +;\n}"}}),
        "input.code: SyntaxError",
    )
    .await;
    assert!(
        syntax.body["message"]
            .as_str()
            .unwrap()
            .contains("(line 2)"),
        "{}",
        syntax.text
    );
    refused(
        json!({"name": "t", "code": "function other(r) { return r; }"}),
        "input.code: the code does not define a function `transform`",
    )
    .await;
    refused(
        json!({"name": "t", "type": "noCode", "input": {"steps": [
            {"type": "removeAttribute", "attribute": "a"},
            {"type": "removeRecords", "when": {"attribute": "a", "operator": "foo"}}
        ]}}),
        "input.steps[1].when.operator",
    )
    .await;
    refused(json!({"name": "t", "lang": "js"}), "lang: unknown field").await;
    refused(json!({"code": IDENTITY}), "name: missing field").await;
    refused(
        json!({"name": "t", "type": "noCode", "input": {"code": IDENTITY}}),
        "input: a `noCode` transformation takes `input.steps`",
    )
    .await;
    refused(
        json!({"name": "t", "input": {"code": IDENTITY, "steps": []}}),
        "input.steps: cannot be given with `code`",
    )
    .await;
    let huge = format!("{IDENTITY}\n//{}", "x".repeat(70 * 1024));
    refused(
        json!({"name": "t", "input": {"code": huge}}),
        "input.code: the code is",
    )
    .await;
    // A PUT is checked the same way and leaves the stored transformation as it was.
    let id = create(&s, json!({"name": "kept", "code": IDENTITY})).await;
    put(
        &s,
        &id,
        &json!({"name": "t", "code": "function transform( {"}),
    )
    .await
    .error(400, "input.code: SyntaxError");
    let got = s.get(&format!("/1/transformations/{id}")).await.expect(200);
    assert_eq!(
        (got.body["name"].as_str(), got.body["code"].as_str()),
        (Some("kept"), Some(IDENTITY))
    );
    // Nothing but a name is a `code` transformation with no code yet.
    let empty = create(&s, json!({"name": "later"})).await;
    let got = s
        .get(&format!("/1/transformations/{empty}"))
        .await
        .expect(200);
    assert_eq!(
        (&got.body["type"], &got.body["code"]),
        (&json!("code"), &json!(""))
    );
}

/// `POST /1/transformations/try` with `code` on `sampleRecord`.
async fn try_code(s: &Server, code: &str, extra: Value) -> Resp {
    let mut body = json!({"sampleRecord": {"objectID": "1", "price": 10}, "input": {"code": code}});
    if let (Value::Object(body), Value::Object(extra)) = (&mut body, extra) {
        body.extend(extra);
    }
    s.post("/1/transformations/try", &body).await.expect(200)
}

fn payloads(resp: &Resp) -> Vec<Value> {
    resp.body["payloads"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", resp.text))
        .iter()
        .map(|p| serde_json::from_str(p.as_str().expect("a JSON string")).unwrap())
        .collect()
}

#[tokio::test]
async fn tries_answer_payloads_or_the_error() {
    let s = Server::sqlite().await;
    let object = try_code(
        &s,
        "async function transform(r) { r.price = r.price * 2; return r; }",
        json!({}),
    )
    .await;
    assert_keys(&object.body, &["payloads"]);
    assert!(object.body["payloads"][0].is_string());
    assert_eq!(payloads(&object), [json!({"objectID": "1", "price": 20})]);

    let split = try_code(
        &s,
        "function transform(r) { return [{objectID: 'a'}, {objectID: 'b', from: r.objectID}]; }",
        json!({}),
    )
    .await;
    assert_eq!(
        payloads(&split),
        [
            json!({"objectID": "a"}),
            json!({"objectID": "b", "from": "1"})
        ]
    );

    let dropped = try_code(&s, "function transform(r) { return null; }", json!({})).await;
    assert_eq!(dropped.body, json!({"payloads": []}));

    let thrown = try_code(
        &s,
        "function transform(r) {\n  throw new Error('no price');\n}",
        json!({}),
    )
    .await;
    assert_eq!(thrown.body["payloads"], json!([]));
    assert_eq!(thrown.body["error"]["code"], 422);
    assert_eq!(thrown.body["error"]["message"], "Error: no price (line 2)");
    let bad_return = try_code(&s, "function transform(r) { return 5; }", json!({})).await;
    assert_eq!(bad_return.body["error"]["code"], 422);

    let syntax = try_code(&s, "function transform(r) {", json!({})).await;
    assert_eq!(syntax.body["payloads"], json!([]));
    assert_eq!(syntax.body["error"]["code"], 400);
    let message = syntax.body["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("SyntaxError"), "{message}");

    // A deep recursion is a JavaScript error, not the end of the thread.
    let deep = try_code(
        &s,
        "function f(n) { return f(n + 1) + 1; }\nfunction transform(r) { return f(0); }",
        json!({}),
    )
    .await;
    assert_eq!(deep.body["error"]["code"], 422, "{}", deep.text);

    let steps = s
        .post(
            "/1/transformations/try",
            &json!({"sampleRecord": {"objectID": "1", "cost": 3, "name": "n"}, "type": "noCode",
                "input": {"steps": [{"type": "removeAttribute", "attribute": "cost"},
                    {"type": "addAttribute", "attribute": "label",
                        "value": {"template": "{{name}}!"}}]}}),
        )
        .await
        .expect(200);
    assert_eq!(
        payloads(&steps),
        [json!({"objectID": "1", "name": "n", "label": "n!"})]
    );
    let bad_steps = s
        .post(
            "/1/transformations/try",
            &json!({"sampleRecord": {}, "input": {"steps": [{"type": "explode"}]}}),
        )
        .await
        .expect(200);
    assert_eq!(bad_steps.body["error"]["code"], 400);
    assert!(
        bad_steps.body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("input.steps[0]"),
        "{}",
        bad_steps.text
    );
}

#[tokio::test]
async fn tries_read_inline_secrets_only() {
    let s = Server::sqlite().await;
    let code = "function transform(r, helper) { r.token = helper.secrets.get('TOKEN') ?? 'none'; \
                return r; }";
    let none = try_code(&s, code, json!({})).await;
    assert_eq!(payloads(&none)[0]["token"], "none");
    let auths = json!({"authentications": [
        {"type": "secrets", "name": "a", "input": {"TOKEN": "first"}},
        {"type": "oauth", "name": "ignored", "input": {"url": "http://test.oauth",
            "client_id": "id", "client_secret": "TOKEN"}},
        {"type": "secrets", "name": "b", "input": {"TOKEN": "second"}}
    ]});
    let read = try_code(&s, code, auths).await;
    assert_eq!(payloads(&read)[0]["token"], "second", "later ones win");
    // The inline authentications were not saved.
    let saved = s.get("/1/authentications").await.expect(200);
    assert_eq!(saved.body["pagination"]["nbItems"], 0);

    // A stored transformation's own secrets are not opened by a try.
    let stored = s
        .create_auth(json!({"type": "secrets", "name": "vault", "input": {"TOKEN": "stored"}}))
        .await;
    let id = create(
        &s,
        json!({"name": "t", "code": code, "authenticationIDs": [stored]}),
    )
    .await;
    let tried = s
        .post(
            &format!("/1/transformations/{id}/try"),
            &json!({"sampleRecord": {"objectID": "1"}}),
        )
        .await
        .expect(200);
    assert_eq!(payloads(&tried)[0]["token"], "none");
}

#[tokio::test]
async fn tries_of_stored_transformations_take_the_body_over_them() {
    let s = Server::sqlite().await;
    let id = create(
        &s,
        json!({"name": "t", "code": "function transform(r) { r.v = 'stored'; return r; }"}),
    )
    .await;
    let path = format!("/1/transformations/{id}/try");
    let stored = s
        .post(&path, &json!({"sampleRecord": {"objectID": "1"}}))
        .await
        .expect(200);
    assert_eq!(payloads(&stored), [json!({"objectID": "1", "v": "stored"})]);
    let over = s
        .post(
            &path,
            &json!({"sampleRecord": {"objectID": "1"}, "type": "code",
                "input": {"code": "function transform(r) { r.v = 'body'; return r; }"}}),
        )
        .await
        .expect(200);
    assert_eq!(payloads(&over), [json!({"objectID": "1", "v": "body"})]);
    s.post(
        &path,
        &json!({"sampleRecord": {"objectID": "1"}, "type": "noCode"}),
    )
    .await
    .error(400, "input.steps: required for type `noCode`");
    s.post(
        "/1/transformations/unknown/try",
        &json!({"sampleRecord": {}}),
    )
    .await
    .error(404, "transformation `unknown` not found");

    // Malformed bodies are 400s naming the field.
    for (body, needle) in [
        (json!({"code": "x"}), "sampleRecord: missing field"),
        (
            json!({"sampleRecord": [1]}),
            "sampleRecord: must be a JSON object",
        ),
        (
            json!({"sampleRecord": {}, "record": {}}),
            "record: unknown field",
        ),
        (
            json!({"sampleRecord": {}, "authentications": [{"type": "secrets", "name": "s"}]}),
            "authentications[0].input: missing field",
        ),
    ] {
        s.post("/1/transformations/try", &body)
            .await
            .error(400, needle);
    }
}

#[tokio::test]
async fn a_try_that_runs_too_long_times_out() {
    let s = Server::sqlite().await;
    let resp = try_code(&s, "function transform(r) { while (true) {} }", json!({})).await;
    assert_eq!(resp.body["error"]["code"], 422);
    let message = resp.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("timed out"), "{message}");
}

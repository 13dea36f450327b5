//! Table tests of validation failures: the exact message, path included, that a 400 returns.

use std::fmt::Debug;

use ingest_model::{
    AuthenticationCreate, AuthenticationUpdate, DestinationCreate, DestinationUpdate, SourceCreate,
    SourceType, SourceUpdate, TaskCreate, TaskCreateTrigger, TaskSearch, TaskUpdate,
    ValidationError, from_slice, from_value,
};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

fn error_of<T: DeserializeOwned + Debug>(body: &Value) -> String {
    match from_value::<T>(body) {
        Ok(v) => panic!("{body} should be refused, got {v:?}"),
        Err(e) => {
            // The same body as bytes gives the same error.
            let bytes = serde_json::to_vec(body).unwrap();
            assert_eq!(from_slice::<T>(&bytes).unwrap_err(), e, "{body}");
            e.to_string()
        }
    }
}

fn csv(input: Value) -> Value {
    json!({"type": "csv", "name": "products", "input": input})
}

fn commercetools(locales: Value) -> Value {
    json!({"type": "commercetools", "name": "ct", "input": {
        "url": "https://api.europe-west1.gcp.commercetools.com", "projectKey": "shop",
        "locales": locales}})
}

fn task(extra: Value) -> Value {
    let mut body = json!({"sourceID": "s", "destinationID": "d",
        "trigger": {"type": "onDemand"}, "action": "replace"});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

#[test]
fn source_create_failures() {
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"type": "commercetools", "name": "ct", "input": {
                "url": "https://api.commercetools.example", "projectKey": "../other"}}),
            "input.projectKey: must be 1 to 256 letters, digits, `_` or `-`",
        ),
        (
            json!({"type": "commercetools", "name": "ct", "input": {
                "url": "https://api.commercetools.example", "projectKey": "shop",
                "storeKeys": ["eu", "a/b"]}}),
            "input.storeKeys: entry 1 must be 1 to 256 letters, digits, `_` or `-`",
        ),
        (
            json!({"type": "bigcommerce", "name": "bc", "input": {"storeHash": "abc/../x"}}),
            "input.storeHash: must be 1 to 64 letters or digits",
        ),
        (
            csv(json!({"url": "https://x/a.csv", "delimiter": ";;"})),
            "input.delimiter: must be one character",
        ),
        (
            csv(json!({"url": "https://x/a.csv", "delimiter": ""})),
            "input.delimiter: must be one character",
        ),
        (
            csv(json!({"url": "https://x/a.csv", "delimiter": "\n"})),
            "input.delimiter: must not be a line break",
        ),
        (
            csv(json!({"url": "https://x/a.csv", "delimiter": "\r"})),
            "input.delimiter: must not be a line break",
        ),
        (
            csv(json!({"url": "https://x/a.csv", "delimiter": " "})),
            "input.delimiter: must not be a space",
        ),
        (
            csv(json!({"url": "https://x/a.csv", "delimiter": "\u{FFFD}"})),
            "input.delimiter: must not be U+FFFD (the replacement character)",
        ),
        (
            csv(json!({"url": "https://x/a.csv", "delimiter": "é"})),
            "input.delimiter: must be an ASCII character, got `é` (U+00E9)",
        ),
        (
            csv(json!({"url": "https://x/a.csv", "delimiter": 44})),
            "input.delimiter: invalid type: integer `44`, expected a string",
        ),
        (
            csv(json!({"url": "https://x/a.csv", "mapping": {"price": "floaty"}})),
            "input.mapping.price: unknown variant `floaty`, expected one of `string`, \
             `integer`, `float`, `boolean`, `json`",
        ),
        (
            csv(json!({"url": "https://x/a.csv", "method": "get"})),
            "input.method: unknown variant `get`, expected `GET` or `POST`",
        ),
        (
            csv(json!({"url": "https://x/a.csv", "foo": 1})),
            "input.foo: unknown field",
        ),
        (csv(json!({})), "input.url: missing field"),
        (csv(json!({"url": ""})), "input.url: must not be empty"),
        (
            csv(json!({"url": 5})),
            "input.url: invalid type: integer `5`, expected a string",
        ),
        (
            csv(json!({"url": "https://x/a.csv", "uniqueIDColumn": " "})),
            "input.uniqueIDColumn: must not be empty",
        ),
        (
            csv(json!("https://x/a.csv")),
            "input: invalid type: string \"https://x/a.csv\", expected a csv input object",
        ),
        (
            commercetools(json!(["en", "english"])),
            "input.locales[1]: must be a locale such as `en` or `fr-FR` \
             (^[a-z]{2}(-[A-Z]{2})?$), got `english`",
        ),
        (
            commercetools(json!(["EN"])),
            "input.locales[0]: must be a locale such as `en` or `fr-FR` \
             (^[a-z]{2}(-[A-Z]{2})?$), got `EN`",
        ),
        (
            commercetools(json!("en")),
            "input.locales: invalid type: string \"en\", expected a sequence",
        ),
        (
            json!({"type": "commercetools", "name": "ct", "input": {"url": "https://x"}}),
            "input.projectKey: missing field",
        ),
        (
            json!({"type": "bigquery", "name": "bq", "input": {"projectID": "p"}}),
            "input.datasetID: missing field",
        ),
        (
            json!({"type": "bigcommerce", "name": "bc",
                   "input": {"storeHash": "abc", "channel": {"id": "x"}}}),
            "input.channel.id: invalid type: string \"x\", expected u64",
        ),
        (
            json!({"type": "bigcommerce", "name": "bc", "input": {"store_hash": "abc"}}),
            "input.store_hash: unknown field",
        ),
        (
            json!({"type": "json", "name": "j", "input": {"url": "https://x", "delimiter": ","}}),
            "input.delimiter: unknown field",
        ),
        (
            json!({"type": "ftp", "name": "f", "input": {}}),
            "type: unknown variant `ftp`, expected one of `bigcommerce`, `commercetools`, \
             `json`, `csv`, `bigquery`, `ga4BigqueryExport`, `push`, `algoliaIndex`, `shopify`, \
             `docker`",
        ),
        (json!({"name": "f", "input": {}}), "type: missing field"),
        (json!({"type": "csv", "name": "f"}), "input: missing field"),
        (
            json!({"type": "csv", "name": "", "input": {"url": "https://x"}}),
            "name: must not be empty",
        ),
        (
            json!({"type": "csv", "name": "n", "input": {"url": "https://x"}, "foo": true}),
            "foo: unknown field",
        ),
        (
            json!({"type": "csv", "name": "n", "input": {"url": "https://x"},
                   "createdAt": "2023-01-01T00:00:00Z"}),
            "createdAt: unknown field",
        ),
        (
            json!([]),
            "invalid type: sequence, expected a source object",
        ),
        (
            json!({"type": "csv", "name": "n", "input": ["https://x/a.csv"]}),
            "input: invalid type: sequence, expected a csv input object",
        ),
        (
            json!({"type": "bigcommerce", "name": "n", "input": {"storeHash": "h", "channel": [1]}}),
            "input.channel: invalid type: sequence, expected a channel object",
        ),
    ];
    for (body, expected) in cases {
        assert_eq!(error_of::<SourceCreate>(&body), expected, "{body}");
    }
}

#[test]
fn errors_carry_the_path_separately() {
    let err = from_value::<SourceCreate>(&commercetools(json!(["en", "fr-FR", "x"]))).unwrap_err();
    assert_eq!(err.path, "input.locales[2]");
    assert!(err.message.starts_with("must be a locale"));
    let err = err.prefixed("source.");
    assert_eq!(err.path, "source.input.locales[2]");
}

#[test]
fn source_update_failures() {
    assert_eq!(
        error_of::<SourceUpdate>(&json!({"type": "csv"})),
        "type: cannot be changed"
    );
    assert_eq!(
        error_of::<SourceUpdate>(&json!({"input": []})),
        "input: must be an object"
    );
    assert_eq!(
        error_of::<SourceUpdate>(&json!({"name": ""})),
        "name: must not be empty"
    );
    let update: SourceUpdate = from_value(&json!({"input": {"storeHash": "x"}})).unwrap();
    assert_eq!(
        update
            .parse_input(SourceType::BigCommerce)
            .unwrap_err()
            .to_string(),
        "input: cannot be updated on a bigcommerce source"
    );
    let update: SourceUpdate = from_value(&json!({"input": {"url": "https://x"}})).unwrap();
    assert_eq!(
        update
            .parse_input(SourceType::Commercetools)
            .unwrap_err()
            .to_string(),
        "input.url: unknown field"
    );
    assert_eq!(
        update
            .parse_input(SourceType::BigQuery)
            .unwrap_err()
            .to_string(),
        "input.url: unknown field"
    );
    let update: SourceUpdate = from_value(&json!({"input": {"datasetID": "d"}})).unwrap();
    assert_eq!(
        update
            .parse_input(SourceType::BigQuery)
            .unwrap_err()
            .to_string(),
        "input.projectID: missing field"
    );
    let update: SourceUpdate =
        from_value(&json!({"input": {"url": "https://x", "delimiter": "||"}})).unwrap();
    assert_eq!(
        update.parse_input(SourceType::Csv).unwrap_err().to_string(),
        "input.delimiter: must be one character"
    );
}

#[test]
fn destination_failures() {
    let dest = |input: Value| json!({"type": "search", "name": "d", "input": input});
    let cases = [
        (
            dest(json!({"indexName": "a", "indexPrefix": "b"})),
            "input.indexName: cannot be given with `indexPrefix`: use one of them",
        ),
        (
            dest(json!({})),
            "input: one of `indexName` or `indexPrefix` is required",
        ),
        (
            dest(json!({"indexName": ""})),
            "input.indexName: must not be empty",
        ),
        (
            dest(json!({"indexPrefix": " "})),
            "input.indexPrefix: must not be empty",
        ),
        (dest(json!({"index": "x"})), "input.index: unknown field"),
        (
            json!({"type": "recommend", "name": "d", "input": {"indexName": "x"}}),
            "type: unknown variant `recommend`, expected one of `search`, `insights`, \
             `flow`, `predict`",
        ),
    ];
    for (body, expected) in cases {
        assert_eq!(error_of::<DestinationCreate>(&body), expected, "{body}");
    }
    assert_eq!(
        error_of::<DestinationUpdate>(&json!({"input": {"indexName": "a", "indexPrefix": "b"}})),
        "input.indexName: cannot be given with `indexPrefix`: use one of them"
    );
}

#[test]
fn task_failures() {
    let cases = [
        (
            task(json!({"trigger": {"type": "schedule"}})),
            "trigger.cron: missing field: a schedule trigger needs a cron expression",
        ),
        (
            task(json!({"trigger": {"type": "schedule", "cron": "  "}})),
            "trigger.cron: must not be empty",
        ),
        (
            task(json!({"trigger": {"type": "onDemand", "cron": "* * * * *"}})),
            "trigger.cron: only allowed with a `schedule` trigger",
        ),
        (
            task(json!({"trigger": {"cron": "* * * * *"}})),
            "trigger.type: missing field",
        ),
        (
            task(json!({"trigger": {"type": "hourly"}})),
            "trigger.type: unknown variant `hourly`, expected one of `onDemand`, \
             `schedule`, `subscription`, `streaming`",
        ),
        (
            task(json!({"trigger": {"type": "onDemand", "lastRun": "x"}})),
            "trigger.lastRun: unknown field",
        ),
        (
            task(json!({"input": {"timeframe": 0}})),
            "input.timeframe: must be between 1 and 30 days, got 0",
        ),
        (
            task(json!({"input": {"timeframe": 31}})),
            "input.timeframe: must be between 1 and 30 days, got 31",
        ),
        (
            task(json!({"input": {"timeframe": "7"}})),
            "input.timeframe: invalid type: string \"7\", expected i64",
        ),
        (
            task(json!({"input": {"startDate": "2023-07-02T00:00:00Z",
                                  "endDate": "2023-07-01T00:00:00Z"}})),
            "input.endDate: must be after `startDate`",
        ),
        (
            task(json!({"input": {"startDate": "2023-07-01T02:00:00+02:00",
                                  "endDate": "2023-07-01T00:00:00Z"}})),
            "input.endDate: must be after `startDate`",
        ),
        (
            task(json!({"input": {"startDate": "2023-07-01", "endDate": "2023-07-02T00:00:00Z"}})),
            "input.startDate: must be an RFC 3339 date-time such as `2023-07-01T12:00:00Z`, \
             got `2023-07-01`",
        ),
        (
            task(json!({"input": {"startDate": "2023-07-01T00:00:00Z"}})),
            "input.endDate: missing field",
        ),
        (
            task(json!({"input": {"timeframe": 7, "endDate": "2023-07-01T00:00:00Z"}})),
            "input.timeframe: cannot be given with `startDate` or `endDate`",
        ),
        (
            task(json!({"input": {}})),
            "input: needs `startDate` and `endDate`, or `timeframe`",
        ),
        (
            task(json!({"input": {"days": 3}})),
            "input.days: unknown field",
        ),
        (
            task(json!({"failureThreshold": 101})),
            "failureThreshold: must be between 0 and 100, got 101",
        ),
        (
            task(json!({"failureThreshold": -1})),
            "failureThreshold: must be between 0 and 100, got -1",
        ),
        (
            task(json!({"failureThreshold": 1.5})),
            "failureThreshold: invalid type: floating point `1.5`, expected i64",
        ),
        (
            task(json!({"enabled": "yes"})),
            "enabled: invalid type: string \"yes\", expected a boolean",
        ),
        (
            task(json!({"action": "upsert"})),
            "action: unknown variant `upsert`, expected one of `replace`, `save`, `partial`, `partialNoCreate`, `append`",
        ),
        (task(json!({"sourceID": ""})), "sourceID: must not be empty"),
        (
            json!({"destinationID": "d", "trigger": {"type": "onDemand"}, "action": "save"}),
            "sourceID: missing field",
        ),
        (task(json!({"taskID": "t"})), "taskID: unknown field"),
    ];
    for (body, expected) in cases {
        assert_eq!(error_of::<TaskCreate>(&body), expected, "{body}");
    }
}

#[test]
fn task_update_rules() {
    assert_eq!(
        error_of::<TaskUpdate>(&json!({"action": "save"})),
        "action: cannot be changed"
    );
    assert_eq!(
        error_of::<TaskUpdate>(&json!({"sourceID": "x"})),
        "sourceID: cannot be changed"
    );
    assert_eq!(
        error_of::<TaskUpdate>(&json!({"trigger": {}})),
        "trigger.type: missing field"
    );
    assert_eq!(
        error_of::<TaskUpdate>(&json!({"failureThreshold": 200})),
        "failureThreshold: must be between 0 and 100, got 200"
    );
    // Today's clients send `{cron}` alone: a schedule.
    let update: TaskUpdate = from_value(&json!({"trigger": {"cron": "0 * * * *"}})).unwrap();
    assert_eq!(
        update.trigger,
        Some(TaskCreateTrigger::Schedule {
            cron: "0 * * * *".into()
        })
    );
    let update: TaskUpdate = from_value(&json!({"failureThreshold": null})).unwrap();
    assert_eq!(update.failure_threshold, None);
}

#[test]
fn authentication_failures() {
    let auth = |kind: &str, input: Value| json!({"type": kind, "name": "a", "input": input});
    let cases = [
        (
            auth("basic", json!({"username": "u"})),
            "input.password: missing field",
        ),
        (
            auth("basic", json!({"username": "u", "password": null})),
            "input.password: invalid type: null, expected a string",
        ),
        (
            auth(
                "oauth",
                json!({"url": "https://x", "clientId": "a", "client_secret": "s"}),
            ),
            "input.clientId: unknown field",
        ),
        (
            auth("apiKey", json!({"key": ""})),
            "input.key: must not be empty",
        ),
        (
            auth("algolia", json!({"appID": 1, "apiKey": "k"})),
            "input.appID: invalid type: integer `1`, expected a string",
        ),
        (
            auth(
                "algolia",
                json!({"appID": "evil.example.com:8443#", "apiKey": "k"}),
            ),
            "input.appID: must be an Algolia application ID: 1 to 64 letters, digits or `_`",
        ),
        (
            auth("algolia", json!({"appID": "APP@h", "apiKey": "k"})),
            "input.appID: must be an Algolia application ID: 1 to 64 letters, digits or `_`",
        ),
        (
            auth("googleServiceAccount", json!({"clientEmail": "a@b"})),
            "input.privateKey: missing field",
        ),
        (
            auth("bearer", json!({})),
            "type: unknown variant `bearer`, expected one of `googleServiceAccount`, `basic`, \
             `apiKey`, `oauth`, `algolia`, `algoliaInsights`, `secrets`",
        ),
        (
            json!({"type": "basic", "name": "a", "platform": "magento",
                   "input": {"username": "u", "password": "p"}}),
            "platform: unknown variant `magento`, expected one of `bigcommerce`, `commercetools`, `shopify`",
        ),
    ];
    for (body, expected) in cases {
        assert_eq!(error_of::<AuthenticationCreate>(&body), expected, "{body}");
    }
    assert_eq!(
        error_of::<AuthenticationUpdate>(&json!({"input": "x"})),
        "input: must be an object"
    );
    for good in ["MYAPP1", "latency", "ALGOLIA_APPLICATION_ID"] {
        assert!(ingest_model::is_app_id(good), "{good}");
    }
    for bad in ["", "a.b", "a:1", "a/b", "a#", "a b", "é", &"A".repeat(65)] {
        assert!(!ingest_model::is_app_id(bad), "{bad}");
    }
}

#[test]
fn search_and_syntax_failures() {
    assert_eq!(error_of::<TaskSearch>(&json!({})), "taskIDs: missing field");
    assert_eq!(
        error_of::<TaskSearch>(&json!({"taskIDs": "x"})),
        "taskIDs: invalid type: string \"x\", expected a sequence"
    );
    assert_eq!(
        error_of::<TaskSearch>(&json!({"taskIDs": ["a", 2]})),
        "taskIDs[1]: invalid type: integer `2`, expected a string"
    );
    let err: ValidationError = from_slice::<TaskSearch>(b"{\"taskIDs\": [").unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid JSON: EOF while parsing a list at line 1 column 13"
    );
    let err = from_slice::<TaskSearch>(b"").unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid JSON: EOF while parsing a value at line 1 column 0"
    );
}

#[test]
fn arrays_are_not_objects() {
    // serde's derive would read `[a, b, ...]` as the struct's fields in order; the API does not.
    assert_eq!(
        error_of::<TaskCreate>(&json!(["s", "d", {"type": "onDemand"}, "replace"])),
        "invalid type: sequence, expected a task object"
    );
    assert_eq!(
        error_of::<TaskCreate>(&task(json!({"trigger": ["onDemand"]}))),
        "trigger: invalid type: sequence, expected a trigger object"
    );
    assert_eq!(
        error_of::<TaskCreate>(&task(json!({"input": [7]}))),
        "input: invalid type: sequence, expected a task input object"
    );
    assert_eq!(
        error_of::<DestinationCreate>(&json!({"type": "search", "name": "d", "input": ["x"]})),
        "input: invalid type: sequence, expected a destination input object"
    );
    assert_eq!(
        error_of::<TaskSearch>(&json!([["a"]])),
        "invalid type: sequence, expected an object"
    );
    assert_eq!(
        error_of::<AuthenticationCreate>(&json!({"type": "apiKey", "name": "k", "input": ["x"]})),
        "input: invalid type: sequence, expected an apiKey input object"
    );
    assert_eq!(
        error_of::<TaskUpdate>(&json!(null)),
        "invalid type: null, expected a task update object"
    );
    assert_eq!(
        error_of::<SourceUpdate>(&json!("name")),
        "invalid type: string \"name\", expected a source update object"
    );
}

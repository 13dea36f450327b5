//! Serialize → parse → equal for every resource, with the exact JSON checked against literals.

use std::collections::BTreeMap;
use std::fmt::Debug;

use ingest_model::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

const T0: &str = "2023-07-01T12:00:00.000Z";
const T1: &str = "2023-07-02T08:30:00.000Z";

/// `value` serializes to exactly `expected`, and parses back (from a value and from bytes).
fn round_trip<T>(value: &T, expected: Value)
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let json = serde_json::to_value(value).expect("serialize");
    assert_eq!(json, expected);
    assert_eq!(&from_value::<T>(&json).expect("parse value"), value);
    let bytes = serde_json::to_vec(value).expect("serialize bytes");
    assert_eq!(&from_slice::<T>(&bytes).expect("parse bytes"), value);
}

fn text<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("serialize")
}

fn csv_input() -> SourceCsv {
    SourceCsv {
        url: "https://example.com/products.csv".into(),
        unique_id_column: Some("sku".into()),
        mapping: BTreeMap::from([
            ("price".to_owned(), MappingTypeCsv::Float),
            ("stock".to_owned(), MappingTypeCsv::Integer),
        ]),
        method: Some(MethodType::Post),
        delimiter: Some(";".into()),
    }
}

fn source(input: SourceInput) -> Source {
    Source {
        source_id: "a0000000-0000-4000-8000-000000000001".into(),
        source_type: input.source_type(),
        name: "products".into(),
        input,
        authentication_id: Some("a0000000-0000-4000-8000-000000000002".into()),
        created_at: T0.into(),
        updated_at: T1.into(),
    }
}

#[test]
fn sources_of_every_type() {
    let csv = source(SourceInput::Csv(csv_input()));
    round_trip(
        &csv,
        json!({
            "sourceID": "a0000000-0000-4000-8000-000000000001",
            "type": "csv",
            "name": "products",
            "input": {
                "url": "https://example.com/products.csv",
                "uniqueIDColumn": "sku",
                "mapping": {"price": "float", "stock": "integer"},
                "method": "POST",
                "delimiter": ";"
            },
            "authenticationID": "a0000000-0000-4000-8000-000000000002",
            "createdAt": T0,
            "updatedAt": T1
        }),
    );
    let s = text(&csv);
    for name in [
        "\"sourceID\"",
        "\"uniqueIDColumn\"",
        "\"authenticationID\"",
        "\"createdAt\"",
    ] {
        assert!(s.contains(name), "{name} in {s}");
    }

    let ct = source(SourceInput::Commercetools(SourceCommercetools {
        store_keys: Some(vec!["eu".into()]),
        locales: Some(vec!["en".into(), "fr-FR".into()]),
        url: "https://api.europe-west1.gcp.commercetools.com".into(),
        project_key: "shop".into(),
    }));
    round_trip(
        &ct,
        json!({
            "sourceID": "a0000000-0000-4000-8000-000000000001",
            "type": "commercetools",
            "name": "products",
            "input": {
                "storeKeys": ["eu"],
                "locales": ["en", "fr-FR"],
                "url": "https://api.europe-west1.gcp.commercetools.com",
                "projectKey": "shop"
            },
            "authenticationID": "a0000000-0000-4000-8000-000000000002",
            "createdAt": T0,
            "updatedAt": T1
        }),
    );

    let bc = SourceInput::BigCommerce(SourceBigCommerce {
        store_hash: "abc123".into(),
        channel: Some(BigCommerceChannel {
            id: 1,
            currencies: Some(vec!["usd".into(), "eur".into()]),
        }),
    });
    assert_eq!(
        serde_json::to_value(&bc).unwrap(),
        json!({"storeHash": "abc123", "channel": {"id": 1, "currencies": ["usd", "eur"]}})
    );
    let bc_source = source(bc);
    assert_eq!(
        serde_json::to_value(&bc_source).unwrap()["type"],
        "bigcommerce"
    );
    assert_eq!(
        from_value::<Source>(&serde_json::to_value(&bc_source).unwrap()).unwrap(),
        bc_source
    );

    let bq = SourceInput::BigQuery(SourceBigQuery {
        project_id: "proj".into(),
        dataset_id: "analytics_1".into(),
        data_type: Some(BigQueryDataType::Ga4),
        table: None,
        table_prefix: Some("events_".into()),
        custom_sql_request: Some("SELECT * FROM %s".into()),
        unique_id_column: Some("id".into()),
    });
    assert_eq!(
        serde_json::to_value(&bq).unwrap(),
        json!({"projectID": "proj", "datasetID": "analytics_1", "dataType": "ga4",
               "tablePrefix": "events_", "customSQLRequest": "SELECT * FROM %s",
               "uniqueIDColumn": "id"})
    );
    let bq_source = source(bq);
    assert_eq!(
        from_value::<Source>(&serde_json::to_value(&bq_source).unwrap()).unwrap(),
        bq_source
    );

    // Optional fields are left out, not null.
    let json = SourceInput::Json(SourceJson {
        url: "https://example.com/p.json".into(),
        unique_id_column: None,
        method: None,
    });
    assert_eq!(
        serde_json::to_value(&json).unwrap(),
        json!({"url": "https://example.com/p.json"})
    );
    let mut bare = source(json);
    bare.authentication_id = None;
    let v = serde_json::to_value(&bare).unwrap();
    assert!(v.get("authenticationID").is_none());
    assert_eq!(from_value::<Source>(&v).unwrap(), bare);
}

#[test]
fn source_bodies() {
    let create = SourceCreate {
        source_type: SourceType::Csv,
        name: "products".into(),
        input: SourceInput::Csv(csv_input()),
        authentication_id: None,
    };
    let v = serde_json::to_value(&create).unwrap();
    assert_eq!(v["type"], "csv");
    assert_eq!(v["input"]["uniqueIDColumn"], "sku");
    assert_eq!(from_value::<SourceCreate>(&v).unwrap(), create);

    let update = SourceUpdate {
        name: Some("renamed".into()),
        input: Some(json!({"locales": ["de"]})),
        authentication_id: Some("x".into()),
    };
    round_trip(
        &update,
        json!({"name": "renamed", "input": {"locales": ["de"]}, "authenticationID": "x"}),
    );
    let parsed = update
        .parse_input(SourceType::Commercetools)
        .unwrap()
        .unwrap();
    let SourceInput::Commercetools(before) =
        source(SourceInput::Commercetools(SourceCommercetools {
            store_keys: Some(vec!["eu".into()]),
            locales: None,
            url: "https://ct".into(),
            project_key: "p".into(),
        }))
        .input
        .updated(parsed)
        .unwrap()
    else {
        panic!("still commercetools");
    };
    assert_eq!(before.locales, Some(vec!["de".into()]));
    assert_eq!(before.store_keys, Some(vec!["eu".into()]), "kept");

    let csv = SourceInput::Csv(csv_input());
    let wrong = SourceUpdateInput::Json(SourceJson {
        url: "u".into(),
        unique_id_column: None,
        method: None,
    });
    assert_eq!(
        csv.updated(wrong).unwrap_err().to_string(),
        "does not fit a csv source"
    );
}

#[test]
fn authentications() {
    let input = AuthInput::Basic {
        username: "user".into(),
        password: "hunter2".to_owned().into(),
    };
    let auth = Authentication {
        authentication_id: "a1".into(),
        auth_type: AuthenticationType::Basic,
        name: "feed".into(),
        platform: None,
        input: input.redacted(),
        created_at: T0.into(),
        updated_at: T0.into(),
    };
    round_trip(
        &auth,
        json!({"authenticationID": "a1", "type": "basic", "name": "feed",
               "input": {"username": "user", "password": null},
               "createdAt": T0, "updatedAt": T0}),
    );
    let oauth = AuthInput::OAuth {
        url: "https://auth/token".into(),
        client_id: "cid".into(),
        client_secret: "cs".to_owned().into(),
    };
    let with_platform = Authentication {
        platform: Some(Platform::Commercetools),
        auth_type: AuthenticationType::OAuth,
        input: oauth.redacted(),
        ..auth
    };
    let s = text(&with_platform);
    assert!(s.contains(r#""client_id":"cid""#), "{s}");
    assert!(s.contains(r#""client_secret":null"#), "{s}");
    assert!(s.contains(r#""platform":"commercetools""#), "{s}");
    assert_eq!(
        from_value::<Authentication>(&serde_json::to_value(&with_platform).unwrap()).unwrap(),
        with_platform
    );

    // A response never carries a secret: parsing one that does fails.
    let mut leaked = serde_json::to_value(&with_platform).unwrap();
    leaked["input"]["client_secret"] = json!("cs");
    assert_eq!(
        from_value::<Authentication>(&leaked)
            .unwrap_err()
            .to_string(),
        "input.client_secret: must be null: secrets are never returned"
    );

    let listed = serde_json::to_value(&with_platform).unwrap();
    round_trip(
        &ListAuthenticationsResponse {
            authentications: vec![with_platform],
            pagination: Pagination::new(1, 10, 1),
        },
        json!({"authentications": [listed],
               "pagination": {"nbPages": 1, "page": 1, "nbItems": 1, "itemsPerPage": 10}}),
    );
}

#[test]
fn destinations() {
    let prefix = Destination {
        destination_id: "d1".into(),
        destination_type: DestinationType::Search,
        name: "catalog".into(),
        input: DestinationInput::IndexPrefix {
            index_prefix: "shop_".into(),
        },
        authentication_id: Some("a1".into()),
        created_at: T0.into(),
        updated_at: T1.into(),
    };
    // Part C 19: a prefix destination also returns `indexName`, and parses back as a prefix.
    round_trip(
        &prefix,
        json!({"destinationID": "d1", "type": "search", "name": "catalog",
               "input": {"indexPrefix": "shop_", "indexName": "shop_"},
               "authenticationID": "a1", "createdAt": T0, "updatedAt": T1}),
    );
    assert_eq!(
        prefix.input.to_response_json(),
        json!({"indexPrefix": "shop_", "indexName": "shop_"})
    );
    assert_eq!(
        serde_json::to_value(&prefix.input).unwrap(),
        json!({"indexPrefix": "shop_"})
    );
    let named = Destination {
        input: DestinationInput::IndexName {
            index_name: "products".into(),
        },
        authentication_id: None,
        destination_type: DestinationType::Insights,
        ..prefix.clone()
    };
    round_trip(
        &named,
        json!({"destinationID": "d1", "type": "insights", "name": "catalog",
               "input": {"indexName": "products"}, "createdAt": T0, "updatedAt": T1}),
    );
    assert_eq!(named.input.name_or_prefix(), "products");
    round_trip(
        &ListDestinationsResponse {
            destinations: vec![prefix.clone()],
            pagination: Pagination::new(1, 10, 1),
        },
        json!({"destinations": [serde_json::to_value(&prefix).unwrap()],
               "pagination": {"nbPages": 1, "page": 1, "nbItems": 1, "itemsPerPage": 10}}),
    );

    let create = DestinationCreate {
        destination_type: DestinationType::Search,
        name: "catalog".into(),
        input: prefix.input.clone(),
        authentication_id: Some("a1".into()),
    };
    round_trip(
        &create,
        json!({"type": "search", "name": "catalog", "input": {"indexPrefix": "shop_"},
               "authenticationID": "a1"}),
    );
    round_trip(&DestinationUpdate::default(), json!({}));
    round_trip(
        &DestinationUpdate {
            destination_type: Some(DestinationType::Flow),
            name: Some("n".into()),
            input: Some(named.input),
            authentication_id: Some("a2".into()),
        },
        json!({"type": "flow", "name": "n", "input": {"indexName": "products"},
               "authenticationID": "a2"}),
    );
}

#[test]
fn tasks() {
    let schedule = Task {
        task_id: "t1".into(),
        source_id: "s1".into(),
        destination_id: "d1".into(),
        trigger: Trigger::Schedule {
            cron: "0 * * * *".into(),
            last_run: Some(T0.into()),
            next_run: T1.into(),
        },
        input: Some(TaskInput::ScheduleDateUtilsInput { timeframe: 7 }),
        enabled: true,
        action: ActionType::Save,
        failure_threshold: 5,
        created_at: T0.into(),
        updated_at: T0.into(),
    };
    round_trip(
        &schedule,
        json!({"taskID": "t1", "sourceID": "s1", "destinationID": "d1",
               "trigger": {"type": "schedule", "cron": "0 * * * *", "lastRun": T0, "nextRun": T1},
               "input": {"timeframe": 7}, "enabled": true, "action": "save",
               "failureThreshold": 5, "createdAt": T0, "updatedAt": T0}),
    );
    assert_eq!(schedule.trigger.trigger_type(), TriggerType::Schedule);

    let on_demand = Task {
        trigger: Trigger::OnDemand { last_run: None },
        input: Some(TaskInput::OnDemandDateUtilsInput {
            start_date: "2023-07-01T00:00:00Z".into(),
            end_date: "2023-07-08T00:00:00Z".into(),
        }),
        enabled: false,
        action: ActionType::Replace,
        failure_threshold: 0,
        ..schedule.clone()
    };
    round_trip(
        &on_demand,
        json!({"taskID": "t1", "sourceID": "s1", "destinationID": "d1",
               "trigger": {"type": "onDemand"},
               "input": {"startDate": "2023-07-01T00:00:00Z", "endDate": "2023-07-08T00:00:00Z"},
               "enabled": false, "action": "replace", "failureThreshold": 0,
               "createdAt": T0, "updatedAt": T0}),
    );
    let subscription = Task {
        trigger: Trigger::Subscription,
        input: None,
        ..schedule.clone()
    };
    let v = serde_json::to_value(&subscription).unwrap();
    assert_eq!(v["trigger"], json!({"type": "subscription"}));
    assert!(v.get("input").is_none());
    assert_eq!(from_value::<Task>(&v).unwrap(), subscription);

    round_trip(
        &ListTasksResponse {
            tasks: vec![subscription.clone()],
            pagination: Pagination::new(1, 10, 1),
        },
        json!({"tasks": [v], "pagination": {"nbPages": 1, "page": 1, "nbItems": 1, "itemsPerPage": 10}}),
    );

    let create = TaskCreate {
        source_id: "s1".into(),
        destination_id: "d1".into(),
        trigger: TaskCreateTrigger::Schedule {
            cron: "*/5 * * * *".into(),
        },
        action: ActionType::Replace,
        enabled: false,
        input: Some(TaskInput::ScheduleDateUtilsInput { timeframe: 30 }),
        failure_threshold: 100,
    };
    round_trip(
        &create,
        json!({"sourceID": "s1", "destinationID": "d1",
               "trigger": {"type": "schedule", "cron": "*/5 * * * *"},
               "action": "replace", "enabled": false, "input": {"timeframe": 30},
               "failureThreshold": 100}),
    );
    assert_eq!(create.trigger.trigger_type(), TriggerType::Schedule);
    round_trip(
        &TaskUpdate {
            destination_id: Some("d2".into()),
            trigger: Some(TaskCreateTrigger::OnDemand),
            input: None,
            enabled: Some(true),
            failure_threshold: Some(10),
        },
        json!({"destinationID": "d2", "trigger": {"type": "onDemand"}, "enabled": true,
               "failureThreshold": 10}),
    );
    round_trip(&TaskUpdate::default(), json!({}));
}

#[test]
fn runs_and_events() {
    let run = Run {
        run_id: "r1".into(),
        app_id: "APPID".into(),
        task_id: "t1".into(),
        status: RunStatus::Finished,
        progress: Some(RunProgress {
            expected_nb_of_events: 4,
            received_nb_of_events: 4,
        }),
        outcome: Some(RunOutcome::Failure),
        reason: Some("12 of 100 records were rejected (threshold 5%)".into()),
        reason_code: Some(RunReasonCode::TooManyErrors),
        run_type: RunType::Reindex,
        failure_threshold: Some(5),
        created_at: T0.into(),
        updated_at: T1.into(),
        started_at: Some(T0.into()),
        finished_at: Some(T1.into()),
    };
    let run_json = json!({"runID": "r1", "appID": "APPID", "taskID": "t1", "status": "finished",
        "progress": {"expectedNbOfEvents": 4, "receivedNbOfEvents": 4},
        "outcome": "failure", "reason": "12 of 100 records were rejected (threshold 5%)",
        "reasonCode": "too_many_errors", "type": "reindex", "failureThreshold": 5,
        "createdAt": T0, "updatedAt": T1, "startedAt": T0, "finishedAt": T1});
    round_trip(&run, run_json.clone());
    let created = Run {
        status: RunStatus::Created,
        progress: None,
        outcome: None,
        reason: None,
        reason_code: None,
        failure_threshold: None,
        started_at: None,
        finished_at: None,
        run_type: RunType::Update,
        ..run.clone()
    };
    round_trip(
        &created,
        json!({"runID": "r1", "appID": "APPID", "taskID": "t1", "status": "created",
               "type": "update", "createdAt": T0, "updatedAt": T1}),
    );
    let window = Window {
        start_date: T0.into(),
        end_date: T1.into(),
    };
    round_trip(
        &RunListResponse {
            runs: vec![run],
            pagination: Pagination::new(1, 10, 1),
            window: window.clone(),
        },
        json!({"runs": [run_json], "pagination": {"nbPages": 1, "page": 1, "nbItems": 1, "itemsPerPage": 10},
               "window": {"startDate": T0, "endDate": T1}}),
    );
    round_trip(
        &RunResponse {
            run_id: "r1".into(),
            created_at: T0.into(),
        },
        json!({"runID": "r1", "createdAt": T0}),
    );

    let event = Event {
        event_id: "e1".into(),
        run_id: "r1".into(),
        parent_id: Some("e0".into()),
        status: EventStatus::Succeeded,
        event_type: EventType::Record,
        data: Some(
            json!({"indexName": "products_tmp_123", "taskID": 42, "records": 1000})
                .as_object()
                .cloned()
                .unwrap(),
        ),
        batch_size: 1000,
        published_at: T1.into(),
    };
    let event_json = json!({"eventID": "e1", "runID": "r1", "parentID": "e0",
        "status": "succeeded", "type": "record",
        "data": {"indexName": "products_tmp_123", "taskID": 42, "records": 1000},
        "batchSize": 1000, "publishedAt": T1});
    round_trip(&event, event_json.clone());
    let log = Event {
        parent_id: None,
        data: None,
        batch_size: 0,
        event_type: EventType::Log,
        status: EventStatus::Started,
        ..event.clone()
    };
    round_trip(
        &log,
        json!({"eventID": "e1", "runID": "r1", "status": "started", "type": "log",
               "batchSize": 0, "publishedAt": T1}),
    );
    round_trip(
        &ListEventsResponse {
            events: vec![event],
            pagination: Pagination::new(2, 1, 2),
            window,
        },
        json!({"events": [event_json], "pagination": {"nbPages": 2, "page": 2, "nbItems": 2, "itemsPerPage": 1},
               "window": {"startDate": T0, "endDate": T1}}),
    );
}

#[test]
fn small_responses_and_search_bodies() {
    round_trip(
        &AuthenticationCreateResponse {
            authentication_id: "a".into(),
            name: "n".into(),
            created_at: T0.into(),
        },
        json!({"authenticationID": "a", "name": "n", "createdAt": T0}),
    );
    round_trip(
        &DestinationCreateResponse {
            destination_id: "d".into(),
            name: "n".into(),
            created_at: T0.into(),
        },
        json!({"destinationID": "d", "name": "n", "createdAt": T0}),
    );
    round_trip(
        &SourceCreateResponse {
            source_id: "s".into(),
            name: "n".into(),
            created_at: T0.into(),
        },
        json!({"sourceID": "s", "name": "n", "createdAt": T0}),
    );
    round_trip(
        &TaskCreateResponse {
            task_id: "t".into(),
            created_at: T0.into(),
        },
        json!({"taskID": "t", "createdAt": T0}),
    );
    round_trip(
        &AuthenticationUpdateResponse {
            authentication_id: "a".into(),
            name: "n".into(),
            updated_at: T1.into(),
        },
        json!({"authenticationID": "a", "name": "n", "updatedAt": T1}),
    );
    round_trip(
        &DestinationUpdateResponse {
            destination_id: "d".into(),
            name: "n".into(),
            updated_at: T1.into(),
        },
        json!({"destinationID": "d", "name": "n", "updatedAt": T1}),
    );
    round_trip(
        &SourceUpdateResponse {
            source_id: "s".into(),
            name: "n".into(),
            updated_at: T1.into(),
        },
        json!({"sourceID": "s", "name": "n", "updatedAt": T1}),
    );
    round_trip(
        &TaskUpdateResponse {
            task_id: "t".into(),
            updated_at: T1.into(),
        },
        json!({"taskID": "t", "updatedAt": T1}),
    );
    round_trip(
        &DeleteResponse {
            deleted_at: T1.into(),
        },
        json!({"deletedAt": T1}),
    );
    round_trip(
        &AuthenticationSearch {
            authentication_ids: vec!["a".into(), "b".into()],
        },
        json!({"authenticationIDs": ["a", "b"]}),
    );
    round_trip(
        &DestinationSearch {
            destination_ids: vec!["d".into()],
        },
        json!({"destinationIDs": ["d"]}),
    );
    round_trip(
        &SourceSearch { source_ids: vec![] },
        json!({"sourceIDs": []}),
    );
    round_trip(
        &TaskSearch {
            task_ids: vec!["t".into()],
        },
        json!({"taskIDs": ["t"]}),
    );
    let err = ValidationError::new("input.delimiter", "must be one character");
    round_trip(
        &ErrorResponse::bad_request(&err),
        json!({"message": "input.delimiter: must be one character", "status": 400}),
    );
}

#[test]
fn enums_serialize_to_the_spec_strings() {
    let all: Vec<String> = [
        serde_json::to_value(AuthenticationType::ALL).unwrap(),
        serde_json::to_value(Platform::ALL).unwrap(),
        serde_json::to_value(PlatformWithNone::ALL).unwrap(),
        serde_json::to_value(DestinationType::ALL).unwrap(),
        serde_json::to_value(SourceType::ALL).unwrap(),
        serde_json::to_value(MethodType::ALL).unwrap(),
        serde_json::to_value(MappingTypeCsv::ALL).unwrap(),
        serde_json::to_value(BigQueryDataType::ALL).unwrap(),
        serde_json::to_value(ActionType::ALL).unwrap(),
        serde_json::to_value(TriggerType::ALL).unwrap(),
        serde_json::to_value(RunStatus::ALL).unwrap(),
        serde_json::to_value(RunOutcome::ALL).unwrap(),
        serde_json::to_value(RunType::ALL).unwrap(),
        serde_json::to_value(RunReasonCode::ALL).unwrap(),
        serde_json::to_value(EventStatus::ALL).unwrap(),
        serde_json::to_value(EventType::ALL).unwrap(),
        serde_json::to_value(Order::ALL).unwrap(),
    ]
    .iter()
    .map(|v| v.to_string())
    .collect();
    assert_eq!(
        all,
        [
            r#"["googleServiceAccount","basic","apiKey","oauth","algolia"]"#,
            r#"["bigcommerce","commercetools"]"#,
            r#"["bigcommerce","commercetools","none"]"#,
            r#"["search","insights","flow","predict"]"#,
            r#"["bigcommerce","commercetools","json","csv","bigquery"]"#,
            r#"["GET","POST"]"#,
            r#"["string","integer","float","boolean","json"]"#,
            r#"["ga4","ga360"]"#,
            r#"["replace","save"]"#,
            r#"["onDemand","schedule","subscription"]"#,
            r#"["created","started","idled","finished","skipped"]"#,
            r#"["success","failure"]"#,
            r#"["reindex","update"]"#,
            r#"["internal","critical","no_events","too_many_errors","ok","discarded"]"#,
            r#"["created","started","retried","failed","succeeded"]"#,
            r#"["fetch","record","log","transform"]"#,
            r#"["asc","desc"]"#,
        ]
    );
    assert_eq!(
        "none".parse::<PlatformWithNone>().unwrap(),
        PlatformWithNone::None
    );
    assert_eq!(
        "no_events".parse::<RunReasonCode>().unwrap(),
        RunReasonCode::NoEvents
    );
}

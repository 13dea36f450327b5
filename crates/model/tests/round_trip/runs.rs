//! Runs, events, the small responses, search bodies and enum strings.

use super::*;

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
        run_metadata: None,
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
            r#"["googleServiceAccount","basic","apiKey","oauth","algolia","algoliaInsights","secrets"]"#,
            r#"["bigcommerce","commercetools","shopify"]"#,
            r#"["bigcommerce","commercetools","shopify","none"]"#,
            r#"["search","insights","flow","predict"]"#,
            r#"["bigcommerce","commercetools","json","csv","bigquery","ga4BigqueryExport","push","algoliaIndex","shopify","docker"]"#,
            r#"["GET","POST"]"#,
            r#"["string","integer","float","boolean","json"]"#,
            r#"["ga4","ga360"]"#,
            r#"["replace","save","partial","partialNoCreate","append"]"#,
            r#"["onDemand","schedule","subscription","streaming"]"#,
            r#"["created","started","idled","finished","skipped"]"#,
            r#"["success","failure"]"#,
            r#"["reindex","update","discover","validate","push"]"#,
            r#"["internal","critical","no_events","too_many_errors","ok","discarded","cancelled","lacking_events","blocking","idle"]"#,
            r#"["created","started","retried","failed","succeeded","critical"]"#,
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

//! Authentications, destinations and tasks.

use super::*;

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
        client_id: Some("cid".into()),
        client_secret: Some("cs".to_owned().into()),
        code: None,
        scope: None,
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
        input: DestinationInput::prefix("shop_"),
        authentication_id: Some("a1".into()),
        transformation_ids: Vec::new(),
        created_at: T0.into(),
        updated_at: T1.into(),
    };
    // `docs/api.md` C19: a prefix destination also returns `indexName`, and parses back as a prefix.
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
        input: DestinationInput::index("products"),
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
        transformation_ids: Vec::new(),
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
            transformation_ids: None,
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
        subscription_action: None,
        cursor: None,
        notifications: None,
        policies: None,
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
        options: Default::default(),
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
            options: Default::default(),
        },
        json!({"destinationID": "d2", "trigger": {"type": "onDemand"}, "enabled": true,
               "failureThreshold": 10}),
    );
    round_trip(&TaskUpdate::default(), json!({}));
}

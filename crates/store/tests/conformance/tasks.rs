//! Tasks: CRUD, triggers and run times, enable/disable, references, `save` rules, filters and
//! sorts.

use ingest_model::{ActionType, Order, TaskInput, TaskSortKeys, TaskUpdate, Trigger, TriggerType};
use ingest_store::{StoreError, TaskQuery};
use serde_json::json;

use crate::fixtures::*;
use crate::harness::Harness;

ingest_store::both_backends!(
    round_trip,
    schedule_trigger_and_run_times,
    enable_and_disable,
    references_must_be_live,
    save_needs_object_ids,
    filters,
    sorts,
    app_isolation,
);

async fn round_trip(h: &Harness) {
    let source = create_source(h, APP, "s").await;
    let dest = create_destination(h, APP, "d").await;
    let created_at = h.now();
    let body = parse(json!({
        "sourceID": source.source_id, "destinationID": dest.destination_id,
        "trigger": {"type": "onDemand"}, "action": "save", "enabled": false,
        "input": {"timeframe": 7}, "failureThreshold": 12
    }));
    let task = h
        .store
        .create_task(APP, &body, None, created_at)
        .await
        .unwrap();
    assert_eq!(task.trigger, Trigger::OnDemand { last_run: None });
    assert!(!task.enabled);
    assert_eq!(task.action, ActionType::Save);
    assert_eq!(
        task.input,
        Some(TaskInput::ScheduleDateUtilsInput { timeframe: 7 })
    );
    assert_eq!(task.failure_threshold, 12);
    assert_eq!(task.created_at, created_at.to_rfc3339());
    assert_eq!(task.updated_at, task.created_at);
    let id = &task.task_id;
    assert_eq!(h.store.get_task(APP, id).await.unwrap(), task);

    let dest2 = create_destination(h, APP, "d2").await;
    let update: TaskUpdate = parse(json!({
        "destinationID": dest2.destination_id, "failureThreshold": 50,
        "input": {"startDate": "2024-01-01T00:00:00Z", "endDate": "2024-01-02T00:00:00Z"}
    }));
    let updated = h
        .store
        .update_task(APP, id, &update, None, h.now())
        .await
        .unwrap();
    assert_eq!(updated.destination_id, dest2.destination_id);
    assert_eq!(updated.failure_threshold, 50);
    assert!(matches!(
        updated.input,
        Some(TaskInput::OnDemandDateUtilsInput { .. })
    ));
    assert_eq!(updated.source_id, task.source_id);
    assert!(!updated.enabled);
    assert_ne!(updated.updated_at, task.updated_at);

    h.store.delete_task(APP, id, h.now()).await.unwrap();
    assert_not_found(h.store.get_task(APP, id).await);
    assert_not_found(h.store.update_task(APP, id, &update, None, h.now()).await);
    assert_not_found(h.store.set_task_enabled(APP, id, true, h.now()).await);
    assert_not_found(
        h.store
            .set_task_run_times(APP, id, Some(h.now()), None)
            .await,
    );
    assert_not_found(h.store.delete_task(APP, id, h.now()).await);
    assert_not_found(h.store.create_run(APP, id, h.now()).await);
    let list = h
        .store
        .list_tasks(APP, &TaskQuery::default())
        .await
        .unwrap();
    assert_eq!(list.pagination.nb_items, 0);
}

async fn schedule_trigger_and_run_times(h: &Harness) {
    let source = create_source(h, APP, "s").await;
    let dest = create_destination(h, APP, "d").await;
    let body = parse(json!({
        "sourceID": source.source_id, "destinationID": dest.destination_id,
        "trigger": {"type": "schedule", "cron": "0 * * * *"}, "action": "replace"
    }));
    match h.store.create_task(APP, &body, None, h.now()).await {
        Err(StoreError::Invalid(e)) => assert_eq!(e.path, "trigger.cron"),
        other => panic!("{other:?}"),
    }
    let next = ts("2024-01-01T01:00:00Z");
    let task = h
        .store
        .create_task(APP, &body, Some(next), h.now())
        .await
        .unwrap();
    assert_eq!(
        task.trigger,
        Trigger::Schedule {
            cron: "0 * * * *".into(),
            last_run: None,
            next_run: "2024-01-01T01:00:00.000Z".into()
        }
    );
    let id = &task.task_id;
    let times = h
        .store
        .set_task_run_times(
            APP,
            id,
            Some(ts("2024-01-01T01:00:02Z")),
            Some(ts("2024-01-01T02:00:00Z")),
        )
        .await
        .unwrap();
    assert_eq!(
        times.trigger,
        Trigger::Schedule {
            cron: "0 * * * *".into(),
            last_run: Some("2024-01-01T01:00:02.000Z".into()),
            next_run: "2024-01-01T02:00:00.000Z".into()
        }
    );
    assert_eq!(
        times.updated_at, task.updated_at,
        "bookkeeping is not an update"
    );
    let only_next = h
        .store
        .set_task_run_times(APP, id, None, Some(ts("2024-01-01T03:00:00Z")))
        .await
        .unwrap();
    let Trigger::Schedule {
        last_run, next_run, ..
    } = only_next.trigger
    else {
        panic!()
    };
    assert_eq!(last_run.as_deref(), Some("2024-01-01T01:00:02.000Z"));
    assert_eq!(next_run, "2024-01-01T03:00:00.000Z");

    // Back to on demand: the cron and next run go, the last run stays.
    let update: TaskUpdate = parse(json!({"trigger": {"type": "onDemand"}}));
    let on_demand = h
        .store
        .update_task(APP, id, &update, None, h.now())
        .await
        .unwrap();
    assert_eq!(
        on_demand.trigger,
        Trigger::OnDemand {
            last_run: Some("2024-01-01T01:00:02.000Z".into())
        }
    );
    // `{cron}` alone means a schedule, and needs its next run.
    let update: TaskUpdate = parse(json!({"trigger": {"cron": "*/5 * * * *"}}));
    assert!(matches!(
        h.store.update_task(APP, id, &update, None, h.now()).await,
        Err(StoreError::Invalid(_))
    ));
    let again = h
        .store
        .update_task(APP, id, &update, Some(ts("2024-01-01T00:05:00Z")), h.now())
        .await
        .unwrap();
    assert_eq!(again.trigger.trigger_type(), TriggerType::Schedule);
}

async fn enable_and_disable(h: &Harness) {
    let task = create_task(h, APP).await;
    assert!(task.enabled);
    let at = h.now();
    let disabled = h
        .store
        .set_task_enabled(APP, &task.task_id, false, at)
        .await
        .unwrap();
    assert!(!disabled.enabled);
    assert_eq!(disabled.updated_at, at.to_rfc3339());
    let enabled = h
        .store
        .set_task_enabled(APP, &task.task_id, true, h.now())
        .await
        .unwrap();
    assert!(enabled.enabled);
    let update: TaskUpdate = parse(json!({"enabled": false}));
    let patched = h
        .store
        .update_task(APP, &task.task_id, &update, None, h.now())
        .await
        .unwrap();
    assert!(!patched.enabled);
}

async fn references_must_be_live(h: &Harness) {
    let source = create_source(h, APP, "s").await.source_id;
    let dest = create_destination(h, APP, "d").await.destination_id;
    let missing = "00000000-0000-4000-8000-000000000000";
    let tasks_before = h.count_rows("tasks").await;
    assert_invalid_reference(
        h.store
            .create_task(APP, &task_body(missing, &dest, "replace"), None, h.now())
            .await,
        "sourceID",
    );
    assert_invalid_reference(
        h.store
            .create_task(APP, &task_body(&source, missing, "replace"), None, h.now())
            .await,
        "destinationID",
    );
    let theirs = create_destination(h, OTHER_APP, "theirs")
        .await
        .destination_id;
    assert_invalid_reference(
        h.store
            .create_task(APP, &task_body(&source, &theirs, "replace"), None, h.now())
            .await,
        "destinationID",
    );
    let gone = create_destination(h, APP, "gone").await.destination_id;
    h.store
        .delete_destination(APP, &gone, h.now())
        .await
        .unwrap();
    assert_invalid_reference(
        h.store
            .create_task(APP, &task_body(&source, &gone, "replace"), None, h.now())
            .await,
        "destinationID",
    );
    assert_eq!(
        h.count_rows("tasks").await,
        tasks_before,
        "nothing half-written"
    );

    let task = h
        .store
        .create_task(APP, &task_body(&source, &dest, "replace"), None, h.now())
        .await
        .unwrap();
    // A refused update changes nothing, not even the fields it would have set first.
    let update: TaskUpdate = parse(json!({
        "destinationID": gone, "enabled": false, "trigger": {"type": "subscription"}
    }));
    assert_invalid_reference(
        h.store
            .update_task(APP, &task.task_id, &update, None, h.now())
            .await,
        "destinationID",
    );
    assert_eq!(h.store.get_task(APP, &task.task_id).await.unwrap(), task);
}

async fn save_needs_object_ids(h: &Harness) {
    let without = h
        .store
        .create_source(APP, &json_source("no-id", None, None), h.now())
        .await
        .unwrap();
    let dest = create_destination(h, APP, "d").await.destination_id;
    match h
        .store
        .create_task(
            APP,
            &task_body(&without.source_id, &dest, "save"),
            None,
            h.now(),
        )
        .await
    {
        Err(StoreError::Invalid(e)) => assert_eq!(e.path, "action"),
        other => panic!("{other:?}"),
    }
    // `replace` does not need them.
    h.store
        .create_task(
            APP,
            &task_body(&without.source_id, &dest, "replace"),
            None,
            h.now(),
        )
        .await
        .unwrap();
    // A source a `save` task reads cannot lose its `uniqueIDColumn`.
    let with = create_source(h, APP, "with-id").await;
    h.store
        .create_task(
            APP,
            &task_body(&with.source_id, &dest, "save"),
            None,
            h.now(),
        )
        .await
        .unwrap();
    let update = parse(json!({"input": {"url": "https://example.com/other.json"}}));
    match h
        .store
        .update_source(APP, &with.source_id, &update, h.now())
        .await
    {
        Err(StoreError::Invalid(e)) => assert_eq!(e.path, "input.uniqueIDColumn"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        h.store.get_source(APP, &with.source_id).await.unwrap(),
        with
    );
}

/// Three tasks: (replace, onDemand, enabled), (save, schedule, disabled), (replace,
/// subscription, enabled), over two sources and two destinations. Returns their IDs in order.
async fn seed(h: &Harness) -> (Vec<String>, Vec<String>, Vec<String>) {
    let sources = vec![
        create_source(h, APP, "s1").await.source_id,
        create_source(h, APP, "s2").await.source_id,
    ];
    let dests = vec![
        create_destination(h, APP, "d1").await.destination_id,
        create_destination(h, APP, "d2").await.destination_id,
    ];
    let mut ids = Vec::new();
    for (source, dest, action, trigger, enabled) in [
        (0, 0, "replace", json!({"type": "onDemand"}), true),
        (
            1,
            0,
            "save",
            json!({"type": "schedule", "cron": "* * * * *"}),
            false,
        ),
        (0, 1, "replace", json!({"type": "subscription"}), true),
    ] {
        let body = parse(json!({
            "sourceID": sources[source], "destinationID": dests[dest], "action": action,
            "trigger": trigger, "enabled": enabled
        }));
        let next = Some(ts("2024-02-01T00:00:00Z"));
        ids.push(
            h.store
                .create_task(APP, &body, next, h.now())
                .await
                .unwrap()
                .task_id,
        );
    }
    (ids, sources, dests)
}

async fn ids_of(h: &Harness, query: TaskQuery) -> Vec<String> {
    let page = h.store.list_tasks(APP, &query).await.unwrap();
    assert_eq!(page.pagination.nb_items as usize, page.items.len());
    page.items.into_iter().map(|t| t.task_id).collect()
}

async fn filters(h: &Harness) {
    let (t, s, d) = seed(h).await;
    let asc = || TaskQuery {
        order: Order::Asc,
        ..Default::default()
    };
    let q = TaskQuery {
        actions: vec![ActionType::Replace],
        ..asc()
    };
    assert_eq!(ids_of(h, q).await, [t[0].clone(), t[2].clone()]);
    let q = TaskQuery {
        actions: vec![ActionType::Replace, ActionType::Save],
        ..asc()
    };
    assert_eq!(ids_of(h, q).await, t);
    let q = TaskQuery {
        enabled: Some(false),
        ..asc()
    };
    assert_eq!(ids_of(h, q).await, [t[1].clone()]);
    let q = TaskQuery {
        enabled: Some(true),
        ..asc()
    };
    assert_eq!(ids_of(h, q).await, [t[0].clone(), t[2].clone()]);
    let q = TaskQuery {
        source_ids: vec![s[1].clone()],
        ..asc()
    };
    assert_eq!(ids_of(h, q).await, [t[1].clone()]);
    let q = TaskQuery {
        source_ids: s.clone(),
        ..asc()
    };
    assert_eq!(ids_of(h, q).await, t);
    let q = TaskQuery {
        destination_ids: vec![d[0].clone()],
        ..asc()
    };
    assert_eq!(ids_of(h, q).await, [t[0].clone(), t[1].clone()]);
    let q = TaskQuery {
        trigger_types: vec![TriggerType::Schedule, TriggerType::Subscription],
        ..asc()
    };
    assert_eq!(ids_of(h, q).await, [t[1].clone(), t[2].clone()]);
    let q = TaskQuery {
        actions: vec![ActionType::Replace],
        destination_ids: vec![d[1].clone()],
        enabled: Some(true),
        ..asc()
    };
    assert_eq!(ids_of(h, q).await, [t[2].clone()]);
}

async fn sorts(h: &Harness) {
    let (t, _, _) = seed(h).await;
    h.store
        .update_task(
            APP,
            &t[0],
            &parse(json!({"failureThreshold": 1})),
            None,
            h.now(),
        )
        .await
        .unwrap();
    let q = |sort, order| TaskQuery {
        sort,
        order,
        ..Default::default()
    };
    let ids = |idx: [usize; 3]| idx.map(|i| t[i].clone()).to_vec();
    use TaskSortKeys as K;
    assert_eq!(ids_of(h, q(K::CreatedAt, Order::Asc)).await, ids([0, 1, 2]));
    assert_eq!(
        ids_of(h, q(K::CreatedAt, Order::Desc)).await,
        ids([2, 1, 0])
    );
    assert_eq!(ids_of(h, TaskQuery::default()).await, ids([2, 1, 0]));
    assert_eq!(
        ids_of(h, q(K::UpdatedAt, Order::Desc)).await,
        ids([0, 2, 1])
    );
    assert_eq!(ids_of(h, q(K::UpdatedAt, Order::Asc)).await, ids([1, 2, 0]));
    assert_eq!(ids_of(h, q(K::Enabled, Order::Asc)).await, ids([1, 0, 2]));
    assert_eq!(ids_of(h, q(K::Enabled, Order::Desc)).await, ids([2, 0, 1]));
    assert_eq!(ids_of(h, q(K::Action, Order::Asc)).await, ids([0, 2, 1]));
    assert_eq!(ids_of(h, q(K::Action, Order::Desc)).await, ids([1, 2, 0]));
    // onDemand < schedule < subscription.
    assert_eq!(
        ids_of(h, q(K::TriggerType, Order::Asc)).await,
        ids([0, 1, 2])
    );
    assert_eq!(
        ids_of(h, q(K::TriggerType, Order::Desc)).await,
        ids([2, 1, 0])
    );
}

async fn app_isolation(h: &Harness) {
    let task = create_task(h, APP).await;
    let id = &task.task_id;
    assert_not_found(h.store.get_task(OTHER_APP, id).await);
    assert_not_found(
        h.store
            .set_task_enabled(OTHER_APP, id, false, h.now())
            .await,
    );
    assert_not_found(h.store.delete_task(OTHER_APP, id, h.now()).await);
    assert_not_found(h.store.create_run(OTHER_APP, id, h.now()).await);
    assert_not_found(
        h.store
            .update_task(
                OTHER_APP,
                id,
                &parse(json!({"enabled": false})),
                None,
                h.now(),
            )
            .await,
    );
    // Another application's source cannot be used either.
    let dest = create_destination(h, OTHER_APP, "d").await.destination_id;
    assert_invalid_reference(
        h.store
            .create_task(
                OTHER_APP,
                &task_body(&task.source_id, &dest, "replace"),
                None,
                h.now(),
            )
            .await,
        "sourceID",
    );
    assert!(
        h.store
            .search_tasks(OTHER_APP, std::slice::from_ref(id))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        h.store
            .search_tasks(APP, std::slice::from_ref(id))
            .await
            .unwrap(),
        [task]
    );
}

//! Runs and events as the API sees them: creation, filters, sorts, windows and scoping.

use ingest_model::{EventSortKeys, EventStatus, EventType, Order, RunSortKeys, RunStatus, RunType};
use ingest_store::{EventQuery, NewEvent, RunQuery, Timestamp};
use serde_json::json;

use crate::fixtures::*;
use crate::harness::Harness;

ingest_store::both_backends!(
    create_run,
    run_filters_and_sorts,
    run_window,
    events_round_trip,
    event_filters_and_sorts,
    runs_and_events_are_scoped,
);

async fn create_run(h: &Harness) {
    let task = create_task(h, APP).await;
    let at = h.now();
    let run = h.store.create_run(APP, &task.task_id, at).await.unwrap();
    assert_eq!(run.status, RunStatus::Created);
    assert_eq!(run.run_type, RunType::Reindex);
    assert_eq!(
        (run.app_id.as_str(), run.task_id.as_str()),
        (APP, task.task_id.as_str())
    );
    assert_eq!(run.created_at, at.to_rfc3339());
    assert_eq!(run.updated_at, run.created_at);
    assert_eq!(run.failure_threshold, Some(0));
    assert_eq!(
        (
            &run.progress,
            &run.outcome,
            &run.reason_code,
            &run.started_at,
            &run.finished_at
        ),
        (&None, &None, &None, &None, &None)
    );
    assert_eq!(h.store.get_run(APP, &run.run_id).await.unwrap(), run);

    // `save` gives `update`; disabled tasks can run manually.
    let source = create_source(h, APP, "s2").await;
    let save = h
        .store
        .create_task(
            APP,
            &parse(
                json!({"sourceID": source.source_id, "destinationID": task.destination_id,
                "trigger": {"type": "onDemand"}, "action": "save", "enabled": false,
                "failureThreshold": 30}),
            ),
            None,
            h.now(),
        )
        .await
        .unwrap();
    let run = h
        .store
        .create_run(APP, &save.task_id, h.now())
        .await
        .unwrap();
    assert_eq!(run.run_type, RunType::Update);
    assert_eq!(run.failure_threshold, Some(30));
    assert_not_found(h.store.get_run(APP, "nope").await);
}

async fn run_filters_and_sorts(h: &Harness) {
    let t1 = create_task(h, APP).await.task_id;
    let t2 = create_task(h, APP).await.task_id;
    // r0 finished (t1), r1 started (t2), r2 created (t1), r3 created (t2).
    let r0 = run_in(h, &t1, RunStatus::Finished).await;
    let r1 = run_in(h, &t2, RunStatus::Started).await;
    let r2 = run_in(h, &t1, RunStatus::Created).await;
    let r3 = run_in(h, &t2, RunStatus::Created).await;
    let ids = async |q: RunQuery| -> Vec<String> {
        let page = h.store.list_runs(APP, &q).await.unwrap();
        assert_eq!(page.pagination.nb_items as usize, page.items.len());
        page.items.into_iter().map(|r| r.run_id).collect()
    };
    let asc = || RunQuery {
        order: Order::Asc,
        ..Default::default()
    };
    let q = RunQuery {
        statuses: vec![RunStatus::Created],
        ..asc()
    };
    assert_eq!(ids(q).await, [r2.clone(), r3.clone()]);
    let q = RunQuery {
        statuses: vec![RunStatus::Finished, RunStatus::Started],
        ..asc()
    };
    assert_eq!(ids(q).await, [r0.clone(), r1.clone()]);
    let q = RunQuery {
        statuses: vec![RunStatus::Idled],
        ..asc()
    };
    assert!(ids(q).await.is_empty());
    let q = RunQuery {
        task_id: Some(t1.clone()),
        ..asc()
    };
    assert_eq!(ids(q).await, [r0.clone(), r2.clone()]);
    let q = RunQuery {
        task_id: Some(t2.clone()),
        statuses: vec![RunStatus::Created],
        ..asc()
    };
    assert_eq!(ids(q).await, std::slice::from_ref(&r3));

    let s = |sort, order| RunQuery {
        sort,
        order,
        ..Default::default()
    };
    let all = [r0.clone(), r1.clone(), r2.clone(), r3.clone()];
    let rev: Vec<_> = all.iter().rev().cloned().collect();
    assert_eq!(ids(s(RunSortKeys::CreatedAt, Order::Asc)).await, all);
    assert_eq!(ids(s(RunSortKeys::CreatedAt, Order::Desc)).await, rev);
    assert_eq!(ids(RunQuery::default()).await, rev);
    // created < finished < started.
    assert_eq!(
        ids(s(RunSortKeys::Status, Order::Asc)).await,
        [r2.clone(), r3.clone(), r0.clone(), r1.clone()]
    );
    assert_eq!(
        ids(s(RunSortKeys::Status, Order::Desc)).await,
        [r1.clone(), r0.clone(), r3.clone(), r2.clone()]
    );
    // Last updates: r0 at its finish, r1 at its claim, r2 and r3 at creation, in that order.
    assert_eq!(ids(s(RunSortKeys::UpdatedAt, Order::Asc)).await, all);
    assert_eq!(ids(s(RunSortKeys::UpdatedAt, Order::Desc)).await, rev);
}

async fn run_window(h: &Harness) {
    let task = create_task(h, APP).await.task_id;
    let at = |s: &str| Timestamp::parse(s).unwrap();
    let mut ids = Vec::new();
    for day in ["2024-03-01", "2024-03-02", "2024-03-03"] {
        let time = at(&format!("{day}T12:00:00Z"));
        ids.push(h.store.create_run(APP, &task, time).await.unwrap().run_id);
    }
    let window = |start: Option<&str>, end: Option<&str>| RunQuery {
        start_date: start.map(at),
        end_date: end.map(at),
        order: Order::Asc,
        ..Default::default()
    };
    let list = async |q: RunQuery| -> Vec<String> {
        let page = h.store.list_runs(APP, &q).await.unwrap();
        page.items.into_iter().map(|r| r.run_id).collect()
    };
    assert_eq!(list(window(None, None)).await, ids);
    assert_eq!(
        list(window(Some("2024-03-02T12:00:00Z"), None)).await,
        ids[1..]
    );
    assert_eq!(
        list(window(None, Some("2024-03-02T12:00:00Z"))).await,
        ids[..2]
    );
    assert_eq!(
        list(window(
            Some("2024-03-02T00:00:00Z"),
            Some("2024-03-02T23:59:59Z")
        ))
        .await,
        ids[1..2]
    );
}

fn event(status: EventStatus, event_type: EventType, at: Timestamp) -> NewEvent {
    NewEvent {
        parent_id: None,
        status,
        event_type,
        data: None,
        batch_size: 0,
        published_at: at,
    }
}

async fn events_round_trip(h: &Harness) {
    let task = create_task(h, APP).await.task_id;
    let run = h
        .store
        .create_run(APP, &task, h.now())
        .await
        .unwrap()
        .run_id;
    let at = h.now();
    let mut first = event(EventStatus::Succeeded, EventType::Record, at);
    first.batch_size = 1000;
    first.data = Some(
        json!({"index": "products", "taskID": 42, "nbRecords": 1000})
            .as_object()
            .unwrap()
            .clone(),
    );
    let inserted = h.store.insert_events(APP, &run, &[first]).await.unwrap();
    let mut child = event(EventStatus::Failed, EventType::Record, h.now());
    child.parent_id = Some(inserted[0].event_id.clone());
    let inserted2 = h.store.insert_events(APP, &run, &[child]).await.unwrap();
    let got = h
        .store
        .get_event(APP, &run, &inserted[0].event_id)
        .await
        .unwrap();
    assert_eq!(got, inserted[0]);
    assert_eq!(got.batch_size, 1000);
    assert_eq!(got.published_at, at.to_rfc3339());
    assert_eq!(got.data.as_ref().unwrap()["taskID"], 42);
    let got2 = h
        .store
        .get_event(APP, &run, &inserted2[0].event_id)
        .await
        .unwrap();
    assert_eq!(got2.parent_id.as_deref(), Some(&*inserted[0].event_id));
    assert_not_found(h.store.get_event(APP, &run, "nope").await);
    assert_not_found(
        h.store
            .insert_events(
                APP,
                "nope",
                &[event(EventStatus::Created, EventType::Log, h.now())],
            )
            .await,
    );
}

async fn event_filters_and_sorts(h: &Harness) {
    let task = create_task(h, APP).await.task_id;
    let run = h
        .store
        .create_run(APP, &task, h.now())
        .await
        .unwrap()
        .run_id;
    let other = h
        .store
        .create_run(APP, &task, h.now())
        .await
        .unwrap()
        .run_id;
    use EventStatus as S;
    use EventType as T;
    let spec = [
        (S::Started, T::Fetch),
        (S::Succeeded, T::Fetch),
        (S::Succeeded, T::Record),
        (S::Failed, T::Record),
        (S::Retried, T::Record),
        (S::Succeeded, T::Log),
    ];
    let mut ids = Vec::new();
    for (status, kind) in spec {
        let e = h
            .store
            .insert_events(APP, &run, &[event(status, kind, h.now())])
            .await
            .unwrap();
        ids.push(e[0].event_id.clone());
    }
    h.store
        .insert_events(APP, &other, &[event(S::Succeeded, T::Log, h.now())])
        .await
        .unwrap();
    let list = async |q: EventQuery| -> Vec<String> {
        let page = h.store.list_events(APP, &run, &q).await.unwrap();
        assert_eq!(page.pagination.nb_items as usize, page.items.len());
        page.items.into_iter().map(|e| e.event_id).collect()
    };
    let pick = |idx: &[usize]| idx.iter().map(|&i| ids[i].clone()).collect::<Vec<_>>();
    let asc = || EventQuery {
        order: Order::Asc,
        ..Default::default()
    };
    assert_eq!(list(asc()).await, ids);
    let q = EventQuery {
        types: vec![T::Record],
        ..asc()
    };
    assert_eq!(list(q).await, pick(&[2, 3, 4]));
    let q = EventQuery {
        types: vec![T::Fetch, T::Log],
        ..asc()
    };
    assert_eq!(list(q).await, pick(&[0, 1, 5]));
    let q = EventQuery {
        statuses: vec![S::Succeeded],
        ..asc()
    };
    assert_eq!(list(q).await, pick(&[1, 2, 5]));
    let q = EventQuery {
        statuses: vec![S::Failed, S::Retried],
        ..asc()
    };
    assert_eq!(list(q).await, pick(&[3, 4]));
    let q = EventQuery {
        statuses: vec![S::Succeeded],
        types: vec![T::Record, T::Log],
        ..asc()
    };
    assert_eq!(list(q).await, pick(&[2, 5]));
    let q = EventQuery {
        types: vec![T::Transform],
        ..asc()
    };
    assert!(list(q).await.is_empty());

    let s = |sort, order| EventQuery {
        sort,
        order,
        ..Default::default()
    };
    use EventSortKeys as K;
    assert_eq!(list(s(K::PublishedAt, Order::Asc)).await, ids);
    assert_eq!(list(EventQuery::default()).await, pick(&[5, 4, 3, 2, 1, 0]));
    // failed < retried < started < succeeded.
    assert_eq!(
        list(s(K::Status, Order::Asc)).await,
        pick(&[3, 4, 0, 1, 2, 5])
    );
    assert_eq!(
        list(s(K::Status, Order::Desc)).await,
        pick(&[5, 2, 1, 0, 4, 3])
    );
    // fetch < log < record.
    assert_eq!(
        list(s(K::Type, Order::Asc)).await,
        pick(&[0, 1, 5, 2, 3, 4])
    );
    assert_eq!(
        list(s(K::Type, Order::Desc)).await,
        pick(&[4, 3, 2, 5, 1, 0])
    );
    // Paging and the publication window.
    let q = EventQuery {
        page: ingest_store::PageRequest {
            page: 2,
            items_per_page: 4,
        },
        ..asc()
    };
    let page = h.store.list_events(APP, &run, &q).await.unwrap();
    assert_eq!(page.pagination, ingest_model::Pagination::new(2, 4, 6));
    assert_eq!(
        page.items
            .iter()
            .map(|e| e.event_id.clone())
            .collect::<Vec<_>>(),
        pick(&[4, 5])
    );
    let third = h.store.get_event(APP, &run, &ids[2]).await.unwrap();
    let q = EventQuery {
        start_date: Some(Timestamp::parse(&third.published_at).unwrap()),
        ..asc()
    };
    assert_eq!(list(q).await, pick(&[2, 3, 4, 5]));
}

async fn runs_and_events_are_scoped(h: &Harness) {
    let task = create_task(h, APP).await.task_id;
    let run = h
        .store
        .create_run(APP, &task, h.now())
        .await
        .unwrap()
        .run_id;
    let other_run = h
        .store
        .create_run(APP, &task, h.now())
        .await
        .unwrap()
        .run_id;
    let e = h
        .store
        .insert_events(
            APP,
            &run,
            &[event(EventStatus::Created, EventType::Log, h.now())],
        )
        .await
        .unwrap();
    let event_id = &e[0].event_id;
    assert_not_found(h.store.get_run(OTHER_APP, &run).await);
    assert_not_found(h.store.get_event(OTHER_APP, &run, event_id).await);
    assert_not_found(h.store.get_event(APP, &other_run, event_id).await);
    assert_not_found(
        h.store
            .list_events(OTHER_APP, &run, &EventQuery::default())
            .await,
    );
    let theirs = h
        .store
        .list_runs(OTHER_APP, &RunQuery::default())
        .await
        .unwrap();
    assert_eq!(theirs.pagination.nb_items, 0);
    // Runs of a deleted task stay readable.
    h.store.delete_task(APP, &task, h.now()).await.unwrap();
    let kept = h.store.get_run(APP, &run).await.unwrap();
    assert_eq!(
        kept.status,
        RunStatus::Skipped,
        "a queued run of a deleted task is skipped"
    );
    assert!(kept.reason.is_some() && kept.finished_at.is_some());
    let all = h.store.list_runs(APP, &RunQuery::default()).await.unwrap();
    assert_eq!(all.pagination.nb_items, 2);
}

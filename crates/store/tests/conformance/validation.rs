//! Source validation (docs/api.md D6): the source to read, checked but never saved, and the
//! finished `validate` run that belongs to no task.

use ingest_model::{
    AuthInput, EventStatus, EventType, RunOutcome, RunStatus, RunType, SourceInput, SourceUpdate,
};
use ingest_store::{FinishedValidation, NewEvent, RunQuery};
use serde_json::json;

use crate::fixtures::*;
use crate::harness::Harness;

ingest_store::both_backends!(
    a_validation_is_a_finished_run_of_no_task,
    a_draft_source_brings_its_authentication_secrets,
    an_update_is_applied_to_the_stored_source_without_saving_it,
);

async fn a_validation_is_a_finished_run_of_no_task(h: &Harness) {
    let task = create_task(h, APP).await.task_id;
    let queued = h.store.create_run(APP, &task, h.now()).await.unwrap();
    let events = [NewEvent {
        parent_id: None,
        status: EventStatus::Failed,
        event_type: EventType::Fetch,
        data: json!({"message": "connection refused"})
            .as_object()
            .cloned(),
        batch_size: 0,
        published_at: h.now(),
    }];
    let (run, stored) = h
        .store
        .record_validation(
            APP,
            &FinishedValidation {
                outcome: RunOutcome::Failure,
                reason: "connection refused",
                events: &events,
            },
            h.now(),
        )
        .await
        .unwrap();
    assert_eq!(run.task_id, "");
    assert_eq!(run.status, RunStatus::Finished);
    assert_eq!(run.run_type, RunType::Validate);
    assert_eq!(run.outcome, Some(RunOutcome::Failure));
    assert_eq!(run.reason.as_deref(), Some("connection refused"));
    assert!(run.finished_at.is_some());
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].run_id, run.run_id);

    let read = h.store.get_run(APP, &run.run_id).await.unwrap();
    assert_eq!(read, run);
    let listed = h
        .store
        .list_events(APP, &run.run_id, &Default::default())
        .await
        .unwrap();
    assert_eq!(listed.items, stored);
    assert_not_found(h.store.get_run(OTHER_APP, &run.run_id).await);

    // Listed with the task's runs, counted, filtered by type, never in a task's own list.
    let all = h.store.list_runs(APP, &RunQuery::default()).await.unwrap();
    assert_eq!(all.pagination.nb_items, 2);
    let validations = RunQuery {
        types: vec![RunType::Validate],
        ..RunQuery::default()
    };
    let only = h.store.list_runs(APP, &validations).await.unwrap();
    assert_eq!(only.pagination.nb_items, 1);
    assert_eq!(only.items[0].run_id, run.run_id);
    let of_task = RunQuery {
        task_id: Some(task.clone()),
        ..RunQuery::default()
    };
    let of_task = h.store.list_runs(APP, &of_task).await.unwrap();
    assert_eq!(of_task.pagination.nb_items, 1);
    assert_eq!(of_task.items[0].run_id, queued.run_id);
}

async fn a_draft_source_brings_its_authentication_secrets(h: &Harness) {
    let basic = create_basic(h, APP, "reader").await.authentication_id;
    let draft = json_source("draft", Some("id"), Some(&basic));
    let read = h.store.source_to_validate(APP, &draft).await.unwrap();
    assert!(matches!(read.input, SourceInput::Json(_)));
    match read.authentication {
        Some(AuthInput::Basic { password, .. }) => assert_eq!(password.expose(), "pw"),
        other => panic!("expected the basic authentication, got {other:?}"),
    }
    // Nothing was saved.
    let sources = h
        .store
        .list_sources(APP, &Default::default())
        .await
        .unwrap();
    assert_eq!(sources.pagination.nb_items, 0);

    // The checks of a create: another application's authentication, a kind the type refuses.
    let foreign = create_basic(h, OTHER_APP, "theirs").await.authentication_id;
    let draft = json_source("draft", Some("id"), Some(&foreign));
    assert_invalid_reference(
        h.store.source_to_validate(APP, &draft).await,
        "authenticationID",
    );
}

async fn an_update_is_applied_to_the_stored_source_without_saving_it(h: &Harness) {
    let source = create_source(h, APP, "catalog").await;
    let update: SourceUpdate = parse(json!({
        "name": "renamed",
        "input": {"url": "https://example.com/other.json"}
    }));
    let read = h
        .store
        .updated_source_to_validate(APP, &source.source_id, &update)
        .await
        .unwrap();
    assert!(read.authentication.is_none());
    let stored = h.store.get_source(APP, &source.source_id).await.unwrap();
    assert_eq!(stored, source, "validate before update saves nothing");
    // What it reads is what the same PATCH then saves.
    let patched = h
        .store
        .update_source(APP, &source.source_id, &update, h.now())
        .await
        .unwrap();
    assert_eq!(read.input, patched.input);
    assert_ne!(read.input, source.input);

    let bad: SourceUpdate = parse(json!({"input": {"url": 7}}));
    let error = h
        .store
        .updated_source_to_validate(APP, &source.source_id, &bad)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("input.url"), "{error}");
    assert_not_found(
        h.store
            .updated_source_to_validate(OTHER_APP, &source.source_id, &update)
            .await,
    );
}

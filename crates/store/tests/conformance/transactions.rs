//! Atomicity: an operation that fails half-way (here, a trigger injected into the database
//! refuses the last of its writes) leaves nothing behind. And what is written stays: a store
//! reopened on the same database finds it, and needs the same key to decrypt secrets.

use std::time::Duration;

use ingest_model::{EventStatus, EventType, RunOutcome, RunReasonCode, RunStatus};
use ingest_store::{AUTO_DISABLE_AFTER, NewEvent, RunFinish, StoreError};

use crate::fixtures::*;
use crate::harness::Harness;

ingest_store::both_backends!(
    failed_event_insert_rolls_back,
    failed_finish_rolls_back,
    reopening_keeps_data_and_needs_the_key,
    nul_characters_are_refused_alike,
);

/// Makes every insert of an event of type `log` fail.
async fn refuse_log_events(h: &Harness) {
    h.execute_raw(
        "CREATE TRIGGER refuse_log BEFORE INSERT ON events WHEN NEW.type = 'log' \
         BEGIN SELECT RAISE(ABORT, 'injected failure'); END;",
        "CREATE FUNCTION refuse_log() RETURNS trigger AS $$ BEGIN \
           IF NEW.type = 'log' THEN RAISE EXCEPTION 'injected failure'; END IF; \
           RETURN NEW; END $$ LANGUAGE plpgsql; \
         CREATE TRIGGER refuse_log BEFORE INSERT ON events \
           FOR EACH ROW EXECUTE FUNCTION refuse_log();",
    )
    .await;
}

fn event(event_type: EventType) -> NewEvent {
    NewEvent {
        parent_id: None,
        status: EventStatus::Succeeded,
        event_type,
        data: None,
        batch_size: 1,
        published_at: ingest_store::Timestamp::from_unix(1_700_000_000, 0),
    }
}

async fn failed_event_insert_rolls_back(h: &Harness) {
    let task = create_task(h, APP).await;
    let run = h
        .store
        .create_run(APP, &task.task_id, h.now())
        .await
        .unwrap();
    refuse_log_events(h).await;
    let batch = [
        event(EventType::Fetch),
        event(EventType::Record),
        event(EventType::Log),
    ];
    let err = h
        .store
        .insert_events(APP, &run.run_id, &batch)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Internal { .. }), "{err:?}");
    assert!(
        !err.to_string().contains("injected"),
        "no database text in messages: {err}"
    );
    assert_eq!(
        h.count_rows("events").await,
        0,
        "the first two events were rolled back"
    );
    h.store
        .insert_events(APP, &run.run_id, &batch[..2])
        .await
        .unwrap();
    assert_eq!(h.count_rows("events").await, 2);
}

async fn failed_finish_rolls_back(h: &Harness) {
    let task = create_task(h, APP).await;
    let fail = RunFinish {
        outcome: RunOutcome::Failure,
        reason_code: RunReasonCode::Critical,
        reason: Some("boom".into()),
        progress: None,
    };
    let lease = Duration::from_secs(30);
    for _ in 0..AUTO_DISABLE_AFTER - 1 {
        h.store
            .create_run(APP, &task.task_id, h.now())
            .await
            .unwrap();
        let c = h
            .store
            .claim_next_run("w", lease, h.now())
            .await
            .unwrap()
            .unwrap();
        h.store
            .finish_run(&c.run.run_id, &c.lease_token, &fail, h.now())
            .await
            .unwrap();
    }
    h.store
        .create_run(APP, &task.task_id, h.now())
        .await
        .unwrap();
    let c = h
        .store
        .claim_next_run("w", lease, h.now())
        .await
        .unwrap()
        .unwrap();
    // The last failure finishes the run, disables the task, then writes a `log` event: refused.
    refuse_log_events(h).await;
    let before = h.store.get_task(APP, &task.task_id).await.unwrap();
    assert!(
        h.store
            .finish_run(&c.run.run_id, &c.lease_token, &fail, h.now())
            .await
            .is_err()
    );
    let run = h.store.get_run(APP, &c.run.run_id).await.unwrap();
    assert_eq!(
        run.status,
        RunStatus::Started,
        "the run update was rolled back"
    );
    assert_eq!(run.outcome, None);
    assert_eq!(h.store.get_task(APP, &task.task_id).await.unwrap(), before);
    // The lease still holds: the worker can retry.
    h.store
        .heartbeat(&c.run.run_id, &c.lease_token, lease, h.now())
        .await
        .unwrap();
}

async fn reopening_keeps_data_and_needs_the_key(h: &Harness) {
    h.store.ping().await.unwrap();
    let auth = h
        .store
        .create_authentication(APP, &basic("b", "kept-secret"), h.now())
        .await
        .unwrap();
    let id = &auth.authentication_id;
    let key = ingest_store::SecretKey::from_bytes([42; 32]);
    let other = h.reopen(key).await;
    other.ping().await.unwrap();
    // Reads that do not decrypt work with any key; decrypting needs the right one.
    assert_eq!(other.get_authentication(APP, id).await.unwrap(), auth);
    let err = other
        .authentication_with_secrets(APP, id)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Internal { .. }), "{err:?}");
    assert!(!err.to_string().contains("kept-secret"));
    let full = h.store.authentication_with_secrets(APP, id).await.unwrap();
    assert_eq!(full.input.to_secret_json()["password"], "kept-secret");
}

async fn nul_characters_are_refused_alike(h: &Harness) {
    let err = h
        .store
        .create_authentication(APP, &basic("bad\0name", "pw"), h.now())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
    assert_eq!(h.count_rows("authentications").await, 0);
    assert!(matches!(
        h.store.get_source(APP, "id\0").await,
        Err(StoreError::Invalid(_))
    ));
}

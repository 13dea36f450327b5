//! References between resources: they must be live, in the same application and of a fitting
//! kind; what is in use cannot be deleted; a refused write leaves nothing.

use ingest_model::{DestinationUpdate, SourceUpdate};
use ingest_store::{Resource, StoreError};
use serde_json::json;

use crate::fixtures::*;
use crate::harness::Harness;

ingest_store::both_backends!(
    references_must_be_live_in_the_same_app,
    authentication_kind_must_fit,
    in_use_deletes_are_refused,
    refused_writes_leave_nothing,
);

async fn references_must_be_live_in_the_same_app(h: &Harness) {
    let missing = "00000000-0000-4000-8000-000000000000";
    assert_invalid_reference(
        h.store
            .create_source(APP, &json_source("s", None, Some(missing)), h.now())
            .await,
        "authenticationID",
    );
    let theirs = create_basic(h, OTHER_APP, "theirs").await.authentication_id;
    assert_invalid_reference(
        h.store
            .create_source(APP, &json_source("s", None, Some(&theirs)), h.now())
            .await,
        "authenticationID",
    );
    let gone = create_basic(h, APP, "gone").await.authentication_id;
    h.store
        .delete_authentication(APP, &gone, h.now())
        .await
        .unwrap();
    let err = h
        .store
        .create_source(APP, &json_source("s", None, Some(&gone)), h.now())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("authenticationID: no authentication `{gone}` in this application")
    );
    assert_invalid_reference(
        h.store
            .create_destination(APP, &destination("d", Some(missing)), h.now())
            .await,
        "authenticationID",
    );
    let source = create_source(h, APP, "s").await;
    let update: SourceUpdate = parse(json!({"authenticationID": gone}));
    assert_invalid_reference(
        h.store
            .update_source(APP, &source.source_id, &update, h.now())
            .await,
        "authenticationID",
    );
    let dest = create_destination(h, APP, "d").await;
    let update: DestinationUpdate = parse(json!({"authenticationID": missing}));
    assert_invalid_reference(
        h.store
            .update_destination(APP, &dest.destination_id, &update, h.now())
            .await,
        "authenticationID",
    );
    let live = create_basic(h, APP, "live").await.authentication_id;
    let ok = h
        .store
        .create_source(APP, &json_source("s2", None, Some(&live)), h.now())
        .await
        .unwrap();
    assert_eq!(ok.authentication_id.as_deref(), Some(&*live));
}

async fn authentication_kind_must_fit(h: &Harness) {
    let basic = create_basic(h, APP, "basic").await.authentication_id;
    let oauth = create_auth(
        h,
        APP,
        json!({"type": "oauth", "name": "o",
               "input": {"url": "https://x", "client_id": "c", "client_secret": "s"}}),
    )
    .await
    .authentication_id;
    let ct = |auth: &str| {
        parse(
            json!({"type": "commercetools", "name": "ct", "authenticationID": auth,
            "input": {"url": "https://api.ct", "projectKey": "p"}}),
        )
    };
    let err = h
        .store
        .create_source(APP, &ct(&basic), h.now())
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            StoreError::InvalidReference {
                field: "authenticationID",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("`oauth`"), "{err}");
    let source = h
        .store
        .create_source(APP, &ct(&oauth), h.now())
        .await
        .unwrap();
    // A destination needs an algolia authentication.
    assert_invalid_reference(
        h.store
            .create_destination(APP, &destination("d", Some(&basic)), h.now())
            .await,
        "authenticationID",
    );
    // Changing the type of an authentication a source needs is refused.
    let retype = parse(json!({"type": "basic", "input": {"username": "u", "password": "p"}}));
    match h
        .store
        .update_authentication(APP, &oauth, &retype, h.now())
        .await
    {
        Err(StoreError::InUse {
            used_by: Resource::Source,
            user_id,
            ..
        }) => assert_eq!(user_id, source.source_id),
        other => panic!("{other:?}"),
    }
}

async fn in_use_deletes_are_refused(h: &Harness) {
    let auth = create_basic(h, APP, "a").await.authentication_id;
    let source = h
        .store
        .create_source(APP, &json_source("s", Some("id"), Some(&auth)), h.now())
        .await
        .unwrap();
    let algolia = create_auth(h, APP, algolia_auth("alg"))
        .await
        .authentication_id;
    let dest = h
        .store
        .create_destination(APP, &destination("d", Some(&algolia)), h.now())
        .await
        .unwrap();
    let task = h
        .store
        .create_task(
            APP,
            &task_body(&source.source_id, &dest.destination_id, "save"),
            None,
            h.now(),
        )
        .await
        .unwrap();

    let err = h
        .store
        .delete_authentication(APP, &auth, h.now())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "authentication `{auth}` is used by source `{}`",
            source.source_id
        )
    );
    assert!(matches!(
        h.store.delete_authentication(APP, &algolia, h.now()).await,
        Err(StoreError::InUse {
            used_by: Resource::Destination,
            ..
        })
    ));
    match h.store.delete_source(APP, &source.source_id, h.now()).await {
        Err(StoreError::InUse {
            resource: Resource::Source,
            used_by: Resource::Task,
            user_id,
            ..
        }) => assert_eq!(user_id, task.task_id),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        h.store
            .delete_destination(APP, &dest.destination_id, h.now())
            .await,
        Err(StoreError::InUse {
            used_by: Resource::Task,
            ..
        })
    ));
    // Nothing was deleted.
    h.store.get_source(APP, &source.source_id).await.unwrap();
    h.store.get_authentication(APP, &auth).await.unwrap();

    // Once the task is gone, everything can go, in order.
    h.store
        .delete_task(APP, &task.task_id, h.now())
        .await
        .unwrap();
    h.store
        .delete_source(APP, &source.source_id, h.now())
        .await
        .unwrap();
    h.store
        .delete_destination(APP, &dest.destination_id, h.now())
        .await
        .unwrap();
    h.store
        .delete_authentication(APP, &auth, h.now())
        .await
        .unwrap();
    h.store
        .delete_authentication(APP, &algolia, h.now())
        .await
        .unwrap();
}

async fn refused_writes_leave_nothing(h: &Harness) {
    let missing = "00000000-0000-4000-8000-000000000000";
    let before: Vec<i64> =
        futures::future::join_all(["sources", "destinations"].map(|t| h.count_rows(t))).await;
    assert!(
        h.store
            .create_source(APP, &json_source("s", None, Some(missing)), h.now())
            .await
            .is_err()
    );
    assert!(
        h.store
            .create_destination(APP, &destination("d", Some(missing)), h.now())
            .await
            .is_err()
    );
    let after: Vec<i64> =
        futures::future::join_all(["sources", "destinations"].map(|t| h.count_rows(t))).await;
    assert_eq!(before, after);
    // A refused update keeps every field, including the ones it would have changed first.
    let source = create_source(h, APP, "s").await;
    let update: SourceUpdate = parse(json!({"name": "renamed", "authenticationID": missing}));
    assert!(
        h.store
            .update_source(APP, &source.source_id, &update, h.now())
            .await
            .is_err()
    );
    assert_eq!(
        h.store.get_source(APP, &source.source_id).await.unwrap(),
        source
    );
}

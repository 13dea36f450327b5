//! Transformations: CRUD with PUT replacement, filters and paging, search, scoping, the
//! `secrets` authentications they list, and the destinations that apply them.

use ingest_model::{
    AuthenticationUpdate, DestinationUpdate, Order, TransformationCreate, TransformationInput,
    TransformationSortKeys, TransformationType,
};
use ingest_store::{DestinationQuery, PageRequest, Resource, StoreError, TransformationQuery};
use serde_json::{Value, json};

use crate::fixtures::*;
use crate::harness::Harness;

ingest_store::both_backends!(
    round_trip_and_replace,
    list_filters_sorts_and_pages,
    search_keeps_order_and_skips_unknown,
    app_isolation,
    authentications_must_be_live_secrets,
    destinations_apply_live_transformations,
    secrets_are_merged_for_workers_only,
);

const CODE: &str = "function transform(record) { return record; }";

fn body(value: Value) -> TransformationCreate {
    parse(value)
}

async fn create(h: &Harness, app: &str, value: Value) -> String {
    h.store
        .create_transformation(app, &body(value), h.now())
        .await
        .unwrap()
        .transformation_id
}

async fn secrets_auth(h: &Harness, app: &str, values: Value) -> String {
    create_auth(
        h,
        app,
        json!({"type": "secrets", "name": "s", "input": values}),
    )
    .await
    .authentication_id
}

async fn round_trip_and_replace(h: &Harness) {
    let created_at = h.now();
    let created = h
        .store
        .create_transformation(
            APP,
            &body(json!({"name": "legacy", "code": CODE})),
            created_at,
        )
        .await
        .unwrap();
    assert!(uuid::Uuid::parse_str(&created.transformation_id).is_ok());
    assert_eq!(created.transformation_type, TransformationType::Code);
    assert_eq!(created.code, CODE);
    assert_eq!(
        created.input,
        TransformationInput::Code { code: CODE.into() }
    );
    assert_eq!(created.created_at, created_at.to_rfc3339());
    assert_eq!(created.updated_at, created.created_at);
    assert_eq!(
        (created.description.as_ref(), created.owner.as_ref()),
        (None, None)
    );
    let id = &created.transformation_id;
    assert_eq!(h.store.get_transformation(APP, id).await.unwrap(), created);

    let steps = json!([{"type": "removeAttribute", "attribute": "cost"}]);
    let replaced = h
        .store
        .replace_transformation(
            APP,
            id,
            &body(
                json!({"name": "steps", "type": "noCode", "input": {"steps": steps},
                "description": "drop the cost"}),
            ),
            h.now(),
        )
        .await
        .unwrap();
    assert_eq!(replaced.transformation_type, TransformationType::NoCode);
    assert_eq!(replaced.code, "");
    assert_eq!(
        serde_json::to_value(&replaced.input).unwrap(),
        json!({"steps": steps})
    );
    assert_eq!(replaced.description.as_deref(), Some("drop the cost"));
    assert_eq!(replaced.created_at, created.created_at);
    assert_ne!(replaced.updated_at, created.updated_at);
    // A PUT replaces everything: what it leaves out is gone.
    let bare = h
        .store
        .replace_transformation(APP, id, &body(json!({"name": "bare"})), h.now())
        .await
        .unwrap();
    assert_eq!(bare.description, None);
    assert_eq!(
        bare.input,
        TransformationInput::Code {
            code: String::new()
        }
    );

    h.store
        .delete_transformation(APP, id, h.now())
        .await
        .unwrap();
    assert_not_found(h.store.get_transformation(APP, id).await);
    assert_not_found(h.store.delete_transformation(APP, id, h.now()).await);
    assert_not_found(
        h.store
            .replace_transformation(APP, id, &body(json!({"name": "x"})), h.now())
            .await,
    );
    assert_not_found(h.store.transformation_with_secrets(APP, id).await);
}

async fn list_filters_sorts_and_pages(h: &Harness) {
    for (name, steps) in [
        ("c", false),
        ("a", true),
        ("e", false),
        ("b", true),
        ("d", false),
    ] {
        let value = if steps {
            json!({"name": name, "input": {"steps": []}})
        } else {
            json!({"name": name, "input": {"code": CODE}})
        };
        create(h, APP, value).await;
    }
    let names = async |q: TransformationQuery| -> (Vec<String>, u64) {
        let page = h.store.list_transformations(APP, &q).await.unwrap();
        let names = page.items.into_iter().map(|t| t.name).collect();
        (names, page.pagination.nb_items)
    };
    let all = TransformationQuery::default();
    assert_eq!(
        names(all.clone()).await,
        (
            vec!["d".into(), "b".into(), "e".into(), "a".into(), "c".into()],
            5
        )
    );
    let no_code = TransformationQuery {
        types: vec![TransformationType::NoCode],
        order: Order::Asc,
        ..Default::default()
    };
    assert_eq!(names(no_code).await, (vec!["a".into(), "b".into()], 2));
    let code = TransformationQuery {
        types: vec![TransformationType::Code],
        sort: TransformationSortKeys::Name,
        order: Order::Asc,
        ..Default::default()
    };
    assert_eq!(names(code).await.0, ["c", "d", "e"]);
    let second_page = TransformationQuery {
        sort: TransformationSortKeys::Name,
        order: Order::Asc,
        page: PageRequest {
            page: 2,
            items_per_page: 2,
        },
        ..Default::default()
    };
    let page = h
        .store
        .list_transformations(APP, &second_page)
        .await
        .unwrap();
    assert_eq!(
        page.items.iter().map(|t| &*t.name).collect::<Vec<_>>(),
        ["c", "d"]
    );
    assert_eq!((page.pagination.nb_pages, page.pagination.nb_items), (3, 5));
    // The latest replaced comes first by `updatedAt`.
    let first = h
        .store
        .list_transformations(APP, &all)
        .await
        .unwrap()
        .items
        .remove(4);
    h.store
        .replace_transformation(
            APP,
            &first.transformation_id,
            &body(json!({"name": "c"})),
            h.now(),
        )
        .await
        .unwrap();
    let by_update = TransformationQuery {
        sort: TransformationSortKeys::UpdatedAt,
        ..Default::default()
    };
    assert_eq!(names(by_update).await.0[0], "c");
    let bad = TransformationQuery {
        page: PageRequest {
            page: 0,
            items_per_page: 10,
        },
        ..Default::default()
    };
    assert!(matches!(
        h.store.list_transformations(APP, &bad).await,
        Err(StoreError::Invalid(e)) if e.path == "page"
    ));
}

async fn search_keeps_order_and_skips_unknown(h: &Harness) {
    let a = create(h, APP, json!({"name": "a"})).await;
    let b = create(h, APP, json!({"name": "b"})).await;
    let gone = create(h, APP, json!({"name": "gone"})).await;
    h.store
        .delete_transformation(APP, &gone, h.now())
        .await
        .unwrap();
    let theirs = create(h, OTHER_APP, json!({"name": "theirs"})).await;
    let ids = vec![
        b.clone(),
        "unknown".into(),
        gone,
        theirs,
        a.clone(),
        b.clone(),
    ];
    let found = h.store.search_transformations(APP, &ids).await.unwrap();
    let found: Vec<String> = found.into_iter().map(|t| t.transformation_id).collect();
    assert_eq!(found, [b, a]);
}

async fn app_isolation(h: &Harness) {
    let id = create(h, APP, json!({"name": "mine"})).await;
    assert_not_found(h.store.get_transformation(OTHER_APP, &id).await);
    assert_not_found(
        h.store
            .replace_transformation(OTHER_APP, &id, &body(json!({"name": "x"})), h.now())
            .await,
    );
    assert_not_found(h.store.delete_transformation(OTHER_APP, &id, h.now()).await);
    assert_not_found(h.store.transformation_with_secrets(OTHER_APP, &id).await);
    let theirs = h
        .store
        .list_transformations(OTHER_APP, &TransformationQuery::default())
        .await
        .unwrap();
    assert_eq!(theirs.pagination.nb_items, 0);
    assert_eq!(
        h.store.get_transformation(APP, &id).await.unwrap().name,
        "mine"
    );
}

async fn authentications_must_be_live_secrets(h: &Harness) {
    let with = |auth: &str| body(json!({"name": "t", "authenticationIDs": [auth]}));
    let missing = "00000000-0000-4000-8000-000000000000";
    let basic = create_basic(h, APP, "basic").await.authentication_id;
    let theirs = secrets_auth(h, OTHER_APP, json!({"K": "v"})).await;
    let gone = secrets_auth(h, APP, json!({"K": "v"})).await;
    h.store
        .delete_authentication(APP, &gone, h.now())
        .await
        .unwrap();
    for auth in [missing, basic.as_str(), theirs.as_str(), gone.as_str()] {
        assert_invalid_reference(
            h.store
                .create_transformation(APP, &with(auth), h.now())
                .await,
            "authenticationIDs",
        );
    }
    match h
        .store
        .create_transformation(APP, &with(&basic), h.now())
        .await
    {
        Err(e) => assert!(
            e.to_string().contains("needs a `secrets` authentication"),
            "{e}"
        ),
        Ok(t) => panic!("{t:?}"),
    }
    let id = create(h, APP, json!({"name": "t"})).await;
    assert_invalid_reference(
        h.store
            .replace_transformation(APP, &id, &with(&basic), h.now())
            .await,
        "authenticationIDs",
    );
    let list = h
        .store
        .list_transformations(APP, &TransformationQuery::default())
        .await
        .unwrap();
    assert_eq!(list.pagination.nb_items, 1, "refused writes leave nothing");
    let ok = secrets_auth(h, APP, json!({"K": "v"})).await;
    let listed = h
        .store
        .replace_transformation(APP, &id, &with(&ok), h.now())
        .await
        .unwrap();
    assert_eq!(listed.authentication_ids, [ok.as_str()]);

    // Listed, the authentication can be neither deleted nor turned into another kind.
    match h.store.delete_authentication(APP, &ok, h.now()).await {
        Err(StoreError::InUse {
            used_by: Resource::Transformation,
            user_id,
            ..
        }) => {
            assert_eq!(user_id, id)
        }
        other => panic!("{other:?}"),
    }
    let to_basic: AuthenticationUpdate =
        parse(json!({"type": "basic", "input": {"username": "u", "password": "p"}}));
    assert!(matches!(
        h.store
            .update_authentication(APP, &ok, &to_basic, h.now())
            .await,
        Err(StoreError::InUse {
            used_by: Resource::Transformation,
            ..
        })
    ));
    // Once the transformation no longer lists it, it can go.
    h.store
        .replace_transformation(APP, &id, &body(json!({"name": "t"})), h.now())
        .await
        .unwrap();
    h.store
        .delete_authentication(APP, &ok, h.now())
        .await
        .unwrap();
}

async fn destinations_apply_live_transformations(h: &Harness) {
    let with = |ids: Value| -> ingest_model::DestinationCreate {
        parse(
            json!({"type": "search", "name": "d", "input": {"indexName": "i"},
            "transformationIDs": ids}),
        )
    };
    let missing = "00000000-0000-4000-8000-000000000000";
    let theirs = create(h, OTHER_APP, json!({"name": "theirs"})).await;
    for id in [missing, theirs.as_str()] {
        assert_invalid_reference(
            h.store
                .create_destination(APP, &with(json!([id])), h.now())
                .await,
            "transformationIDs",
        );
    }
    let t1 = create(h, APP, json!({"name": "t1"})).await;
    let t2 = create(h, APP, json!({"name": "t2"})).await;
    let d1 = h
        .store
        .create_destination(APP, &with(json!([t1])), h.now())
        .await
        .unwrap();
    assert_eq!(d1.transformation_ids, [t1.as_str()]);
    let d1_id = &d1.destination_id;
    assert_eq!(h.store.get_destination(APP, d1_id).await.unwrap(), d1);
    let plain = create_destination(h, APP, "plain").await;
    assert!(plain.transformation_ids.is_empty());

    let using = async |t: &str| -> Vec<String> {
        let q = DestinationQuery {
            transformation_id: Some(t.to_owned()),
            ..Default::default()
        };
        let page = h.store.list_destinations(APP, &q).await.unwrap();
        assert_eq!(page.pagination.nb_items as usize, page.items.len());
        page.items.into_iter().map(|d| d.destination_id).collect()
    };
    assert_eq!(using(&t1).await, [d1_id.as_str()]);
    assert!(using(&t2).await.is_empty());
    assert!(using("unknown").await.is_empty());

    // In use, the transformation cannot be deleted; the error names the destination.
    match h.store.delete_transformation(APP, &t1, h.now()).await {
        Err(e @ StoreError::InUse { .. }) => assert!(e.to_string().contains(d1_id.as_str()), "{e}"),
        other => panic!("{other:?}"),
    }
    // A PATCH without `transformationIDs` keeps it; a new one replaces it; `[]` detaches it.
    let rename: DestinationUpdate = parse(json!({"name": "renamed"}));
    let kept = h
        .store
        .update_destination(APP, d1_id, &rename, h.now())
        .await
        .unwrap();
    assert_eq!(kept.transformation_ids, [t1.as_str()]);
    let switch: DestinationUpdate = parse(json!({"transformationIDs": [t2]}));
    let switched = h
        .store
        .update_destination(APP, d1_id, &switch, h.now())
        .await
        .unwrap();
    assert_eq!(switched.transformation_ids, [t2.as_str()]);
    assert_eq!(using(&t2).await, [d1_id.as_str()]);
    h.store
        .delete_transformation(APP, &t1, h.now())
        .await
        .unwrap();
    let bad: DestinationUpdate = parse(json!({"transformationIDs": [t1]}));
    assert_invalid_reference(
        h.store.update_destination(APP, d1_id, &bad, h.now()).await,
        "transformationIDs",
    );
    assert_eq!(
        h.store
            .get_destination(APP, d1_id)
            .await
            .unwrap()
            .transformation_ids,
        [t2.as_str()]
    );
    let detach: DestinationUpdate = parse(json!({"transformationIDs": []}));
    let detached = h
        .store
        .update_destination(APP, d1_id, &detach, h.now())
        .await
        .unwrap();
    assert!(detached.transformation_ids.is_empty());
    assert!(using(&t2).await.is_empty());
    h.store
        .delete_transformation(APP, &t2, h.now())
        .await
        .unwrap();
    // A deleted destination does not hold its transformation.
    let t3 = create(h, APP, json!({"name": "t3"})).await;
    let d3 = h
        .store
        .create_destination(APP, &with(json!([t3])), h.now())
        .await
        .unwrap();
    h.store
        .delete_destination(APP, &d3.destination_id, h.now())
        .await
        .unwrap();
    h.store
        .delete_transformation(APP, &t3, h.now())
        .await
        .unwrap();
}

async fn secrets_are_merged_for_workers_only(h: &Harness) {
    const CANARY: &str = "canary-secret-value-1234";
    let first = secrets_auth(h, APP, json!({"A": "a1", "B": "b1"})).await;
    let second = secrets_auth(h, APP, json!({"B": CANARY, "C": "c2"})).await;
    let created = h
        .store
        .create_transformation(
            APP,
            &body(
                json!({"name": "t", "input": {"code": CODE}, "authenticationIDs": [first, second]}),
            ),
            h.now(),
        )
        .await
        .unwrap();
    let id = &created.transformation_id;
    let full = h.store.transformation_with_secrets(APP, id).await.unwrap();
    assert_eq!(full.transformation, created);
    let mut secrets: Vec<(String, String)> = full.secrets.clone().into_iter().collect();
    secrets.sort();
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    };
    assert_eq!(secrets, pairs(&[("A", "a1"), ("B", CANARY), ("C", "c2")]));
    assert!(
        !format!("{full:?}").contains(CANARY),
        "Debug shows names only"
    );
    let shown = serde_json::to_string(&h.store.get_transformation(APP, id).await.unwrap()).unwrap();
    assert!(!shown.contains(CANARY), "{shown}");
    assert!(
        !h.dump().await.contains(CANARY),
        "a secret is stored in clear"
    );
    // The list's order decides: the other way round, `B` is the first's.
    h.store
        .replace_transformation(
            APP,
            id,
            &body(json!({"name": "t", "authenticationIDs": [second, first]})),
            h.now(),
        )
        .await
        .unwrap();
    let full = h.store.transformation_with_secrets(APP, id).await.unwrap();
    assert_eq!(full.secrets["B"], "b1");
    let none = create(h, APP, json!({"name": "none"})).await;
    assert!(
        h.store
            .transformation_with_secrets(APP, &none)
            .await
            .unwrap()
            .secrets
            .is_empty()
    );
}

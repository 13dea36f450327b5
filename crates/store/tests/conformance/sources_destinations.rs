//! Sources and destinations: CRUD, filters, sorts and scoping.

use ingest_model::{
    DestinationInput, DestinationType, DestinationUpdate, Order, ResourceSortKeys, SourceInput,
    SourceType, SourceUpdate,
};
use ingest_store::{DestinationQuery, SourceQuery, StoreError};
use serde_json::json;

use crate::fixtures::*;
use crate::harness::Harness;

ingest_store::both_backends!(
    destination_round_trip,
    source_round_trip,
    destination_filters_and_sorts,
    source_filters_and_sorts,
    app_isolation,
);

async fn destination_round_trip(h: &Harness) {
    let auth = create_auth(h, APP, algolia_auth("alg")).await;
    let created = h
        .store
        .create_destination(
            APP,
            &parse(
                json!({"type": "search", "name": "d", "input": {"indexPrefix": "shop_"},
                "authenticationID": auth.authentication_id}),
            ),
            h.now(),
        )
        .await
        .unwrap();
    assert_eq!(created.input, DestinationInput::prefix("shop_"));
    assert_eq!(
        created.authentication_id.as_deref(),
        Some(&*auth.authentication_id)
    );
    let id = &created.destination_id;
    assert_eq!(h.store.get_destination(APP, id).await.unwrap(), created);
    let update: DestinationUpdate =
        parse(json!({"type": "insights", "input": {"indexName": "events"}}));
    let updated = h
        .store
        .update_destination(APP, id, &update, h.now())
        .await
        .unwrap();
    assert_eq!(updated.destination_type, DestinationType::Insights);
    assert_eq!(updated.name, "d");
    assert_eq!(updated.input, DestinationInput::index("events"));
    assert_eq!(updated.authentication_id, created.authentication_id);
    assert_ne!(updated.updated_at, created.updated_at);
    h.store.delete_destination(APP, id, h.now()).await.unwrap();
    assert_not_found(h.store.get_destination(APP, id).await);
    assert_not_found(h.store.delete_destination(APP, id, h.now()).await);
    let listed = h
        .store
        .list_destinations(APP, &DestinationQuery::default())
        .await
        .unwrap();
    assert_eq!(listed.pagination.nb_items, 0);
    // The authentication is free again.
    h.store
        .delete_authentication(APP, &auth.authentication_id, h.now())
        .await
        .unwrap();
}

async fn source_round_trip(h: &Harness) {
    let created = h
        .store
        .create_source(
            APP,
            &parse(json!({"type": "commercetools", "name": "ct",
                "input": {"url": "https://api.ct", "projectKey": "p", "locales": ["fr-FR"]}})),
            h.now(),
        )
        .await
        .unwrap();
    let id = &created.source_id;
    assert_eq!(h.store.get_source(APP, id).await.unwrap(), created);
    // A commercetools update changes only the fields it gives.
    let update: SourceUpdate = parse(json!({"input": {"storeKeys": ["eu"]}, "name": "ct2"}));
    let updated = h
        .store
        .update_source(APP, id, &update, h.now())
        .await
        .unwrap();
    let SourceInput::Commercetools(input) = &updated.input else {
        panic!("{:?}", updated.input)
    };
    assert_eq!(input.store_keys, Some(vec!["eu".to_owned()]));
    assert_eq!(input.locales, Some(vec!["fr-FR".to_owned()]));
    assert_eq!(input.project_key, "p");
    assert_eq!(updated.name, "ct2");
    // An input that does not fit the stored type is refused, naming the field.
    let bad: SourceUpdate = parse(json!({"input": {"url": "https://x"}}));
    match h.store.update_source(APP, id, &bad, h.now()).await {
        Err(StoreError::Invalid(e)) => assert_eq!(e.path, "input.url"),
        other => panic!("{other:?}"),
    }
    h.store.delete_source(APP, id, h.now()).await.unwrap();
    assert_not_found(h.store.get_source(APP, id).await);
    assert_not_found(h.store.update_source(APP, id, &update, h.now()).await);
}

async fn destination_filters_and_sorts(h: &Harness) {
    let auth = create_auth(h, APP, algolia_auth("alg"))
        .await
        .authentication_id;
    let auth2 = create_auth(h, APP, algolia_auth("alg2"))
        .await
        .authentication_id;
    for (name, kind, a) in [
        ("c", "search", Some(&auth)),
        ("a", "insights", None),
        ("b", "search", Some(&auth2)),
        ("d", "flow", None),
    ] {
        let mut body = json!({"type": kind, "name": name, "input": {"indexName": "i"}});
        if let Some(a) = a {
            body["authenticationID"] = json!(a);
        }
        h.store
            .create_destination(APP, &parse(body), h.now())
            .await
            .unwrap();
    }
    let names = async |q: DestinationQuery| -> Vec<String> {
        let page = h.store.list_destinations(APP, &q).await.unwrap();
        assert_eq!(page.pagination.nb_items as usize, page.items.len());
        page.items.into_iter().map(|d| d.name).collect()
    };
    let q = |types: Vec<DestinationType>, auths: Vec<&str>| DestinationQuery {
        types,
        authentication_ids: auths.into_iter().map(str::to_owned).collect(),
        order: Order::Asc,
        ..Default::default()
    };
    assert_eq!(
        names(q(vec![DestinationType::Search], vec![])).await,
        ["c", "b"]
    );
    assert_eq!(
        names(q(
            vec![DestinationType::Insights, DestinationType::Flow],
            vec![]
        ))
        .await,
        ["a", "d"]
    );
    assert_eq!(names(q(vec![], vec![&auth])).await, ["c"]);
    assert_eq!(names(q(vec![], vec![&auth, &auth2])).await, ["c", "b"]);
    assert_eq!(names(q(vec![], vec!["none"])).await, ["a", "d"]);
    assert_eq!(
        names(q(vec![], vec!["none", &auth2])).await,
        ["a", "b", "d"]
    );
    let s = |sort, order| DestinationQuery {
        sort,
        order,
        ..Default::default()
    };
    use ResourceSortKeys as K;
    assert_eq!(names(s(K::Name, Order::Asc)).await, ["a", "b", "c", "d"]);
    assert_eq!(names(s(K::Name, Order::Desc)).await, ["d", "c", "b", "a"]);
    assert_eq!(names(s(K::Type, Order::Asc)).await, ["d", "a", "c", "b"]);
    assert_eq!(names(s(K::Type, Order::Desc)).await, ["b", "c", "a", "d"]);
    assert_eq!(
        names(s(K::CreatedAt, Order::Asc)).await,
        ["c", "a", "b", "d"]
    );
    assert_eq!(
        names(s(K::CreatedAt, Order::Desc)).await,
        ["d", "b", "a", "c"]
    );
    let first = h
        .store
        .list_destinations(APP, &s(K::Name, Order::Asc))
        .await
        .unwrap();
    let a_id = first.items[0].destination_id.clone();
    h.store
        .update_destination(APP, &a_id, &parse(json!({"name": "a"})), h.now())
        .await
        .unwrap();
    assert_eq!(
        names(s(K::UpdatedAt, Order::Desc)).await,
        ["a", "d", "b", "c"]
    );
    assert_eq!(
        names(s(K::UpdatedAt, Order::Asc)).await,
        ["c", "b", "d", "a"]
    );
}

async fn source_filters_and_sorts(h: &Harness) {
    let basic = create_basic(h, APP, "basic").await.authentication_id;
    let key = create_auth(
        h,
        APP,
        json!({"type": "apiKey", "name": "k", "input": {"key": "k"}}),
    )
    .await
    .authentication_id;
    for (name, body) in [
        (
            "b",
            json!({"type": "csv", "input": {"url": "https://x/a.csv"}, "authenticationID": basic}),
        ),
        (
            "c",
            json!({"type": "json", "input": {"url": "https://x/a.json"}}),
        ),
        (
            "a",
            json!({"type": "bigcommerce", "input": {"storeHash": "h"}, "authenticationID": key}),
        ),
        (
            "d",
            json!({"type": "bigquery", "input": {"projectID": "p", "datasetID": "d"}}),
        ),
    ] {
        let mut body = body;
        body["name"] = json!(name);
        h.store
            .create_source(APP, &parse(body), h.now())
            .await
            .unwrap();
    }
    let names = async |q: SourceQuery| -> Vec<String> {
        let page = h.store.list_sources(APP, &q).await.unwrap();
        assert_eq!(page.pagination.nb_items as usize, page.items.len());
        page.items.into_iter().map(|s| s.name).collect()
    };
    let q = |types: Vec<SourceType>, auths: Vec<&str>| SourceQuery {
        types,
        authentication_ids: auths.into_iter().map(str::to_owned).collect(),
        order: Order::Asc,
        ..Default::default()
    };
    assert_eq!(names(q(vec![SourceType::Csv], vec![])).await, ["b"]);
    assert_eq!(
        names(q(vec![SourceType::Json, SourceType::BigQuery], vec![])).await,
        ["c", "d"]
    );
    assert_eq!(names(q(vec![], vec!["none"])).await, ["c", "d"]);
    assert_eq!(names(q(vec![], vec![&key, "none"])).await, ["c", "a", "d"]);
    assert_eq!(
        names(q(vec![SourceType::Csv], vec![&key])).await,
        Vec::<String>::new()
    );
    let s = |sort, order| SourceQuery {
        sort,
        order,
        ..Default::default()
    };
    use ResourceSortKeys as K;
    assert_eq!(names(s(K::Name, Order::Asc)).await, ["a", "b", "c", "d"]);
    assert_eq!(names(s(K::Name, Order::Desc)).await, ["d", "c", "b", "a"]);
    assert_eq!(names(s(K::Type, Order::Asc)).await, ["a", "d", "b", "c"]);
    assert_eq!(names(s(K::Type, Order::Desc)).await, ["c", "b", "d", "a"]);
    assert_eq!(
        names(s(K::CreatedAt, Order::Asc)).await,
        ["b", "c", "a", "d"]
    );
    assert_eq!(
        names(s(K::CreatedAt, Order::Desc)).await,
        ["d", "a", "c", "b"]
    );
    assert_eq!(
        names(s(K::UpdatedAt, Order::Desc)).await,
        ["d", "a", "c", "b"]
    );
}

async fn app_isolation(h: &Harness) {
    let source = create_source(h, APP, "s").await;
    let dest = create_destination(h, APP, "d").await;
    assert_not_found(h.store.get_source(OTHER_APP, &source.source_id).await);
    assert_not_found(
        h.store
            .get_destination(OTHER_APP, &dest.destination_id)
            .await,
    );
    assert_not_found(
        h.store
            .delete_source(OTHER_APP, &source.source_id, h.now())
            .await,
    );
    assert_not_found(
        h.store
            .delete_destination(OTHER_APP, &dest.destination_id, h.now())
            .await,
    );
    assert_not_found(
        h.store
            .update_destination(
                OTHER_APP,
                &dest.destination_id,
                &parse(json!({"name": "x"})),
                h.now(),
            )
            .await,
    );
    let ids = [source.source_id.clone()];
    assert!(
        h.store
            .search_sources(OTHER_APP, &ids)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(h.store.search_sources(APP, &ids).await.unwrap(), [source]);
    let ids = [dest.destination_id.clone()];
    assert!(
        h.store
            .search_destinations(OTHER_APP, &ids)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        h.store.search_destinations(APP, &ids).await.unwrap(),
        [dest]
    );
    assert_eq!(
        h.store
            .list_sources(OTHER_APP, &SourceQuery::default())
            .await
            .unwrap()
            .pagination
            .nb_items,
        0
    );
}

//! Authentications: CRUD, secrets at rest, partial updates, filters, sorts and paging.

use ingest_model::{
    AuthInput, AuthenticationSortKeys, AuthenticationType, AuthenticationUpdate, Order, Pagination,
    PlatformWithNone,
};
use ingest_store::{AuthenticationQuery, PageRequest, StoreError};
use serde_json::json;

use crate::fixtures::*;
use crate::harness::Harness;

ingest_store::both_backends!(
    round_trip,
    secrets_are_encrypted_at_rest,
    update_keeps_omitted_secrets,
    type_change_needs_input,
    filters,
    sorts,
    paging,
    search_keeps_order_and_skips_unknown,
    app_isolation,
);

async fn round_trip(h: &Harness) {
    let created_at = h.now();
    let auth = h
        .store
        .create_authentication(
            APP,
            &parse(json!({
                "type": "oauth", "name": "ct", "platform": "commercetools",
                "input": {"url": "https://auth.example", "client_id": "id", "client_secret": "s"}
            })),
            created_at,
        )
        .await
        .unwrap();
    assert_eq!(auth.authentication_id.len(), 36);
    assert!(uuid::Uuid::parse_str(&auth.authentication_id).is_ok());
    assert_eq!(auth.created_at, created_at.to_rfc3339());
    assert_eq!(auth.updated_at, auth.created_at);
    assert_eq!(
        auth.input.as_json(),
        &json!({"url": "https://auth.example", "client_id": "id", "client_secret": null})
    );
    let got = h
        .store
        .get_authentication(APP, &auth.authentication_id)
        .await
        .unwrap();
    assert_eq!(got, auth);

    let later = h.now();
    let update: AuthenticationUpdate = parse(json!({"name": "renamed"}));
    let updated = h
        .store
        .update_authentication(APP, &auth.authentication_id, &update, later)
        .await
        .unwrap();
    assert_eq!(updated.name, "renamed");
    assert_eq!(updated.updated_at, later.to_rfc3339());
    assert_eq!(updated.created_at, auth.created_at);
    assert_eq!(updated.input, auth.input);

    h.store
        .delete_authentication(APP, &auth.authentication_id, h.now())
        .await
        .unwrap();
    assert_not_found(
        h.store
            .get_authentication(APP, &auth.authentication_id)
            .await,
    );
    assert_not_found(
        h.store
            .authentication_with_secrets(APP, &auth.authentication_id)
            .await,
    );
    assert_not_found(
        h.store
            .update_authentication(APP, &auth.authentication_id, &update, h.now())
            .await,
    );
    assert_not_found(
        h.store
            .delete_authentication(APP, &auth.authentication_id, h.now())
            .await,
    );
    let list = h
        .store
        .list_authentications(APP, &AuthenticationQuery::default())
        .await
        .unwrap();
    assert!(list.items.is_empty());
    assert_eq!(list.pagination, Pagination::new(1, 10, 0));
}

const CANARY: &str = "canary-7f3a9c1e-do-not-leak";

async fn secrets_are_encrypted_at_rest(h: &Harness) {
    let bodies = [
        json!({"type": "basic", "name": "b", "input": {"username": "u", "password": CANARY}}),
        json!({"type": "apiKey", "name": "k", "input": {"key": CANARY}}),
        json!({"type": "oauth", "name": "o",
               "input": {"url": "https://x", "client_id": "c", "client_secret": CANARY}}),
        json!({"type": "algolia", "name": "a", "input": {"appID": "A", "apiKey": CANARY}}),
        json!({"type": "googleServiceAccount", "name": "g",
               "input": {"clientEmail": "e@x", "privateKey": CANARY}}),
    ];
    let mut ids = Vec::new();
    for body in bodies {
        let auth = create_auth(h, APP, body).await;
        let rendered = serde_json::to_string(&auth).unwrap();
        assert!(!rendered.contains(CANARY), "{rendered}");
        ids.push(auth.authentication_id);
    }
    let dump = h.dump().await;
    assert!(dump.contains("authentications") || !dump.is_empty());
    assert!(!dump.contains(CANARY), "a secret is stored in clear");

    for id in &ids {
        let full = h.store.authentication_with_secrets(APP, id).await.unwrap();
        let json = full.input.to_secret_json();
        let secret = AuthInput::secret_fields(full.input.auth_type())[0];
        assert_eq!(json[secret], CANARY);
        assert!(
            !format!("{full:?}").contains(CANARY),
            "Debug shows a secret"
        );
        let listed = h.store.get_authentication(APP, id).await.unwrap();
        assert_eq!(listed.input.as_json()[secret], serde_json::Value::Null);
    }
    let full = h
        .store
        .authentication_with_secrets(APP, &ids[0])
        .await
        .unwrap();
    assert_eq!(full.input.to_secret_json()["username"], "u");
}

async fn update_keeps_omitted_secrets(h: &Harness) {
    let auth = h
        .store
        .create_authentication(APP, &basic("b", "first-secret"), h.now())
        .await
        .unwrap();
    let id = &auth.authentication_id;
    let secret_of = async |h: &Harness| {
        let full = h.store.authentication_with_secrets(APP, id).await.unwrap();
        full.input.to_secret_json()
    };

    // Omitted: kept.
    let update: AuthenticationUpdate = parse(json!({"input": {"username": "alice"}}));
    h.store
        .update_authentication(APP, id, &update, h.now())
        .await
        .unwrap();
    let now = secret_of(h).await;
    assert_eq!(
        (now["username"].as_str(), now["password"].as_str()),
        (Some("alice"), Some("first-secret"))
    );

    // `null`, as a client echoing a response sends it: kept.
    let update: AuthenticationUpdate =
        parse(json!({"input": {"username": "bob", "password": null}}));
    h.store
        .update_authentication(APP, id, &update, h.now())
        .await
        .unwrap();
    assert_eq!(secret_of(h).await["password"], "first-secret");

    // Given: replaced.
    let update: AuthenticationUpdate =
        parse(json!({"input": {"username": "bob", "password": "second-secret"}}));
    let updated = h
        .store
        .update_authentication(APP, id, &update, h.now())
        .await
        .unwrap();
    assert_eq!(updated.input.as_json()["password"], serde_json::Value::Null);
    assert_eq!(secret_of(h).await["password"], "second-secret");
    assert!(!h.dump().await.contains("second-secret"));
}

async fn type_change_needs_input(h: &Harness) {
    let auth = create_basic(h, APP, "b").await;
    let id = &auth.authentication_id;
    let update: AuthenticationUpdate = parse(json!({"type": "apiKey"}));
    match h
        .store
        .update_authentication(APP, id, &update, h.now())
        .await
    {
        Err(StoreError::Invalid(e)) => assert_eq!(e.path, "input"),
        other => panic!("expected invalid, got {other:?}"),
    }
    // Secrets of another type are not carried over: the new input must give its own.
    let update: AuthenticationUpdate = parse(json!({"type": "apiKey", "input": {}}));
    match h
        .store
        .update_authentication(APP, id, &update, h.now())
        .await
    {
        Err(StoreError::Invalid(e)) => assert_eq!(e.path, "input.key"),
        other => panic!("expected invalid, got {other:?}"),
    }
    assert_eq!(
        h.store.get_authentication(APP, id).await.unwrap(),
        auth,
        "a refused update changes nothing"
    );
    let update: AuthenticationUpdate =
        parse(json!({"type": "apiKey", "input": {"key": "new-key"}}));
    let changed = h
        .store
        .update_authentication(APP, id, &update, h.now())
        .await
        .unwrap();
    assert_eq!(changed.auth_type, AuthenticationType::ApiKey);
    assert_eq!(changed.input.as_json(), &json!({"key": null}));
    let full = h.store.authentication_with_secrets(APP, id).await.unwrap();
    assert_eq!(full.input.to_secret_json()["key"], "new-key");
}

/// Creates one authentication per (type, platform) pair; returns their IDs by name.
async fn seed(h: &Harness) {
    for (name, body) in [
        (
            "a-basic",
            json!({"type": "basic", "input": {"username": "u", "password": "p"}}),
        ),
        (
            "b-oauth-ct",
            json!({"type": "oauth", "platform": "commercetools",
            "input": {"url": "https://x", "client_id": "c", "client_secret": "s"}}),
        ),
        (
            "c-key-bc",
            json!({"type": "apiKey", "platform": "bigcommerce", "input": {"key": "k"}}),
        ),
        (
            "d-algolia",
            json!({"type": "algolia", "input": {"appID": "A", "apiKey": "k"}}),
        ),
        ("e-key", json!({"type": "apiKey", "input": {"key": "k"}})),
    ] {
        let mut body = body;
        body["name"] = json!(name);
        create_auth(h, APP, body).await;
    }
}

async fn names(h: &Harness, query: AuthenticationQuery) -> Vec<String> {
    let page = h.store.list_authentications(APP, &query).await.unwrap();
    assert_eq!(page.pagination.nb_items as usize, page.items.len());
    page.items.into_iter().map(|a| a.name).collect()
}

async fn filters(h: &Harness) {
    seed(h).await;
    let q =
        |types: Vec<AuthenticationType>, platforms: Vec<PlatformWithNone>| AuthenticationQuery {
            types,
            platforms,
            order: Order::Asc,
            ..Default::default()
        };
    use AuthenticationType as T;
    use PlatformWithNone as P;
    assert_eq!(
        names(h, q(vec![T::ApiKey], vec![])).await,
        ["c-key-bc", "e-key"]
    );
    assert_eq!(
        names(h, q(vec![T::Basic, T::Algolia], vec![])).await,
        ["a-basic", "d-algolia"]
    );
    assert_eq!(
        names(h, q(vec![], vec![P::Commercetools])).await,
        ["b-oauth-ct"]
    );
    assert_eq!(
        names(h, q(vec![], vec![P::None])).await,
        ["a-basic", "d-algolia", "e-key"]
    );
    assert_eq!(
        names(h, q(vec![], vec![P::BigCommerce, P::None])).await,
        ["a-basic", "c-key-bc", "d-algolia", "e-key"]
    );
    assert_eq!(names(h, q(vec![T::ApiKey], vec![P::None])).await, ["e-key"]);
    assert_eq!(
        names(h, q(vec![T::GoogleServiceAccount], vec![])).await,
        Vec::<String>::new()
    );
}

async fn sorts(h: &Harness) {
    seed(h).await;
    // Touch one so `updatedAt` differs from creation order.
    let page = h
        .store
        .list_authentications(APP, &AuthenticationQuery::default())
        .await
        .unwrap();
    let oldest = page.items.last().unwrap().authentication_id.clone();
    h.store
        .update_authentication(APP, &oldest, &parse(json!({"name": "a-basic"})), h.now())
        .await
        .unwrap();
    let q = |sort, order| AuthenticationQuery {
        sort,
        order,
        ..Default::default()
    };
    use AuthenticationSortKeys as K;
    let all = ["a-basic", "b-oauth-ct", "c-key-bc", "d-algolia", "e-key"];
    let reversed: Vec<_> = all.iter().rev().copied().collect();
    assert_eq!(names(h, q(K::CreatedAt, Order::Asc)).await, all);
    assert_eq!(names(h, q(K::CreatedAt, Order::Desc)).await, reversed);
    assert_eq!(names(h, AuthenticationQuery::default()).await, reversed);
    assert_eq!(names(h, q(K::Name, Order::Asc)).await, all);
    assert_eq!(names(h, q(K::Name, Order::Desc)).await, reversed);
    // Types: algolia < apiKey < apiKey < basic < oauth; ties in creation order.
    assert_eq!(
        names(h, q(K::AuthType, Order::Asc)).await,
        ["d-algolia", "c-key-bc", "e-key", "a-basic", "b-oauth-ct"]
    );
    assert_eq!(
        names(h, q(K::AuthType, Order::Desc)).await,
        ["b-oauth-ct", "a-basic", "e-key", "c-key-bc", "d-algolia"]
    );
    // No platform sorts first ascending.
    assert_eq!(
        names(h, q(K::Platform, Order::Asc)).await,
        ["a-basic", "d-algolia", "e-key", "c-key-bc", "b-oauth-ct"]
    );
    assert_eq!(
        names(h, q(K::Platform, Order::Desc)).await,
        ["b-oauth-ct", "c-key-bc", "e-key", "d-algolia", "a-basic"]
    );
    assert_eq!(
        names(h, q(K::UpdatedAt, Order::Asc)).await,
        ["b-oauth-ct", "c-key-bc", "d-algolia", "e-key", "a-basic"]
    );
    assert_eq!(
        names(h, q(K::UpdatedAt, Order::Desc)).await,
        ["a-basic", "e-key", "d-algolia", "c-key-bc", "b-oauth-ct"]
    );
}

async fn paging(h: &Harness) {
    for i in 0..25 {
        create_basic(h, APP, &format!("auth-{i:02}")).await;
    }
    let q = |page, items_per_page| AuthenticationQuery {
        page: PageRequest {
            page,
            items_per_page,
        },
        sort: AuthenticationSortKeys::Name,
        order: Order::Asc,
        ..Default::default()
    };
    let first = h.store.list_authentications(APP, &q(1, 10)).await.unwrap();
    assert_eq!(first.pagination, Pagination::new(1, 10, 25));
    assert_eq!(first.pagination.nb_pages, 3);
    assert_eq!(first.items[0].name, "auth-00");
    let last = h.store.list_authentications(APP, &q(3, 10)).await.unwrap();
    let names: Vec<_> = last.items.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        ["auth-20", "auth-21", "auth-22", "auth-23", "auth-24"]
    );
    assert_eq!(last.pagination.page, 3);
    let past = h.store.list_authentications(APP, &q(4, 10)).await.unwrap();
    assert!(past.items.is_empty());
    assert_eq!(past.pagination, Pagination::new(4, 10, 25));
    let far = h
        .store
        .list_authentications(APP, &q(u64::MAX, 100))
        .await
        .unwrap();
    assert!(far.items.is_empty());
    let all = h.store.list_authentications(APP, &q(1, 100)).await.unwrap();
    assert_eq!((all.items.len(), all.pagination.nb_pages), (25, 1));
    let one = h.store.list_authentications(APP, &q(7, 1)).await.unwrap();
    assert_eq!(one.items[0].name, "auth-06");
    assert_eq!(one.pagination.nb_pages, 25);
    for (page, per) in [(0, 10), (1, 0), (1, 101)] {
        match h.store.list_authentications(APP, &q(page, per)).await {
            Err(StoreError::Invalid(_)) => {}
            other => panic!("page {page} per {per}: {other:?}"),
        }
    }
}

async fn search_keeps_order_and_skips_unknown(h: &Harness) {
    let a = create_basic(h, APP, "a").await.authentication_id;
    let b = create_basic(h, APP, "b").await.authentication_id;
    let c = create_basic(h, APP, "c").await.authentication_id;
    let other = create_basic(h, OTHER_APP, "x").await.authentication_id;
    h.store
        .delete_authentication(APP, &c, h.now())
        .await
        .unwrap();
    let ids = vec![b.clone(), "nope".to_owned(), a.clone(), c, other, b.clone()];
    let found = h.store.search_authentications(APP, &ids).await.unwrap();
    let found: Vec<_> = found.into_iter().map(|a| a.authentication_id).collect();
    assert_eq!(found, [b, a]);
    assert!(
        h.store
            .search_authentications(APP, &[])
            .await
            .unwrap()
            .is_empty()
    );
}

async fn app_isolation(h: &Harness) {
    let mine = create_basic(h, APP, "mine").await;
    let id = &mine.authentication_id;
    assert_not_found(h.store.get_authentication(OTHER_APP, id).await);
    assert_not_found(h.store.authentication_with_secrets(OTHER_APP, id).await);
    assert_not_found(
        h.store
            .update_authentication(OTHER_APP, id, &parse(json!({"name": "x"})), h.now())
            .await,
    );
    assert_not_found(h.store.delete_authentication(OTHER_APP, id, h.now()).await);
    let theirs = h
        .store
        .list_authentications(OTHER_APP, &AuthenticationQuery::default())
        .await
        .unwrap();
    assert_eq!(theirs.pagination.nb_items, 0);
    assert_eq!(h.store.get_authentication(APP, id).await.unwrap(), mine);
}

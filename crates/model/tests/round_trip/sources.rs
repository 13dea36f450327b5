//! Sources: every type and input variant, and their request bodies.

use super::*;

#[test]
fn sources_of_every_type() {
    let csv = source(SourceInput::Csv(csv_input()));
    round_trip(
        &csv,
        json!({
            "sourceID": "a0000000-0000-4000-8000-000000000001",
            "type": "csv",
            "name": "products",
            "input": {
                "url": "https://example.com/products.csv",
                "uniqueIDColumn": "sku",
                "mapping": {"price": "float", "stock": "integer"},
                "method": "POST",
                "delimiter": ";"
            },
            "authenticationID": "a0000000-0000-4000-8000-000000000002",
            "createdAt": T0,
            "updatedAt": T1
        }),
    );
    let s = text(&csv);
    for name in [
        "\"sourceID\"",
        "\"uniqueIDColumn\"",
        "\"authenticationID\"",
        "\"createdAt\"",
    ] {
        assert!(s.contains(name), "{name} in {s}");
    }

    let ct = source(SourceInput::Commercetools(SourceCommercetools {
        store_keys: Some(vec!["eu".into()]),
        locales: Some(vec!["en".into(), "fr-FR".into()]),
        url: "https://api.europe-west1.gcp.commercetools.com".into(),
        project_key: "shop".into(),
        product_query_predicate: None,
    }));
    round_trip(
        &ct,
        json!({
            "sourceID": "a0000000-0000-4000-8000-000000000001",
            "type": "commercetools",
            "name": "products",
            "input": {
                "storeKeys": ["eu"],
                "locales": ["en", "fr-FR"],
                "url": "https://api.europe-west1.gcp.commercetools.com",
                "projectKey": "shop"
            },
            "authenticationID": "a0000000-0000-4000-8000-000000000002",
            "createdAt": T0,
            "updatedAt": T1
        }),
    );

    let bc = SourceInput::BigCommerce(SourceBigCommerce {
        store_hash: "abc123".into(),
        channel: Some(BigCommerceChannel {
            id: 1,
            currencies: Some(vec!["usd".into(), "eur".into()]),
        }),
    });
    assert_eq!(
        serde_json::to_value(&bc).unwrap(),
        json!({"storeHash": "abc123", "channel": {"id": 1, "currencies": ["usd", "eur"]}})
    );
    let bc_source = source(bc);
    assert_eq!(
        serde_json::to_value(&bc_source).unwrap()["type"],
        "bigcommerce"
    );
    assert_eq!(
        from_value::<Source>(&serde_json::to_value(&bc_source).unwrap()).unwrap(),
        bc_source
    );

    let bq = SourceInput::BigQuery(SourceBigQuery {
        project_id: "proj".into(),
        dataset_id: "analytics_1".into(),
        data_type: Some(BigQueryDataType::Ga4),
        table: None,
        table_prefix: Some("events_".into()),
        custom_sql_request: Some("SELECT * FROM %s".into()),
        unique_id_column: Some("id".into()),
    });
    assert_eq!(
        serde_json::to_value(&bq).unwrap(),
        json!({"projectID": "proj", "datasetID": "analytics_1", "dataType": "ga4",
               "tablePrefix": "events_", "customSQLRequest": "SELECT * FROM %s",
               "uniqueIDColumn": "id"})
    );
    let bq_source = source(bq);
    assert_eq!(
        from_value::<Source>(&serde_json::to_value(&bq_source).unwrap()).unwrap(),
        bq_source
    );

    // Optional fields are left out, not null.
    let json = SourceInput::Json(SourceJson {
        url: "https://example.com/p.json".into(),
        unique_id_column: None,
        method: None,
    });
    assert_eq!(
        serde_json::to_value(&json).unwrap(),
        json!({"url": "https://example.com/p.json"})
    );
    let mut bare = source(json);
    bare.authentication_id = None;
    let v = serde_json::to_value(&bare).unwrap();
    assert!(v.get("authenticationID").is_none());
    assert_eq!(from_value::<Source>(&v).unwrap(), bare);
}

#[test]
fn source_bodies() {
    let create = SourceCreate {
        source_type: SourceType::Csv,
        name: "products".into(),
        input: SourceInput::Csv(csv_input()),
        authentication_id: None,
    };
    let v = serde_json::to_value(&create).unwrap();
    assert_eq!(v["type"], "csv");
    assert_eq!(v["input"]["uniqueIDColumn"], "sku");
    assert_eq!(from_value::<SourceCreate>(&v).unwrap(), create);

    let update = SourceUpdate {
        name: Some("renamed".into()),
        input: Some(json!({"locales": ["de"]})),
        authentication_id: Some("x".into()),
    };
    round_trip(
        &update,
        json!({"name": "renamed", "input": {"locales": ["de"]}, "authenticationID": "x"}),
    );
    let parsed = update
        .parse_input(SourceType::Commercetools)
        .unwrap()
        .unwrap();
    let SourceInput::Commercetools(before) =
        source(SourceInput::Commercetools(SourceCommercetools {
            store_keys: Some(vec!["eu".into()]),
            locales: None,
            url: "https://ct".into(),
            project_key: "p".into(),
            product_query_predicate: None,
        }))
        .input
        .updated(parsed)
        .unwrap()
    else {
        panic!("still commercetools");
    };
    assert_eq!(before.locales, Some(vec!["de".into()]));
    assert_eq!(before.store_keys, Some(vec!["eu".into()]), "kept");

    let csv = SourceInput::Csv(csv_input());
    let wrong = SourceUpdateInput::Json(SourceJson {
        url: "u".into(),
        unique_id_column: None,
        method: None,
    });
    assert_eq!(
        csv.updated(wrong).unwrap_err().to_string(),
        "does not fit a csv source"
    );
}

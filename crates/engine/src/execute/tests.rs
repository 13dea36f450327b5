use super::*;

use ingest_model::{SourceInput, SourceType, TriggerPayload};
use serde_json::json;

fn source(name: &str) -> Source {
    Source {
        source_id: "s".into(),
        source_type: SourceType::Json,
        name: name.into(),
        input: SourceInput::parse(SourceType::Json, &json!({"url": "https://e.com/x.json"}))
            .unwrap(),
        authentication_id: None,
        created_at: String::new(),
        updated_at: String::new(),
    }
}

#[test]
fn index_names_follow_part_c_16() {
    let named = DestinationInput::index("Products EU");
    assert_eq!(index_name(&named, &source("x")), "Products EU");
    let prefixed = DestinationInput::prefix("shop_");
    assert_eq!(
        index_name(&prefixed, &source("My Products-2024/é")),
        "shop_my_products-2024__"
    );
}

#[test]
fn windows() {
    let now = Timestamp::from_unix(1_000_000, 0);
    assert_eq!(window(None, now), None);
    let fixed = TaskInput::OnDemandDateUtilsInput {
        start_date: "2024-01-01T00:00:00Z".into(),
        end_date: "2024-01-02T00:00:00Z".into(),
    };
    let w = window(Some(&fixed), now).unwrap();
    assert_eq!(w.start.to_rfc3339(), "2024-01-01T00:00:00.000Z");
    assert_eq!(w.end.to_rfc3339(), "2024-01-02T00:00:00.000Z");
    let rolling = TaskInput::ScheduleDateUtilsInput { timeframe: 2 };
    let w = window(Some(&rolling), now).unwrap();
    assert_eq!(w.end, now);
    assert_eq!(w.start, Timestamp::from_unix(1_000_000 - 2 * 86_400, 0));
}

#[test]
fn trigger_payloads() {
    assert_eq!(trigger(None), (None, None));
    let ids = TriggerPayload::ObjectIds(vec!["a".into(), "b".into()]);
    let (event, only) = trigger(Some(&ids));
    assert_eq!(event, None);
    assert_eq!(only.unwrap().len(), 2);
    let hook = json!({"scope": "store/product/updated", "data": {"id": 3}});
    let payload = TriggerPayload::from_value(hook.clone()).unwrap();
    assert_eq!(trigger(Some(&payload)), (Some(hook), None));
}

//! GA4 export rows to Algolia Insights events, for an `insights` destination.
//!
//! One GA4 row is one event (`event_name`, `event_timestamp` in microseconds, `user_pseudo_id`,
//! `user_id`, `items`). Item events map to Insights events on the items' `item_id`s:
//!
//! | GA4 `event_name` | Insights |
//! |---|---|
//! | `view_item`, `view_item_list`, `view_promotion` | `view` |
//! | `select_item`, `select_promotion` | `click` |
//! | `add_to_cart` | `conversion`, `eventSubtype` `addToCart` |
//! | `purchase` | `conversion`, `eventSubtype` `purchase` |
//! | `add_to_wishlist` | `conversion` |
//!
//! `eventName` is the GA4 event name, `index` the destination's index, `userToken` the user
//! pseudo-ID (characters Insights refuses, such as the `.` of GA4 client IDs, become `_`),
//! `authenticatedUserToken` the `user_id` when set, `timestamp` the event time in milliseconds.
//! An event with more than [`MAX_OBJECT_IDS_PER_EVENT`] items is split. A purchase or
//! add-to-cart whose currency is known (`event_params.currency`) carries `objectData` (price,
//! quantity) and `value` (`ecommerce.purchase_revenue`). Other events (`page_view`,
//! `session_start`, …) are skipped; an item event without a user or without item IDs is
//! rejected, naming what is missing.

use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use futures::stream;
use ingest_core::{Position, Record, RecordRejection, RecordStream, SourceItemError, SourceResult};
use serde_json::{Map, Value, json};

/// Insights takes at most this many objectIDs per event.
pub const MAX_OBJECT_IDS_PER_EVENT: usize = 20;

/// The Insights events of a GA4 export's records, to be sent to `index`.
pub fn insights_events(records: RecordStream, index: &str) -> RecordStream {
    let index: Arc<str> = index.into();
    let mut read = 0u64;
    records
        .flat_map(move |item| {
            let items: Vec<SourceResult> = match item {
                Ok(record) => {
                    read += 1;
                    map_record(&record, &index, read)
                }
                Err(error) => vec![Err(error)],
            };
            stream::iter(items)
        })
        .boxed()
}

fn map_record(record: &Record, index: &str, number: u64) -> Vec<SourceResult> {
    let reject = |reason: String| {
        vec![Err(SourceItemError::Rejected(RecordRejection {
            position: Position::Record(number),
            object_id: record.object_id.clone(),
            reason,
        }))]
    };
    let row: Map<String, Value> = match serde_json::from_slice(&record.json) {
        Ok(row) => row,
        Err(error) => return reject(format!("not a GA4 event row: {error}")),
    };
    let name = row
        .get("event_name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let (event_type, subtype) = match name {
        "view_item" | "view_item_list" | "view_promotion" => ("view", None),
        "select_item" | "select_promotion" => ("click", None),
        "add_to_cart" => ("conversion", Some("addToCart")),
        "purchase" => ("conversion", Some("purchase")),
        "add_to_wishlist" => ("conversion", None),
        _ => return Vec::new(),
    };
    let Some(user) = row
        .get("user_pseudo_id")
        .and_then(Value::as_str)
        .map(user_token)
    else {
        return reject(format!(
            "`{name}` event without user_pseudo_id: Insights needs a user token"
        ));
    };
    let items: Vec<&Map<String, Value>> = row
        .get("items")
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_object).collect())
        .unwrap_or_default();
    let items: Vec<(&str, &Map<String, Value>)> = items
        .into_iter()
        .filter_map(|item| {
            let id = item.get("item_id").and_then(Value::as_str)?;
            (!id.is_empty()).then_some((id, item))
        })
        .collect();
    if items.is_empty() {
        return reject(format!(
            "`{name}` event without items having an item_id: no objectIDs to send"
        ));
    }
    let timestamp = row.get("event_timestamp").and_then(|value| match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse::<i64>().ok(),
        _ => None,
    });
    let currency = event_param(&row, "currency");
    let authenticated = row.get("user_id").and_then(Value::as_str).map(user_token);
    items
        .chunks(MAX_OBJECT_IDS_PER_EVENT)
        .map(|chunk| {
            let mut event = json!({
                "eventType": event_type,
                "eventName": name,
                "index": index,
                "userToken": user,
                "objectIDs": chunk.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
            });
            if let Some(subtype) = subtype {
                event["eventSubtype"] = json!(subtype);
            }
            if let Some(micros) = timestamp {
                event["timestamp"] = json!(micros.div_euclid(1000));
            }
            if let Some(token) = &authenticated {
                event["authenticatedUserToken"] = json!(token);
            }
            if let (Some(currency), Some(_)) = (&currency, subtype) {
                event["currency"] = json!(currency);
                event["objectData"] = chunk
                    .iter()
                    .map(|(_, item)| {
                        let mut data = Map::new();
                        if let Some(price) = item.get("price").filter(|p| p.is_number()) {
                            data.insert("price".into(), price.clone());
                        }
                        if let Some(quantity) = item.get("quantity").filter(|q| q.is_number()) {
                            data.insert("quantity".into(), quantity.clone());
                        }
                        Value::Object(data)
                    })
                    .collect();
                if subtype == Some("purchase")
                    && let Some(revenue) = row
                        .get("ecommerce")
                        .and_then(|e| e.get("purchase_revenue"))
                        .filter(|r| r.is_number())
                {
                    event["value"] = revenue.clone();
                }
            }
            Ok(Record::new(None, Bytes::from(event.to_string())))
        })
        .collect()
}

/// A GA4 `event_params` string value.
fn event_param(row: &Map<String, Value>, key: &str) -> Option<String> {
    row.get("event_params")?
        .as_array()?
        .iter()
        .find_map(|param| {
            if param.get("key")?.as_str()? != key {
                return None;
            }
            let value = param.get("value")?.get("string_value")?.as_str()?;
            (!value.is_empty()).then(|| value.to_owned())
        })
}

/// A user token Insights accepts: `[A-Za-z0-9_=+/-]`, 1 to 129 characters.
fn user_token(raw: &str) -> String {
    raw.chars()
        .take(129)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '=' | '+' | '/' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(row: Value) -> Vec<SourceResult> {
        map_record(
            &Record::new(None, Bytes::from(row.to_string())),
            "products",
            7,
        )
    }

    fn event(item: &SourceResult) -> Value {
        serde_json::from_slice(&item.as_ref().unwrap().json).unwrap()
    }

    #[test]
    fn a_purchase_becomes_a_conversion_with_its_items() {
        let out = events(json!({
            "event_name": "purchase", "event_timestamp": 1_717_200_000_123_456i64,
            "user_pseudo_id": "1839201.1717199000", "user_id": null,
            "event_params": [{"key": "currency", "value": {"string_value": "EUR", "int_value": null}}],
            "ecommerce": {"purchase_revenue": 44.98},
            "items": [{"item_id": "SKU_1", "price": 19.99, "quantity": 2}, {"item_id": "SKU_2", "price": 5.0, "quantity": 1}]
        }));
        assert_eq!(out.len(), 1);
        assert_eq!(
            event(&out[0]),
            json!({"eventType": "conversion", "eventSubtype": "purchase", "eventName": "purchase",
                   "index": "products", "userToken": "1839201_1717199000", "objectIDs": ["SKU_1", "SKU_2"],
                   "timestamp": 1_717_200_000_123i64, "currency": "EUR", "value": 44.98,
                   "objectData": [{"price": 19.99, "quantity": 2}, {"price": 5.0, "quantity": 1}]})
        );
    }

    #[test]
    fn views_and_clicks_many_items_and_skips() {
        let items: Vec<Value> = (0..45)
            .map(|i| json!({"item_id": format!("s{i}")}))
            .collect();
        let out = events(
            json!({"event_name": "view_item_list", "event_timestamp": "1000",
                                "user_pseudo_id": "u", "user_id": "me@x", "items": items}),
        );
        assert_eq!(out.len(), 3);
        assert_eq!(event(&out[2])["objectIDs"].as_array().unwrap().len(), 5);
        assert_eq!(event(&out[0])["eventType"], "view");
        assert_eq!(event(&out[0])["authenticatedUserToken"], "me_x");
        assert_eq!(event(&out[0])["timestamp"], 1);
        let click = events(
            json!({"event_name": "select_item", "user_pseudo_id": "u", "items": [{"item_id": "a"}]}),
        );
        assert_eq!(event(&click[0])["eventType"], "click");
        assert!(events(json!({"event_name": "page_view", "user_pseudo_id": "u"})).is_empty());
    }

    #[test]
    fn item_events_without_user_or_items_are_rejected() {
        let out = events(json!({"event_name": "view_item", "items": [{"item_id": "a"}]}));
        let Err(SourceItemError::Rejected(rejection)) = &out[0] else {
            panic!()
        };
        assert!(rejection.reason.contains("user_pseudo_id"));
        assert_eq!(rejection.position, Position::Record(7));
        let out = events(json!({"event_name": "view_item", "user_pseudo_id": "u", "items": []}));
        assert!(
            matches!(&out[0], Err(SourceItemError::Rejected(r)) if r.reason.contains("item_id"))
        );
    }
}

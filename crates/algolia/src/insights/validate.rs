//! What the Insights API accepts of one event, checked before sending: the API refuses a whole
//! request (422) for one bad event, so a bad event is rejected alone instead.

use serde_json::{Map, Value};

/// Most objectIDs (or filters) one event may carry.
pub const MAX_OBJECT_IDS: usize = 20;

/// Most filters one event may carry.
const MAX_FILTERS: usize = 10;

/// Why `json` is not an Insights event, if it is not.
pub(crate) fn check_event(json: &[u8]) -> Result<(), String> {
    let event: Map<String, Value> =
        serde_json::from_slice(json).map_err(|error| format!("not a JSON object: {error}"))?;
    let text = |name: &str| event.get(name).and_then(Value::as_str);
    match text("eventType") {
        Some("click" | "conversion" | "view") => {}
        Some(other) => {
            return Err(format!(
                "eventType {other:?} is not one of click, conversion, view"
            ));
        }
        None => {
            return Err("an Insights event needs an eventType (click, conversion, view)".into());
        }
    }
    match text("eventName") {
        Some(name) if (1..=64).contains(&name.chars().count()) => {}
        Some(_) => return Err("eventName must have 1 to 64 characters".into()),
        None => return Err("an Insights event needs an eventName".into()),
    }
    if text("index").is_none_or(str::is_empty) {
        return Err("an Insights event needs the index it is about".into());
    }
    for field in ["userToken", "authenticatedUserToken"] {
        match text(field) {
            Some(token) if valid_token(token) => {}
            Some(_) => {
                return Err(format!(
                    "{field} must have 1 to 129 characters among letters, digits and = + / - _"
                ));
            }
            None if field == "userToken" && !event.contains_key("authenticatedUserToken") => {
                return Err("an Insights event needs a userToken".into());
            }
            None if event.get(field).is_some_and(|v| !v.is_null()) => {
                return Err(format!("{field} must be a string"));
            }
            None => {}
        }
    }
    let strings = |name: &str, max: usize| -> Result<Option<usize>, String> {
        let Some(value) = event.get(name) else {
            return Ok(None);
        };
        let Some(items) = value.as_array() else {
            return Err(format!("{name} must be an array of strings"));
        };
        if items.is_empty() || items.len() > max {
            return Err(format!(
                "{name} must hold 1 to {max} values, not {}",
                items.len()
            ));
        }
        if !items
            .iter()
            .all(|item| item.as_str().is_some_and(|s| !s.is_empty()))
        {
            return Err(format!("{name} must hold non-empty strings"));
        }
        Ok(Some(items.len()))
    };
    let object_ids = strings("objectIDs", MAX_OBJECT_IDS)?;
    let filters = strings("filters", MAX_FILTERS)?;
    if object_ids.is_none() && filters.is_none() {
        return Err("an Insights event needs objectIDs or filters".into());
    }
    if let Some(timestamp) = event.get("timestamp")
        && !timestamp.is_i64()
    {
        return Err("timestamp must be an integer (milliseconds since the epoch)".into());
    }
    if let Some(positions) = event.get("positions") {
        let count = positions.as_array().map(Vec::len);
        if count != object_ids || text("queryID").is_none() {
            return Err("positions need a queryID and one position per objectID".into());
        }
    }
    Ok(())
}

fn valid_token(token: &str) -> bool {
    (1..=129).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'=' | b'+' | b'/' | b'-' | b'_'))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn check(event: Value) -> Result<(), String> {
        check_event(event.to_string().as_bytes())
    }

    #[test]
    fn good_events_pass() {
        let view = json!({"eventType": "view", "eventName": "Viewed", "index": "products",
                          "userToken": "u-1", "objectIDs": ["a"], "timestamp": 1717200000000i64});
        assert_eq!(check(view), Ok(()));
        let click = json!({"eventType": "click", "eventName": "Clicked", "index": "p",
                           "authenticatedUserToken": "me", "objectIDs": ["a", "b"],
                           "queryID": "q", "positions": [1, 2]});
        assert_eq!(check(click), Ok(()));
        let filters = json!({"eventType": "conversion", "eventName": "c", "index": "p",
                             "userToken": "u", "filters": ["brand:x"]});
        assert_eq!(check(filters), Ok(()));
    }

    #[test]
    fn bad_events_say_why() {
        let base = json!({"eventType": "view", "eventName": "v", "index": "p", "userToken": "u", "objectIDs": ["a"]});
        let with = |key: &str, value: Value| {
            let mut event = base.clone();
            event[key] = value;
            check(event).unwrap_err()
        };
        assert!(with("eventType", json!("purchase")).contains("eventType"));
        assert!(with("eventName", json!("x".repeat(65))).contains("1 to 64"));
        assert!(with("index", json!("")).contains("index"));
        assert!(with("userToken", json!("a.b")).contains("userToken"));
        assert!(
            with(
                "objectIDs",
                json!((0..21).map(|i| i.to_string()).collect::<Vec<_>>())
            )
            .contains("1 to 20")
        );
        assert!(with("objectIDs", json!([])).contains("1 to 20"));
        assert!(with("timestamp", json!("yesterday")).contains("timestamp"));
        assert!(with("positions", json!([1])).contains("queryID"));
        assert!(
            check_event(b"[1]")
                .unwrap_err()
                .contains("not a JSON object")
        );
        let mut event = base.clone();
        event.as_object_mut().unwrap().remove("userToken");
        assert!(check(event).unwrap_err().contains("userToken"));
    }
}

//! [`TriggerPayload`]: what a `subscription` task's webhook asked for (docs/api.md E1), parsed
//! once where the body arrives and carried as a type from the API, through the store, to the
//! engine.

use serde_json::{Map, Value};

use crate::ValidationError;

/// The most objectIDs one webhook may name.
pub const MAX_TRIGGER_OBJECT_IDS: usize = 1000;

/// The body of `POST /1/tasks/{taskID}/webhook`, when it is not empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TriggerPayload {
    /// `{"objectIDs": [...]}`: the run updates these objects only (1 to [`MAX_TRIGGER_OBJECT_IDS`]
    /// non-empty strings, nothing else in the body).
    ObjectIds(Vec<String>),
    /// Any other JSON object: the connector's own event (a BigCommerce webhook, ...), passed to
    /// the source as is.
    ConnectorEvent(Map<String, Value>),
}

impl TriggerPayload {
    /// Parses a webhook body; `Ok(None)` for an empty (or all-whitespace) one.
    pub fn parse(body: &[u8]) -> Result<Option<Self>, ValidationError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        let value: Value = serde_json::from_slice(body).map_err(|error| {
            ValidationError::here(format!("the body is not valid JSON: {error}"))
        })?;
        Self::from_value(value).map(Some)
    }

    /// Checks a JSON value as a webhook body (the stored form is the body as received).
    pub fn from_value(value: Value) -> Result<Self, ValidationError> {
        let Value::Object(mut object) = value else {
            return Err(ValidationError::here("the body must be a JSON object"));
        };
        let Some(ids) = object.remove("objectIDs") else {
            return Ok(Self::ConnectorEvent(object));
        };
        if !object.is_empty() {
            return Err(ValidationError::new(
                "objectIDs",
                "cannot be combined with other fields",
            ));
        }
        let Value::Array(ids) = ids else {
            return Err(ValidationError::new(
                "objectIDs",
                "must be an array of strings",
            ));
        };
        if ids.is_empty() || ids.len() > MAX_TRIGGER_OBJECT_IDS {
            return Err(ValidationError::new(
                "objectIDs",
                format!("must hold 1 to {MAX_TRIGGER_OBJECT_IDS} objectIDs"),
            ));
        }
        ids.into_iter()
            .enumerate()
            .map(|(i, id)| match id {
                Value::String(id) if !id.is_empty() => Ok(id),
                _ => Err(ValidationError::new(
                    format!("objectIDs[{i}]"),
                    "must be a non-empty string",
                )),
            })
            .collect::<Result<_, _>>()
            .map(Self::ObjectIds)
    }

    /// The JSON form, as stored with the run: the body as the sender wrote it.
    pub fn to_value(&self) -> Value {
        match self {
            Self::ObjectIds(ids) => {
                let mut object = Map::new();
                object.insert(
                    "objectIDs".to_owned(),
                    Value::Array(ids.iter().cloned().map(Value::String).collect()),
                );
                Value::Object(object)
            }
            Self::ConnectorEvent(event) => Value::Object(event.clone()),
        }
    }

    /// The event's `hash`, by which a sender marks redeliveries of one event (BigCommerce).
    pub fn event_hash(&self) -> Option<&str> {
        match self {
            Self::ObjectIds(_) => None,
            Self::ConnectorEvent(event) => event.get("hash").and_then(Value::as_str),
        }
    }

    /// Whether this is a connector's own event (the kind a webhook signature covers).
    pub fn is_connector_event(&self) -> bool {
        matches!(self, Self::ConnectorEvent(_))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(body: &str) -> Result<Option<TriggerPayload>, ValidationError> {
        TriggerPayload::parse(body.as_bytes())
    }

    #[test]
    fn empty_bodies_trigger_a_full_run() {
        assert_eq!(parse("").unwrap(), None);
        assert_eq!(parse(" \n").unwrap(), None);
    }

    #[test]
    fn object_ids_and_connector_events_are_told_apart() {
        assert_eq!(
            parse(r#"{"objectIDs":["a","b"]}"#).unwrap(),
            Some(TriggerPayload::ObjectIds(vec!["a".into(), "b".into()]))
        );
        let event = parse(r#"{"scope":"store/product/updated","hash":"h1","data":{"id":7}}"#)
            .unwrap()
            .unwrap();
        assert!(event.is_connector_event());
        assert_eq!(event.event_hash(), Some("h1"));
    }

    #[test]
    fn bad_bodies_name_the_field() {
        let cases = [
            ("[1]", "the body must be a JSON object"),
            ("{", "the body is not valid JSON"),
            (
                r#"{"objectIDs":"a"}"#,
                "objectIDs: must be an array of strings",
            ),
            (
                r#"{"objectIDs":[]}"#,
                "objectIDs: must hold 1 to 1000 objectIDs",
            ),
            (
                r#"{"objectIDs":["a",""]}"#,
                "objectIDs[1]: must be a non-empty string",
            ),
            (
                r#"{"objectIDs":["a",3]}"#,
                "objectIDs[1]: must be a non-empty string",
            ),
            (
                r#"{"objectIDs":["a"],"x":1}"#,
                "objectIDs: cannot be combined with other fields",
            ),
        ];
        for (body, expected) in cases {
            let error = parse(body).unwrap_err().to_string();
            assert!(error.starts_with(expected), "{body}: {error}");
        }
        let many = json!({ "objectIDs": vec!["x"; MAX_TRIGGER_OBJECT_IDS + 1] }).to_string();
        assert!(parse(&many).is_err());
    }

    #[test]
    fn the_stored_form_parses_back_to_the_same_payload() {
        for body in [
            r#"{"objectIDs":["a","b"]}"#,
            r#"{"scope":"store/product/deleted","data":{"id":1}}"#,
        ] {
            let payload = parse(body).unwrap().unwrap();
            let stored = payload.to_value();
            assert_eq!(stored, serde_json::from_str::<Value>(body).unwrap());
            assert_eq!(TriggerPayload::from_value(stored).unwrap(), payload);
        }
    }
}

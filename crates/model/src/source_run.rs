//! `POST /1/sources/{sourceID}/run` (`docs/api.md` D6): one run for each enabled task of a
//! source, filtered by destination index, optionally limited to some objects.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{MAX_TRIGGER_OBJECT_IDS, TriggerPayload, ValidationError};

/// What `entityIDs` name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EntityType {
    /// Products.
    Product,
    /// Collections.
    Collection,
}

/// The body of `POST /1/sources/{sourceID}/run`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a run source payload object")]
pub struct RunSourcePayload {
    /// `indexToInclude`: only tasks whose destination index is listed.
    #[serde(rename = "indexToInclude", default)]
    pub index_to_include: Option<Vec<String>>,
    /// `indexToExclude`: no task whose destination index is listed.
    #[serde(rename = "indexToExclude", default)]
    pub index_to_exclude: Option<Vec<String>>,
    /// `entityIDs`: each run updates these objects only (as a webhook's `objectIDs`).
    #[serde(rename = "entityIDs", default)]
    pub entity_ids: Option<Vec<String>>,
    /// `entityType`: what the IDs name; accepted and not needed (an ID is an objectID).
    #[serde(rename = "entityType", default)]
    pub entity_type: Option<EntityType>,
    /// `runMetadata`: kept on every run created.
    #[serde(rename = "runMetadata", default)]
    pub run_metadata: Option<Map<String, Value>>,
}

impl RunSourcePayload {
    /// Whether a task writing to `index` is run.
    pub fn selects(&self, index: &str) -> bool {
        let listed = |list: &Option<Vec<String>>| {
            list.as_ref()
                .is_some_and(|names| names.iter().any(|name| name == index))
        };
        let included = match &self.index_to_include {
            Some(names) if !names.is_empty() => listed(&self.index_to_include),
            _ => true,
        };
        included && !listed(&self.index_to_exclude)
    }

    /// The runs' trigger payload: the objects `entityIDs` names, `None` for whole runs.
    pub fn trigger_payload(&self) -> Result<Option<TriggerPayload>, ValidationError> {
        let Some(ids) = &self.entity_ids else {
            return Ok(None);
        };
        if ids.is_empty() || ids.len() > MAX_TRIGGER_OBJECT_IDS {
            return Err(ValidationError::new(
                "entityIDs",
                format!("must list 1 to {MAX_TRIGGER_OBJECT_IDS} IDs"),
            ));
        }
        if let Some(i) = ids.iter().position(|id| id.trim().is_empty()) {
            return Err(ValidationError::new(
                format!("entityIDs[{i}]"),
                "must not be empty",
            ));
        }
        Ok(Some(TriggerPayload::ObjectIds(ids.clone())))
    }
}

/// The answer of `POST /1/sources/{sourceID}/run`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunSourceResponse {
    /// `taskWithRunID`: the run created for each task.
    #[serde(rename = "taskWithRunID")]
    pub task_with_run_id: BTreeMap<String, String>,
    /// `createdAt` (RFC 3339).
    #[serde(rename = "createdAt")]
    pub created_at: String,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn payload(value: Value) -> RunSourcePayload {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn include_and_exclude_lists_select_indices() {
        let all = payload(json!({}));
        assert!(all.selects("a"));
        let some = payload(json!({"indexToInclude": ["a", "b"], "indexToExclude": ["b"]}));
        assert!(some.selects("a"));
        assert!(!some.selects("b"));
        assert!(!some.selects("c"));
        let empty_include = payload(json!({"indexToInclude": [], "indexToExclude": ["c"]}));
        assert!(empty_include.selects("a"));
        assert!(!empty_include.selects("c"));
    }

    #[test]
    fn entity_ids_become_object_ids() {
        let limited = payload(json!({"entityIDs": ["1234", "5678"], "entityType": "product"}));
        assert_eq!(
            limited.trigger_payload().unwrap(),
            Some(TriggerPayload::ObjectIds(vec![
                "1234".into(),
                "5678".into()
            ]))
        );
        assert_eq!(payload(json!({})).trigger_payload().unwrap(), None);
        let error = payload(json!({"entityIDs": ["1", " "]}))
            .trigger_payload()
            .unwrap_err();
        assert_eq!(error.to_string(), "entityIDs[1]: must not be empty");
        assert!(
            serde_json::from_value::<RunSourcePayload>(json!({"entityType": "variant"})).is_err()
        );
        assert!(serde_json::from_value::<RunSourcePayload>(json!({"other": 1})).is_err());
    }
}

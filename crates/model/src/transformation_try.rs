//! Trying a transformation on one record (`docs/api.md` D5): the body of
//! `POST /1/transformations/try` and `/1/transformations/{transformationID}/try`, and its answer.
//! The transformation is given inline, or is the stored one with the body's fields over it; its
//! secrets come from inline, unsaved authentications.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::transformation::{MAX_TRANSFORMATION_AUTHENTICATIONS, resolve};
use crate::{
    AuthenticationCreate, Transformation, TransformationInput, TransformationType, ValidationError,
};

/// The body of the two `try` routes. It has no `Serialize`: its authentications hold secrets.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a transformation try object")]
pub struct TransformationTry {
    /// `sampleRecord`: the record to transform (a JSON object).
    #[serde(rename = "sampleRecord", deserialize_with = "object")]
    pub sample_record: Map<String, Value>,
    /// `code`: the legacy form of `input.code`.
    #[serde(default)]
    pub code: Option<String>,
    /// `type`.
    #[serde(rename = "type", default)]
    pub transformation_type: Option<TransformationType>,
    /// `input`.
    #[serde(default)]
    pub input: Option<TransformationInput>,
    /// `authentications`: inline authentications, never saved; the values of the `secrets` ones
    /// are what `helper.secrets.get` answers during the try.
    #[serde(default, deserialize_with = "authentications")]
    pub authentications: Vec<AuthenticationCreate>,
}

fn object<'de, D: Deserializer<'de>>(d: D) -> Result<Map<String, Value>, D::Error> {
    match Value::deserialize(d)? {
        Value::Object(record) => Ok(record),
        _ => Err(D::Error::custom("must be a JSON object")),
    }
}

fn authentications<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<AuthenticationCreate>, D::Error> {
    let list = Vec::<AuthenticationCreate>::deserialize(d)?;
    if list.len() > MAX_TRANSFORMATION_AUTHENTICATIONS {
        return Err(D::Error::custom(format!(
            "at most {MAX_TRANSFORMATION_AUTHENTICATIONS} authentications, got {}",
            list.len()
        )));
    }
    Ok(list)
}

impl TransformationTry {
    /// The transformation the body gives inline (`/try`), resolved as a create body is
    /// ([`crate::TransformationCreate::resolve`]).
    pub fn inline(&self) -> Result<(TransformationType, TransformationInput), ValidationError> {
        resolve(
            self.transformation_type,
            self.input.as_ref(),
            self.code.as_deref(),
        )
    }

    /// The transformation to try over `stored` (`/{transformationID}/try`): the stored one when
    /// the body gives none of `type`, `input` and `code`; the stored input under a `type` given
    /// alone that is the stored type; otherwise what the body's fields make, as [`Self::inline`].
    pub fn over(
        &self,
        stored: &Transformation,
    ) -> Result<(TransformationType, TransformationInput), ValidationError> {
        match (self.transformation_type, &self.input, &self.code) {
            (None, None, None) => Ok((stored.transformation_type, stored.input.clone())),
            (Some(kind), None, None) if kind == stored.transformation_type => {
                Ok((kind, stored.input.clone()))
            }
            _ => self.inline(),
        }
    }
}

/// The answer of the `try` routes: each output record as a JSON **string**, and the error when
/// the transformation failed (then `payloads` is empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransformationTryResponse {
    /// `payloads`: the output records, each serialized as JSON text.
    pub payloads: Vec<String>,
    /// `error`, omitted when the transformation did not fail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<TransformationError>,
}

/// Why a tried transformation failed. Today's clients read `code` as an integer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransformationError {
    /// `code`: [`TransformationError::INVALID`] or [`TransformationError::FAILED`].
    pub code: u16,
    /// `message`: what went wrong, with the line for a JavaScript error.
    pub message: String,
}

impl TransformationError {
    /// The transformation does not compile: a syntax error, no `transform` function, an error
    /// thrown at load, invalid steps, code over the size limit.
    pub const INVALID: u16 = 400;
    /// The record failed: an error thrown by `transform`, a timeout, memory exhausted, a return
    /// value that is not records, an output record over the size limit.
    pub const FAILED: u16 = 422;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::from_value;
    use serde_json::json;

    fn parse(v: Value) -> Result<TransformationTry, String> {
        from_value::<TransformationTry>(&v).map_err(|e| e.to_string())
    }

    #[test]
    fn bodies_are_strict() {
        assert_eq!(
            parse(json!({"code": "x"})).unwrap_err(),
            "sampleRecord: missing field"
        );
        assert_eq!(
            parse(json!({"sampleRecord": [1]})).unwrap_err(),
            "sampleRecord: must be a JSON object"
        );
        assert_eq!(
            parse(json!({"sampleRecord": {}, "steps": []})).unwrap_err(),
            "steps: unknown field"
        );
        assert_eq!(
            parse(
                json!({"sampleRecord": {}, "authentications": [{"type": "secrets",
                "name": "s", "input": {"a b": "x"}}]})
            )
            .unwrap_err()
            .split(':')
            .next()
            .unwrap(),
            "authentications[0].input"
        );
        let ok = parse(json!({"sampleRecord": {"a": 1}, "authentications": [
            {"type": "secrets", "name": "s", "input": {"KEY": "v"}},
            {"type": "oauth", "name": "o", "input": {"url": "http://o", "client_secret": "x"}}
        ]}))
        .unwrap();
        assert_eq!(ok.authentications.len(), 2);
        assert!(!format!("{ok:?}").contains("\"v\""), "secrets stay hidden");
    }

    #[test]
    fn over_the_stored_transformation() {
        let stored = Transformation {
            transformation_id: "t".into(),
            code: "c".into(),
            name: "n".into(),
            transformation_type: TransformationType::Code,
            input: TransformationInput::Code { code: "c".into() },
            description: None,
            authentication_ids: vec![],
            owner: None,
            created_at: String::new(),
            updated_at: String::new(),
        };
        let body = |v: Value| {
            let mut v = v;
            v["sampleRecord"] = json!({});
            parse(v).unwrap()
        };
        assert_eq!(body(json!({})).over(&stored).unwrap().1, stored.input);
        assert_eq!(
            body(json!({"type": "code"})).over(&stored).unwrap().1,
            stored.input
        );
        assert_eq!(
            body(json!({"code": "d"})).over(&stored).unwrap().1,
            TransformationInput::Code { code: "d".into() }
        );
        assert_eq!(
            body(json!({"type": "noCode"}))
                .over(&stored)
                .unwrap_err()
                .to_string(),
            "input.steps: required for type `noCode`"
        );
        assert_eq!(
            body(json!({"input": {"steps": []}}))
                .over(&stored)
                .unwrap()
                .0,
            TransformationType::NoCode
        );
    }

    #[test]
    fn errors_are_left_out_when_unset() {
        let ok = TransformationTryResponse {
            payloads: vec!["{}".into()],
            error: None,
        };
        assert_eq!(
            serde_json::to_value(&ok).unwrap(),
            json!({"payloads": ["{}"]})
        );
        let failed = TransformationTryResponse {
            payloads: vec![],
            error: Some(TransformationError {
                code: TransformationError::FAILED,
                message: "Error: boom (line 1)".into(),
            }),
        };
        assert_eq!(
            serde_json::to_value(&failed).unwrap(),
            json!({"payloads": [], "error": {"code": 422, "message": "Error: boom (line 1)"}})
        );
    }
}

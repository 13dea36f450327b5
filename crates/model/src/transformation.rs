//! Transformations (`docs/api.md` D5): JavaScript code or no-code steps that destinations apply
//! to records. A transformation is `code` (`input: {code}`) or `noCode` (`input: {steps}`); the
//! create body also takes the legacy `{name, code}` form, read as `type: code`
//! ([`TransformationCreate::resolve`]). The code and the steps are only checked for shape here;
//! compiling them is the API's job (`ingest-transform`).

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::error::into_de_error;
use crate::parse::non_empty;
use crate::{TransformationType, ValidationError};

/// The most `authenticationIDs` a transformation may list.
pub const MAX_TRANSFORMATION_AUTHENTICATIONS: usize = 10;

/// What a transformation runs: `{"code": "..."}` or `{"steps": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum TransformationInput {
    /// `{code}`: JavaScript defining `transform(record, helper)`.
    Code {
        /// `code`.
        code: String,
    },
    /// `{steps}`: the no-code steps (their dialect is `ingest-transform`'s).
    NoCode {
        /// `steps`, each a JSON value checked when compiled.
        steps: Vec<Value>,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a transformation input object")]
struct RawInput {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    steps: Option<Vec<Value>>,
}

impl<'de> Deserialize<'de> for TransformationInput {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawInput::deserialize(d)?;
        match (raw.code, raw.steps) {
            (Some(code), None) => Ok(Self::Code { code }),
            (None, Some(steps)) => Ok(Self::NoCode { steps }),
            (Some(_), Some(_)) => Err(into_de_error(ValidationError::new(
                "steps",
                "cannot be given with `code`: a transformation is code or steps",
            ))),
            (None, None) => Err(into_de_error(ValidationError::here(
                "one of `code` or `steps` is required",
            ))),
        }
    }
}

impl TransformationInput {
    /// The type this input belongs to.
    pub fn kind(&self) -> TransformationType {
        match self {
            Self::Code { .. } => TransformationType::Code,
            Self::NoCode { .. } => TransformationType::NoCode,
        }
    }

    /// The code of a `code` input; `""` for steps (the response's deprecated `code`).
    pub fn code(&self) -> &str {
        match self {
            Self::Code { code } => code,
            Self::NoCode { .. } => "",
        }
    }
}

/// A transformation as the API returns it. `code` is deprecated but required by today's
/// clients: the code of a `code` transformation, `""` for `noCode`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transformation {
    /// `transformationID`.
    #[serde(rename = "transformationID")]
    pub transformation_id: String,
    /// `code` (deprecated): the same as `input.code`, `""` for `noCode`.
    pub code: String,
    /// `name`.
    pub name: String,
    /// `type`.
    #[serde(rename = "type")]
    pub transformation_type: TransformationType,
    /// `input`.
    pub input: TransformationInput,
    /// `description`, omitted when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `authenticationIDs`: the `secrets` authentications `helper.secrets` reads, omitted when
    /// empty.
    #[serde(
        rename = "authenticationIDs",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub authentication_ids: Vec<String>,
    /// `owner`: never set by this engine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// `createdAt` (RFC 3339).
    #[serde(rename = "createdAt")]
    pub created_at: String,
    /// `updatedAt` (RFC 3339).
    #[serde(rename = "updatedAt")]
    pub updated_at: String,
}

/// The body of `POST /1/transformations`, and of `PUT /1/transformations/{transformationID}`,
/// which replaces the whole transformation. Only `name` is required: the fields are kept as
/// given, and [`TransformationCreate::resolve`] says what they make (parsing already refuses a
/// body that does not resolve).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransformationCreate {
    /// `name` (not blank).
    pub name: String,
    /// `type`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub transformation_type: Option<TransformationType>,
    /// `input`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<TransformationInput>,
    /// `code`: the legacy form of `input.code`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// `description`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `authenticationIDs`: up to [`MAX_TRANSFORMATION_AUTHENTICATIONS`] `secrets`
    /// authentications (checked by the store).
    #[serde(rename = "authenticationIDs", skip_serializing_if = "Vec::is_empty")]
    pub authentication_ids: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a transformation object")]
struct RawTransformationCreate {
    #[serde(deserialize_with = "non_empty")]
    name: String,
    #[serde(rename = "type", default)]
    transformation_type: Option<TransformationType>,
    #[serde(default)]
    input: Option<TransformationInput>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(rename = "authenticationIDs", default, deserialize_with = "auth_ids")]
    authentication_ids: Vec<String>,
}

impl<'de> Deserialize<'de> for TransformationCreate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawTransformationCreate::deserialize(d)?;
        let body = Self {
            name: raw.name,
            transformation_type: raw.transformation_type,
            input: raw.input,
            code: raw.code,
            description: raw.description,
            authentication_ids: raw.authentication_ids,
        };
        body.resolve().map_err(into_de_error)?;
        Ok(body)
    }
}

impl TransformationCreate {
    /// What the body makes: the legacy `code` is `input.code` of a `code` transformation; a
    /// `type` needs the input of its kind (`input.code` or the legacy `code` for `code`,
    /// `input.steps` for `noCode`); a `type` and an `input` of different kinds are refused
    /// (path `input`); a body with neither is a `code` transformation with code `""`.
    pub fn resolve(&self) -> Result<(TransformationType, TransformationInput), ValidationError> {
        resolve(
            self.transformation_type,
            self.input.as_ref(),
            self.code.as_deref(),
        )
    }
}

/// `type`, `input` and the legacy `code` of a body, resolved (see
/// [`TransformationCreate::resolve`]).
pub(crate) fn resolve(
    kind: Option<TransformationType>,
    input: Option<&TransformationInput>,
    legacy_code: Option<&str>,
) -> Result<(TransformationType, TransformationInput), ValidationError> {
    let input = match (input, legacy_code) {
        (Some(TransformationInput::Code { code }), Some(legacy)) if legacy != code => {
            return Err(ValidationError::new(
                "code",
                "differs from `input.code`: give the code once, in `input.code`",
            ));
        }
        (Some(TransformationInput::NoCode { .. }), Some(legacy)) if !legacy.is_empty() => {
            return Err(ValidationError::new(
                "code",
                "a no-code transformation has no code: leave `code` out",
            ));
        }
        (Some(input), _) => Some(input.clone()),
        (None, Some(code)) => Some(TransformationInput::Code {
            code: code.to_owned(),
        }),
        (None, None) => None,
    };
    match (kind, input) {
        (None, None) => Ok((
            TransformationType::Code,
            TransformationInput::Code {
                code: String::new(),
            },
        )),
        (None, Some(input)) => Ok((input.kind(), input)),
        (Some(kind), Some(input)) if input.kind() == kind => Ok((kind, input)),
        (Some(kind), Some(_)) => Err(ValidationError::new(
            "input",
            format!("a `{kind}` transformation takes `{}`", input_field(kind)),
        )),
        (Some(kind), None) => Err(ValidationError::new(
            input_field(kind),
            format!("required for type `{kind}`"),
        )),
    }
}

/// The input field a transformation of type `kind` needs.
fn input_field(kind: TransformationType) -> &'static str {
    match kind {
        TransformationType::Code => "input.code",
        TransformationType::NoCode => "input.steps",
    }
}

/// `deserialize_with` for `authenticationIDs`: at most
/// [`MAX_TRANSFORMATION_AUTHENTICATIONS`] IDs, none blank.
fn auth_ids<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let ids = Vec::<String>::deserialize(d)?;
    if ids.len() > MAX_TRANSFORMATION_AUTHENTICATIONS {
        return Err(D::Error::custom(format!(
            "at most {MAX_TRANSFORMATION_AUTHENTICATIONS} authentications, got {}",
            ids.len()
        )));
    }
    if let Some(i) = ids.iter().position(|id| id.trim().is_empty()) {
        return Err(into_de_error(ValidationError::new(
            format!("[{i}]"),
            "must not be empty",
        )));
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::from_value;
    use serde_json::json;

    fn create(v: Value) -> Result<TransformationCreate, String> {
        from_value::<TransformationCreate>(&v).map_err(|e| e.to_string())
    }

    fn resolved(v: Value) -> (TransformationType, TransformationInput) {
        create(v).unwrap().resolve().unwrap()
    }

    #[test]
    fn inputs_are_code_or_steps() {
        let code: TransformationInput = from_value(&json!({"code": "x"})).unwrap();
        assert_eq!(code.kind(), TransformationType::Code);
        assert_eq!(serde_json::to_value(&code).unwrap(), json!({"code": "x"}));
        let steps: TransformationInput = from_value(&json!({"steps": [{"a": 1}]})).unwrap();
        assert_eq!(steps.code(), "");
        assert_eq!(
            serde_json::to_value(&steps).unwrap(),
            json!({"steps": [{"a": 1}]})
        );
        let err = |v: Value| create(json!({"name": "t", "input": v})).unwrap_err();
        assert_eq!(
            err(json!({"code": "x", "steps": []})),
            "input.steps: cannot be given with `code`: a transformation is code or steps"
        );
        assert_eq!(
            err(json!({})),
            "input: one of `code` or `steps` is required"
        );
        assert_eq!(
            err(json!({"code": "x", "lang": "js"})),
            "input.lang: unknown field"
        );
        assert!(err(json!({"code": 1})).starts_with("input.code: invalid type"));
        assert!(err(json!({"steps": {}})).starts_with("input.steps: invalid type"));
    }

    #[test]
    fn legacy_and_typed_forms_resolve() {
        let code = |c: &str| TransformationInput::Code { code: c.into() };
        assert_eq!(
            resolved(json!({"name": "t", "code": "function transform(r) { return r }"})),
            (
                TransformationType::Code,
                code("function transform(r) { return r }")
            )
        );
        assert_eq!(
            resolved(json!({"name": "t"})),
            (TransformationType::Code, code(""))
        );
        assert_eq!(
            resolved(json!({"name": "t", "type": "code", "input": {"code": "c"}, "code": "c"})),
            (TransformationType::Code, code("c"))
        );
        assert_eq!(
            resolved(json!({"name": "t", "type": "noCode", "input": {"steps": []}, "code": ""})),
            (
                TransformationType::NoCode,
                TransformationInput::NoCode { steps: vec![] }
            )
        );
        assert_eq!(
            resolved(json!({"name": "t", "input": {"steps": [1]}})).0,
            TransformationType::NoCode
        );
        assert_eq!(
            resolved(json!({"name": "t", "type": "code", "code": "c"})),
            (TransformationType::Code, code("c"))
        );
    }

    #[test]
    fn mismatches_name_the_field() {
        for (body, message) in [
            (
                json!({"name": "t", "type": "noCode", "input": {"code": "c"}}),
                "input: a `noCode` transformation takes `input.steps`",
            ),
            (
                json!({"name": "t", "type": "code", "input": {"steps": []}}),
                "input: a `code` transformation takes `input.code`",
            ),
            (
                json!({"name": "t", "type": "code"}),
                "input.code: required for type `code`",
            ),
            (
                json!({"name": "t", "type": "noCode"}),
                "input.steps: required for type `noCode`",
            ),
            (
                json!({"name": "t", "input": {"code": "a"}, "code": "b"}),
                "code: differs from `input.code`: give the code once, in `input.code`",
            ),
            (
                json!({"name": "t", "input": {"steps": []}, "code": "b"}),
                "code: a no-code transformation has no code: leave `code` out",
            ),
            (
                json!({"name": "t", "type": "lua"}),
                "type: unknown variant `lua`, expected `code` or `noCode`",
            ),
        ] {
            assert_eq!(create(body).unwrap_err(), message);
        }
    }

    #[test]
    fn create_fields_are_checked() {
        assert_eq!(
            create(json!({"name": "t", "owner": "me"})).unwrap_err(),
            "owner: unknown field"
        );
        assert_eq!(
            create(json!({"code": "c"})).unwrap_err(),
            "name: missing field"
        );
        assert_eq!(
            create(json!({"name": " "})).unwrap_err(),
            "name: must not be empty"
        );
        assert_eq!(
            create(json!({"name": "t", "authenticationIDs": ["a", ""]})).unwrap_err(),
            "authenticationIDs[1]: must not be empty"
        );
        let many: Vec<String> = (0..11).map(|i| i.to_string()).collect();
        assert_eq!(
            create(json!({"name": "t", "authenticationIDs": many})).unwrap_err(),
            "authenticationIDs: at most 10 authentications, got 11"
        );
        let full = create(json!({"name": "t", "description": "d",
            "authenticationIDs": ["a1"], "input": {"code": "c"}}))
        .unwrap();
        assert_eq!(full.description.as_deref(), Some("d"));
        assert_eq!(full.authentication_ids, ["a1"]);
    }

    #[test]
    fn responses_round_trip() {
        let t = Transformation {
            transformation_id: "t1".into(),
            code: String::new(),
            name: "n".into(),
            transformation_type: TransformationType::NoCode,
            input: TransformationInput::NoCode { steps: vec![] },
            description: None,
            authentication_ids: vec![],
            owner: None,
            created_at: "2024-01-01T00:00:00.000Z".into(),
            updated_at: "2024-01-01T00:00:00.000Z".into(),
        };
        let json = serde_json::to_value(&t).unwrap();
        assert_eq!(
            json,
            json!({"transformationID": "t1", "code": "", "name": "n", "type": "noCode",
                "input": {"steps": []}, "createdAt": "2024-01-01T00:00:00.000Z",
                "updatedAt": "2024-01-01T00:00:00.000Z"})
        );
        assert_eq!(serde_json::from_value::<Transformation>(json).unwrap(), t);
    }
}

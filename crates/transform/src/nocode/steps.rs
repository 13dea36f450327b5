//! The steps of a no-code transformation: compiling them from JSON and applying one to a record.

use serde_json::{Map, Value};

use super::condition::Condition;
use super::fields::{invalid, object, only, path, required, string};
use super::path::Path;
use crate::TransformError;

/// One compiled step.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Sets an attribute (when the condition holds, if any).
    AddAttribute {
        /// The attribute set.
        attribute: Path,
        /// Where its value comes from.
        value: Source,
        /// Only when this holds.
        when: Option<Condition>,
    },
    /// Removes an attribute (when the condition holds, if any).
    RemoveAttribute {
        /// The attribute removed.
        attribute: Path,
        /// Only when this holds.
        when: Option<Condition>,
    },
    /// Drops the record when the condition holds.
    RemoveRecords {
        /// The condition.
        when: Condition,
    },
}

/// Where the value of `addAttribute` comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A fixed JSON value.
    Fixed(Value),
    /// The value of another attribute of the record (the step does nothing when it is absent).
    From(Path),
    /// A string with `{{path}}` placeholders.
    Template(Vec<Piece>),
}

/// A part of a template.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    /// Literal text.
    Text(String),
    /// A `{{path}}` placeholder.
    Placeholder(Path),
}

/// What a step did to the record.
pub enum Applied {
    /// Go on with the next step.
    Continue,
    /// The record is dropped.
    Drop,
    /// The step could not be applied; the record fails with this message.
    Fail(String),
}

const STEP_TYPES: &str = "addAttribute, removeAttribute, removeRecords";

impl Step {
    /// Compiles the step at `at` (e.g. `input.steps[2]`).
    pub fn compile(value: &Value, at: &str) -> Result<Self, TransformError> {
        let map = object(value, at)?;
        let type_at = format!("{at}.type");
        let kind = string(required(map, at, "type")?, &type_at)?;
        let attribute = || path(required(map, at, "attribute")?, &format!("{at}.attribute"));
        let when = || {
            map.get("when")
                .map(|when| Condition::compile(when, &format!("{at}.when")))
                .transpose()
        };
        match kind {
            "addAttribute" => {
                only(map, at, &["type", "attribute", "value", "when"])?;
                let attribute = attribute()?;
                let value = compile_source(required(map, at, "value")?, &format!("{at}.value"))?;
                Ok(Step::AddAttribute {
                    attribute,
                    value,
                    when: when()?,
                })
            }
            "removeAttribute" => {
                only(map, at, &["type", "attribute", "when"])?;
                Ok(Step::RemoveAttribute {
                    attribute: attribute()?,
                    when: when()?,
                })
            }
            "removeRecords" => {
                only(map, at, &["type", "when"])?;
                required(map, at, "when")?;
                match when()? {
                    Some(when) => Ok(Step::RemoveRecords { when }),
                    None => Err(invalid(&format!("{at}.when"), "is required")),
                }
            }
            other => Err(invalid(
                &type_at,
                format!("unknown step type \"{other}\" (expected one of {STEP_TYPES})"),
            )),
        }
    }

    /// Applies the step to `record`.
    pub fn apply(&self, record: &mut Map<String, Value>) -> Applied {
        let applies = |when: &Option<Condition>, record: &Map<String, Value>| {
            when.as_ref().is_none_or(|when| when.holds(record))
        };
        match self {
            Step::AddAttribute {
                attribute,
                value,
                when,
            } => {
                if !applies(when, record) {
                    return Applied::Continue;
                }
                let Some(value) = value.resolve(record) else {
                    return Applied::Continue;
                };
                match attribute.set(record, value) {
                    Ok(()) => Applied::Continue,
                    Err(message) => Applied::Fail(message),
                }
            }
            Step::RemoveAttribute { attribute, when } => {
                if applies(when, record) {
                    attribute.remove(record);
                }
                Applied::Continue
            }
            Step::RemoveRecords { when } => match when.holds(record) {
                true => Applied::Drop,
                false => Applied::Continue,
            },
        }
    }
}

fn compile_source(value: &Value, at: &str) -> Result<Source, TransformError> {
    let map = object(value, at)?;
    only(map, at, &["fixed", "from", "template"])?;
    if map.len() != 1 {
        return Err(invalid(
            at,
            "expected exactly one of \"fixed\", \"from\", \"template\"",
        ));
    }
    if let Some(fixed) = map.get("fixed") {
        return Ok(Source::Fixed(fixed.clone()));
    }
    if let Some(from) = map.get("from") {
        return Ok(Source::From(path(from, &format!("{at}.from"))?));
    }
    let template_at = format!("{at}.template");
    let text = string(required(map, at, "template")?, &template_at)?;
    compile_template(text)
        .map(Source::Template)
        .map_err(|message| invalid(&template_at, message))
}

/// Splits a template into text and `{{path}}` placeholders (spaces around the path are ignored).
fn compile_template(mut text: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    while let Some(open) = text.find("{{") {
        if open > 0 {
            pieces.push(Piece::Text(text[..open].to_owned()));
        }
        let rest = &text[open + 2..];
        let close = rest
            .find("}}")
            .ok_or_else(|| format!("unclosed \"{{{{\" at byte {}", open))?;
        pieces.push(Piece::Placeholder(Path::parse(rest[..close].trim())?));
        text = &rest[close + 2..];
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text.to_owned()));
    }
    Ok(pieces)
}

impl Source {
    /// The value to set, or `None` when `from` names an absent attribute.
    fn resolve(&self, record: &Map<String, Value>) -> Option<Value> {
        match self {
            Source::Fixed(value) => Some(value.clone()),
            Source::From(path) => path.get(record).cloned(),
            Source::Template(pieces) => {
                let mut out = String::new();
                for piece in pieces {
                    match piece {
                        Piece::Text(text) => out.push_str(text),
                        Piece::Placeholder(path) => match path.get(record) {
                            None => {}
                            Some(Value::String(text)) => out.push_str(text),
                            Some(other) => out.push_str(&other.to_string()),
                        },
                    }
                }
                Some(Value::String(out))
            }
        }
    }
}

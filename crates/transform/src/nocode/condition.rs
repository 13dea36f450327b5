//! Conditions (`when`): an attribute compared with a value, or `all` / `any` of conditions.

use std::cmp::Ordering;

use serde_json::{Map, Value};

use super::fields::{invalid, object, only, path, required, string};
use super::path::Path;
use crate::TransformError;

/// A compiled condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// Every condition holds (the list is never empty).
    All(Vec<Condition>),
    /// At least one condition holds (the list is never empty).
    Any(Vec<Condition>),
    /// An attribute compared with a value.
    Compare {
        /// The attribute read.
        attribute: Path,
        /// The comparison.
        operator: Operator,
    },
}

/// An operator with its operand, as validated at compile time.
#[derive(Debug, Clone, PartialEq)]
pub enum Operator {
    /// Equal (numbers by value, `1` equals `1.0`).
    Eq(Value),
    /// Not equal (true when the attribute is absent).
    Ne(Value),
    /// Less than (numbers or strings of the same kind only).
    Lt(Value),
    /// Less than or equal.
    Lte(Value),
    /// Greater than.
    Gt(Value),
    /// Greater than or equal.
    Gte(Value),
    /// The attribute is present (`null` included).
    Exists,
    /// The attribute is absent.
    NotExists,
    /// Substring of a string attribute, or an element of an array attribute.
    Contains(Value),
    /// The attribute equals one of the listed values.
    In(Vec<Value>),
}

const OPERATORS: &str = "eq, ne, lt, lte, gt, gte, exists, notExists, contains, in";

impl Condition {
    /// Compiles the condition at `at` (e.g. `input.steps[0].when`).
    pub fn compile(value: &Value, at: &str) -> Result<Self, TransformError> {
        let map = object(value, at)?;
        for (key, build) in [
            ("all", Condition::All as fn(Vec<Condition>) -> Condition),
            ("any", Condition::Any),
        ] {
            if let Some(list) = map.get(key) {
                only(map, at, &[key])?;
                let list_at = format!("{at}.{key}");
                let items = list
                    .as_array()
                    .ok_or_else(|| invalid(&list_at, "expected an array"))?;
                if items.is_empty() {
                    return Err(invalid(&list_at, "must hold at least one condition"));
                }
                let conditions = items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| Condition::compile(item, &format!("{list_at}[{i}]")))
                    .collect::<Result<_, _>>()?;
                return Ok(build(conditions));
            }
        }
        only(map, at, &["attribute", "operator", "value"])?;
        let attribute = path(required(map, at, "attribute")?, &format!("{at}.attribute"))?;
        let operator = compile_operator(map, at)?;
        Ok(Condition::Compare {
            attribute,
            operator,
        })
    }

    /// Whether the condition holds for `record`.
    pub fn holds(&self, record: &Map<String, Value>) -> bool {
        match self {
            Condition::All(all) => all.iter().all(|c| c.holds(record)),
            Condition::Any(any) => any.iter().any(|c| c.holds(record)),
            Condition::Compare {
                attribute,
                operator,
            } => operator.holds(attribute.get(record)),
        }
    }
}

fn compile_operator(map: &Map<String, Value>, at: &str) -> Result<Operator, TransformError> {
    let operator_at = format!("{at}.operator");
    let name = string(required(map, at, "operator")?, &operator_at)?;
    let value_at = format!("{at}.value");
    let value = || required(map, at, "value").cloned();
    let ordered = || {
        let value = value()?;
        if value.is_number() || value.is_string() {
            Ok(value)
        } else {
            Err(invalid(&value_at, "expected a number or a string"))
        }
    };
    let none = || match map.contains_key("value") {
        true => Err(invalid(
            &value_at,
            format!("not used by operator \"{name}\""),
        )),
        false => Ok(()),
    };
    Ok(match name {
        "eq" => Operator::Eq(value()?),
        "ne" => Operator::Ne(value()?),
        "lt" => Operator::Lt(ordered()?),
        "lte" => Operator::Lte(ordered()?),
        "gt" => Operator::Gt(ordered()?),
        "gte" => Operator::Gte(ordered()?),
        "exists" => none().map(|()| Operator::Exists)?,
        "notExists" => none().map(|()| Operator::NotExists)?,
        "contains" => Operator::Contains(value()?),
        "in" => match value()? {
            Value::Array(items) => Operator::In(items),
            _ => return Err(invalid(&value_at, "expected an array")),
        },
        other => {
            return Err(invalid(
                &operator_at,
                format!("unknown operator \"{other}\" (expected one of {OPERATORS})"),
            ));
        }
    })
}

impl Operator {
    /// Whether the operator holds for the attribute's value (`None`: the attribute is absent).
    pub fn holds(&self, attribute: Option<&Value>) -> bool {
        match (self, attribute) {
            (Operator::Exists, found) => found.is_some(),
            (Operator::NotExists, found) => found.is_none(),
            (Operator::Ne(value), found) => !found.is_some_and(|a| json_eq(a, value)),
            (_, None) => false,
            (Operator::Eq(value), Some(a)) => json_eq(a, value),
            (Operator::Lt(value), Some(a)) => order(a, value) == Some(Ordering::Less),
            (Operator::Lte(value), Some(a)) => {
                matches!(order(a, value), Some(Ordering::Less | Ordering::Equal))
            }
            (Operator::Gt(value), Some(a)) => order(a, value) == Some(Ordering::Greater),
            (Operator::Gte(value), Some(a)) => {
                matches!(order(a, value), Some(Ordering::Greater | Ordering::Equal))
            }
            (Operator::Contains(value), Some(a)) => match (a, value) {
                (Value::String(text), Value::String(part)) => text.contains(part.as_str()),
                (Value::Array(items), value) => items.iter().any(|item| json_eq(item, value)),
                _ => false,
            },
            (Operator::In(values), Some(a)) => values.iter().any(|value| json_eq(a, value)),
        }
    }
}

/// JSON equality where numbers compare by value (`1 == 1.0`), recursively.
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(_), Value::Number(_)) => order(a, b) == Some(Ordering::Equal),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_eq(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(key, x)| y.get(key).is_some_and(|y| json_eq(x, y)))
        }
        _ => a == b,
    }
}

/// The order of two numbers or of two strings (by bytes); `None` for anything else.
fn order(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if let (Some(x), Some(y)) = (x.as_i64(), y.as_i64()) {
                Some(x.cmp(&y))
            } else if let (Some(x), Some(y)) = (x.as_u64(), y.as_u64()) {
                Some(x.cmp(&y))
            } else {
                x.as_f64()?.partial_cmp(&y.as_f64()?)
            }
        }
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn holds(condition: Value, record: Value) -> bool {
        let condition = Condition::compile(&condition, "when").unwrap();
        condition.holds(record.as_object().unwrap())
    }

    fn error(condition: Value) -> String {
        match Condition::compile(&condition, "input.steps[0].when") {
            Ok(compiled) => format!("compiled: {compiled:?}"),
            Err(error) => error.to_string(),
        }
    }

    fn op(attribute: &str, operator: &str, value: Value) -> Value {
        json!({"attribute": attribute, "operator": operator, "value": value})
    }

    #[test]
    fn eq_and_ne_compare_json_with_numbers_by_value() {
        let r = json!({"n": 1, "f": 1.5, "s": "x", "o": {"a": [1, 2]}, "z": null});
        assert!(holds(op("n", "eq", json!(1.0)), r.clone()));
        assert!(holds(op("f", "eq", json!(1.5)), r.clone()));
        assert!(holds(op("s", "eq", json!("x")), r.clone()));
        assert!(holds(op("o", "eq", json!({"a": [1.0, 2]})), r.clone()));
        assert!(holds(op("z", "eq", json!(null)), r.clone()));
        assert!(!holds(op("n", "eq", json!("1")), r.clone()));
        assert!(!holds(op("missing", "eq", json!(null)), r.clone()));
        assert!(!holds(
            op("o", "eq", json!({"a": [1, 2], "b": 1})),
            r.clone()
        ));
        assert!(holds(op("n", "ne", json!(2)), r.clone()));
        assert!(!holds(op("n", "ne", json!(1)), r.clone()));
        assert!(holds(op("missing", "ne", json!(1)), r));
    }

    #[test]
    fn ordering_operators_compare_like_kinds_only() {
        let r = json!({"n": 5, "big": u64::MAX, "neg": -3, "s": "m", "b": true});
        assert!(holds(op("n", "lt", json!(6)), r.clone()));
        assert!(!holds(op("n", "lt", json!(5)), r.clone()));
        assert!(holds(op("n", "lte", json!(5)), r.clone()));
        assert!(holds(op("n", "gt", json!(4.5)), r.clone()));
        assert!(holds(op("n", "gte", json!(5.0)), r.clone()));
        assert!(!holds(op("n", "gte", json!(5.1)), r.clone()));
        assert!(holds(op("big", "gt", json!(u64::MAX - 1)), r.clone()));
        assert!(holds(op("neg", "lt", json!(u64::MAX)), r.clone()));
        assert!(holds(op("s", "lt", json!("n")), r.clone()));
        assert!(holds(op("s", "gte", json!("m")), r.clone()));
        assert!(!holds(op("s", "gt", json!("z")), r.clone()));
        // Unlike kinds, booleans and absent attributes: false whatever the operator.
        for operator in ["lt", "lte", "gt", "gte"] {
            assert!(!holds(op("n", operator, json!("5")), r.clone()));
            assert!(!holds(op("s", operator, json!(1)), r.clone()));
            assert!(!holds(op("b", operator, json!(1)), r.clone()));
            assert!(!holds(op("missing", operator, json!(1)), r.clone()));
        }
    }

    #[test]
    fn exists_and_not_exists_count_null_as_present() {
        let r = json!({"a": {"b": null}});
        let exists = |attribute: &str| json!({"attribute": attribute, "operator": "exists"});
        let absent = |attribute: &str| json!({"attribute": attribute, "operator": "notExists"});
        assert!(holds(exists("a.b"), r.clone()));
        assert!(!holds(exists("a.c"), r.clone()));
        assert!(holds(absent("a.c"), r.clone()));
        assert!(!holds(absent("a"), r));
    }

    #[test]
    fn contains_is_substring_or_element_equality() {
        let r = json!({"s": "hello world", "l": [1, "x", {"k": 2}], "n": 12});
        assert!(holds(op("s", "contains", json!("lo w")), r.clone()));
        assert!(!holds(op("s", "contains", json!("xyz")), r.clone()));
        assert!(!holds(op("s", "contains", json!(1)), r.clone()));
        assert!(holds(op("l", "contains", json!(1.0)), r.clone()));
        assert!(holds(op("l", "contains", json!("x")), r.clone()));
        assert!(holds(op("l", "contains", json!({"k": 2})), r.clone()));
        assert!(!holds(op("l", "contains", json!("1")), r.clone()));
        assert!(!holds(op("n", "contains", json!(1)), r.clone()));
        assert!(!holds(op("missing", "contains", json!(1)), r));
    }

    #[test]
    fn in_matches_any_listed_value() {
        let r = json!({"c": "red", "n": 2});
        assert!(holds(op("c", "in", json!(["blue", "red"])), r.clone()));
        assert!(holds(op("n", "in", json!([1, 2.0])), r.clone()));
        assert!(!holds(op("c", "in", json!(["blue"])), r.clone()));
        assert!(!holds(op("missing", "in", json!([null])), r));
    }

    #[test]
    fn all_and_any_combine() {
        let r = json!({"a": 1, "b": 2});
        let yes = op("a", "eq", json!(1));
        let no = op("b", "eq", json!(1));
        assert!(holds(json!({"all": [yes, yes]}), r.clone()));
        assert!(!holds(json!({"all": [yes, no]}), r.clone()));
        assert!(holds(json!({"any": [no, yes]}), r.clone()));
        assert!(!holds(json!({"any": [no, no]}), r.clone()));
        assert!(holds(json!({"any": [no, {"all": [yes]}]}), r));
    }

    #[test]
    fn validation_errors_name_the_position() {
        let at = "input.steps[0].when";
        assert_eq!(error(json!("x")), format!("{at}: expected an object"));
        assert_eq!(error(json!({})), format!("{at}.attribute: is required"));
        assert_eq!(
            error(json!({"attribute": "a"})),
            format!("{at}.operator: is required")
        );
        assert_eq!(
            error(json!({"attribute": "a", "operator": 3})),
            format!("{at}.operator: expected a string")
        );
        assert_eq!(
            error(op("a", "foo", json!(1))),
            format!(
                "{at}.operator: unknown operator \"foo\" (expected one of eq, ne, lt, lte, gt, \
                 gte, exists, notExists, contains, in)"
            )
        );
        assert_eq!(
            error(json!({"attribute": "a..b", "operator": "exists"})),
            format!("{at}.attribute: invalid path \"a..b\": empty segment")
        );
        assert_eq!(
            error(json!({"attribute": 1, "operator": "exists"})),
            format!("{at}.attribute: expected a string")
        );
        for operator in ["eq", "ne", "lt", "lte", "gt", "gte", "contains", "in"] {
            assert_eq!(
                error(json!({"attribute": "a", "operator": operator})),
                format!("{at}.value: is required")
            );
        }
        for operator in ["lt", "lte", "gt", "gte"] {
            assert_eq!(
                error(op("a", operator, json!([1]))),
                format!("{at}.value: expected a number or a string")
            );
        }
        assert_eq!(
            error(op("a", "in", json!(1))),
            format!("{at}.value: expected an array")
        );
        assert_eq!(
            error(op("a", "exists", json!(1))),
            format!("{at}.value: not used by operator \"exists\"")
        );
        assert_eq!(
            error(op("a", "notExists", json!(null))),
            format!("{at}.value: not used by operator \"notExists\"")
        );
        assert_eq!(
            error(json!({"attribute": "a", "operator": "eq", "value": 1, "valeu": 2})),
            format!("{at}.valeu: unknown field \"valeu\"")
        );
        assert_eq!(
            error(json!({"all": {}})),
            format!("{at}.all: expected an array")
        );
        assert_eq!(
            error(json!({"any": []})),
            format!("{at}.any: must hold at least one condition")
        );
        assert_eq!(
            error(json!({"all": [op("a", "eq", json!(1))], "any": []})),
            format!("{at}.any: unknown field \"any\"")
        );
        assert_eq!(
            error(
                json!({"any": [op("a", "eq", json!(1)), {"all": [{"attribute": "a", "operator": "bad"}]}]})
            ),
            format!(
                "{at}.any[1].all[0].operator: unknown operator \"bad\" (expected one of eq, ne, \
                 lt, lte, gt, gte, exists, notExists, contains, in)"
            )
        );
    }
}

use serde_json::{Value, json};

use super::*;

fn record(value: Value) -> Record {
    value.as_object().unwrap().clone()
}

fn run(steps: Value, input: Value) -> Outcome {
    compile_no_code(&steps).unwrap().apply(record(input))
}

fn one(steps: Value, input: Value) -> Value {
    match run(steps, input) {
        Outcome::Records(mut records) if records.len() == 1 => Value::Object(records.remove(0)),
        other => panic!("expected one record, got {other:?}"),
    }
}

fn error(steps: Value) -> String {
    compile_no_code(&steps).unwrap_err().to_string()
}

#[test]
fn empty_program_keeps_the_record() {
    let input = json!({"objectID": "1", "a": 1});
    assert_eq!(one(json!([]), input.clone()), input);
}

#[test]
fn add_attribute_fixed_from_and_template() {
    let steps = json!([
        {"type": "addAttribute", "attribute": "fixed", "value": {"fixed": {"x": [1]}}},
        {"type": "addAttribute", "attribute": "copy.deep", "value": {"from": "name"}},
        {"type": "addAttribute", "attribute": "nothing", "value": {"from": "missing"}},
        {"type": "addAttribute", "attribute": "label",
         "value": {"template": "{{name}} ({{ price }}) {{missing}}/{{tags}}/{{n}} }}"}},
    ]);
    let input = json!({"objectID": "1", "name": "Shoe", "price": 9.5, "tags": ["a"], "n": null});
    assert_eq!(
        one(steps, input),
        json!({
            "objectID": "1", "name": "Shoe", "price": 9.5, "tags": ["a"], "n": null,
            "fixed": {"x": [1]}, "copy": {"deep": "Shoe"},
            "label": "Shoe (9.5) /[\"a\"]/null }}"
        })
    );
}

#[test]
fn template_without_placeholders_and_placeholder_only() {
    let steps = json!([
        {"type": "addAttribute", "attribute": "a", "value": {"template": "plain"}},
        {"type": "addAttribute", "attribute": "b", "value": {"template": "{{x.y}}"}},
        {"type": "addAttribute", "attribute": "c", "value": {"template": ""}},
    ]);
    let out = one(steps, json!({"x": {"y": "v"}}));
    assert_eq!(
        out,
        json!({"x": {"y": "v"}, "a": "plain", "b": "v", "c": ""})
    );
}

#[test]
fn add_attribute_can_change_the_object_id() {
    let steps = json!([{"type": "addAttribute", "attribute": "objectID",
                        "value": {"template": "{{sku}}-{{color}}"}}]);
    assert_eq!(
        one(steps, json!({"objectID": "1", "sku": "s", "color": "red"})),
        json!({"objectID": "s-red", "sku": "s", "color": "red"})
    );
}

#[test]
fn add_attribute_through_a_non_object_fails_the_record() {
    let steps = json!([
        {"type": "addAttribute", "attribute": "ok", "value": {"fixed": 1}},
        {"type": "addAttribute", "attribute": "a.b", "value": {"fixed": 1}},
    ]);
    assert_eq!(
        run(steps, json!({"objectID": 7, "a": "text"})),
        Outcome::Failed {
            object_id: Some("7".into()),
            message: "input.steps[1]: cannot set \"a.b\": \"a\" is not an object".into(),
        }
    );
}

#[test]
fn steps_apply_in_order_and_see_earlier_changes() {
    let steps = json!([
        {"type": "addAttribute", "attribute": "a", "value": {"fixed": 1}},
        {"type": "addAttribute", "attribute": "b", "value": {"from": "a"}},
        {"type": "removeAttribute", "attribute": "a"},
        {"type": "addAttribute", "attribute": "c", "value": {"fixed": true},
         "when": {"attribute": "a", "operator": "notExists"}},
    ]);
    assert_eq!(one(steps, json!({})), json!({"b": 1, "c": true}));
}

#[test]
fn when_guards_add_and_remove() {
    let steps = json!([
        {"type": "addAttribute", "attribute": "cheap", "value": {"fixed": true},
         "when": {"attribute": "price", "operator": "lt", "value": 10}},
        {"type": "removeAttribute", "attribute": "secret",
         "when": {"attribute": "public", "operator": "eq", "value": true}},
    ]);
    assert_eq!(
        one(
            steps.clone(),
            json!({"price": 5, "public": true, "secret": 1})
        ),
        json!({"price": 5, "public": true, "cheap": true})
    );
    assert_eq!(
        one(steps, json!({"price": 50, "public": false, "secret": 1})),
        json!({"price": 50, "public": false, "secret": 1})
    );
}

#[test]
fn remove_attribute_nested_and_absent() {
    let steps = json!([
        {"type": "removeAttribute", "attribute": "a.b"},
        {"type": "removeAttribute", "attribute": "missing.x"},
    ]);
    assert_eq!(
        one(steps, json!({"a": {"b": 1, "c": 2}})),
        json!({"a": {"c": 2}})
    );
}

#[test]
fn removing_the_object_id_keeps_the_input_one() {
    let steps = json!([{"type": "removeAttribute", "attribute": "objectID"}]);
    assert_eq!(
        one(steps.clone(), json!({"objectID": "x", "a": 1})),
        json!({"a": 1, "objectID": "x"})
    );
    assert_eq!(one(steps, json!({"a": 1})), json!({"a": 1}));
}

#[test]
fn remove_records_drops_matching_records_only() {
    let steps = json!([
        {"type": "removeRecords", "when": {"any": [
            {"attribute": "stock", "operator": "lte", "value": 0},
            {"attribute": "tags", "operator": "contains", "value": "hidden"},
        ]}},
        {"type": "addAttribute", "attribute": "kept", "value": {"fixed": true}},
    ]);
    assert_eq!(run(steps.clone(), json!({"stock": 0})), Outcome::Dropped);
    assert_eq!(
        run(steps.clone(), json!({"stock": 3, "tags": ["hidden"]})),
        Outcome::Dropped
    );
    assert_eq!(
        one(steps, json!({"stock": 3})),
        json!({"stock": 3, "kept": true})
    );
}

#[test]
fn oversized_output_fails_the_record() {
    let steps =
        json!([{"type": "addAttribute", "attribute": "big", "value": {"fixed": "x".repeat(200)}}]);
    let program = compile_no_code(&steps).unwrap().with_max_record_bytes(100);
    match program.apply(record(json!({"objectID": "1"}))) {
        Outcome::Failed { object_id, message } => {
            assert_eq!(object_id.as_deref(), Some("1"));
            assert!(message.contains("over the limit of 100 bytes"), "{message}");
        }
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn validation_errors_name_the_step_and_field() {
    let add = |extra: Value| {
        let mut step = json!({"type": "addAttribute", "attribute": "a", "value": {"fixed": 1}});
        for (k, v) in extra.as_object().unwrap() {
            step[k] = v.clone();
        }
        json!([{"type": "removeAttribute", "attribute": "x"}, step])
    };
    let cases: Vec<(Value, &str)> = vec![
        (json!({}), "input.steps: expected an array"),
        (json!([1]), "input.steps[0]: expected an object"),
        (json!([{}]), "input.steps[0].type: is required"),
        (
            json!([{"type": 1}]),
            "input.steps[0].type: expected a string",
        ),
        (
            json!([{"type": "rename"}]),
            "input.steps[0].type: unknown step type \"rename\" (expected one of addAttribute, \
             removeAttribute, removeRecords)",
        ),
        (
            json!([{"type": "addAttribute", "value": {"fixed": 1}}]),
            "input.steps[0].attribute: is required",
        ),
        (
            json!([{"type": "addAttribute", "attribute": "a"}]),
            "input.steps[0].value: is required",
        ),
        (
            add(json!({"attribute": ""})),
            "input.steps[1].attribute: the path is empty",
        ),
        (
            add(json!({"attribute": "a."})),
            "input.steps[1].attribute: invalid path \"a.\": empty segment",
        ),
        (
            add(json!({"attribute": ["a"]})),
            "input.steps[1].attribute: expected a string",
        ),
        (
            add(json!({"value": 1})),
            "input.steps[1].value: expected an object",
        ),
        (
            add(json!({"value": {}})),
            "input.steps[1].value: expected exactly one of \"fixed\", \"from\", \"template\"",
        ),
        (
            add(json!({"value": {"fixed": 1, "from": "b"}})),
            "input.steps[1].value: expected exactly one of \"fixed\", \"from\", \"template\"",
        ),
        (
            add(json!({"value": {"const": 1}})),
            "input.steps[1].value.const: unknown field \"const\"",
        ),
        (
            add(json!({"value": {"from": 1}})),
            "input.steps[1].value.from: expected a string",
        ),
        (
            add(json!({"value": {"from": "a..b"}})),
            "input.steps[1].value.from: invalid path \"a..b\": empty segment",
        ),
        (
            add(json!({"value": {"template": 1}})),
            "input.steps[1].value.template: expected a string",
        ),
        (
            add(json!({"value": {"template": "a {{b"}})),
            "input.steps[1].value.template: unclosed \"{{\" at byte 2",
        ),
        (
            add(json!({"value": {"template": "{{ }}"}})),
            "input.steps[1].value.template: the path is empty",
        ),
        (
            add(json!({"value": {"template": "{{a..b}}"}})),
            "input.steps[1].value.template: invalid path \"a..b\": empty segment",
        ),
        (
            add(json!({"extra": 1})),
            "input.steps[1].extra: unknown field \"extra\"",
        ),
        (
            add(json!({"when": []})),
            "input.steps[1].when: expected an object",
        ),
        (
            add(json!({"when": {"attribute": "a", "operator": "foo"}})),
            "input.steps[1].when.operator: unknown operator \"foo\" (expected one of eq, ne, lt, \
             lte, gt, gte, exists, notExists, contains, in)",
        ),
        (
            json!([{"type": "removeAttribute"}]),
            "input.steps[0].attribute: is required",
        ),
        (
            json!([{"type": "removeAttribute", "attribute": "a", "value": {"fixed": 1}}]),
            "input.steps[0].value: unknown field \"value\"",
        ),
        (
            json!([{"type": "removeRecords"}]),
            "input.steps[0].when: is required",
        ),
        (
            json!([{"type": "removeRecords", "attribute": "a", "when": {"attribute": "a", "operator": "exists"}}]),
            "input.steps[0].attribute: unknown field \"attribute\"",
        ),
        (
            json!([{"type": "removeRecords", "when": {"all": [{"attribute": "a"}]}}]),
            "input.steps[0].when.all[0].operator: is required",
        ),
    ];
    for (steps, expected) in cases {
        assert_eq!(error(steps.clone()), expected, "steps: {steps}");
    }
}

#[test]
fn the_error_is_the_invalid_steps_variant() {
    assert_eq!(
        compile_no_code(&json!([{"type": "x"}, {"type": "y"}])).unwrap_err(),
        TransformError::InvalidSteps {
            at: "input.steps[0].type".into(),
            message: "unknown step type \"x\" (expected one of addAttribute, removeAttribute, \
                      removeRecords)"
                .into(),
        }
    );
}

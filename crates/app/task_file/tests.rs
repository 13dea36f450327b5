use serde_json::json;

use super::*;

fn example() -> Value {
    json!({
        "action": "replace",
        "failureThreshold": 5,
        "source": {
            "type": "csv",
            "input": { "url": "http://127.0.0.1:8000/products.csv", "uniqueIDColumn": "id",
                       "mapping": { "price": "float" }, "delimiter": "," },
            "authentication": { "type": "basic", "input": { "username": "u", "password": "p" } }
        },
        "destination": {
            "type": "search", "input": { "indexName": "products" },
            "authentication": { "type": "algolia", "input": { "appID": "APP", "apiKey": "KEY" } }
        }
    })
}

fn error_of(mut edit: impl FnMut(&mut Value)) -> String {
    let mut value = example();
    edit(&mut value);
    TaskFile::from_json(&value).unwrap_err().to_string()
}

#[test]
fn the_documented_example_loads() {
    let task = TaskFile::from_json(&example()).unwrap();
    assert_eq!(task.action, ActionType::Replace);
    assert_eq!(task.failure_threshold, 5);
    assert_eq!(task.index_name(), "products");
    assert!(matches!(task.source, SourceInput::Csv(_)));
    assert!(matches!(task.source_auth, Some(AuthInput::Basic { .. })));
    assert!(format!("{task:?}").contains("Secret(***)"));
    assert!(!format!("{task:?}").contains("KEY"));
}

#[test]
fn authentications_are_optional_and_threshold_defaults_to_zero() {
    let mut value = example();
    let object = value.as_object_mut().unwrap();
    object.remove("failureThreshold");
    object["source"]
        .as_object_mut()
        .unwrap()
        .remove("authentication");
    object["destination"]
        .as_object_mut()
        .unwrap()
        .remove("authentication");
    let task = TaskFile::from_json(&value).unwrap();
    assert_eq!(task.failure_threshold, 0);
    assert!(task.source_auth.is_none() && task.destination_auth.is_none());
}

#[test]
fn errors_name_the_field() {
    assert_eq!(
        error_of(|v| v["source"]["input"]["delimiter"] = json!(";;")),
        "source.input.delimiter: must be one character"
    );
    assert_eq!(
        error_of(|v| v["failureThreshold"] = json!(101)),
        "failureThreshold: must be an integer from 0 to 100"
    );
    assert!(error_of(|v| v["extra"] = json!(1)).starts_with("extra"));
    assert!(error_of(|v| v["source"]["input"]["nope"] = json!(1)).starts_with("source.input.nope"));
    assert!(
        error_of(|v| v["source"]["input"]["mapping"]["price"] = json!("money"))
            .starts_with("source.input.mapping.price")
    );
    assert!(
        error_of(|v| v["source"]["authentication"]["input"] = json!({"username": "u"}))
            .starts_with("source.authentication.input.password")
    );
    assert!(
        error_of(|v| v["destination"]["authentication"]["type"] = json!("basic"))
            .starts_with("destination.authentication.type")
    );
    assert!(error_of(|v| v["action"] = json!("upsert")).starts_with("action"));
}

#[test]
fn save_needs_a_unique_id_column() {
    let message = error_of(|v| {
        v["action"] = json!("save");
        v["source"]["input"]
            .as_object_mut()
            .unwrap()
            .remove("uniqueIDColumn");
    });
    assert!(message.starts_with("source.input.uniqueIDColumn: required for action `save`"));
}

#[test]
fn index_prefix_names_the_index_after_the_source() {
    let mut value = example();
    value["destination"]["input"] = json!({ "indexPrefix": "shop_" });
    assert!(
        TaskFile::from_json(&value)
            .unwrap_err()
            .to_string()
            .starts_with("source.name")
    );
    value["source"]["name"] = json!("My Products (EU)");
    assert_eq!(
        TaskFile::from_json(&value).unwrap().index_name(),
        "shop_my_products__eu_"
    );
}

#[test]
fn toml_task_files_have_the_same_shape() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("task.toml");
    std::fs::write(
        &path,
        r#"action = "save"
[source]
type = "json"
input = { url = "./products.json", uniqueIDColumn = "sku" }
[destination]
type = "search"
input = { indexName = "products" }
"#,
    )
    .unwrap();
    let task = TaskFile::load(&path).unwrap();
    assert_eq!(task.action, ActionType::Save);
}

#[test]
fn a_transformation_is_code_or_steps_with_its_secrets() {
    let mut value = example();
    value["transformation"] =
        json!({"type": "noCode", "input": {"steps": []}, "secrets": {"K": "v"}});
    let task = TaskFile::from_json(&value).unwrap();
    let spec = task.transformation.unwrap();
    assert!(matches!(spec.body, TransformationBody::NoCode(_)));
    assert_eq!(spec.secrets["K"], "v");
    value["transformation"] = json!({"code": "function transform(r) { return r; }"});
    let task = TaskFile::from_json(&value).unwrap();
    assert!(matches!(
        task.transformation.unwrap().body,
        TransformationBody::Code(_)
    ));

    for (transformation, says) in [
        (json!({"type": "code"}), "transformation.input.code"),
        (
            json!({"type": "noCode", "input": {"code": "x"}}),
            "transformation.input.steps",
        ),
        (
            json!({"type": "docker", "input": {"steps": []}}),
            "transformation.type",
        ),
        (
            json!({"code": "x", "input": {"code": "y"}}),
            "transformation.code",
        ),
        (json!({"type": "code", "extra": 1}), "extra"),
    ] {
        let error = error_of(|v| v["transformation"] = transformation.clone());
        assert!(error.contains(says), "{transformation}: {error}");
    }
}

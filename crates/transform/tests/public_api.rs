//! The crate as the engine uses it: compile a transformation of either kind once, build a pool
//! for the run, transform batches, read the log.

use std::collections::HashMap;

use ingest_transform::{
    CodeContext, Limits, Metadata, Outcome, Program, Record, TransformError, TransformPool,
    compile_code, compile_no_code,
};
use serde_json::{Value, json};

fn record(value: Value) -> Record {
    value.as_object().unwrap().clone()
}

#[tokio::test]
async fn code_and_no_code_programs_behind_one_pool_api() {
    let context = CodeContext {
        secrets: HashMap::from([("prefix".to_owned(), "sku-".to_owned())]),
        metadata: Metadata {
            index_name: Some("products".into()),
            ..Metadata::default()
        },
        limits: Limits::default(),
    };
    let code = compile_code(
        "async function transform(record, helper) {\n\
           console.log('index', helper.getMetadata().indexName);\n\
           return { ...record, sku: helper.secrets.get('prefix') + record.objectID };\n\
         }",
        &context,
    )
    .unwrap();
    let steps = json!([{"type": "addAttribute", "attribute": "sku",
                        "value": {"template": "sku-{{objectID}}"}}]);
    let no_code = compile_no_code(&steps).unwrap();

    for program in [Program::from(code), Program::from(no_code)] {
        let pool = TransformPool::new(program, 2).unwrap();
        let outcomes = pool
            .transform_batch(vec![record(json!({"objectID": "1"}))])
            .await
            .unwrap();
        assert_eq!(
            outcomes,
            vec![Outcome::Records(vec![record(
                json!({"objectID": "1", "sku": "sku-1"})
            )])]
        );
        let log = pool.take_log();
        if pool.threads() > 0 {
            assert_eq!(log.lines.len(), 1);
            assert_eq!(log.lines[0].message, "index products");
            assert_eq!(log.lines[0].object_id.as_deref(), Some("1"));
        } else {
            assert!(log.lines.is_empty());
        }
    }
}

#[test]
fn create_time_errors_are_messages_for_a_400() {
    let steps = json!([{"type": "addAttribute", "attribute": "a", "value": {"fixed": 1}},
                       {"type": "removeRecords", "when": {"attribute": "a", "operator": "foo"}}]);
    assert!(
        compile_no_code(&steps)
            .unwrap_err()
            .to_string()
            .starts_with("input.steps[1].when.operator: unknown operator \"foo\"")
    );
    let error = compile_code(
        "function transform(r) {\n  return r +;\n}",
        &CodeContext::default(),
    )
    .unwrap_err();
    assert!(matches!(&error, TransformError::InvalidCode(message)
        if message.starts_with("SyntaxError:") && message.ends_with("(line 2)")));
}

use serde_json::{Value, json};

use super::*;
use crate::{Outcome, Record};

fn record(value: Value) -> Record {
    value.as_object().unwrap().clone()
}

/// The default limits, spelled out: the tests that loop forever wait this long.
fn default_context() -> CodeContext {
    CodeContext {
        limits: Limits {
            max_ms_per_record: 1000,
            ..Limits::default()
        },
        ..CodeContext::default()
    }
}

fn runner_with(code: &str, context: &CodeContext) -> CodeRunner {
    compile_code(code, context).unwrap().runner()
}

fn runner(code: &str) -> CodeRunner {
    runner_with(code, &default_context())
}

fn records(outcome: Outcome) -> Vec<Value> {
    match outcome {
        Outcome::Records(records) => records.into_iter().map(Value::Object).collect(),
        other => panic!("expected records, got {other:?}"),
    }
}

fn failure(outcome: Outcome) -> String {
    match outcome {
        Outcome::Failed { message, .. } => message,
        other => panic!("expected a failure, got {other:?}"),
    }
}

fn compile_error(code: &str) -> TransformError {
    compile_code(code, &default_context()).unwrap_err()
}

#[test]
fn a_returned_object_is_one_record() {
    let mut r = runner("function transform(record) { record.seen = true; return record; }");
    let out = r.transform(record(json!({"objectID": "1", "a": 1})));
    assert_eq!(
        records(out),
        vec![json!({"objectID": "1", "a": 1, "seen": true})]
    );
}

#[test]
fn a_single_object_that_lost_its_object_id_keeps_the_input_one() {
    let mut r = runner("function transform(record) { return { name: record.name }; }");
    let out = r.transform(record(json!({"objectID": "k", "name": "n"})));
    assert_eq!(records(out), vec![json!({"name": "n", "objectID": "k"})]);
    let mut r = runner("function transform(record) { return { objectID: 'new' }; }");
    let out = r.transform(record(json!({"objectID": "k"})));
    assert_eq!(records(out), vec![json!({"objectID": "new"})]);
}

#[test]
fn a_returned_array_splits_the_record() {
    let mut r = runner(
        "function transform(record) {\n\
           return record.sizes.map((size) => ({ objectID: record.objectID + '-' + size, size }));\n\
         }",
    );
    let out = r.transform(record(json!({"objectID": "p", "sizes": ["S", "M"]})));
    assert_eq!(
        records(out),
        vec![
            json!({"objectID": "p-S", "size": "S"}),
            json!({"objectID": "p-M", "size": "M"})
        ]
    );
}

#[test]
fn a_split_without_object_ids_fails_the_record() {
    let mut r = runner("function transform(record) { return [{ objectID: 'a' }, { size: 1 }]; }");
    assert_eq!(
        r.transform(record(json!({"objectID": "p"}))),
        Outcome::Failed {
            object_id: Some("p".into()),
            message: "element 1 of the returned array has no objectID (each record of a split \
                      needs one)"
                .into()
        }
    );
    let mut r = runner("function transform(record) { return [record, 'x']; }");
    let message = failure(r.transform(record(json!({"objectID": "p"}))));
    assert_eq!(
        message,
        "element 1 of the returned array is a string, not an object"
    );
}

#[test]
fn undefined_null_and_empty_array_drop_the_record() {
    for body in [
        "",
        "return;",
        "return undefined;",
        "return null;",
        "return [];",
    ] {
        let mut r = runner(&format!("function transform(record) {{ {body} }}"));
        assert_eq!(
            r.transform(record(json!({"objectID": "1"}))),
            Outcome::Dropped,
            "{body}"
        );
    }
}

#[test]
fn other_returned_values_fail_the_record() {
    for (value, kind) in [
        ("'text'", "a string"),
        ("42", "a number"),
        ("true", "a boolean"),
        ("() => 1", "a function"),
        ("Symbol('s')", "a symbol"),
        ("10n", "a bigint"),
    ] {
        let mut r = runner(&format!("function transform(record) {{ return {value}; }}"));
        assert_eq!(
            failure(r.transform(record(json!({"objectID": "1"})))),
            format!(
                "transform returned {kind}; expected an object, an array of objects, undefined \
                 or null"
            )
        );
    }
}

#[test]
fn a_thrown_error_fails_the_record_with_its_line() {
    let mut r = runner(
        "function transform(record) {\n\
           if (record.price < 0) {\n\
             throw new Error('negative price');\n\
           }\n\
           return record.missing.field;\n\
         }",
    );
    assert_eq!(
        r.transform(record(json!({"objectID": "1", "price": -1}))),
        Outcome::Failed {
            object_id: Some("1".into()),
            message: "Error: negative price (line 3)".into()
        }
    );
    assert_eq!(
        failure(r.transform(record(json!({"objectID": "2", "price": 1})))),
        "TypeError: cannot read property 'field' of undefined (line 5)"
    );
}

#[test]
fn a_thrown_non_error_is_reported_as_it_is() {
    let mut r = runner("function transform(record) { throw 'plain text'; }");
    assert_eq!(
        failure(r.transform(record(json!({})))),
        "Uncaught plain text"
    );
    let mut r = runner("function transform(record) { throw null; }");
    assert_eq!(failure(r.transform(record(json!({})))), "Uncaught null");
    assert!(r.is_loaded(), "a plain throw keeps the runtime");
    let mut r = runner("function transform(record) { throw { code: 7 }; }");
    assert_eq!(
        failure(r.transform(record(json!({})))),
        "Uncaught {\"code\":7}"
    );
}

#[test]
fn a_result_json_cannot_write_fails_the_record() {
    let mut r = runner("function transform(record) { record.n = 1n; return record; }");
    let message = failure(r.transform(record(json!({}))));
    assert!(message.starts_with("TypeError:"), "{message}");
}

#[test]
fn a_syntax_error_is_refused_at_compile_time_with_its_line() {
    let error = compile_error("function transform(record) {\n  return record;\n}\nfunction x( {");
    match error {
        TransformError::InvalidCode(message) => {
            assert!(message.starts_with("SyntaxError: "), "{message}");
            assert!(message.ends_with("(line 4)"), "{message}");
        }
        other => panic!("expected InvalidCode, got {other:?}"),
    }
}

#[test]
fn an_exception_at_the_top_level_is_refused_at_compile_time() {
    assert_eq!(
        compile_error("const x = 1;\nundefinedFunction();\nfunction transform(r) { return r; }"),
        TransformError::InvalidCode(
            "ReferenceError: undefinedFunction is not defined (line 2)".into()
        )
    );
}

#[test]
fn a_top_level_that_never_ends_is_refused_at_compile_time() {
    assert_eq!(
        compile_error("while (true) {}\nfunction transform(r) { return r; }"),
        TransformError::InvalidCode("the code's top level ran longer than 1000 ms".into())
    );
}

#[test]
fn code_without_a_transform_function_is_refused() {
    for code in [
        "function other(r) { return r; }",
        "var transform = 3;",
        "",
        "// nothing",
    ] {
        assert_eq!(
            compile_error(code),
            TransformError::NoTransformFunction,
            "{code}"
        );
    }
}

#[test]
fn transform_may_be_a_lexical_binding_or_an_arrow_function() {
    let mut r = runner("const transform = (record) => ({ ...record, arrow: 1 });");
    assert_eq!(
        records(r.transform(record(json!({"objectID": "1"})))),
        vec![json!({"objectID": "1", "arrow": 1})]
    );
}

#[test]
fn code_over_64_kib_is_refused() {
    let code = format!(
        "function transform(r) {{ return r; }}\n//{}",
        "x".repeat(MAX_CODE_BYTES)
    );
    assert_eq!(
        compile_error(&code),
        TransformError::CodeTooLarge {
            bytes: code.len(),
            max: MAX_CODE_BYTES
        }
    );
}

#[test]
fn the_runtime_is_loaded_once_and_reused_for_every_record() {
    let mut r = runner(
        "let calls = 0;\nfunction transform(record) { record.call = ++calls; return record; }",
    );
    assert!(!r.is_loaded());
    for expected in 1..=3 {
        let out = records(r.transform(record(json!({"objectID": "1"}))));
        assert_eq!(out, vec![json!({"objectID": "1", "call": expected})]);
    }
    assert!(r.is_loaded());
}

#[test]
fn an_endless_loop_is_interrupted_and_the_runtime_goes_on() {
    let mut r = runner(
        "let calls = 0;\n\
         function transform(record) {\n\
           calls++;\n\
           if (record.loop) { while (true) {} }\n\
           record.calls = calls;\n\
           return record;\n\
         }",
    );
    assert_eq!(
        r.transform(record(json!({"objectID": "1", "loop": true}))),
        Outcome::Failed {
            object_id: Some("1".into()),
            message: "transform timed out: it ran longer than 1000 ms".into()
        }
    );
    assert!(r.is_loaded());
    let out = records(r.transform(record(json!({"objectID": "2"}))));
    assert_eq!(
        out,
        vec![json!({"objectID": "2", "calls": 2})],
        "same runtime, state kept"
    );
}

#[test]
fn a_loop_that_catches_the_interruption_still_times_out() {
    let mut r = runner(
        "function transform(record) {\n\
           try { while (true) {} } catch (e) { return record; }\n\
         }",
    );
    let message = failure(r.transform(record(json!({}))));
    assert_eq!(message, "transform timed out: it ran longer than 1000 ms");
}

#[test]
fn exhausting_the_memory_fails_the_record_and_the_runtime_is_rebuilt() {
    // A time limit far beyond what filling 32 MiB takes, so that memory runs out first.
    let context = CodeContext {
        limits: Limits {
            max_ms_per_record: 60_000,
            ..Limits::default()
        },
        ..CodeContext::default()
    };
    let mut r = runner_with(
        "let a = [];\n\
         function transform(record) {\n\
           if (record.blow) { while (true) a.push(new Array(1e6)); }\n\
           return record;\n\
         }",
        &context,
    );
    let message = failure(r.transform(record(json!({"objectID": "1", "blow": true}))));
    assert_eq!(
        message,
        format!(
            "transform ran out of memory (limit {} bytes)",
            32 * 1024 * 1024
        )
    );
    assert!(!r.is_loaded(), "dropped, to be loaded again");
    let out = records(r.transform(record(json!({"objectID": "2"}))));
    assert_eq!(out, vec![json!({"objectID": "2"})]);
}

#[test]
fn a_small_memory_limit_reports_out_of_memory() {
    let context = CodeContext {
        limits: Limits {
            max_memory_bytes: 4 * 1024 * 1024,
            max_ms_per_record: 5_000,
            ..Limits::default()
        },
        ..CodeContext::default()
    };
    let mut r = runner_with(
        "function transform(record) {\n\
           if (record.blow) { const a = []; while (true) a.push('x'.repeat(1000) + a.length); }\n\
           return record;\n\
         }",
        &context,
    );
    assert_eq!(
        failure(r.transform(record(json!({"blow": true})))),
        "transform ran out of memory (limit 4194304 bytes)"
    );
    assert!(!r.is_loaded(), "dropped, to be loaded again");
    assert_eq!(
        records(r.transform(record(json!({"objectID": "2"})))),
        vec![json!({"objectID": "2"})]
    );
}

#[test]
fn deep_recursion_fails_the_record() {
    let mut r =
        runner("function f(n) { return f(n + 1) + 1; }\nfunction transform(r) { return f(0); }");
    let message = failure(r.transform(record(json!({}))));
    assert!(
        message.starts_with("RangeError: Maximum call stack size exceeded"),
        "{message}"
    );
}

#[test]
fn an_async_transform_is_awaited() {
    let mut r = runner(
        "async function transform(record, helper) {\n\
           await null;\n\
           record.later = await Promise.resolve(2);\n\
           return record;\n\
         }",
    );
    assert_eq!(
        records(r.transform(record(json!({"objectID": "1"})))),
        vec![json!({"objectID": "1", "later": 2})]
    );
    let mut r = runner("async function transform(record) { await null; return null; }");
    assert_eq!(r.transform(record(json!({}))), Outcome::Dropped);
}

#[test]
fn an_async_rejection_fails_the_record_with_its_line() {
    let mut r = runner(
        "async function transform(record) {\n\
           await null;\n\
           throw new RangeError('too far');\n\
         }",
    );
    assert_eq!(
        failure(r.transform(record(json!({})))),
        "RangeError: too far (line 3)"
    );
    let mut r = runner("function transform(record) { return Promise.reject('no'); }");
    assert_eq!(failure(r.transform(record(json!({})))), "Uncaught no");
}

#[test]
fn a_promise_that_never_settles_fails_the_record() {
    let mut r =
        runner("async function transform(record) { await new Promise(() => {}); return record; }");
    assert_eq!(
        failure(r.transform(record(json!({})))),
        "the promise returned by transform did not settle"
    );
    let mut r = runner("function transform(record) { return new Promise(() => {}); }");
    assert_eq!(
        failure(r.transform(record(json!({})))),
        "the promise returned by transform did not settle"
    );
}

#[test]
fn endless_microtasks_time_out_and_the_runtime_is_rebuilt() {
    let mut r = runner(
        "async function spin() { while (true) { await null; } }\n\
         async function transform(record) {\n\
           if (record.spin) { await spin(); }\n\
           return record;\n\
         }",
    );
    let message = failure(r.transform(record(json!({"spin": true}))));
    assert_eq!(message, "transform timed out: it ran longer than 1000 ms");
    assert!(
        !r.is_loaded(),
        "jobs were left queued: the runtime is dropped"
    );
    assert_eq!(
        records(r.transform(record(json!({"objectID": "2"})))),
        vec![json!({"objectID": "2"})]
    );
}

#[test]
fn secrets_answer_their_value_or_undefined() {
    let mut context = default_context();
    context.secrets.insert("apiKey".into(), "s3cr3t".into());
    let mut r = runner_with(
        "function transform(record, helper) {\n\
           record.key = helper.secrets.get('apiKey');\n\
           record.absent = helper.secrets.get('nope') === undefined;\n\
           return record;\n\
         }",
        &context,
    );
    assert_eq!(
        records(r.transform(record(json!({})))),
        vec![json!({"key": "s3cr3t", "absent": true})]
    );
    assert!(
        !format!("{context:?}").contains("s3cr3t"),
        "Debug hides secret values"
    );
}

#[test]
fn get_metadata_answers_the_run_metadata() {
    let mut context = default_context();
    context.metadata = Metadata {
        app_id: Some("APP".into()),
        task_id: Some("task-1".into()),
        index_name: Some("products".into()),
        action_type: None,
    };
    let mut r = runner_with(
        "function transform(record, helper) { return { objectID: '1', meta: helper.getMetadata() }; }",
        &context,
    );
    assert_eq!(
        records(r.transform(record(json!({})))),
        vec![json!({"objectID": "1", "meta": {
            "appID": "APP", "taskID": "task-1", "indexName": "products", "actionType": null
        }})]
    );
}

#[test]
fn the_helper_cannot_be_changed_by_the_code() {
    let mut r = runner(
        "function transform(record, helper) {\n\
           helper.secrets.get = () => 'forged';\n\
           return { objectID: '1', v: helper.secrets.get('x') === undefined };\n\
         }",
    );
    assert_eq!(
        records(r.transform(record(json!({})))),
        vec![json!({"objectID": "1", "v": true})]
    );
}

#[test]
fn console_log_is_captured_and_capped() {
    let mut context = default_context();
    context.limits.max_log_lines = 3;
    context.limits.max_log_line_bytes = 20;
    let mut r = runner_with(
        "function transform(record) {\n\
           console.log('hello', record.n, { a: [1] }, null, undefined);\n\
           console.error('x'.repeat(50));\n\
           return record;\n\
         }",
        &context,
    );
    r.transform(record(json!({"objectID": "r1", "n": 1})));
    r.transform(record(json!({"n": 2})));
    let log = r.take_log();
    let lines: Vec<(Option<&str>, &str)> = log
        .lines
        .iter()
        .map(|line| (line.object_id.as_deref(), line.message.as_str()))
        .collect();
    assert_eq!(
        lines,
        vec![
            (Some("r1"), "hello 1 {\"a\":[1]}…"),
            (Some("r1"), "xxxxxxxxxxxxxxxxx…"),
            (None, "hello 2 {\"a\":[1]}…"),
        ]
    );
    assert_eq!(log.dropped, 1);
    assert_eq!(r.take_log(), ConsoleLog::default());
}

#[test]
fn no_network_timers_or_modules() {
    let mut r = runner(
        "function transform(record) {\n\
           return { objectID: '1', types: [typeof fetch, typeof setTimeout, typeof setInterval,\n\
             typeof require, typeof XMLHttpRequest, typeof process, typeof std, typeof os] };\n\
         }",
    );
    assert_eq!(
        records(r.transform(record(json!({})))),
        vec![json!({"objectID": "1", "types": vec!["undefined"; 8]})]
    );
    for (call, message) in [
        (
            "fetch('http://example.com')",
            "ReferenceError: fetch is not defined (line 1)",
        ),
        (
            "setTimeout(() => {}, 1)",
            "ReferenceError: setTimeout is not defined (line 1)",
        ),
        (
            "require('fs')",
            "ReferenceError: require is not defined (line 1)",
        ),
    ] {
        let mut r = runner(&format!(
            "function transform(record) {{ {call}; return record; }}"
        ));
        assert_eq!(failure(r.transform(record(json!({})))), message);
    }
    let mut r = runner("async function transform(record) { await import('fs'); return record; }");
    let message = failure(r.transform(record(json!({}))));
    assert!(message.contains("could not load module 'fs'"), "{message}");
}

#[test]
fn an_output_record_over_the_size_limit_fails() {
    let mut context = default_context();
    context.limits.max_record_bytes = 100;
    let mut r = runner_with(
        "function transform(record) { record.big = 'x'.repeat(record.n); return record; }",
        &context,
    );
    assert_eq!(
        records(r.transform(record(json!({"n": 10})))),
        vec![json!({"n": 10, "big": "x".repeat(10)})]
    );
    assert_eq!(
        r.transform(record(json!({"objectID": "1", "n": 200}))),
        Outcome::Failed {
            object_id: Some("1".into()),
            message: "the transformed record is 233 bytes, over the limit of 100 bytes".into()
        }
    );
}

#[test]
fn the_global_object_holds_the_language_and_nothing_of_the_host() {
    // Whatever route reaches the global object (globalThis, a Function's `this`, an indirect
    // eval), it holds the standard built-ins only: no process, environment, file system or
    // network, and nothing this engine or another run left there.
    let mut r = runner(
        "globalThis.leak = 'from the top level';\n\
         function transform(record) {\n\
           const viaFunction = Function('return this')();\n\
           const viaEval = (0, eval)('this');\n\
           const names = Object.getOwnPropertyNames(globalThis).sort();\n\
           return { objectID: '1', same: viaFunction === globalThis && viaEval === globalThis,\n\
             host: ['process', 'require', 'module', 'Deno', 'Bun', 'std', 'os', 'fetch',\n\
                    'XMLHttpRequest', 'WebSocket', 'importScripts', 'setTimeout']\n\
                   .filter(n => n in globalThis || n in viaFunction),\n\
             names };\n\
         }",
    );
    let out = records(r.transform(record(json!({}))));
    assert_eq!(out[0]["same"], json!(true));
    assert_eq!(out[0]["host"], json!([]));
    let names: Vec<&str> = out[0]["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    for expected in [
        "Array",
        "JSON",
        "Math",
        "Object",
        "console",
        "transform",
        "leak",
    ] {
        assert!(names.contains(&expected), "{expected} in {names:?}");
    }
    let allowed = |name: &str| {
        name.chars().next().is_some_and(char::is_uppercase)
            || [
                "console",
                "transform",
                "leak",
                "globalThis",
                "eval",
                "isFinite",
                "isNaN",
                "parseFloat",
                "parseInt",
                "decodeURI",
                "decodeURIComponent",
                "encodeURI",
                "encodeURIComponent",
                "escape",
                "unescape",
                "undefined",
                "NaN",
                "Infinity",
                "queueMicrotask",
                "performance",
                "gc",
                "navigator",
                "atob",
                "btoa",
            ]
            .contains(&name)
    };
    let unexpected: Vec<&&str> = names.iter().filter(|n| !allowed(n)).collect();
    assert!(unexpected.is_empty(), "unexpected globals: {unexpected:?}");
}

//! What the user's code sees besides the record: `console` and the `helper` argument
//! (`helper.secrets.get`, `helper.getMetadata`).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use rquickjs::{Ctx, Function, Object};

use super::log::LogSink;

/// Runs once per runtime, before the user's code: defines `console` and builds the frozen helper.
/// The native functions are arguments, so nothing but `console` is added to the global scope.
const PRELUDE: &str = r#"(function (nativeLog, secretGet, metadataJson) {
  "use strict";
  const show = (value) => {
    if (typeof value === "string") return value;
    try {
      const json = JSON.stringify(value);
      return json === undefined ? String(value) : json;
    } catch (error) {
      return String(value);
    }
  };
  const log = (...args) => { nativeLog(args.map(show).join(" ")); };
  globalThis.console = Object.freeze({ log, info: log, warn: log, error: log, debug: log });
  const secrets = Object.freeze({ get: (name) => secretGet(String(name)) });
  return Object.freeze({ secrets, getMetadata: () => JSON.parse(metadataJson) });
})"#;

/// The objectID of the record being transformed, for the log lines written meanwhile.
pub(crate) type CurrentId = Rc<RefCell<Option<String>>>;

/// Defines `console` and returns the `helper` object.
pub(crate) fn install<'js>(
    ctx: &Ctx<'js>,
    secrets: Rc<HashMap<String, String>>,
    metadata_json: String,
    log: LogSink,
    current: CurrentId,
) -> rquickjs::Result<Object<'js>> {
    let setup: Function = ctx.eval(PRELUDE)?;
    let native_log = Function::new(ctx.clone(), move |line: String| {
        let object_id = current.try_borrow().ok().and_then(|id| id.clone());
        log.push(object_id, line);
    })?;
    let secret_get = Function::new(ctx.clone(), move |name: String| secrets.get(&name).cloned())?;
    setup.call((native_log, secret_get, metadata_json))
}

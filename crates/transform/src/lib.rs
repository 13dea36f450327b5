//! Record transformations of the ingestion engine (Part D5 of the API): the **no-code** step
//! dialect, applied in pure Rust, and **JavaScript** code run in sandboxed QuickJS runtimes.
//!
//! Both kinds compile once per run ([`compile_no_code`], [`compile_code`]) into a [`Program`];
//! a [`TransformPool`] built from it transforms batches of records without blocking the async
//! workers, and answers one [`Outcome`] per input record, in input order.
//!
//! # The no-code dialect
//!
//! `input.steps` is a JSON array of steps, applied in order to each record; each step sees the
//! changes of the steps before it.
//!
//! - `{"type": "addAttribute", "attribute": path, "value": source, "when"?: condition}` sets
//!   `attribute` when `when` holds (or always without `when`). `source` is exactly one of:
//!   - `{"fixed": any}`: that JSON value;
//!   - `{"from": path}`: the value of another attribute; when it is absent the step does nothing;
//!   - `{"template": "text with {{path}}"}`: a string where each `{{path}}` (spaces around the
//!     path allowed) is replaced by the attribute's value: a string as it is, any other value
//!     (`null` included) as its JSON text, and an absent attribute by the empty string. Every
//!     `{{` opens a placeholder (there is no escape); a lone `}}` is plain text.
//!
//!   Missing intermediate objects are created (`a.b.c` on `{}` gives `{"a":{"b":{"c":…}}}`); an
//!   intermediate value that exists and is not an object fails the record, with the step's
//!   position in the message.
//! - `{"type": "removeAttribute", "attribute": path, "when"?: condition}` removes the attribute;
//!   nothing happens when it is absent.
//! - `{"type": "removeRecords", "when": condition}` drops the record when `when` holds (the later
//!   steps do not run).
//!
//! A record whose `objectID` was removed gets the input's back (an `addAttribute` may change it).
//!
//! **Paths** are dotted (`a.b.c`), with no empty segment. Reading (`from`, templates,
//! conditions) walks objects, and arrays with a segment of digits (`images.0.url`); writing and
//! removing walk objects only.
//!
//! **Conditions** are `{"attribute": path, "operator": op, "value"?: any}`, `{"all": [conditions]}`
//! (every one holds) or `{"any": [conditions]}` (at least one holds); the lists are not empty.
//!
//! | operator | holds when |
//! |---|---|
//! | `eq` | the attribute is present and equals `value` (JSON equality, numbers by value: `1` equals `1.0`) |
//! | `ne` | not `eq` (so also when the attribute is absent) |
//! | `lt`, `lte`, `gt`, `gte` | both are numbers, compared as numbers, or both are strings, compared by their bytes; anything else (unlike kinds, booleans, absent) is false. `value` must be a number or a string |
//! | `exists` / `notExists` | the attribute is present (`null` counts as present) / absent. They take no `value` |
//! | `contains` | the attribute is a string and `value` a substring of it, or an array with an element equal to `value`; otherwise false |
//! | `in` | `value` is an array and the attribute equals one of its elements |
//!
//! Everything is validated at compile time: an unknown step type, field or operator, a missing
//! field, a value of the wrong kind or an invalid path is refused with
//! [`TransformError::InvalidSteps`], whose message names the position, like
//! `input.steps[2].when.operator: unknown operator "foo" (…)`.
//!
//! # JavaScript transformations
//!
//! See [`compile_code`] and [`CodeRunner`]: the code defines `function transform(record,
//! helper)` (async or not), called once per record in a QuickJS runtime that is built once per
//! worker thread and reused. What it returns decides the [`Outcome`]:
//!
//! | returns | outcome |
//! |---|---|
//! | an object | one record; if it lost its `objectID`, it keeps the input's |
//! | a non-empty array of objects each with an `objectID` (string or number) | those records (a split) |
//! | `undefined`, `null`, `[]` | [`Outcome::Dropped`] |
//! | anything else, an array with an element that is not an object or has no `objectID`, a thrown error (message with its line), a timeout, memory exhausted, a promise that never settles, an output record over the size limit | [`Outcome::Failed`] |
//!
//! `helper.secrets.get(name)` answers the secret called `name` (`undefined` when absent),
//! `helper.getMetadata()` answers `{appID, taskID, indexName, actionType}`; `console.log` (also
//! `info`, `warn`, `error`, `debug`) goes to a capped [`ConsoleLog`]. There is no `fetch`, no
//! timer (`setTimeout` is not defined), no `require` and no module loading (`import()` rejects).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod code;
mod error;
mod nocode;
mod outcome;
mod pool;

pub use code::{
    CodeContext, CodeProgram, CodeRunner, ConsoleLog, Limits, LogLine, MAX_CODE_BYTES, Metadata,
    compile_code,
};
pub use error::TransformError;
pub use nocode::{Condition, NoCodeProgram, Operator, Path, Piece, Source, Step, compile_no_code};
pub use outcome::{Emission, Emitted, Outcome, Record, emit, object_id_of};
pub use pool::{JsonRecord, Program, TransformPool};

/// The default limit on the size of one output record (serialized JSON), as the default
/// `batch.max_record_bytes`.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 100_000;

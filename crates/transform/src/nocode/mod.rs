//! No-code transformations: a list of steps applied in order, in pure Rust. The dialect is
//! described in the crate documentation.

mod condition;
mod fields;
pub(crate) mod lazy;
mod path;
mod steps;

#[cfg(test)]
mod tests;

pub use condition::{Condition, Operator};
pub use path::Path;
pub use steps::{Piece, Source, Step};

use std::collections::BTreeSet;

use serde_json::Value;

use crate::outcome::{Outcome, Record, enforce_record_size, object_id_of};
use crate::{DEFAULT_MAX_RECORD_BYTES, TransformError};
use steps::Applied;

/// A validated list of no-code steps, ready to apply to records.
#[derive(Debug, Clone, PartialEq)]
pub struct NoCodeProgram {
    steps: Vec<Step>,
    max_record_bytes: usize,
    /// The top-level attributes the steps read or write (and `objectID`): the only ones the JSON
    /// path ([`lazy`]) parses.
    touched: BTreeSet<String>,
}

/// Compiles `input.steps` (the JSON array of steps), validating every step up front. The error
/// names the position of the first problem, like
/// `input.steps[2].when.operator: unknown operator "foo" (…)`.
pub fn compile_no_code(steps: &Value) -> Result<NoCodeProgram, TransformError> {
    let at = "input.steps";
    let list = steps
        .as_array()
        .ok_or_else(|| fields::invalid(at, "expected an array"))?;
    let steps: Vec<Step> = list
        .iter()
        .enumerate()
        .map(|(i, step)| Step::compile(step, &format!("{at}[{i}]")))
        .collect::<Result<_, _>>()?;
    let mut touched = BTreeSet::from(["objectID".to_owned()]);
    for step in &steps {
        lazy::touched_by(step, &mut touched);
    }
    Ok(NoCodeProgram {
        steps,
        max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
        touched,
    })
}

impl NoCodeProgram {
    /// The same program with another limit on the size of an output record (serialized JSON).
    #[must_use]
    pub fn with_max_record_bytes(mut self, max_record_bytes: usize) -> Self {
        self.max_record_bytes = max_record_bytes;
        self
    }

    /// The compiled steps, in order.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// Applies the steps in order to one record.
    pub fn apply(&self, record: Record) -> Outcome {
        let object_id = object_id_of(&record);
        enforce_record_size(
            self.apply_unchecked(record),
            object_id.as_deref(),
            self.max_record_bytes,
        )
    }

    /// The largest output record, in bytes of JSON.
    pub fn max_record_bytes(&self) -> usize {
        self.max_record_bytes
    }

    /// [`Self::apply`] without the output size check (the caller serializes and checks).
    pub(crate) fn apply_unchecked(&self, mut record: Record) -> Outcome {
        let object_id = object_id_of(&record);
        let input_id = record.get("objectID").cloned();
        for (i, step) in self.steps.iter().enumerate() {
            match step.apply(&mut record) {
                Applied::Continue => {}
                Applied::Drop => return Outcome::Dropped,
                Applied::Fail(message) => {
                    return Outcome::Failed {
                        object_id,
                        message: format!("input.steps[{i}]: {message}"),
                    };
                }
            }
        }
        if let Some(id) = input_id
            && !record.contains_key("objectID")
        {
            record.insert("objectID".to_owned(), id);
        }
        Outcome::Records(vec![record])
    }
}

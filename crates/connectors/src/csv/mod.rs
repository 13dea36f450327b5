//! The CSV connector: a header row, then one record per row, typed by the task's mapping.

mod cell;
mod decoder;
mod plan;
mod row;
mod split;
mod string_field;

pub use decoder::{CsvDecoder, CsvOptions};

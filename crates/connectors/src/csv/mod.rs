//! The CSV connector: a header row, then one record per row, typed by the task's mapping.

mod cell;
mod decoder;
mod split;

pub use decoder::{CsvDecoder, CsvOptions};

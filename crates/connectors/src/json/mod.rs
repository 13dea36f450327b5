//! The JSON connector: a top-level array streamed element by element, or NDJSON line by line.

mod decoder;
mod element;
mod scanner;

pub use decoder::{JsonDecoder, JsonOptions};

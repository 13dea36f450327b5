//! End-to-end tests of the binaries: the real `run-task` against a real HTTP server on 127.0.0.1.

mod push;
mod run_task;
mod support;

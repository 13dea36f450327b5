//! Progress on stderr (records, bytes, rate), only when stderr is a terminal.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

const EVERY: Duration = Duration::from_millis(500);

/// Prints a progress line at most twice a second.
#[derive(Debug)]
pub struct Progress {
    enabled: bool,
    started: Instant,
    last: Instant,
}

impl Progress {
    /// Progress on stderr when it is a terminal, silence otherwise.
    pub fn stderr() -> Self {
        Self::new(std::io::stderr().is_terminal())
    }

    /// Progress that prints only when `enabled`.
    pub fn new(enabled: bool) -> Self {
        let now = Instant::now();
        Self {
            enabled,
            started: now,
            last: now,
        }
    }

    /// Reports the counts so far.
    pub fn update(&mut self, records: u64, bytes: u64) {
        if self.enabled && self.last.elapsed() >= EVERY {
            self.last = Instant::now();
            self.print(records, bytes, "");
        }
    }

    /// Reports the final counts.
    pub fn finish(&mut self, records: u64, bytes: u64) {
        if self.enabled {
            self.print(records, bytes, "\n");
        }
    }

    fn print(&self, records: u64, bytes: u64, end: &str) {
        let seconds = self.started.elapsed().as_secs_f64().max(1e-3);
        let line = format!(
            "\r{records} records, {:.1} MB, {:.0} records/s{end}",
            bytes as f64 / 1e6,
            records as f64 / seconds
        );
        let _ = std::io::stderr().write_all(line.as_bytes());
    }
}

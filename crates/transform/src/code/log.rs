//! The capped console log of a run: at most `max_log_lines` lines of at most
//! `max_log_line_bytes` bytes each, the lines beyond counted as dropped.

use std::sync::{Arc, Mutex, PoisonError};

/// One `console.log` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// The `objectID` of the record being transformed when the line was written, if any.
    pub object_id: Option<String>,
    /// The arguments, each a string as it is or else its JSON text, joined by spaces; cut to the
    /// line limit (ending with `…` when cut).
    pub message: String,
}

/// Lines of `console.log` taken from a runner or pool, and how many were dropped over the cap.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsoleLog {
    /// The lines kept, in the order they were written (per worker thread).
    pub lines: Vec<LogLine>,
    /// How many lines were dropped because the run had written its maximum already.
    pub dropped: u64,
}

#[derive(Debug)]
struct Buffer {
    log: ConsoleLog,
    accepted: usize,
    max_lines: usize,
    max_line_bytes: usize,
}

/// A log shared by the runtimes of one run (one per worker thread).
#[derive(Debug, Clone)]
pub(crate) struct LogSink(Arc<Mutex<Buffer>>);

impl LogSink {
    /// An empty log with these caps (for the whole life of the sink, not per take).
    pub(crate) fn new(max_lines: usize, max_line_bytes: usize) -> Self {
        Self(Arc::new(Mutex::new(Buffer {
            log: ConsoleLog::default(),
            accepted: 0,
            max_lines,
            max_line_bytes,
        })))
    }

    /// Records one line, or counts it as dropped past the cap.
    pub(crate) fn push(&self, object_id: Option<String>, mut message: String) {
        let mut buffer = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if buffer.accepted >= buffer.max_lines {
            buffer.log.dropped += 1;
            return;
        }
        buffer.accepted += 1;
        if message.len() > buffer.max_line_bytes {
            let ellipsis = '…';
            let mut cut = buffer.max_line_bytes.saturating_sub(ellipsis.len_utf8());
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            if buffer.max_line_bytes >= ellipsis.len_utf8() {
                message.push(ellipsis);
            }
        }
        buffer.log.lines.push(LogLine { object_id, message });
    }

    /// Takes the lines written since the last take (the cap still counts them).
    pub(crate) fn take(&self) -> ConsoleLog {
        let mut buffer = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        std::mem::take(&mut buffer.log)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_capped_per_sink_and_cut_on_char_boundaries() {
        let sink = LogSink::new(2, 6);
        sink.push(Some("1".into()), "abc".into());
        sink.push(None, "ééééé".into());
        sink.push(None, "third".into());
        let log = sink.take();
        assert_eq!(
            log.lines,
            vec![
                LogLine {
                    object_id: Some("1".into()),
                    message: "abc".into()
                },
                LogLine {
                    object_id: None,
                    message: "é…".into()
                },
            ]
        );
        assert_eq!(log.dropped, 1);
        sink.push(None, "more".into());
        assert_eq!(
            sink.take(),
            ConsoleLog {
                lines: vec![],
                dropped: 1
            }
        );
    }
}

//! The push interface every text format implements: bytes in, record results out.

use std::collections::VecDeque;

use ingest_core::SourceResult;

/// Turns a byte stream, fed in chunks of any size, into record results.
///
/// Decoders hold only the record being parsed, so memory stays bounded whatever the input size.
/// After a decoder has emitted a fatal item it ignores further input.
pub trait RecordDecoder: Send {
    /// Parses `chunk`, appending every record completed by it to `out`.
    fn feed(&mut self, chunk: &[u8], out: &mut VecDeque<SourceResult>);
    /// Signals the end of input, appending the last records (or a fatal error for a truncated
    /// container) to `out`.
    fn finish(&mut self, out: &mut VecDeque<SourceResult>);
}

/// Strips a UTF-8 byte order mark at the very start of the input, even when it arrives split.
#[derive(Debug, Default)]
pub(crate) struct BomStripper {
    seen: Vec<u8>,
    done: bool,
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

impl BomStripper {
    /// Returns the part of `chunk` to parse; the bytes held back while undecided come first.
    pub(crate) fn strip<'a>(&mut self, chunk: &'a [u8]) -> std::borrow::Cow<'a, [u8]> {
        use std::borrow::Cow;
        if self.done {
            return Cow::Borrowed(chunk);
        }
        if self.seen.is_empty() && chunk.len() >= BOM.len() {
            self.done = true;
            return Cow::Borrowed(chunk.strip_prefix(BOM).unwrap_or(chunk));
        }
        self.seen.extend_from_slice(chunk);
        if self.seen.len() < BOM.len() && BOM.starts_with(&self.seen) {
            return Cow::Borrowed(&[]);
        }
        self.done = true;
        let seen = std::mem::take(&mut self.seen);
        Cow::Owned(seen.strip_prefix(BOM).map(<[u8]>::to_vec).unwrap_or(seen))
    }

    /// The bytes still held back at the end of input (a short input that began like a BOM).
    pub(crate) fn finish(&mut self) -> Vec<u8> {
        self.done = true;
        std::mem::take(&mut self.seen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(chunks: &[&[u8]]) -> Vec<u8> {
        let mut stripper = BomStripper::default();
        let mut out = Vec::new();
        for chunk in chunks {
            out.extend_from_slice(&stripper.strip(chunk));
        }
        out.extend(stripper.finish());
        out
    }

    #[test]
    fn strips_a_bom_however_it_is_split() {
        assert_eq!(run(&[b"\xEF\xBB\xBFa,b"]), b"a,b");
        assert_eq!(run(&[b"\xEF", b"\xBB", b"\xBFa"]), b"a");
        assert_eq!(
            run(&[b"\xEF\xBB", b"\xBFa,b", b"\xEF\xBB\xBF"]),
            b"a,b\xEF\xBB\xBF"
        );
        assert_eq!(run(&[b"ab", b"c"]), b"abc");
        assert_eq!(run(&[b"\xEF", b"x"]), b"\xEFx");
        assert_eq!(run(&[b"\xEF"]), b"\xEF");
        assert_eq!(run(&[]), b"");
    }
}

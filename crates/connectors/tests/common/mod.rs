//! Feeding a decoder the way a body arrives: in chunks.

use std::collections::VecDeque;

use ingest_connectors::RecordDecoder;
use ingest_core::SourceResult;

/// Feeds `input` to `decoder` in chunks whose sizes cycle through `sizes` (a 0 feeds an empty
/// chunk, as a network body may deliver), then finishes it, and returns every item it produced.
pub fn decode_in_chunks(
    mut decoder: impl RecordDecoder,
    input: &[u8],
    sizes: &[usize],
) -> Vec<SourceResult> {
    assert!(
        sizes.iter().any(|&size| size > 0),
        "some chunk size must be positive"
    );
    let mut out = VecDeque::new();
    let mut rest = input;
    for &size in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (chunk, tail) = rest.split_at(size.min(rest.len()));
        decoder.feed(chunk, &mut out);
        rest = tail;
    }
    decoder.finish(&mut out);
    out.into()
}

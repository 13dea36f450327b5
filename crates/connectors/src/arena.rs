//! Record bytes carved out of large shared allocations.

use bytes::{Bytes, BytesMut};

const ARENA_CHUNK: usize = 256 * 1024;

/// Hands out `Bytes` for records while allocating once per ~256 KiB instead of once per record.
#[derive(Debug, Default)]
pub(crate) struct RecordArena {
    buffer: BytesMut,
}

impl RecordArena {
    /// A copy of `json` in arena memory.
    pub(crate) fn freeze(&mut self, json: &[u8]) -> Bytes {
        if self.buffer.capacity() - self.buffer.len() < json.len() {
            self.buffer = BytesMut::with_capacity(ARENA_CHUNK.max(json.len()));
        }
        self.buffer.extend_from_slice(json);
        self.buffer.split().freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_keep_their_bytes() {
        let mut arena = RecordArena::default();
        let a = arena.freeze(b"{\"a\":1}");
        let big = vec![b'x'; ARENA_CHUNK + 10];
        let b = arena.freeze(&big);
        let c = arena.freeze(b"{}");
        assert_eq!(&a[..], b"{\"a\":1}");
        assert_eq!(b.len(), ARENA_CHUNK + 10);
        assert_eq!(&c[..], b"{}");
    }
}

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
            self.buffer.reserve(ARENA_CHUNK.max(json.len()));
        }
        self.buffer.extend_from_slice(json);
        self.buffer.split().freeze()
    }

    /// An empty buffer with room for at least `estimate` bytes, to write one record into;
    /// then [`RecordArena::take`] or [`RecordArena::discard`].
    pub(crate) fn writer(&mut self, estimate: usize) -> &mut BytesMut {
        self.buffer.clear();
        if self.buffer.capacity() < estimate {
            // Reclaims the whole chunk in place once every record split off it has been dropped
            // (the usual case: the batcher copies records and lets them go), else allocates.
            self.buffer.reserve(ARENA_CHUNK.max(estimate));
        }
        &mut self.buffer
    }

    /// The record written since [`RecordArena::writer`].
    pub(crate) fn take(&mut self) -> Bytes {
        self.buffer.split().freeze()
    }

    /// Forgets the record written since [`RecordArena::writer`].
    pub(crate) fn discard(&mut self) {
        self.buffer.clear();
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

    #[test]
    fn records_written_in_place_are_split_off() {
        use bytes::BufMut;
        let mut arena = RecordArena::default();
        arena.writer(10).put_slice(b"{\"a\":1}");
        let a = arena.take();
        arena.writer(10).put_slice(b"{\"rejected\"");
        arena.discard();
        arena.writer(ARENA_CHUNK * 2).put_slice(b"{}");
        let b = arena.take();
        assert_eq!(&a[..], b"{\"a\":1}");
        assert_eq!(&b[..], b"{}");
    }
}

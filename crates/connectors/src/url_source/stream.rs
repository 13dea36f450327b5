//! A decoder driven over a body, chunk by chunk.

use std::collections::VecDeque;

use futures::future::BoxFuture;
use futures::stream::{self, StreamExt};
use ingest_core::{RecordStream, SourceError, SourceItemError, SourceResult};

use crate::decode::RecordDecoder;
use crate::http::ChunkStream;

struct DecodeState {
    open: Option<BoxFuture<'static, Result<ChunkStream, SourceError>>>,
    chunks: Option<ChunkStream>,
    decoder: Box<dyn RecordDecoder>,
    queue: VecDeque<SourceResult>,
    finished: bool,
}

/// Drives a decoder over a body: items are produced chunk by chunk, so memory holds one chunk's
/// records at most.
pub fn decode_stream(
    open: BoxFuture<'static, Result<ChunkStream, SourceError>>,
    decoder: Box<dyn RecordDecoder>,
) -> RecordStream {
    let state = DecodeState {
        open: Some(open),
        chunks: None,
        decoder,
        queue: VecDeque::new(),
        finished: false,
    };
    stream::unfold(state, |mut state| async move {
        loop {
            if let Some(item) = state.queue.pop_front() {
                if matches!(item, Err(SourceItemError::Fatal(_))) {
                    state.finished = true;
                    state.queue.clear();
                }
                return Some((item, state));
            }
            if state.finished {
                return None;
            }
            if let Some(open) = state.open.take() {
                match open.await {
                    Ok(chunks) => state.chunks = Some(chunks),
                    Err(error) => state.queue.push_back(Err(SourceItemError::Fatal(error))),
                }
                continue;
            }
            let Some(chunks) = state.chunks.as_mut() else {
                state.finished = true;
                continue;
            };
            match chunks.next().await {
                Some(Ok(chunk)) => state.decoder.feed(&chunk, &mut state.queue),
                Some(Err(error)) => state.queue.push_back(Err(SourceItemError::Fatal(error))),
                None => {
                    state.decoder.finish(&mut state.queue);
                    state.chunks = None;
                }
            }
        }
    })
    .boxed()
}

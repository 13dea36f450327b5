//! Bodies as streams of chunks: local files, and gzip decoding with a cap on the output.

use std::collections::VecDeque;
use std::io::Write;
use std::path::Path;

use bytes::Bytes;
use flate2::write::MultiGzDecoder;
use futures::stream::{self, BoxStream, StreamExt};
use ingest_core::SourceError;
use tokio::io::AsyncReadExt;

/// A body, chunk by chunk; an error ends it.
pub type ChunkStream = BoxStream<'static, Result<Bytes, SourceError>>;

const FILE_CHUNK: usize = 256 * 1024;
/// Compressed bytes fed to the decoder at a time, so one step yields at most ~8 MiB.
const GZIP_STEP: usize = 8 * 1024;

/// Streams a local file.
pub async fn file_chunks(path: &Path) -> Result<ChunkStream, SourceError> {
    let shown = path.display().to_string();
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|error| SourceError::new(format!("cannot open {shown}: {error}")))?;
    let chunks = stream::unfold(Some(file), move |file| {
        let shown = shown.clone();
        async move {
            let mut file = file?;
            let mut buffer = Vec::with_capacity(FILE_CHUNK);
            match (&mut file)
                .take(FILE_CHUNK as u64)
                .read_to_end(&mut buffer)
                .await
            {
                Ok(0) => None,
                Ok(_) => Some((Ok(Bytes::from(buffer)), Some(file))),
                Err(error) => Some((
                    Err(SourceError::new(format!("reading {shown} failed: {error}"))),
                    None,
                )),
            }
        }
    });
    Ok(chunks.boxed())
}

struct Gunzip {
    input: ChunkStream,
    decoder: MultiGzDecoder<Vec<u8>>,
    ready: VecDeque<Bytes>,
    total: u64,
    cap: u64,
    what: String,
    done: bool,
}

impl Gunzip {
    fn take_output(&mut self) -> Result<(), SourceError> {
        let output = std::mem::take(self.decoder.get_mut());
        self.total += output.len() as u64;
        if self.total > self.cap {
            return Err(SourceError::new(format!(
                "{} decompresses to more than {} bytes, the configured limit",
                self.what, self.cap
            )));
        }
        if !output.is_empty() {
            self.ready.push_back(Bytes::from(output));
        }
        Ok(())
    }

    fn feed(&mut self, chunk: &[u8]) -> Result<(), SourceError> {
        for step in chunk.chunks(GZIP_STEP) {
            self.decoder
                .write_all(step)
                .map_err(|error| self.invalid(error))?;
            self.take_output()?;
        }
        Ok(())
    }

    fn end(&mut self) -> Result<(), SourceError> {
        self.decoder
            .try_finish()
            .map_err(|error| self.invalid(error))?;
        self.take_output()
    }

    fn invalid(&self, error: std::io::Error) -> SourceError {
        SourceError::new(format!("{} is not valid gzip: {error}", self.what))
    }
}

/// Decodes a gzip (or multi-member gzip) body, failing once it inflates past `cap` bytes.
pub fn gunzip(input: ChunkStream, cap: u64, what: String) -> ChunkStream {
    let state = Gunzip {
        input,
        decoder: MultiGzDecoder::new(Vec::new()),
        ready: VecDeque::new(),
        total: 0,
        cap,
        what,
        done: false,
    };
    stream::unfold(state, |mut state| async move {
        loop {
            if let Some(chunk) = state.ready.pop_front() {
                return Some((Ok(chunk), state));
            }
            if state.done {
                return None;
            }
            let step = match state.input.next().await {
                Some(Ok(chunk)) => state.feed(&chunk),
                Some(Err(error)) => Err(error),
                None => {
                    state.done = true;
                    state.end()
                }
            };
            if let Err(error) = step {
                state.done = true;
                state.ready.clear();
                return Some((Err(error), state));
            }
        }
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    async fn collect(chunks: ChunkStream) -> Result<Vec<u8>, SourceError> {
        let mut out = Vec::new();
        let mut chunks = chunks;
        while let Some(chunk) = chunks.next().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(out)
    }

    fn pieces(data: Vec<u8>, size: usize) -> ChunkStream {
        let chunks: Vec<_> = data
            .chunks(size)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        stream::iter(chunks).boxed()
    }

    #[tokio::test]
    async fn decodes_in_small_pieces_and_multiple_members() {
        let data: Vec<u8> = (0..100_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let mut compressed = gzip(&data[..200_000]);
        compressed.extend(gzip(&data[200_000..]));
        let out = collect(gunzip(pieces(compressed, 777), u64::MAX, "x".into())).await;
        assert_eq!(out.unwrap(), data);
    }

    #[tokio::test]
    async fn caps_the_decompressed_size() {
        let compressed = gzip(&vec![b'a'; 1_000_000]);
        let error = collect(gunzip(pieces(compressed, 4096), 10_000, "the body".into()))
            .await
            .unwrap_err();
        assert_eq!(
            error.message(),
            "the body decompresses to more than 10000 bytes, the configured limit"
        );
    }

    #[tokio::test]
    async fn refuses_corrupt_and_truncated_gzip() {
        let result = collect(gunzip(
            pieces(b"not gzip at all".to_vec(), 4),
            u64::MAX,
            "b".into(),
        ))
        .await;
        assert!(
            result
                .unwrap_err()
                .message()
                .starts_with("b is not valid gzip")
        );
        let compressed = gzip(&vec![b'a'; 100_000]);
        let truncated = compressed[..compressed.len() / 2].to_vec();
        let result = collect(gunzip(pieces(truncated, 100), u64::MAX, "b".into())).await;
        assert!(result.is_err(), "a truncated gzip body must fail");
    }
}

//! Bodies as streams of chunks: local files, gzip decoding with a cap on the output and a bound
//! on what one poll inflates, and whole bodies read under a cap.

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
/// Decoded bytes gathered before they are handed on as one chunk: together with the decoder's own
/// 32 KiB window this bounds what one poll holds, whatever the compression ratio.
const GZIP_OUTPUT: usize = 64 * 1024;

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
    /// Compressed bytes received and not yet consumed by the decoder.
    pending: Bytes,
    total: u64,
    cap: u64,
    what: String,
    input_done: bool,
    failed: bool,
}

impl Gunzip {
    /// Hands on what the decoder produced once there is at least `at_least` of it (and any of it
    /// when `at_least` is 0), checking the cap.
    fn take_output(&mut self, at_least: usize) -> Result<Option<Bytes>, SourceError> {
        let produced = self.decoder.get_ref().len();
        if produced == 0 || produced < at_least {
            return Ok(None);
        }
        let output = std::mem::replace(self.decoder.get_mut(), Vec::with_capacity(GZIP_OUTPUT));
        self.total += output.len() as u64;
        if self.total > self.cap {
            return Err(SourceError::new(format!(
                "{} decompresses to more than {} bytes, the configured limit",
                self.what, self.cap
            )));
        }
        Ok(Some(Bytes::from(output)))
    }

    /// Feeds the decoder once: one `write` inflates at most one window (32 KiB) of output.
    fn step(&mut self) -> Result<(), SourceError> {
        let consumed = self
            .decoder
            .write(&self.pending)
            .map_err(|error| self.invalid(error))?;
        if consumed == 0 {
            return Err(SourceError::new(format!(
                "{} is not valid gzip: the decoder accepts no more input",
                self.what
            )));
        }
        let _ = self.pending.split_to(consumed);
        Ok(())
    }

    /// The next decoded chunk, `None` at the end of the body.
    async fn next_chunk(&mut self) -> Result<Option<Bytes>, SourceError> {
        loop {
            if let Some(chunk) = self.take_output(GZIP_OUTPUT)? {
                return Ok(Some(chunk));
            }
            if !self.pending.is_empty() {
                self.step()?;
                continue;
            }
            if self.input_done {
                return Ok(None);
            }
            // Hand on what is decoded before waiting for the network.
            if let Some(chunk) = self.take_output(0)? {
                return Ok(Some(chunk));
            }
            match self.input.next().await {
                Some(Ok(chunk)) => self.pending = chunk,
                Some(Err(error)) => return Err(error),
                None => {
                    self.input_done = true;
                    self.decoder
                        .try_finish()
                        .map_err(|error| self.invalid(error))?;
                    return self.take_output(0);
                }
            }
        }
    }

    fn invalid(&self, error: std::io::Error) -> SourceError {
        SourceError::new(format!("{} is not valid gzip: {error}", self.what))
    }
}

/// Decodes a gzip (or multi-member gzip) body, failing once it inflates past `cap` bytes. Each
/// poll holds at most ~100 KiB of decoded bytes, whatever the compression ratio.
pub fn gunzip(input: ChunkStream, cap: u64, what: String) -> ChunkStream {
    let state = Gunzip {
        input,
        decoder: MultiGzDecoder::new(Vec::with_capacity(GZIP_OUTPUT)),
        pending: Bytes::new(),
        total: 0,
        cap,
        what,
        input_done: false,
        failed: false,
    };
    stream::unfold(state, |mut state| async move {
        if state.failed {
            return None;
        }
        match state.next_chunk().await {
            Ok(Some(chunk)) => Some((Ok(chunk), state)),
            Ok(None) => None,
            Err(error) => {
                state.failed = true;
                Some((Err(error), state))
            }
        }
    })
    .boxed()
}

/// Reads a whole response body of at most `cap` bytes: a declared `Content-Length` over the cap is
/// refused before reading, and a body that grows past it is dropped as soon as it does. `what`
/// names the endpoint in the error.
pub(crate) async fn read_capped(
    mut response: reqwest::Response,
    cap: usize,
    what: &str,
) -> Result<Bytes, SourceError> {
    let too_big = || {
        SourceError::new(format!(
            "{what}: the response is larger than {}, the limit for this endpoint",
            shown_size(cap)
        ))
    };
    if response
        .content_length()
        .is_some_and(|length| length > cap as u64)
    {
        return Err(too_big());
    }
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > cap {
                    return Err(too_big());
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(Bytes::from(body)),
            Err(error) => {
                return Err(SourceError::new(format!(
                    "{what}: reading the response failed after {} bytes: {}",
                    body.len(),
                    super::client::describe(&error)
                )));
            }
        }
    }
}

/// A size in the unit people read it in.
fn shown_size(bytes: usize) -> String {
    if bytes >= 1024 * 1024 && bytes.is_multiple_of(1024 * 1024) {
        format!("{} MiB", bytes / (1024 * 1024))
    } else if bytes >= 1024 && bytes.is_multiple_of(1024) {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
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

    #[tokio::test]
    async fn a_high_ratio_body_is_inflated_in_bounded_chunks() {
        // 64 MiB of spaces compress to ~64 KiB: fed as one chunk, no poll may hold it all.
        let size = 64 * 1024 * 1024;
        let compressed = gzip(&vec![b' '; size]);
        let mut chunks = gunzip(pieces(compressed, usize::MAX), u64::MAX, "b".into());
        let (mut total, mut largest) = (0usize, 0usize);
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk.unwrap();
            assert!(chunk.iter().all(|&b| b == b' '));
            total += chunk.len();
            largest = largest.max(chunk.len());
        }
        assert_eq!(total, size);
        assert!(largest <= 2 * GZIP_OUTPUT, "a chunk of {largest} bytes");
    }

    #[tokio::test]
    async fn the_cap_stops_a_bomb_before_it_is_inflated() {
        let compressed = gzip(&vec![b' '; 32 * 1024 * 1024]);
        let mut chunks = gunzip(pieces(compressed, usize::MAX), 1024 * 1024, "b".into());
        let mut seen = 0usize;
        let error = loop {
            match chunks.next().await {
                Some(Ok(chunk)) => seen += chunk.len(),
                Some(Err(error)) => break error,
                None => panic!("the cap must end the stream with an error"),
            }
        };
        assert!(seen <= 1024 * 1024, "{seen} bytes handed on");
        assert!(error.message().contains("more than 1048576 bytes"));
        assert!(chunks.next().await.is_none());
    }

    /// A server answering every connection with a body that never ends.
    async fn endless_server(declared: Option<u64>) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut request = [0u8; 4096];
                    let _ = socket.read(&mut request).await;
                    let head = match declared {
                        Some(length) => {
                            format!("HTTP/1.1 200 OK\r\ncontent-length: {length}\r\n\r\n")
                        }
                        None => "HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n".to_owned(),
                    };
                    if socket.write_all(head.as_bytes()).await.is_err() {
                        return;
                    }
                    let block = vec![b'x'; 64 * 1024];
                    while socket.write_all(&block).await.is_ok() {}
                });
            }
        });
        format!("http://{address}/token")
    }

    #[tokio::test]
    async fn a_body_that_never_ends_is_dropped_at_the_cap() {
        let url = endless_server(None).await;
        let response = reqwest::get(&url).await.unwrap();
        let error = read_capped(response, 64 * 1024, "oauth token request to x")
            .await
            .unwrap_err();
        assert_eq!(
            error.message(),
            "oauth token request to x: the response is larger than 64 KiB, the limit for this endpoint"
        );
    }

    #[tokio::test]
    async fn a_declared_length_over_the_cap_is_refused_before_reading() {
        let url = endless_server(Some(u64::MAX / 2)).await;
        let response = reqwest::get(&url).await.unwrap();
        let error = read_capped(response, 32 * 1024 * 1024, "GET page")
            .await
            .unwrap_err();
        assert!(
            error.message().contains("larger than 32 MiB"),
            "{}",
            error.message()
        );
    }
}

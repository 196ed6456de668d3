//! Reading local files: large reads on the blocking pool, a few reads ahead of the socket.
//!
//! `object_store` reads a local file 8 KiB at a time, one blocking task per read; that, not the
//! disk, limited downloads. Here each read is large ([`READ_CHUNK`]), and a task of its own
//! keeps up to [`CHUNKS_AHEAD`] of them queued for the response, so the disk (or page cache)
//! copy runs while the socket sends and the hasher checks, and a read that loses its core for a
//! moment does not stall the socket. No thread is held while a slow client makes the response
//! wait: the reader waits for room in the queue as a task, not on a thread.

use crate::{Download, Error};
use arca_core::artifact_path::ArtifactPath;
use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use std::io::Read;
use std::path::PathBuf;
use tokio::sync::mpsc;

/// The size of one read (and of one chunk of the response body).
const READ_CHUNK: u64 = 1024 * 1024;
/// Chunks read before the response has taken them (and, in a verified download, chunks waiting
/// for the hasher).
pub(crate) const CHUNKS_AHEAD: usize = 4;

/// Opens the local file at `file` (the store path `path`) for reading.
pub(crate) async fn open_local(file: PathBuf, path: &ArtifactPath) -> Result<Download, Error> {
    let opened = tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(&file)?;
        let meta = file.metadata()?;
        Ok::<_, std::io::Error>((file, meta))
    })
    .await
    .map_err(std::io::Error::other)?;
    let (file, meta) = match opened {
        Ok((file, meta)) if meta.is_file() => (file, meta),
        Ok(_) => return Err(Error::NotFound(path.to_string())),
        Err(e) => {
            use std::io::ErrorKind::*;
            return match e.kind() {
                NotFound | NotADirectory | IsADirectory => Err(Error::NotFound(path.to_string())),
                _ => Err(e.into()),
            };
        }
    };
    let size = meta.len();
    Ok(Download {
        size,
        stream: local_chunks(file, size),
    })
}

/// The `size` bytes of `file`, in large chunks, read up to [`CHUNKS_AHEAD`] ahead of the
/// consumer by a task of their own.
pub(crate) fn local_chunks(
    file: std::fs::File,
    size: u64,
) -> BoxStream<'static, Result<Bytes, Error>> {
    let (chunks, received) = mpsc::channel(CHUNKS_AHEAD);
    tokio::spawn(read_ahead(file, size, chunks));
    futures::stream::unfold(received, |mut received| async move {
        received.recv().await.map(|chunk| (chunk, received))
    })
    .boxed()
}

/// Reads while there is room in the queue; stops after an error, or when the reader is gone.
async fn read_ahead(file: std::fs::File, size: u64, chunks: mpsc::Sender<Result<Bytes, Error>>) {
    let mut file = Some(file);
    let mut left = size;
    while left > 0 {
        // Room first, then the read: a client that stops reading holds only the queue.
        let Ok(room) = chunks.reserve().await else {
            return;
        };
        let reading = file.take().expect("put back after every read");
        let want = left.min(READ_CHUNK);
        let read = tokio::task::spawn_blocking(move || {
            let mut buf = Vec::with_capacity(usize::try_from(want).unwrap_or(usize::MAX));
            (&reading).take(want).read_to_end(&mut buf)?;
            Ok::<_, std::io::Error>((reading, buf))
        })
        .await
        .map_err(std::io::Error::other);
        match read {
            Ok(Ok((reading, chunk))) if !chunk.is_empty() => {
                left -= chunk.len() as u64;
                file = Some(reading);
                room.send(Ok(Bytes::from(chunk)));
            }
            Ok(Ok(_)) => {
                room.send(Err(Error::Io(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the file is shorter than its recorded size",
                ))));
                return;
            }
            Ok(Err(e)) | Err(e) => {
                room.send(Err(Error::Io(e)));
                return;
            }
        }
    }
}

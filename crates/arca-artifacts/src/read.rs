//! Reading local files: large reads on the blocking pool, one read ahead of the socket.
//!
//! `object_store` reads a local file 8 KiB at a time, one blocking task per read; that, not the
//! disk, limited downloads. Here each read is large ([`READ_CHUNK`]), and the next one starts as
//! soon as the previous chunk is handed to the response, so the disk (or page cache) copy runs
//! while the socket sends. No thread is held while a slow client makes the response wait.

use crate::{Download, Error};
use arca_core::artifact_path::ArtifactPath;
use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use std::io::Read;
use std::path::PathBuf;
use tokio::task::JoinHandle;

/// The size of one read (and of one chunk of the response body).
const READ_CHUNK: u64 = 2 * 1024 * 1024;

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

type PendingRead = JoinHandle<std::io::Result<(std::fs::File, Vec<u8>)>>;

fn read_next(mut file: std::fs::File, remaining: u64) -> PendingRead {
    tokio::task::spawn_blocking(move || {
        let want = remaining.min(READ_CHUNK);
        let mut buf = Vec::with_capacity(usize::try_from(want).unwrap_or(usize::MAX));
        (&mut file).take(want).read_to_end(&mut buf)?;
        Ok((file, buf))
    })
}

/// The `size` bytes of `file`, in large chunks, one read ahead.
pub(crate) fn local_chunks(
    file: std::fs::File,
    size: u64,
) -> BoxStream<'static, Result<Bytes, Error>> {
    let first = (size > 0).then(|| read_next(file, size));
    futures::stream::try_unfold((first, size), |(reading, remaining)| async move {
        let Some(reading) = reading else {
            return Ok(None);
        };
        let (file, chunk) = reading.await.map_err(std::io::Error::other)??;
        if chunk.is_empty() {
            return Err(Error::Io(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the file is shorter than its recorded size",
            )));
        }
        let left = remaining - chunk.len() as u64;
        let next = (left > 0).then(|| read_next(file, left));
        Ok(Some((Bytes::from(chunk), (next, left))))
    })
    .boxed()
}

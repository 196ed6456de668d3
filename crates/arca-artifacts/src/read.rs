//! Reading local files: large reads on the blocking pool, a few reads ahead of the socket.
//!
//! `object_store` reads a local file 8 KiB at a time, one blocking task per read; that, not the
//! disk, limited downloads. Here each read is large ([`READ_CHUNK`]), and a task of its own
//! keeps up to [`CHUNKS_AHEAD`] of them queued for the response, so the disk (or page cache)
//! copy runs while the socket sends and the hasher checks, and a read that loses its core for a
//! moment does not stall the socket. No thread is held while a slow client makes the response
//! wait: the reader waits for room in the queue as a task, not on a thread.

use crate::checked::{Checked, Identity};
use crate::{Download, Error};
use arca_core::artifact_path::ArtifactPath;
use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;
use tokio::sync::mpsc;

/// The size of one read (and of one chunk of the response body).
const READ_CHUNK: u64 = 1024 * 1024;
/// Chunks read before the response has taken them (and, in a verified download, chunks waiting
/// for the hasher).
pub(crate) const CHUNKS_AHEAD: usize = 4;

/// A local file being read, as `fstat` described it when it was opened.
pub(crate) struct LocalOrigin {
    file: Arc<std::fs::File>,
    pub(crate) identity: Identity,
    /// Taken before the file was opened: what the handle shows was on disk by then.
    opened: SystemTime,
}

impl LocalOrigin {
    /// Whether the open file still has the identity it was opened with (a change during the
    /// read moves its `ctime`). An `fstat` of an open handle: no path lookup, no disk access.
    pub(crate) fn unchanged(&self) -> bool {
        self.file
            .metadata()
            .ok()
            .and_then(|meta| Identity::of(&meta))
            .is_some_and(|now| now == self.identity)
    }

    /// Remembers the file as holding `sha256` (just verified from this handle), unless it
    /// changed during the read or too recently before it to tell (see `checked`).
    pub(crate) fn remember(&self, checked: &Checked, sha256: &str) {
        if self.identity.settled(self.opened) && self.unchanged() {
            checked.remember(self.identity, sha256);
        }
    }
}

/// Opens the local file at `file` (the store path `path`) for reading.
pub(crate) async fn open_local(
    file: PathBuf,
    path: &ArtifactPath,
    checked: Arc<Checked>,
) -> Result<Download, Error> {
    let started = SystemTime::now();
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
    let file = Arc::new(file);
    let origin = Identity::of(&meta).map(|identity| LocalOrigin {
        file: Arc::clone(&file),
        identity,
        opened: started,
    });
    Ok(Download {
        size,
        stream: local_chunks(file, size),
        checked,
        origin,
    })
}

/// The `size` bytes of `file`, in large chunks, read up to [`CHUNKS_AHEAD`] ahead of the
/// consumer by a task of their own.
pub(crate) fn local_chunks(
    file: Arc<std::fs::File>,
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
async fn read_ahead(
    file: Arc<std::fs::File>,
    size: u64,
    chunks: mpsc::Sender<Result<Bytes, Error>>,
) {
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
            (&*reading).take(want).read_to_end(&mut buf)?;
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

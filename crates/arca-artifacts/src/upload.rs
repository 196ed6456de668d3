//! Uploads in two steps: *staged* (every byte received, hashed and durable, nothing visible),
//! then *committed* (visible at its path, in one atomic step).
//!
//! Why two steps: the caller records the file's digest, and when two uploads race to one path
//! the record must describe the file that ended up there. Staging, the slow part, runs
//! concurrently; the caller serializes only "commit, then record" per path (see
//! `MetadataStore::begin_artifact_record`), so records land in the order files became visible.
//!
//! Why this shape is fast (measured in `bench/artifacts.sh`): the request body arrives in chunks
//! of a few KiB to a few hundred KiB. They are gathered, without copying, into slices of about
//! [`SLICE`] for a local file and parts of [`PART_SIZE`] for an object store. Each slice goes to
//! the hasher and to the writer of the staging file, each behind its own short queue (see
//! `serial`), so SHA-256, the disk and the socket all work at once, each wakes once per slice,
//! not once per chunk, and a step that loses its core for a moment does not stop the others. An
//! object store gets whole parts, a few uploading at once. The queues are short, so a slow disk
//! or hasher slows the client down instead of filling memory.
//!
//! A local staging file also asks the kernel to start writing back every few parts, so the
//! final fsync has little left to do: the disk writes while the network still delivers.

use crate::digest::BackgroundDigest;
use crate::serial::Serial;
use crate::{ArtifactStore, Backend, BoxError, Error, STAGING_DIR, StoredFile, to_store_path};
use arca_core::artifact_path::ArtifactPath;
use bytes::Bytes;
use futures::TryStream;
use futures::stream::{StreamExt, TryStreamExt};
use object_store::path::Path as StorePath;
use object_store::{MultipartUpload, ObjectStoreExt, PutPayload};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::task::{JoinHandle, JoinSet};

/// Files up to this size are sent to an object store in one request; larger ones as a multipart
/// upload in parts of exactly this size (S3 needs at least 5 MiB per part but the last, and some
/// S3-compatible stores need equal parts).
pub(crate) const PART_SIZE: usize = 8 * 1024 * 1024;
/// Parts uploaded to an object store concurrently. Memory per upload is bounded by about
/// `PART_SIZE * (this + 3)`.
const REMOTE_PARTS_IN_FLIGHT: usize = 4;
/// A local upload goes to the hasher and the writer in slices of about this size: small enough
/// that a slice is still in the CPU's cache when the second of them reads it, large enough that
/// each wakes rarely.
const SLICE: usize = 1024 * 1024;
/// Slices queued for the hasher and for the writer of a local upload.
const SLICES_AHEAD: usize = 8;
/// A local staging file has its written bytes flushed towards the disk every this many bytes
/// (`fdatasync` on a thread of its own), so that the final fsync finds little left to write.
const LOCAL_FLUSH_EVERY: u64 = 64 * 1024 * 1024;

/// A part: consecutive chunks of the body, [`PART_SIZE`] bytes together (the last may be less).
#[derive(Default)]
struct Part {
    chunks: Vec<Bytes>,
    len: usize,
}

impl Part {
    /// Takes in `chunk`; returns what is beyond a full part.
    fn fill(&mut self, mut chunk: Bytes) -> Option<Bytes> {
        let room = PART_SIZE - self.len;
        let rest = (chunk.len() > room).then(|| chunk.split_off(room));
        self.len += chunk.len();
        if !chunk.is_empty() {
            self.chunks.push(chunk);
        }
        rest
    }

    fn is_full(&self) -> bool {
        self.len == PART_SIZE
    }
}

/// A multipart upload to an object store, with its parts in flight.
struct RemoteSink {
    /// Taken when every part is in; aborted if the sink is dropped before.
    upload: Option<Box<dyn MultipartUpload>>,
    parts: JoinSet<Result<(), object_store::Error>>,
}

impl Drop for RemoteSink {
    fn drop(&mut self) {
        self.parts.abort_all();
        if let Some(upload) = self.upload.take() {
            abort_later(upload);
        }
    }
}

/// An upload whose bytes are all received, hashed and durable, but not yet visible at its path.
/// Dropped without [`StagedFile::commit`], it leaves nothing behind.
pub struct StagedFile {
    store: ArtifactStore,
    path: ArtifactPath,
    file: StoredFile,
    pending: Option<Pending>,
}

enum Pending {
    /// A complete, fsynced file under `#staging/`.
    Local(StorePath),
    /// A small file for an object store: one PUT makes it visible.
    Whole(PutPayload),
    /// Every part uploaded; completing the upload makes it visible.
    Parts(Box<dyn MultipartUpload>),
}

impl StagedFile {
    /// The size and SHA-256 of the staged bytes.
    pub fn file(&self) -> &StoredFile {
        &self.file
    }

    /// Makes the file visible at its path, replacing any file there, and returns its size and
    /// SHA-256. If this fails, or is dropped before it resolves, the staged bytes are removed.
    pub async fn commit(mut self) -> Result<StoredFile, Error> {
        let target = to_store_path(&self.path);
        match self.pending.take().expect("a staged file commits once") {
            Pending::Local(staging) => {
                // Put back first: if the rename fails or never finishes, `Drop` removes it.
                self.pending = Some(Pending::Local(staging.clone()));
                self.store
                    .inner
                    .rename(&staging, &target)
                    .await
                    .map_err(|e| crate::conflict_or(e, &self.path))?;
                self.pending = None;
            }
            Pending::Whole(payload) => {
                self.store.inner.put(&target, payload).await?;
            }
            Pending::Parts(mut upload) => {
                if let Err(e) = upload.complete().await {
                    self.pending = Some(Pending::Parts(upload));
                    return Err(e.into());
                }
            }
        }
        Ok(self.file.clone())
    }
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        match self.pending.take() {
            Some(Pending::Local(staging)) => {
                if let Some(root) = self.store.local_root() {
                    let _ = std::fs::remove_file(root.join(staging.as_ref()));
                }
            }
            Some(Pending::Parts(upload)) => abort_later(upload),
            Some(Pending::Whole(_)) | None => {}
        }
    }
}

/// Aborts an unfinished multipart upload on a task of its own (from `Drop`, which cannot wait).
fn abort_later(mut upload: Box<dyn MultipartUpload>) {
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(async move {
            if let Err(e) = upload.abort().await {
                tracing::warn!(error = %e, "aborting an abandoned upload");
            }
        });
    }
}

/// Receives `body` into a staged file at `path`.
pub(crate) async fn stage<S>(
    store: &ArtifactStore,
    path: &ArtifactPath,
    body: S,
) -> Result<StagedFile, Error>
where
    S: TryStream<Ok = Bytes> + Send,
    S::Error: Into<BoxError>,
{
    let body = std::pin::pin!(body.into_stream().map_err(|e| Error::Body(e.into())));
    let (pending, digest) = match &store.backend {
        Backend::Local { root } => stage_local(root, body).await?,
        Backend::Remote { .. } => stage_remote(store, path, body).await?,
    };
    let (sha256, size) = digest.finish().await?;
    Ok(StagedFile {
        store: store.clone(),
        path: path.clone(),
        file: StoredFile { size, sha256 },
        pending: Some(pending),
    })
}

/// Slices of [`SLICE`] to the hasher and to a writer of the staging file, each with its own
/// queue, so that neither waits for the other.
async fn stage_local(
    root: &std::path::Path,
    mut body: std::pin::Pin<&mut (impl futures::Stream<Item = Result<Bytes, Error>> + Send)>,
) -> Result<(Pending, BackgroundDigest), Error> {
    let name = staging_name();
    let file = root.join(STAGING_DIR).join(&name);
    // Removes the staging file if staging stops before it is complete.
    let mut guard = SinkGuard(Some(file.clone()));
    let mut writer = LocalWriter::start(file).await?;
    let mut digest = BackgroundDigest::start(SLICES_AHEAD);
    let mut slice = Vec::new();
    let mut sliced = 0;
    while let Some(chunk) = body.next().await.transpose()? {
        sliced += chunk.len();
        slice.push(chunk);
        if sliced >= SLICE {
            let full = std::mem::take(&mut slice);
            sliced = 0;
            digest.update(full.clone()).await;
            writer.write(full).await?;
        }
    }
    if !slice.is_empty() {
        digest.update(slice.clone()).await;
        writer.write(slice).await?;
    }
    writer.finish().await?;
    guard.0 = None;
    // The staging file now belongs to the `StagedFile`, which removes it if dropped.
    let staging = StorePath::parse(format!("{STAGING_DIR}/{name}")).expect("a valid staging path");
    Ok((Pending::Local(staging), digest))
}

/// Parts of [`PART_SIZE`] to the object store, a few at once; a body smaller than one part is
/// kept for a single PUT at commit.
async fn stage_remote(
    store: &ArtifactStore,
    path: &ArtifactPath,
    mut body: std::pin::Pin<&mut (impl futures::Stream<Item = Result<Bytes, Error>> + Send)>,
) -> Result<(Pending, BackgroundDigest), Error> {
    let mut digest = BackgroundDigest::start(2);
    let mut part = Part::default();
    let mut sink: Option<RemoteSink> = None;
    while let Some(chunk) = body.next().await.transpose()? {
        let mut rest = Some(chunk);
        while let Some(chunk) = rest.take() {
            rest = part.fill(chunk);
            if part.is_full() {
                let full = std::mem::take(&mut part);
                if sink.is_none() {
                    let upload = store.inner.put_multipart(&to_store_path(path)).await?;
                    sink = Some(RemoteSink {
                        upload: Some(upload),
                        parts: JoinSet::new(),
                    });
                }
                let sink = sink.as_mut().expect("opened above");
                digest.update(full.chunks.clone()).await;
                sink.send(full).await?;
            }
        }
    }
    let Some(mut sink) = sink else {
        digest.update(part.chunks.clone()).await;
        return Ok((Pending::Whole(PutPayload::from_iter(part.chunks)), digest));
    };
    if part.len > 0 {
        digest.update(part.chunks.clone()).await;
        sink.send(part).await?;
    }
    while let Some(done) = sink.parts.join_next().await {
        joined(Some(done))?;
    }
    let upload = sink.upload.take().expect("open until finished");
    Ok((Pending::Parts(upload), digest))
}

/// The local staging file, removed if staging stops before it is complete.
struct SinkGuard(Option<PathBuf>);

impl Drop for SinkGuard {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl RemoteSink {
    async fn send(&mut self, part: Part) -> Result<(), Error> {
        while self.parts.len() >= REMOTE_PARTS_IN_FLIGHT {
            joined(self.parts.join_next().await)?;
        }
        let upload = self.upload.as_mut().expect("open until finished");
        self.parts
            .spawn(upload.put_part(PutPayload::from_iter(part.chunks)));
        Ok(())
    }
}

fn joined(
    done: Option<Result<Result<(), object_store::Error>, tokio::task::JoinError>>,
) -> Result<(), Error> {
    match done {
        Some(Ok(result)) => result.map_err(Error::from),
        Some(Err(e)) => Err(Error::Io(std::io::Error::other(e))),
        None => Ok(()),
    }
}

fn staging_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Writes slices to a staging file through a [`Serial`] queue, and asks for write-back every
/// [`LOCAL_FLUSH_EVERY`] bytes without waiting for it.
struct LocalWriter {
    file: Arc<std::fs::File>,
    writes: Serial<Vec<Bytes>, Arc<std::fs::File>>,
    flushing: Option<JoinHandle<std::io::Result<()>>>,
    since_flush: u64,
}

impl LocalWriter {
    async fn start(file: PathBuf) -> Result<LocalWriter, Error> {
        let file = Arc::new(
            blocking(move || {
                if let Some(dir) = file.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                std::fs::File::create_new(&file)
            })
            .await?,
        );
        let writes = Serial::start(
            Arc::clone(&file),
            SLICES_AHEAD,
            |file, chunks: Vec<Bytes>| {
                chunks
                    .iter()
                    .try_for_each(|chunk| (&**file).write_all(chunk))
            },
        );
        Ok(LocalWriter {
            file,
            writes,
            flushing: None,
            since_flush: 0,
        })
    }

    async fn write(&mut self, chunks: Vec<Bytes>) -> Result<(), Error> {
        if self.since_flush >= LOCAL_FLUSH_EVERY
            && self.flushing.as_ref().is_none_or(|f| f.is_finished())
        {
            settle(&mut self.flushing).await?;
            let file = Arc::clone(&self.file);
            self.flushing = Some(tokio::task::spawn_blocking(move || file.sync_data()));
            self.since_flush = 0;
        }
        self.since_flush += chunks.iter().map(|c| c.len() as u64).sum::<u64>();
        Ok(self.writes.push(chunks).await?)
    }

    /// Waits for the last slice and fsyncs the file.
    async fn finish(self) -> Result<(), Error> {
        let LocalWriter {
            file,
            writes,
            mut flushing,
            ..
        } = self;
        writes.finish().await?;
        settle(&mut flushing).await?;
        blocking(move || file.sync_all()).await
    }
}

async fn settle(job: &mut Option<JoinHandle<std::io::Result<()>>>) -> Result<(), Error> {
    match job.take() {
        Some(job) => Ok(job.await.map_err(std::io::Error::other)??),
        None => Ok(()),
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T, Error> {
    Ok(tokio::task::spawn_blocking(f)
        .await
        .map_err(std::io::Error::other)??)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_exactly_part_size_and_keep_every_byte() {
        let mut part = Part::default();
        let big = Bytes::from(vec![7u8; PART_SIZE + 10]);
        let rest = part.fill(Bytes::from_static(b"abc"));
        assert!(rest.is_none());
        let rest = part.fill(big).unwrap();
        assert!(part.is_full());
        assert_eq!(part.chunks.iter().map(Bytes::len).sum::<usize>(), PART_SIZE);
        assert_eq!(rest.len(), 13);
    }
}

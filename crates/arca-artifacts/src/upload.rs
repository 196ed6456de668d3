//! Uploads in two steps: *staged* (every byte received, hashed and durable, nothing visible),
//! then *committed* (visible at its path, in one atomic step).
//!
//! Why two steps: the caller records the file's digest, and when two uploads race to one path
//! the record must describe the file that ended up there. Staging, the slow part, runs
//! concurrently; the caller serializes only "commit, then record" per path (see
//! `MetadataStore::begin_artifact_record`), so records land in the order files became visible.
//!
//! Why this shape is fast (measured in `bench/artifacts.sh`): the request body arrives in chunks
//! of a few KiB to a few hundred KiB. They are gathered, without copying, into parts of
//! [`PART_SIZE`]; each part is handed whole to a hashing thread and to a writer (a thread writing
//! the staging file, or concurrent part uploads to an object store), so SHA-256, the disk and the
//! socket all work at once, and each thread wakes once per part, not once per chunk. The queues
//! are short, so a slow disk or hasher slows the client down instead of filling memory.
//!
//! A local staging file also asks the kernel to start writing back every few parts, so the
//! final fsync has little left to do: the disk writes while the network still delivers.

use crate::digest::BackgroundDigest;
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

/// Where the parts go.
enum Sink {
    Local(LocalWriter),
    Remote {
        /// Taken when every part is in; aborted if the sink is dropped before.
        upload: Option<Box<dyn MultipartUpload>>,
        parts: JoinSet<Result<(), object_store::Error>>,
    },
}

impl Drop for Sink {
    fn drop(&mut self) {
        if let Sink::Remote { upload, parts } = self {
            parts.abort_all();
            if let Some(upload) = upload.take() {
                abort_later(upload);
            }
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
    let mut body = std::pin::pin!(body.into_stream());
    let mut digest = BackgroundDigest::start();
    let mut part = Part::default();
    let mut sink: Option<Sink> = None;
    let mut guard = SinkGuard(None);
    loop {
        let chunk = match body.next().await {
            Some(Ok(chunk)) => chunk,
            Some(Err(e)) => return Err(Error::Body(e.into())),
            None => break,
        };
        let mut rest = Some(chunk);
        while let Some(chunk) = rest.take() {
            rest = part.fill(chunk);
            if part.is_full() {
                let full = std::mem::take(&mut part);
                if sink.is_none() {
                    sink = Some(open_sink(store, path, &mut guard).await?);
                }
                let sink = sink.as_mut().expect("opened above");
                digest.update(full.chunks.clone()).await;
                send_part(sink, full).await?;
            }
        }
    }
    let pending = match sink {
        None if matches!(store.backend, Backend::Remote { .. }) => {
            digest.update(part.chunks.clone()).await;
            Pending::Whole(PutPayload::from_iter(part.chunks))
        }
        None => {
            let mut sink = open_sink(store, path, &mut guard).await?;
            digest.update(part.chunks.clone()).await;
            send_part(&mut sink, part).await?;
            finish_sink(sink, &mut guard).await?
        }
        Some(mut sink) => {
            if part.len > 0 {
                digest.update(part.chunks.clone()).await;
                send_part(&mut sink, part).await?;
            }
            finish_sink(sink, &mut guard).await?
        }
    };
    let (sha256, size) = digest.finish().await?;
    Ok(StagedFile {
        store: store.clone(),
        path: path.clone(),
        file: StoredFile { size, sha256 },
        pending: Some(pending),
    })
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

async fn open_sink(
    store: &ArtifactStore,
    path: &ArtifactPath,
    guard: &mut SinkGuard,
) -> Result<Sink, Error> {
    match &store.backend {
        Backend::Local { root } => {
            let name = staging_name();
            let file = root.join(STAGING_DIR).join(&name);
            guard.0 = Some(file.clone());
            Ok(Sink::Local(LocalWriter::start(file).await?))
        }
        Backend::Remote { .. } => {
            let upload = store.inner.put_multipart(&to_store_path(path)).await?;
            Ok(Sink::Remote {
                upload: Some(upload),
                parts: JoinSet::new(),
            })
        }
    }
}

async fn send_part(sink: &mut Sink, part: Part) -> Result<(), Error> {
    match sink {
        Sink::Local(writer) => writer.write(part.chunks).await,
        Sink::Remote { upload, parts } => {
            while parts.len() >= REMOTE_PARTS_IN_FLIGHT {
                joined(parts.join_next().await)?;
            }
            let upload = upload.as_mut().expect("open until finished");
            parts.spawn(upload.put_part(PutPayload::from_iter(part.chunks)));
            Ok(())
        }
    }
}

async fn finish_sink(mut sink: Sink, guard: &mut SinkGuard) -> Result<Pending, Error> {
    match &mut sink {
        Sink::Local(writer) => {
            writer.finish().await?;
            let file = guard.0.take().expect("a local sink has a staging file");
            let name = file
                .file_name()
                .and_then(|n| n.to_str())
                .expect("staging names are ASCII");
            // The staging file now belongs to the `StagedFile`, which removes it if dropped.
            let staging =
                StorePath::parse(format!("{STAGING_DIR}/{name}")).expect("a valid staging path");
            Ok(Pending::Local(staging))
        }
        Sink::Remote { upload, parts } => {
            while let Some(done) = parts.join_next().await {
                joined(Some(done))?;
            }
            Ok(Pending::Parts(upload.take().expect("open until finished")))
        }
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

/// Writes parts to a staging file on the blocking pool, one part at a time (the next part is
/// received while this one is written), and asks for write-back every [`LOCAL_FLUSH_EVERY`]
/// bytes without waiting for it.
struct LocalWriter {
    file: Arc<std::fs::File>,
    writing: Option<JoinHandle<std::io::Result<()>>>,
    flushing: Option<JoinHandle<std::io::Result<()>>>,
    since_flush: u64,
}

impl LocalWriter {
    async fn start(file: PathBuf) -> Result<LocalWriter, Error> {
        let file = blocking(move || {
            if let Some(dir) = file.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::File::create_new(&file)
        })
        .await?;
        Ok(LocalWriter {
            file: Arc::new(file),
            writing: None,
            flushing: None,
            since_flush: 0,
        })
    }

    async fn write(&mut self, chunks: Vec<Bytes>) -> Result<(), Error> {
        settle(&mut self.writing).await?;
        if self.since_flush >= LOCAL_FLUSH_EVERY
            && self.flushing.as_ref().is_none_or(|f| f.is_finished())
        {
            settle(&mut self.flushing).await?;
            let file = Arc::clone(&self.file);
            self.flushing = Some(tokio::task::spawn_blocking(move || file.sync_data()));
            self.since_flush = 0;
        }
        self.since_flush += chunks.iter().map(|c| c.len() as u64).sum::<u64>();
        let file = Arc::clone(&self.file);
        self.writing = Some(tokio::task::spawn_blocking(move || {
            chunks
                .iter()
                .try_for_each(|chunk| (&*file).write_all(chunk))
        }));
        Ok(())
    }

    /// Waits for the last part and fsyncs the file.
    async fn finish(&mut self) -> Result<(), Error> {
        settle(&mut self.writing).await?;
        settle(&mut self.flushing).await?;
        let file = Arc::clone(&self.file);
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

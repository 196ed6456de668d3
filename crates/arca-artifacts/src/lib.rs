//! arca-artifacts: the model files, on a local disk or in an object store (S3 and compatible
//! servers, GCS, Azure) through the `object_store` crate.
//!
//! Three promises, on every backend:
//!
//! - **Streaming, bounded memory.** An upload is hashed (SHA-256) and forwarded as it arrives,
//!   in fixed-size parts with at most a few parts in flight; a download is read in fixed-size
//!   chunks. Memory does not grow with the file.
//! - **Visible only when complete.** A reader sees the old file or the whole new one, never a
//!   part. On S3, GCS and Azure a multipart upload becomes an object only when it completes. On
//!   a local disk the bytes go to a staging file under `#staging/` at the root (a name no
//!   [`ArtifactPath`] can spell, because `#` is refused) and are renamed into place once
//!   fsynced. An upload whose input fails, or whose future is dropped (the client went away),
//!   is aborted: the staging file or the pending multipart upload is removed.
//! - **Only valid paths.** Every method takes an [`ArtifactPath`], so nothing here ever sees
//!   `..`, an absolute path or an encoded trick.
//!
//! Crash leftovers: a local staging file older than an hour is removed when the store is next
//! opened. An S3 multipart upload abandoned by a crash stays invisible and is best expired by the
//! bucket's `AbortIncompleteMultipartUpload` lifecycle rule.

mod checked;
mod digest;
mod direct;
mod location;
mod read;
mod serial;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod upload;
mod verify;

use arca_core::artifact_path::ArtifactPath;
use bytes::Bytes;
use direct::Direct;
use futures::TryStream;
use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use location::Location;
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use object_store::{GetResultPayload, ObjectStore, ObjectStoreExt};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

pub use checked::{DownloadChecks, Verification};
pub use direct::{DirectUpload, MAX_PARTS, PresignedDownload};
pub use upload::StagedFile;
pub use verify::IntegrityError;

pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The folder, at the root of a local store, where uploads are assembled.
const STAGING_DIR: &str = "#staging";
/// A staging file untouched for this long belongs to a process that died.
const STALE_STAGING: Duration = Duration::from_secs(3600);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("No such artifact: '{0}'")]
    NotFound(String),
    /// The path runs through an existing file, or names an existing directory (local stores).
    #[error("Artifact path '{0}' conflicts with an existing file or directory")]
    Conflict(String),
    /// The upload's input failed (typically: the client disconnected); nothing was stored.
    #[error("the upload was interrupted: {0}")]
    Body(#[source] BoxError),
    /// The store cannot hand out presigned URLs for this (a local folder, Azure).
    #[error("the artifact store does not support {0}")]
    Unsupported(&'static str),
    /// A direct upload's id that the store does not know (never started, completed or aborted).
    #[error("No multipart upload with id '{0}' is in progress")]
    NoSuchUpload(String),
    /// The store refused to assemble a direct upload from the parts it was given.
    #[error("{0}")]
    PartsRejected(String),
    #[error("invalid artifacts destination '{uri}': {reason}")]
    InvalidDestination { uri: String, reason: String },
    #[error(transparent)]
    Integrity(#[from] IntegrityError),
    #[error("artifact store: {0}")]
    Store(#[from] object_store::Error),
    #[error("artifact store: {0}")]
    Io(#[from] std::io::Error),
}

/// What was stored: the size and SHA-256 (lowercase hex) of the bytes, computed while they
/// streamed through.
/// Why the store failed, when it is neither the caller's doing nor a bug: what the server tells
/// the client instead of a bare internal error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreFailure {
    /// The object store cannot be reached or did not answer in time; worth retrying.
    Unreachable,
    /// The disk (or quota) is full.
    Full,
    /// The folder is read-only or not writable by the server.
    ReadOnly,
}

impl Error {
    /// Reads the cause chain (object_store, reqwest, hyper and io errors) for a failure the
    /// operator has to fix or wait out, rather than a bug.
    pub fn store_failure(&self) -> Option<StoreFailure> {
        use std::io::ErrorKind as Kind;
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(self);
        while let Some(err) = cause {
            if let Some(io) = err.downcast_ref::<std::io::Error>() {
                match io.kind() {
                    Kind::StorageFull | Kind::QuotaExceeded => return Some(StoreFailure::Full),
                    Kind::ReadOnlyFilesystem | Kind::PermissionDenied => {
                        return Some(StoreFailure::ReadOnly);
                    }
                    Kind::ConnectionRefused
                    | Kind::ConnectionReset
                    | Kind::ConnectionAborted
                    | Kind::NotConnected
                    | Kind::TimedOut
                    | Kind::HostUnreachable
                    | Kind::NetworkUnreachable => return Some(StoreFailure::Unreachable),
                    _ => {}
                }
                // `io::Error::other(e)` keeps `e` behind `get_ref`, not always as `source`.
                if let Some(inner) = io.get_ref() {
                    cause = Some(inner);
                    continue;
                }
            }
            // reqwest's timeouts and connect failures carry no io::Error of their own.
            let text = err.to_string();
            if text.contains("timed out") || text.contains("error sending request") {
                return Some(StoreFailure::Unreachable);
            }
            cause = err.source();
        }
        None
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    pub size: u64,
    pub sha256: String,
}

/// A file being read: its size, known before the first byte, and its bytes.
pub struct Download {
    pub size: u64,
    pub stream: BoxStream<'static, Result<Bytes, Error>>,
    checked: Arc<checked::Checked>,
    /// A local file: the handle the bytes come from, and its identity when opened.
    origin: Option<read::LocalOrigin>,
}

impl std::fmt::Debug for Download {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Download")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl Download {
    /// Checks the bytes against what was recorded when they were stored. The last chunk is
    /// held back until the whole file has been hashed: on a mismatch the stream ends with an
    /// [`IntegrityError`] instead, so a reader that trusts a complete transfer never gets a
    /// corrupted file in full.
    ///
    /// A local file verified before, and unchanged since (see [`Verification::Changed`]), is
    /// streamed without hashing; the stream still fails if the file changes while it is read.
    pub fn verified(self, path: &ArtifactPath, expected: StoredFile) -> Download {
        let Download {
            size,
            stream,
            checked,
            origin,
        } = self;
        let origin = origin.filter(|_| checked.mode == Verification::Changed);
        let stream = match origin {
            Some(origin)
                if origin.identity.size() == expected.size
                    && checked.trusts(&origin.identity, &expected.sha256) =>
            {
                checked.count_trusted();
                verify::trusted(stream, path.to_string(), expected, origin, checked.clone())
            }
            origin => {
                checked.count_hashed();
                let remember = origin.map(|origin| verify::Remember {
                    origin,
                    checked: checked.clone(),
                });
                verify::verified(stream, path.to_string(), expected, remember)
            }
        };
        Download {
            size,
            stream,
            checked,
            origin: None,
        }
    }
}

/// One entry of a directory listing: a file with its size, or a subdirectory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The name within the listed directory (MLflow's list returns basenames).
    pub name: String,
    pub is_dir: bool,
    pub size: Option<u64>,
}

#[derive(Clone)]
enum Backend {
    Local { root: PathBuf },
    Remote { direct: Option<Direct> },
}

/// The artifact store. Cheap to clone.
#[derive(Clone)]
pub struct ArtifactStore {
    inner: Arc<dyn ObjectStore>,
    backend: Backend,
    description: String,
    checked: Arc<checked::Checked>,
}

impl std::fmt::Debug for ArtifactStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.description)
    }
}

impl ArtifactStore {
    /// Opens the store named by `--artifacts-destination` (see [`location`] for the forms and
    /// the environment it reads). A local folder is created if missing. Nothing is fetched
    /// from a remote store until the first request.
    pub fn from_uri(uri: &str) -> Result<ArtifactStore, Error> {
        ArtifactStore::from_uri_with_options(uri, &[])
    }

    /// Like [`ArtifactStore::from_uri`], with `object_store` settings (`aws_endpoint`,
    /// `aws_access_key_id`, ...) that take precedence over the environment. Ignored for a local
    /// folder.
    pub fn from_uri_with_options(
        uri: &str,
        options: &[(String, String)],
    ) -> Result<ArtifactStore, Error> {
        match Location::parse(uri)? {
            Location::Local(path) => ArtifactStore::local(&path),
            Location::Remote {
                scheme,
                bucket,
                prefix,
            } => {
                let (inner, direct) =
                    Location::build_remote(scheme, &bucket, prefix.as_ref(), options)?;
                Ok(ArtifactStore {
                    inner,
                    backend: Backend::Remote { direct },
                    description: uri.to_owned(),
                    checked: Arc::new(checked::Checked::new(Verification::default())),
                })
            }
        }
    }

    /// A store in a local folder, created if missing.
    pub fn local(path: &std::path::Path) -> Result<ArtifactStore, Error> {
        let root = location::absolute(path)?;
        std::fs::create_dir_all(&root)?;
        let fs = LocalFileSystem::new_with_prefix(&root)?
            .with_fsync(true)
            .with_automatic_cleanup(true);
        let root = std::fs::canonicalize(&root)?;
        sweep_stale_staging(&root.join(STAGING_DIR));
        Ok(ArtifactStore {
            inner: Arc::new(fs),
            description: format!("file://{}", root.display()),
            backend: Backend::Local { root },
            checked: Arc::new(checked::Checked::new(Verification::default())),
        })
    }

    /// This store, checking downloads as `mode` says (default [`Verification::Changed`]). What
    /// was verified before is forgotten.
    pub fn with_verification(mut self, mode: Verification) -> ArtifactStore {
        self.checked = Arc::new(checked::Checked::new(mode));
        self
    }

    /// How the downloads checked against a recorded digest were checked, since start.
    pub fn download_checks(&self) -> DownloadChecks {
        self.checked.counts()
    }

    /// The local folder the store writes to, if it is local.
    pub fn local_root(&self) -> Option<&std::path::Path> {
        match &self.backend {
            Backend::Local { root } => Some(root),
            Backend::Remote { .. } => None,
        }
    }

    /// Stores `body` at `path`, replacing any file there, and returns its size and SHA-256.
    /// The file becomes visible only once complete. If `body` yields an error, or this future
    /// is dropped before it resolves, nothing becomes visible and the partial upload is removed.
    pub async fn put<S>(&self, path: &ArtifactPath, body: S) -> Result<StoredFile, Error>
    where
        S: TryStream<Ok = Bytes> + Send,
        S::Error: Into<BoxError>,
    {
        self.stage(path, body).await?.commit().await
    }

    /// Receives `body` for `path` without making it visible yet: the bytes are complete,
    /// hashed and durable once this resolves, and [`StagedFile::commit`] puts them in place.
    /// A caller that records the digest commits and records under one per-path lock, so that
    /// of two uploads racing to one path, the recorded digest is that of the file that stays.
    pub async fn stage<S>(&self, path: &ArtifactPath, body: S) -> Result<StagedFile, Error>
    where
        S: TryStream<Ok = Bytes> + Send,
        S::Error: Into<BoxError>,
    {
        upload::stage(self, path, body).await
    }

    /// Opens the file at `path` for reading. A missing file, or a directory, is
    /// [`Error::NotFound`].
    pub async fn get(&self, path: &ArtifactPath) -> Result<Download, Error> {
        if let Backend::Local { root } = &self.backend {
            return read::open_local(root.join(path.as_str()), path, self.checked.clone()).await;
        }
        let result = match self.inner.get(&to_store_path(path)).await {
            Ok(result) => result,
            Err(e) => return Err(not_found_or(e, path)),
        };
        let size = result.meta.size;
        let stream = match result.payload {
            GetResultPayload::File(file, _) => read::local_chunks(Arc::new(file), size),
            GetResultPayload::Stream(stream) => stream.map_err(Error::from).boxed(),
        };
        Ok(Download {
            size,
            stream,
            checked: self.checked.clone(),
            origin: None,
        })
    }

    /// Whether a file exists at `path`.
    pub async fn exists(&self, path: &ArtifactPath) -> Result<bool, Error> {
        match self.inner.head(&to_store_path(path)).await {
            Ok(_) => Ok(true),
            Err(e) if is_missing(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// The direct children of `dir` (`None`: the root), sorted by name. A missing directory,
    /// or a file, lists as empty.
    /// Whether the store answers: one listing of its root, bounded in time. The server's
    /// readiness check.
    pub async fn ping(&self) -> Result<(), Error> {
        let listing = self.inner.list_with_delimiter(None);
        match tokio::time::timeout(location::RETRY_TIMEOUT, listing).await {
            Ok(listed) => listed.map(|_| ()).map_err(Error::from),
            Err(_) => Err(Error::Io(std::io::ErrorKind::TimedOut.into())),
        }
    }

    pub async fn list(&self, dir: Option<&ArtifactPath>) -> Result<Vec<Entry>, Error> {
        let prefix = dir.map(to_store_path);
        let listing = match self.inner.list_with_delimiter(prefix.as_ref()).await {
            Ok(listing) => listing,
            Err(e) if is_missing(&e) => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let mut entries = Vec::new();
        for sub in listing.common_prefixes {
            if let Some(name) = sub.filename().filter(|n| is_visible_name(n)) {
                entries.push(Entry {
                    name: name.to_owned(),
                    is_dir: true,
                    size: None,
                });
            }
        }
        for object in listing.objects {
            if let Some(name) = object.location.filename().filter(|n| is_visible_name(n)) {
                entries.push(Entry {
                    name: name.to_owned(),
                    is_dir: false,
                    size: Some(object.size),
                });
            }
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }

    /// Deletes the file at `path` and every file below `path/`. Deleting nothing is no error.
    pub async fn delete(&self, path: &ArtifactPath) -> Result<(), Error> {
        let location = to_store_path(path);
        let below = self
            .inner
            .list(Some(&location))
            .map_ok(|meta| meta.location)
            .boxed();
        let mut results = self.inner.delete_stream(below);
        while let Some(result) = results.next().await {
            match result {
                Ok(_) => {}
                Err(e) if is_missing(&e) => {}
                Err(e) => return Err(e.into()),
            }
        }
        if self.is_file(path).await? {
            match self.inner.delete(&location).await {
                Ok(()) => {}
                Err(e) if is_missing(&e) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    fn direct(&self, what: &'static str) -> Result<&Direct, Error> {
        match &self.backend {
            Backend::Remote {
                direct: Some(direct),
            } => Ok(direct),
            _ => Err(Error::Unsupported(what)),
        }
    }

    /// Whether a client can upload a file in parts straight to the store
    /// ([`ArtifactStore::start_direct_upload`]).
    pub fn supports_direct_uploads(&self) -> bool {
        self.direct("multipart uploads").is_ok()
    }

    /// Whether a client can download straight from the store
    /// ([`ArtifactStore::presigned_download`]).
    pub fn supports_presigned_downloads(&self) -> bool {
        self.direct("presigned downloads")
            .is_ok_and(|direct| direct.downloads)
    }

    /// Starts a multipart upload to `path` that the client fills through presigned part URLs,
    /// one for each of `parts` (1 to [`MAX_PARTS`]). Nothing is visible at `path` until
    /// [`ArtifactStore::complete_direct_upload`].
    pub async fn start_direct_upload(
        &self,
        path: &ArtifactPath,
        parts: usize,
    ) -> Result<DirectUpload, Error> {
        self.direct("multipart uploads")?.start(path, parts).await
    }

    /// Assembles the parts (`etags[i]`: the store's answer to part number `i + 1`) into the
    /// file at `path`, then reads it back once to return its size and SHA-256.
    pub async fn complete_direct_upload(
        &self,
        path: &ArtifactPath,
        upload_id: &str,
        etags: Vec<String>,
    ) -> Result<StoredFile, Error> {
        self.direct("multipart uploads")?
            .complete(path, upload_id, etags)
            .await?;
        direct::hash_stored(self, path).await
    }

    /// Discards a multipart upload and the parts it received.
    pub async fn abort_direct_upload(
        &self,
        path: &ArtifactPath,
        upload_id: &str,
    ) -> Result<(), Error> {
        self.direct("multipart uploads")?
            .abort(path, upload_id)
            .await
    }

    /// A URL that reads the file at `path` without credentials (ranged GETs work), served with
    /// `content_disposition`, and the file's size. A missing file is [`Error::NotFound`].
    pub async fn presigned_download(
        &self,
        path: &ArtifactPath,
        content_disposition: &str,
    ) -> Result<PresignedDownload, Error> {
        let direct = self
            .direct("presigned downloads")
            .ok()
            .filter(|direct| direct.downloads)
            .ok_or(Error::Unsupported("presigned downloads"))?;
        let size = match self.inner.head(&to_store_path(path)).await {
            Ok(meta) => meta.size,
            Err(e) if is_missing(&e) => return Err(Error::NotFound(path.to_string())),
            // s3s-fs fails the HEAD of a key that is also a directory (see `is_file`).
            Err(e) if !self.is_file(path).await? => {
                tracing::debug!(error = %e, "HEAD of a directory");
                return Err(Error::NotFound(path.to_string()));
            }
            Err(e) => return Err(e.into()),
        };
        let url = direct.download_url(path, content_disposition).await?;
        Ok(PresignedDownload { url, size })
    }

    /// Whether `path` is a file, asked without ever touching `path` itself: S3-compatible
    /// servers that keep objects as files (s3s-fs) answer a HEAD or DELETE of a key that is
    /// also their directory with a 500 instead of a 404.
    async fn is_file(&self, path: &ArtifactPath) -> Result<bool, Error> {
        if let Backend::Local { root } = &self.backend {
            return Ok(root.join(path.as_str()).is_file());
        }
        let parent = path.parent();
        let entries = self.list(parent.as_ref()).await?;
        Ok(entries
            .iter()
            .any(|e| !e.is_dir && e.name == path.file_name()))
    }
}

/// Staging files of uploads that have been idle for an hour were left by a crash.
fn sweep_stale_staging(dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|modified| {
                now.duration_since(modified)
                    .is_ok_and(|age| age > STALE_STAGING)
            });
        if stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Names the store uses itself (`#staging`, `object_store`'s `name#N` upload files) are never
/// listed; neither is anything an [`ArtifactPath`] could not address.
fn is_visible_name(name: &str) -> bool {
    ArtifactPath::parse(name).is_ok()
}

/// Every [`ArtifactPath`] is a valid `object_store` path: its segments are never empty, `.`,
/// `..`, or contain a control character.
fn to_store_path(path: &ArtifactPath) -> StorePath {
    StorePath::parse(path.as_str()).unwrap_or_else(|_| StorePath::from_iter(path.segments()))
}

fn not_found_or(e: object_store::Error, path: &ArtifactPath) -> Error {
    if is_missing(&e) {
        Error::NotFound(path.to_string())
    } else {
        e.into()
    }
}

/// Not there: missing, or a local path that is a directory or runs through a file.
fn is_missing(e: &object_store::Error) -> bool {
    if matches!(e, object_store::Error::NotFound { .. }) {
        return true;
    }
    match io_kind(e) {
        Some(kind) => matches!(
            kind,
            std::io::ErrorKind::NotFound
                | std::io::ErrorKind::IsADirectory
                | std::io::ErrorKind::NotADirectory
        ),
        None => {
            let message = e.to_string();
            message.contains("Is a directory") || message.contains("Not a directory")
        }
    }
}

/// Renaming onto a directory, or under a file, is the caller's mistake, not a store failure.
fn conflict_or(e: object_store::Error, path: &ArtifactPath) -> Error {
    let conflict = io_kind(&e).is_some_and(|kind| {
        matches!(
            kind,
            std::io::ErrorKind::NotADirectory
                | std::io::ErrorKind::IsADirectory
                | std::io::ErrorKind::DirectoryNotEmpty
                | std::io::ErrorKind::AlreadyExists
        )
    });
    if conflict {
        Error::Conflict(path.to_string())
    } else {
        e.into()
    }
}

fn io_kind(err: &(dyn std::error::Error + 'static)) -> Option<std::io::ErrorKind> {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        current = e.source();
    }
    None
}

#[cfg(test)]
mod tests;

//! Moving files: from disk to a registry (`versions register`), from a registry to disk
//! (`pull`), and from one registry to another (`copy`), chunk by chunk with a progress bar on
//! standard error (drawn only when it is a terminal), hashing as the bytes go by.
//!
//! A pulled file is written under a temporary name and renamed into place only once its size and
//! SHA-256 match what the registry recorded, so a failed check never leaves a file that looks
//! complete. Paths handed out by a registry are checked like any artifact path before they touch
//! the disk: a hostile server cannot name `../../.bashrc`.

use super::{CliResult, Failure};
use arca_core::artifact_path::ArtifactPath;
use arca_core::registry::{
    ByteReader, FileSink, RegistryError, RegistryFuture, VersionFile, VersionFiles,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use tokio::io::AsyncReadExt;

const CHUNK: usize = 1024 * 1024;

pub fn progress_bar(total: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{msg:24!} [{bar:28}] {binary_bytes:>10}/{binary_total_bytes:<10} \
             {binary_bytes_per_sec:>12} {eta:>4}",
        )
        .expect("a valid progress template")
        .progress_chars("=> "),
    );
    bar
}

/// A file on disk to upload, and its path below the version's root.
#[derive(Debug, Clone)]
pub struct LocalFile {
    pub disk: PathBuf,
    pub path: String,
    pub size: u64,
}

/// The file at `root`, or every file below the folder `root`, by path. Each path must be one
/// the registry can store, so a bad name fails here, before anything is uploaded.
pub fn collect_files(root: &Path) -> CliResult<Vec<LocalFile>> {
    let meta = std::fs::metadata(root)
        .map_err(|e| Failure::invalid(format!("cannot read {}: {e}", root.display())))?;
    let mut files = Vec::new();
    if meta.is_file() {
        let name = root.file_name().and_then(|n| n.to_str()).ok_or_else(|| {
            Failure::invalid(format!("{} has no usable file name", root.display()))
        })?;
        files.push(local_file(root.to_owned(), name.to_owned(), meta.len())?);
    } else {
        let mut pending = vec![(root.to_owned(), String::new())];
        while let Some((dir, rel)) = pending.pop() {
            let entries = std::fs::read_dir(&dir)
                .map_err(|e| Failure::invalid(format!("cannot read {}: {e}", dir.display())))?;
            for entry in entries {
                let entry = entry
                    .map_err(|e| Failure::invalid(format!("cannot read {}: {e}", dir.display())))?;
                let disk = entry.path();
                let name = entry.file_name().into_string().map_err(|n| {
                    Failure::invalid(format!(
                        "the file name {n:?} in {} is not UTF-8",
                        dir.display()
                    ))
                })?;
                let child = if rel.is_empty() {
                    name
                } else {
                    format!("{rel}/{name}")
                };
                // Follows symlinks, as `cp -L` would.
                let meta = std::fs::metadata(&disk).map_err(|e| {
                    Failure::invalid(format!("cannot read {}: {e}", disk.display()))
                })?;
                if meta.is_dir() {
                    pending.push((disk, child));
                } else if meta.is_file() {
                    files.push(local_file(disk, child, meta.len())?);
                }
            }
        }
    }
    if files.is_empty() {
        return Err(Failure::invalid(format!(
            "{} holds no files to register",
            root.display()
        )));
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

fn local_file(disk: PathBuf, path: String, size: u64) -> CliResult<LocalFile> {
    ArtifactPath::parse(&path)
        .map_err(|e| Failure::invalid(format!("cannot register {}: {e}", disk.display())))?;
    Ok(LocalFile { disk, path, size })
}

/// A file on disk read chunk by chunk, advancing a progress bar.
pub struct DiskReader {
    file: tokio::fs::File,
    bar: ProgressBar,
    label: String,
}

impl DiskReader {
    pub async fn open(file: &LocalFile, bar: ProgressBar) -> CliResult<DiskReader> {
        let handle = tokio::fs::File::open(&file.disk)
            .await
            .map_err(|e| Failure::invalid(format!("cannot open {}: {e}", file.disk.display())))?;
        Ok(DiskReader {
            file: handle,
            bar,
            label: file.disk.display().to_string(),
        })
    }
}

impl ByteReader for DiskReader {
    fn next_chunk(&mut self) -> RegistryFuture<'_, Option<Vec<u8>>> {
        Box::pin(async move {
            let mut buf = vec![0u8; CHUNK];
            let n = self
                .file
                .read(&mut buf)
                .await
                .map_err(|e| RegistryError::other(format!("reading {}: {e}", self.label)))?;
            if n == 0 {
                return Ok(None);
            }
            buf.truncate(n);
            self.bar.inc(n as u64);
            Ok(Some(buf))
        })
    }
}

/// Passes another reader's chunks through, advancing a progress bar, and at the end checks the
/// size and SHA-256 the source registry recorded for the file.
pub struct CheckedReader {
    inner: Box<dyn ByteReader>,
    bar: ProgressBar,
    hasher: Sha256,
    read: u64,
    file: VersionFile,
}

impl CheckedReader {
    pub fn new(inner: Box<dyn ByteReader>, bar: ProgressBar, file: VersionFile) -> CheckedReader {
        CheckedReader {
            inner,
            bar,
            hasher: Sha256::new(),
            read: 0,
            file,
        }
    }
}

impl ByteReader for CheckedReader {
    fn next_chunk(&mut self) -> RegistryFuture<'_, Option<Vec<u8>>> {
        Box::pin(async move {
            match self.inner.next_chunk().await? {
                Some(chunk) => {
                    self.hasher.update(&chunk);
                    self.read += chunk.len() as u64;
                    self.bar.inc(chunk.len() as u64);
                    Ok(Some(chunk))
                }
                None => {
                    let actual = hex::encode(std::mem::take(&mut self.hasher).finalize());
                    check_digest(&self.file, self.read, &actual)?;
                    Ok(None)
                }
            }
        })
    }
}

fn check_digest(file: &VersionFile, size: u64, sha256: &str) -> Result<(), RegistryError> {
    if let Some(expected) = file.size
        && file.sha256.is_some()
        && expected != size
    {
        return Err(RegistryError::Integrity(format!(
            "{} is {size} bytes, but the registry recorded {expected}; it was not kept",
            file.path
        )));
    }
    if let Some(expected) = &file.sha256
        && !expected.eq_ignore_ascii_case(sha256)
    {
        return Err(RegistryError::Integrity(format!(
            "the SHA-256 of {} is {sha256}, but the registry recorded {expected}; it was not kept",
            file.path
        )));
    }
    Ok(())
}

/// What `pull` wrote.
#[derive(Debug, Clone)]
pub struct PulledFile {
    pub path: String,
    pub size: u64,
    pub sha256: String,
    pub verified: bool,
}

struct Current {
    file: std::io::BufWriter<std::fs::File>,
    partial: PathBuf,
    target: PathBuf,
    hasher: Sha256,
    written: u64,
}

/// Writes a version's files below a folder.
pub struct DiskSink {
    dir: PathBuf,
    verify: bool,
    bar: ProgressBar,
    current: Option<Current>,
    pub pulled: Vec<PulledFile>,
    pub unrecorded: Vec<String>,
}

fn io_error(what: &str, path: &Path, err: std::io::Error) -> RegistryError {
    RegistryError::other(format!("{what} {}: {err}", path.display()))
}

impl DiskSink {
    pub fn new(dir: &Path, verify: bool) -> DiskSink {
        DiskSink {
            dir: dir.to_owned(),
            verify,
            bar: ProgressBar::hidden(),
            current: None,
            pulled: Vec::new(),
            unrecorded: Vec::new(),
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Drop for DiskSink {
    fn drop(&mut self) {
        if let Some(current) = self.current.take() {
            drop(current.file);
            let _ = std::fs::remove_file(&current.partial);
        }
    }
}

impl FileSink for DiskSink {
    fn begin(&mut self, files: &VersionFiles) -> Result<(), RegistryError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| io_error("creating", &self.dir, e))?;
        self.bar = progress_bar(files.total_size());
        Ok(())
    }

    fn begin_file(&mut self, file: &VersionFile) -> Result<(), RegistryError> {
        let rel = ArtifactPath::parse(&file.path).map_err(|e| {
            RegistryError::Invalid(format!(
                "the registry named a file that cannot be written safely: {e}"
            ))
        })?;
        let target = rel.segments().fold(self.dir.clone(), |p, s| p.join(s));
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io_error("creating", parent, e))?;
        }
        let partial = target.with_file_name(format!("{}.arca-partial", rel.file_name()));
        let handle =
            std::fs::File::create(&partial).map_err(|e| io_error("creating", &partial, e))?;
        self.bar.set_message(file.path.clone());
        self.current = Some(Current {
            file: std::io::BufWriter::with_capacity(CHUNK, handle),
            partial,
            target,
            hasher: Sha256::new(),
            written: 0,
        });
        Ok(())
    }

    fn write(&mut self, chunk: &[u8]) -> Result<(), RegistryError> {
        let current = self.current.as_mut().expect("begin_file comes first");
        current
            .file
            .write_all(chunk)
            .map_err(|e| io_error("writing", &current.partial, e))?;
        current.hasher.update(chunk);
        current.written += chunk.len() as u64;
        self.bar.inc(chunk.len() as u64);
        Ok(())
    }

    fn end_file(&mut self, file: &VersionFile) -> Result<(), RegistryError> {
        let Current {
            file: writer,
            partial,
            target,
            hasher,
            written,
        } = self.current.take().expect("begin_file comes first");
        let handle = writer
            .into_inner()
            .map_err(|e| io_error("writing", &partial, e.into_error()))?;
        handle
            .sync_all()
            .map_err(|e| io_error("writing", &partial, e))?;
        drop(handle);
        let sha256 = hex::encode(hasher.finalize());
        if self.verify
            && let Err(e) = check_digest(file, written, &sha256)
        {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
        if file.sha256.is_none() {
            self.unrecorded.push(file.path.clone());
        }
        std::fs::rename(&partial, &target).map_err(|e| io_error("renaming", &partial, e))?;
        self.pulled.push(PulledFile {
            path: file.path.clone(),
            size: written,
            sha256,
            verified: self.verify && file.sha256.is_some(),
        });
        Ok(())
    }
}

//! Checking a download against the SHA-256 and size recorded at upload.
//!
//! The check can only finish after the last byte has been read, but by then most of the file
//! has been sent. So the stream holds one chunk back: it hashes each chunk as it arrives and
//! forwards the previous one; when the source ends it compares, and either releases the last
//! chunk or ends with an error instead. An HTTP response with a `Content-Length` then stops
//! short, which every client reports as a broken transfer rather than a complete file.

use crate::{Error, StoredFile};
use bytes::Bytes;
use futures::stream::{BoxStream, Stream, StreamExt};
use sha2::{Digest, Sha256};
use std::pin::Pin;
use std::task::{Context, Poll};

#[derive(Debug, thiserror::Error)]
#[error(
    "artifact '{path}' does not match what was stored: expected {expected_size} bytes with \
     SHA-256 {expected_sha256}, read {actual_size} bytes{actual}"
)]
pub struct IntegrityError {
    pub path: String,
    pub expected_size: u64,
    pub expected_sha256: String,
    pub actual_size: u64,
    /// Empty when reading stopped early because the file was already too long.
    actual: String,
}

pub(crate) struct Verified {
    inner: BoxStream<'static, Result<Bytes, Error>>,
    path: String,
    expected: StoredFile,
    digest: Sha256,
    seen: u64,
    held: Option<Bytes>,
    done: bool,
}

impl Verified {
    pub(crate) fn new(
        inner: BoxStream<'static, Result<Bytes, Error>>,
        path: String,
        expected: StoredFile,
    ) -> Verified {
        Verified {
            inner,
            path,
            expected,
            digest: Sha256::new(),
            seen: 0,
            held: None,
            done: false,
        }
    }

    fn mismatch(&mut self, actual_sha256: Option<String>) -> Error {
        self.done = true;
        self.held = None;
        let error = IntegrityError {
            path: self.path.clone(),
            expected_size: self.expected.size,
            expected_sha256: self.expected.sha256.clone(),
            actual_size: self.seen,
            actual: actual_sha256
                .map(|sha| format!(" with SHA-256 {sha}"))
                .unwrap_or_default(),
        };
        tracing::error!(%error, "refusing to complete a corrupted download");
        Error::Integrity(error)
    }
}

impl Stream for Verified {
    type Item = Result<Bytes, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        loop {
            match std::task::ready!(this.inner.poll_next_unpin(cx)) {
                Some(Ok(chunk)) if chunk.is_empty() => {}
                Some(Ok(chunk)) => {
                    this.digest.update(&chunk);
                    this.seen += chunk.len() as u64;
                    if this.seen > this.expected.size {
                        return Poll::Ready(Some(Err(this.mismatch(None))));
                    }
                    if let Some(previous) = this.held.replace(chunk) {
                        return Poll::Ready(Some(Ok(previous)));
                    }
                }
                Some(Err(e)) => {
                    this.done = true;
                    this.held = None;
                    return Poll::Ready(Some(Err(e)));
                }
                None => {
                    let actual = hex::encode(std::mem::take(&mut this.digest).finalize());
                    if this.seen != this.expected.size || actual != this.expected.sha256 {
                        return Poll::Ready(Some(Err(this.mismatch(Some(actual)))));
                    }
                    this.done = true;
                    return Poll::Ready(this.held.take().map(Ok));
                }
            }
        }
    }
}

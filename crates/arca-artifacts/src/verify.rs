//! Checking a download against the SHA-256 and size recorded at upload.
//!
//! The check can only finish after the last byte has been read, but by then most of the file
//! has been sent. So the stream holds one chunk back: it hashes each chunk as it arrives and
//! forwards the previous one (the hashing itself runs on its own task, see `digest`); when the
//! source ends it compares, and either releases the last chunk or ends with an error instead.
//! An HTTP response with a `Content-Length` then stops short, which every client reports as a
//! broken transfer rather than a complete file.
//!
//! A local file verified before and unchanged since (see `checked`) is [`trusted`] instead: no
//! hashing, but the same held-back last chunk, released only if the file's identity did not
//! move while it was read.

use crate::checked::Checked;
use crate::digest::BackgroundDigest;
use crate::read::LocalOrigin;
use crate::{Error, StoredFile};
use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use std::sync::Arc;

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

/// Where a verified local file is remembered once its bytes matched.
pub(crate) struct Remember {
    pub(crate) origin: LocalOrigin,
    pub(crate) checked: Arc<Checked>,
}

struct Verifying {
    remember: Option<Remember>,
    inner: BoxStream<'static, Result<Bytes, Error>>,
    path: String,
    expected: StoredFile,
    digest: Option<BackgroundDigest>,
    seen: u64,
    held: Option<Bytes>,
}

impl Verifying {
    fn mismatch(&self, actual_sha256: Option<String>) -> Error {
        self.refuse(
            actual_sha256
                .map(|sha| format!(" with SHA-256 {sha}"))
                .unwrap_or_default(),
        )
    }

    fn refuse(&self, actual: String) -> Error {
        let error = IntegrityError {
            path: self.path.clone(),
            expected_size: self.expected.size,
            expected_sha256: self.expected.sha256.clone(),
            actual_size: self.seen,
            actual,
        };
        tracing::error!(%error, "refusing to complete a corrupted download");
        Error::Integrity(error)
    }
}

/// `inner`, with its last chunk released only if the whole matches `expected`.
/// A local file's match is remembered through `remember`.
pub(crate) fn verified(
    inner: BoxStream<'static, Result<Bytes, Error>>,
    path: String,
    expected: StoredFile,
    remember: Option<Remember>,
) -> BoxStream<'static, Result<Bytes, Error>> {
    let state = Verifying {
        remember,
        inner,
        path,
        expected,
        digest: Some(BackgroundDigest::start(crate::read::CHUNKS_AHEAD)),
        seen: 0,
        held: None,
    };
    futures::stream::unfold(state, |mut st| async move {
        let mut digest = st.digest.take()?;
        loop {
            match st.inner.next().await {
                Some(Ok(chunk)) if chunk.is_empty() => {}
                Some(Ok(chunk)) => {
                    st.seen += chunk.len() as u64;
                    if st.seen > st.expected.size {
                        return Some((Err(st.mismatch(None)), st));
                    }
                    digest.update(vec![chunk.clone()]).await;
                    if let Some(previous) = st.held.replace(chunk) {
                        st.digest = Some(digest);
                        return Some((Ok(previous), st));
                    }
                }
                Some(Err(e)) => return Some((Err(e), st)),
                None => {
                    let actual = match digest.finish().await {
                        Ok((actual, _)) => actual,
                        Err(e) => return Some((Err(e.into()), st)),
                    };
                    if st.seen != st.expected.size || actual != st.expected.sha256 {
                        return Some((Err(st.mismatch(Some(actual))), st));
                    }
                    if let Some(Remember { origin, checked }) = st.remember.take() {
                        origin.remember(&checked, &actual);
                    }
                    return st.held.take().map(|last| (Ok(last), st));
                }
            }
        }
    })
    .boxed()
}

struct Trusted {
    check: Verifying,
    origin: LocalOrigin,
    checked: Arc<Checked>,
    done: bool,
}

/// `inner`, read from a file verified before and unchanged since: not hashed, but its last
/// chunk released only if the file still has the identity it was trusted for. If it changed
/// during the read, the bytes sent may mix old and new, so the download fails as a mismatch
/// would, and the file is hashed on its next download.
pub(crate) fn trusted(
    inner: BoxStream<'static, Result<Bytes, Error>>,
    path: String,
    expected: StoredFile,
    origin: LocalOrigin,
    checked: Arc<Checked>,
) -> BoxStream<'static, Result<Bytes, Error>> {
    let state = Trusted {
        check: Verifying {
            remember: None,
            inner,
            path,
            expected,
            digest: None,
            seen: 0,
            held: None,
        },
        origin,
        checked,
        done: false,
    };
    futures::stream::unfold(state, |mut st| async move {
        if st.done {
            return None;
        }
        loop {
            match st.check.inner.next().await {
                Some(Ok(chunk)) if chunk.is_empty() => {}
                Some(Ok(chunk)) => {
                    st.check.seen += chunk.len() as u64;
                    if st.check.seen > st.check.expected.size {
                        st.done = true;
                        st.checked.forget(&st.origin.identity);
                        return Some((Err(st.check.mismatch(None)), st));
                    }
                    if let Some(previous) = st.check.held.replace(chunk) {
                        return Some((Ok(previous), st));
                    }
                }
                Some(Err(e)) => {
                    st.done = true;
                    return Some((Err(e), st));
                }
                None => {
                    st.done = true;
                    if st.check.seen != st.check.expected.size || !st.origin.unchanged() {
                        st.checked.forget(&st.origin.identity);
                        let error = st
                            .check
                            .refuse(" (the file changed while it was read)".to_owned());
                        return Some((Err(error), st));
                    }
                    return st.check.held.take().map(|last| (Ok(last), st));
                }
            }
        }
    })
    .boxed()
}

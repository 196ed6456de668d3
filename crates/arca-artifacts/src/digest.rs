//! SHA-256 beside the transfer instead of in its way.
//!
//! Hashing is the most expensive step of moving a large file through the server (more than the
//! socket and disk copies together: 39% of the server's CPU on an upload, 51% on a download in
//! `perf`). Done inline it adds to every chunk's latency; here it runs on another core, as a
//! [`Serial`] step fed in batches (a slice of an upload, a read of a download), while the
//! transfer receives, writes or sends the next ones. A hasher more than `depth` batches behind
//! slows the transfer down instead of buffering the file.

use crate::serial::Serial;
use bytes::Bytes;
use sha2::{Digest, Sha256};

pub(crate) struct BackgroundDigest(Serial<Vec<Bytes>, (Sha256, u64)>);

impl BackgroundDigest {
    /// A hasher that lets up to `depth` batches wait for it.
    pub(crate) fn start(depth: usize) -> BackgroundDigest {
        BackgroundDigest(Serial::start(
            (Sha256::new(), 0),
            depth,
            |(state, size), chunks| {
                for chunk in chunks {
                    state.update(&chunk);
                    *size += chunk.len() as u64;
                }
                Ok(())
            },
        ))
    }

    /// Hashes `chunks` (consecutive, after everything before); waits only while the queue is
    /// full. Hashing cannot fail: should the hasher panic, [`BackgroundDigest::finish`] says so.
    pub(crate) async fn update(&mut self, chunks: Vec<Bytes>) {
        let _ = self.0.push(chunks).await;
    }

    /// The lowercase hex SHA-256 and the number of bytes hashed.
    pub(crate) async fn finish(self) -> std::io::Result<(String, u64)> {
        let (state, size) = self.0.finish().await?;
        Ok((hex::encode(state.finalize()), size))
    }
}

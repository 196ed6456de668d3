//! SHA-256 beside the transfer instead of in its way.
//!
//! Hashing is the most expensive step of moving a large file through the server (more than the
//! socket and disk copies together). Done inline it adds to every chunk's latency; handed to the
//! blocking pool (a hash of a whole part would stall an async worker for milliseconds) it runs
//! on another core while the transfer task receives and writes the next chunks. Work goes over
//! in batches (a whole part of an upload, a large read of a download) and one batch is hashed at
//! a time: the next `update` waits for the previous batch, so a slow hasher slows the transfer
//! down instead of buffering the file, and no thread is held while the transfer waits on the
//! network.

use bytes::Bytes;
use sha2::{Digest, Sha256};
use tokio::task::JoinHandle;

pub(crate) struct BackgroundDigest {
    idle: Option<(Sha256, u64)>,
    running: Option<JoinHandle<(Sha256, u64)>>,
}

impl BackgroundDigest {
    pub(crate) fn start() -> BackgroundDigest {
        BackgroundDigest {
            idle: Some((Sha256::new(), 0)),
            running: None,
        }
    }

    /// Hashes `chunks` (consecutive, after everything before) on the blocking pool; waits only
    /// for the batch before.
    pub(crate) async fn update(&mut self, chunks: Vec<Bytes>) {
        let (mut state, mut size) = self.settled().await;
        self.running = Some(tokio::task::spawn_blocking(move || {
            for chunk in chunks {
                state.update(&chunk);
                size += chunk.len() as u64;
            }
            (state, size)
        }));
    }

    /// The lowercase hex SHA-256 and the number of bytes hashed.
    pub(crate) async fn finish(mut self) -> std::io::Result<(String, u64)> {
        let (state, size) = self.settled().await;
        Ok((hex::encode(state.finalize()), size))
    }

    async fn settled(&mut self) -> (Sha256, u64) {
        if let Some(running) = self.running.take() {
            match running.await {
                Ok(done) => return done,
                // A blocking task is never cancelled; a panic in the hasher is a bug, re-raised.
                Err(e) => std::panic::resume_unwind(e.into_panic()),
            }
        }
        self.idle.take().expect("the state is idle or running")
    }
}

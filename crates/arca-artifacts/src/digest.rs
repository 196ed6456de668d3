//! SHA-256 beside the transfer instead of in its way.
//!
//! Hashing is the most expensive step of moving a large file through the server (more than the
//! socket and disk copies together). Done inline it adds to every chunk's latency; on its own
//! task it runs on another core while the transfer task receives and writes the next chunks.
//! The queue between them is short, so a slow hasher slows the transfer down instead of
//! buffering the file.

use bytes::Bytes;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Chunks waiting to be hashed: a few MiB at most.
const QUEUE: usize = 8;

pub(crate) struct BackgroundDigest {
    queue: Option<mpsc::Sender<Bytes>>,
    task: JoinHandle<(Sha256, u64)>,
}

impl BackgroundDigest {
    /// Continues from `state`, which has already hashed the first `hashed` bytes.
    pub(crate) fn continue_from(state: Sha256, hashed: u64) -> BackgroundDigest {
        let (queue, mut chunks) = mpsc::channel::<Bytes>(QUEUE);
        let task = tokio::spawn(async move {
            let mut state = state;
            let mut size = hashed;
            while let Some(chunk) = chunks.recv().await {
                state.update(&chunk);
                size += chunk.len() as u64;
            }
            (state, size)
        });
        BackgroundDigest {
            queue: Some(queue),
            task,
        }
    }

    pub(crate) fn start() -> BackgroundDigest {
        BackgroundDigest::continue_from(Sha256::new(), 0)
    }

    /// Queues `chunk`; waits only while the queue is full.
    pub(crate) async fn update(&mut self, chunk: Bytes) {
        if let Some(queue) = &self.queue {
            // The task only stops once the queue is closed, so sending cannot fail.
            let _ = queue.send(chunk).await;
        }
    }

    /// The lowercase hex SHA-256 and the number of bytes hashed.
    pub(crate) async fn finish(mut self) -> std::io::Result<(String, u64)> {
        drop(self.queue.take());
        let (state, size) = (&mut self.task).await.map_err(std::io::Error::other)?;
        Ok((hex::encode(state.finalize()), size))
    }
}

impl Drop for BackgroundDigest {
    fn drop(&mut self) {
        self.task.abort();
    }
}

//! A step of a transfer that must see its bytes in order (hashing, writing the staging file),
//! run off the async workers behind a short queue.
//!
//! Why a queue: with one batch in flight, the transfer waited for each step to finish the batch
//! before it handed over the next, so on a shared CPU a hasher that lost its core for a few
//! milliseconds stalled the socket too, and the socket stalled the hasher in turn. With `depth`
//! batches queued, a step may fall behind by that much before it slows the transfer, and every
//! step keeps working while another is preempted (measured in `bench/artifacts.sh`).
//!
//! Why not a thread per transfer: a download to a slow client would hold one for as long as the
//! client takes. The worker is a task; it takes a batch, and every batch queued behind it, to
//! the blocking pool, and gives the thread back as soon as the queue is empty.

use std::io;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub(crate) struct Serial<J, S> {
    jobs: Option<mpsc::Sender<J>>,
    worker: Option<JoinHandle<io::Result<S>>>,
}

impl<J: Send + 'static, S: Send + 'static> Serial<J, S> {
    /// Runs `work` on each job pushed, in order, on `state`; the first error stops the worker.
    pub(crate) fn start(
        state: S,
        depth: usize,
        work: fn(&mut S, J) -> io::Result<()>,
    ) -> Serial<J, S> {
        let (jobs, mut queue) = mpsc::channel::<J>(depth);
        let worker = tokio::spawn(async move {
            let mut state = state;
            while let Some(first) = queue.recv().await {
                let drained = tokio::task::spawn_blocking(move || {
                    let mut next = Some(first);
                    while let Some(job) = next.take() {
                        work(&mut state, job)?;
                        next = queue.try_recv().ok();
                    }
                    Ok((state, queue))
                })
                .await;
                match drained {
                    Ok(Ok(back)) => (state, queue) = back,
                    Ok(Err(e)) => return Err(e),
                    Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                    Err(e) => return Err(io::Error::other(e)),
                }
            }
            Ok(state)
        });
        Serial {
            jobs: Some(jobs),
            worker: Some(worker),
        }
    }

    /// Queues `job`; waits only while the queue is full. If the worker has stopped, its error.
    pub(crate) async fn push(&mut self, job: J) -> io::Result<()> {
        let jobs = self.jobs.as_ref().expect("open until finished");
        if jobs.send(job).await.is_ok() {
            return Ok(());
        }
        self.jobs = None;
        match self.join().await {
            Err(e) => Err(e),
            Ok(_) => Err(io::Error::other("the worker stopped early")),
        }
    }

    /// Waits for every queued job; the state, or the first error.
    pub(crate) async fn finish(mut self) -> io::Result<S> {
        self.jobs = None;
        self.join().await
    }

    async fn join(&mut self) -> io::Result<S> {
        let worker = self
            .worker
            .take()
            .ok_or_else(|| io::Error::other("the worker already stopped"))?;
        match worker.await {
            Ok(result) => result,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(io::Error::other(e)),
        }
    }
}

impl<J, S> Drop for Serial<J, S> {
    /// An abandoned transfer stops its worker: what is queued is dropped, not processed.
    fn drop(&mut self) {
        if let Some(worker) = self.worker.take() {
            worker.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_run_in_order_and_the_first_error_is_returned() {
        let mut sum = Serial::start(Vec::new(), 2, |seen: &mut Vec<u32>, n: u32| {
            seen.push(n);
            Ok(())
        });
        for n in 0..100 {
            sum.push(n).await.unwrap();
        }
        assert_eq!(sum.finish().await.unwrap(), (0..100).collect::<Vec<_>>());

        let mut failing = Serial::start((), 1, |_: &mut (), n: u32| {
            if n == 3 {
                Err(io::Error::other("three"))
            } else {
                Ok(())
            }
        });
        let mut pushed = Ok(());
        for n in 0..50 {
            pushed = failing.push(n).await;
            if pushed.is_err() {
                break;
            }
        }
        let error = match pushed {
            Err(e) => e,
            Ok(()) => failing.finish().await.unwrap_err(),
        };
        assert_eq!(error.to_string(), "three");
    }
}

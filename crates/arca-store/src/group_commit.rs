//! Group commit on SQLite: concurrent writes share one transaction and one fsync.
//!
//! SQLite has one writer, and with `synchronous=FULL` each COMMIT waits for the WAL to reach the
//! disk. One transaction per request therefore caps writes at one fsync each, however many
//! clients wait. Here a single writer task owns the writer connection. Requests queue on a
//! channel; the writer takes the first, opens a transaction, runs it, and then runs each queued
//! request in its own SAVEPOINT until the queue is empty or the batch is full (`MAX_BATCH` writes
//! or `MAX_BATCH_WORK` of work), then COMMITs once. The first needs no savepoint: when it fails,
//! the transaction holds nothing else and is rolled back. Batches form by themselves: while one batch
//! runs and syncs, the next requests queue; a lone request is a batch of one and waits for
//! nobody.
//!
//! Each request stays atomic on its own. A write that fails is rolled back (to its savepoint, or
//! with the transaction when it ran first), its history row, its version-number bump and every
//! other row with it, and is answered with its own error while the rest of the batch commits. A request is answered only after the COMMIT that
//! holds its change has returned, so an `Ok` is durable, and a reader connection opened after the
//! answer sees the change. If the COMMIT fails, or a savepoint cannot be opened or closed, every
//! write of the batch gets the error, nothing of the batch is kept, and the connection is closed
//! so that the next batch starts on a clean one.
//!
//! Cancellation is why the work runs on the writer task and not in the caller's future. axum
//! drops a handler's future when its client disconnects; had that future been running SQL on the
//! shared connection, it could stop between two statements of one change, inside an open
//! savepoint, or while its batch's COMMIT was in flight, and the other requests of the batch
//! would wait on a connection nobody drives. The writer task is never cancelled by a caller: a
//! caller that goes away only drops the receiving end of its answer. A request still in the queue
//! when its caller left is skipped (nothing of it is written); one that has started runs to the
//! end and commits with its batch, as a request whose client disconnected just after the COMMIT
//! would. Either way a change lands whole or not at all. The price is that the work must own what
//! it uses (`'static`): callers clone their arguments into the closure. A panic inside one write
//! is caught, rolled back to its savepoint and answered as an internal error, so the writer task
//! outlives it.
//!
//! PostgreSQL keeps one transaction per request (see [`crate::MetadataStore::write`]): its server
//! already commits concurrent transactions together, and its connections are many.

use crate::error::{Result, StoreError};
use arca_core::Error;
use futures::FutureExt;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Connection, Executor};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// At most this many writes share one transaction, so that no request waits behind an
/// unbounded batch.
const MAX_BATCH: usize = 64;
/// No request is added to a batch once its writes have run this long: the first request of the
/// batch is waiting for the COMMIT.
const MAX_BATCH_WORK: Duration = Duration::from_millis(5);

/// The future of one unit of work, borrowing the connection it runs on.
pub(crate) type WorkFuture<'c, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'c>>;

/// How many writes were committed in how many transactions, and how long the COMMITs took: what
/// group commit buys, for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteStats {
    /// Transactions that ended in a COMMIT (successful or not). On PostgreSQL, one per write.
    pub batches: u64,
    /// Writes run in those transactions, successful or failed (a failed one is rolled back to
    /// its savepoint, the others commit).
    pub writes: u64,
    /// The largest number of writes one transaction held.
    pub largest_batch: u64,
    /// Time spent in COMMIT, summed over all transactions (on SQLite, mostly the fsync).
    pub commit_time: Duration,
}

#[derive(Debug, Default)]
pub(crate) struct WriteCounters {
    batches: AtomicU64,
    writes: AtomicU64,
    largest_batch: AtomicU64,
    commit_nanos: AtomicU64,
}

impl WriteCounters {
    pub(crate) fn record(&self, writes: usize, commit_time: Duration) {
        let writes = writes as u64;
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.writes.fetch_add(writes, Ordering::Relaxed);
        self.largest_batch.fetch_max(writes, Ordering::Relaxed);
        let nanos = u64::try_from(commit_time.as_nanos()).unwrap_or(u64::MAX);
        self.commit_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> WriteStats {
        WriteStats {
            batches: self.batches.load(Ordering::Relaxed),
            writes: self.writes.load(Ordering::Relaxed),
            largest_batch: self.largest_batch.load(Ordering::Relaxed),
            commit_time: Duration::from_nanos(self.commit_nanos.load(Ordering::Relaxed)),
        }
    }
}

/// The queue in front of the SQLite writer task. Cheap to clone.
#[derive(Clone)]
pub(crate) struct GroupCommit {
    queue: mpsc::UnboundedSender<Box<dyn Job>>,
}

impl GroupCommit {
    /// Starts the writer task on the current tokio runtime. It ends when every handle to the
    /// queue is gone.
    pub(crate) fn start(pool: AnyPool, counters: Arc<WriteCounters>) -> GroupCommit {
        let (queue, requests) = mpsc::unbounded_channel();
        tokio::spawn(run_writer(pool, requests, counters));
        GroupCommit { queue }
    }

    /// Queues `work` and waits for the COMMIT of the batch that ran it.
    pub(crate) async fn write<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> WorkFuture<'c, T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let request = Request {
            work: Some(work),
            outcome: None,
            reply,
        };
        self.queue
            .send(Box::new(request))
            .map_err(|_| writer_stopped())?;
        answer.await.map_err(|_| writer_stopped())?
    }
}

fn writer_stopped() -> StoreError {
    Error::Internal(anyhow::anyhow!(
        "database error: the SQLite writer has stopped"
    ))
    .into()
}

/// One queued write, with its type erased so that writes of any result type share the queue.
trait Job: Send {
    /// The caller stopped waiting before the write started.
    fn abandoned(&self) -> bool;
    /// Runs the work; `true` when it succeeded and its savepoint may be released.
    fn run<'c>(
        &'c mut self,
        conn: &'c mut AnyConnection,
    ) -> Pin<Box<dyn Future<Output = bool> + Send + 'c>>;
    /// Answers the caller once the batch's fate is known.
    fn answer(self: Box<Self>, batch: std::result::Result<(), &StoreError>);
}

struct Request<T, F> {
    work: Option<F>,
    outcome: Option<Result<T>>,
    reply: oneshot::Sender<Result<T>>,
}

impl<T, F> Job for Request<T, F>
where
    T: Send + 'static,
    F: for<'c> FnOnce(&'c mut AnyConnection) -> WorkFuture<'c, T> + Send + 'static,
{
    fn abandoned(&self) -> bool {
        self.reply.is_closed()
    }

    fn run<'c>(
        &'c mut self,
        conn: &'c mut AnyConnection,
    ) -> Pin<Box<dyn Future<Output = bool> + Send + 'c>> {
        Box::pin(async move {
            let Some(work) = self.work.take() else {
                return false;
            };
            let outcome = work(conn).await;
            let ok = outcome.is_ok();
            self.outcome = Some(outcome);
            ok
        })
    }

    fn answer(self: Box<Self>, batch: std::result::Result<(), &StoreError>) {
        let answer = match (self.outcome, batch) {
            // A write that failed left nothing, whatever became of the batch: its own error says why.
            (Some(Err(err)), _) => Err(err),
            (_, Err(err)) => Err(err.restate()),
            (Some(Ok(out)), Ok(())) => Ok(out),
            (None, Ok(())) => Err(Error::Internal(anyhow::anyhow!(
                "the write panicked and was rolled back"
            ))
            .into()),
        };
        // The caller may have gone; its change is committed (or not) all the same.
        let _ = self.reply.send(answer);
    }
}

async fn run_writer(
    pool: AnyPool,
    mut requests: mpsc::UnboundedReceiver<Box<dyn Job>>,
    counters: Arc<WriteCounters>,
) {
    // The connection is kept from one batch to the next while requests keep coming: handing it
    // back to sqlx's pool costs a ping (a round trip to the connection's worker thread) and
    // taking it again a wake-up. Once the queue is empty it goes back, so that nothing holds the
    // only writer connection while no write waits (closing the store waits for it).
    let mut held: Option<PoolConnection<Any>> = None;
    loop {
        let first = match requests.try_recv() {
            Ok(job) => job,
            Err(_) => {
                drop(held.take());
                match requests.recv().await {
                    Some(job) => job,
                    None => return,
                }
            }
        };
        if first.abandoned() {
            continue;
        }
        let conn = match held.take() {
            Some(conn) => conn,
            None => match pool.acquire().await {
                Ok(conn) => conn,
                Err(err) => {
                    first.answer(Err(&err.into()));
                    continue;
                }
            },
        };
        held = run_batch(conn, first, &mut requests, &counters).await;
    }
}

/// Runs `first` and whatever else is queued (within the bounds) in one transaction, commits
/// it, and answers every request of the batch. Gives the connection back unless it was closed
/// because a failure left it in a state nobody can vouch for.
async fn run_batch(
    mut conn: PoolConnection<Any>,
    first: Box<dyn Job>,
    requests: &mut mpsc::UnboundedReceiver<Box<dyn Job>>,
    counters: &WriteCounters,
) -> Option<PoolConnection<Any>> {
    let mut tx = match conn.begin().await {
        Ok(tx) => tx,
        Err(err) => {
            first.answer(Err(&err.into()));
            return None;
        }
    };
    let started = Instant::now();
    // The first write runs without a savepoint: alone in the transaction so far, it is undone
    // by rolling the transaction back. That spares a lone write (most batches, unless the load
    // is heavy) two of its statements, each a round trip to the SQLite worker thread.
    let mut first = first;
    if !run_caught(&mut tx, first.as_mut()).await {
        let rolled_back = tx.rollback().await.is_ok();
        counters.record(1, Duration::ZERO);
        first.answer(Ok(()));
        if rolled_back {
            return Some(conn);
        }
        let _ = conn.close().await;
        return None;
    }
    let mut batch: Vec<Box<dyn Job>> = vec![first];
    let mut next = if started.elapsed() < MAX_BATCH_WORK {
        next_live(requests)
    } else {
        None
    };
    // The savepoint of each later write is opened together with the release of the one before
    // (one round trip to the worker thread instead of two).
    let mut open = false;
    while let Some(mut job) = next.take() {
        let isolated = run_in_savepoint(&mut tx, job.as_mut(), &mut open).await;
        batch.push(job);
        if let Err(err) = isolated {
            // The transaction is in a state we cannot vouch for: keep none of it.
            drop(tx);
            let _ = conn.close().await;
            counters.record(batch.len(), Duration::ZERO);
            let err = StoreError::from(err);
            for job in batch {
                job.answer(Err(&err));
            }
            return None;
        }
        if batch.len() < MAX_BATCH && started.elapsed() < MAX_BATCH_WORK {
            next = next_live(requests);
        }
    }
    let commit_started = Instant::now();
    // COMMIT also releases the last write's savepoint, still open.
    let committed = tx.commit().await.map_err(StoreError::from);
    counters.record(batch.len(), commit_started.elapsed());
    for job in batch {
        job.answer(committed.as_ref().map(|_| ()));
    }
    if committed.is_err() {
        let _ = conn.close().await;
        return None;
    }
    Some(conn)
}

/// The next queued request whose caller still waits, without waiting for one to arrive.
fn next_live(requests: &mut mpsc::UnboundedReceiver<Box<dyn Job>>) -> Option<Box<dyn Job>> {
    while let Ok(job) = requests.try_recv() {
        if !job.abandoned() {
            return Some(job);
        }
    }
    None
}

/// Runs one write in a savepoint, rolling back to the savepoint when the write fails or
/// panics. `open` says whether the previous write's savepoint is still to be released: the
/// release goes out with the next savepoint, and after a write the savepoint is left open for
/// the next one (or the batch's COMMIT) to release. An error here is about the savepoint itself, and
/// dooms the batch.
async fn run_in_savepoint(
    conn: &mut AnyConnection,
    job: &mut dyn Job,
    open: &mut bool,
) -> std::result::Result<(), sqlx::Error> {
    let start = if *open {
        "RELEASE arca_write; SAVEPOINT arca_write"
    } else {
        "SAVEPOINT arca_write"
    };
    *open = false;
    conn.execute(start).await?;
    if run_caught(conn, job).await {
        *open = true;
    } else {
        conn.execute("ROLLBACK TO arca_write; RELEASE arca_write")
            .await?;
    }
    Ok(())
}

/// Runs one write; `false` when it failed or panicked (a panic is caught, so that the writer task
/// outlives it).
async fn run_caught(conn: &mut AnyConnection, job: &mut dyn Job) -> bool {
    AssertUnwindSafe(job.run(conn))
        .catch_unwind()
        .await
        .unwrap_or(false)
}

//! The connections behind `MetadataStore::read` (and, on PostgreSQL, `MetadataStore::write`).
//!
//! sqlx's own pool pings every connection when it is released (sqlx-core 0.9,
//! `Floating::return_to_pool`), with no option to turn it off: on SQLite that is one more round
//! trip to the connection's worker thread and a spawned task per request, on PostgreSQL one more
//! network round trip. Its purpose is to flush or detect a connection left half-way by a
//! cancelled or failed unit. This pool gets the same safety from what it knows instead: a
//! connection goes back only when its unit of work [`Pooled::settle`]d with a result that leaves
//! it clean (success or a domain error); a unit dropped half-way (its client went away) or one
//! that failed in the database drops its connection, so no open transaction, queued rollback or
//! half-read answer reaches the next unit.

use crate::error::{Result, StoreError};
use sqlx::{AnyConnection, Connection, Executor};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, SemaphorePermit};

/// What to run on each new connection before its first use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Setup {
    /// The SQLite pragmas every connection of the store runs with.
    Sqlite,
    Postgres,
}

/// SQLite: synchronous=FULL keeps a committed write through a power loss, not only a crash;
/// case_sensitive_like matches MLflow, whose LIKE is case-sensitive (ILIKE is not);
/// mmap_size: pages are read in place from the OS page cache, shared by every connection,
/// instead of copied by a pread into each connection's own 2 MiB cache (on the 1,000,000-version
/// scale bench those preads were an eighth of the server's CPU for a page of 100 models).
pub(crate) const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
     PRAGMA case_sensitive_like = ON; PRAGMA mmap_size = 1073741824;";

/// A PostgreSQL connection idle for longer may have been cut by the server or a proxy, so it is
/// pinged before reuse; one in use a moment ago is trusted (if it broke anyway, the unit fails
/// with a 503 and its connection is dropped).
const PG_TRUST_IDLE: Duration = Duration::from_secs(5);

pub(crate) struct ConnPool {
    url: String,
    setup: Setup,
    max: u32,
    /// One permit per connection that may be open: a unit holds one while it has a connection.
    permits: Semaphore,
    idle: Mutex<Vec<(AnyConnection, Instant)>>,
    /// Connections open, idle or in use.
    open: AtomicU32,
}

impl ConnPool {
    pub(crate) fn new(url: String, setup: Setup, max: u32) -> ConnPool {
        ConnPool {
            url,
            setup,
            max,
            permits: Semaphore::new(max as usize),
            idle: Mutex::new(Vec::new()),
            open: AtomicU32::new(0),
        }
    }

    /// A connection for one unit of work: an idle one (the most recently used, whose pages and
    /// statements are warmest) or a new one. Waits while all `max` are in use; the caller bounds
    /// the wait where it must (PostgreSQL's timeout).
    pub(crate) async fn acquire(&self) -> Result<Pooled<'_>> {
        let permit = self
            .permits
            .acquire()
            .await
            // Closed only by the store's own `close`.
            .map_err(|_| StoreError::from(sqlx::Error::PoolClosed))?;
        loop {
            let Some((mut conn, since)) = self.take_idle() else {
                break;
            };
            if self.setup == Setup::Postgres
                && since.elapsed() >= PG_TRUST_IDLE
                && conn.ping().await.is_err()
            {
                self.forget(conn);
                continue;
            }
            return Ok(Pooled::new(self, conn, permit));
        }
        let conn = self.connect().await?;
        Ok(Pooled::new(self, conn, permit))
    }

    fn take_idle(&self) -> Option<(AnyConnection, Instant)> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop()
    }

    async fn connect(&self) -> Result<AnyConnection> {
        let mut conn = AnyConnection::connect(&self.url).await?;
        if self.setup == Setup::Sqlite {
            conn.execute(SQLITE_PRAGMAS).await?;
        }
        self.open.fetch_add(1, Ordering::Relaxed);
        Ok(conn)
    }

    /// Drops a connection that may not be reused. Its socket or SQLite handle closes with it;
    /// PostgreSQL rolls back whatever it had open.
    fn forget(&self, conn: AnyConnection) {
        self.open.fetch_sub(1, Ordering::Relaxed);
        drop(conn);
    }

    pub(crate) fn size(&self) -> u32 {
        self.open.load(Ordering::Relaxed)
    }

    pub(crate) fn num_idle(&self) -> u32 {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).len();
        u32::try_from(idle).unwrap_or(u32::MAX)
    }

    pub(crate) fn max(&self) -> u32 {
        self.max
    }

    /// Waits for the units in flight to give their connections back, closes every connection,
    /// and refuses new units.
    pub(crate) async fn close(&self) {
        if let Ok(all) = self.permits.acquire_many(self.max).await {
            self.permits.close();
            drop(all);
        }
        let idle = std::mem::take(&mut *self.idle.lock().unwrap_or_else(|e| e.into_inner()));
        for (conn, _) in idle {
            self.open.fetch_sub(1, Ordering::Relaxed);
            let _ = conn.close().await;
        }
    }
}

/// A connection lent to one unit of work. It goes back to the pool only if the unit called
/// [`Pooled::settle`] with a result that leaves it clean; dropped otherwise.
pub(crate) struct Pooled<'p> {
    pool: &'p ConnPool,
    conn: Option<AnyConnection>,
    clean: bool,
    _permit: SemaphorePermit<'p>,
}

impl<'p> Pooled<'p> {
    fn new(pool: &'p ConnPool, conn: AnyConnection, permit: SemaphorePermit<'p>) -> Pooled<'p> {
        Pooled {
            pool,
            conn: Some(conn),
            clean: false,
            _permit: permit,
        }
    }

    /// Marks the unit as finished with `out`: the connection is reused unless the database
    /// failed (an I/O, protocol or statement error may leave it mid-answer or mid-transaction).
    pub(crate) fn settle<T>(&mut self, out: &Result<T>) {
        let finished = match out {
            Ok(_) => true,
            Err(err) => !err.is_database_failure(),
        };
        // A transaction sqlx still counts as open would be the next unit's.
        self.clean = finished && !self.is_in_transaction();
    }

    /// Drops the connection when the unit is done, whatever it settled.
    pub(crate) fn discard(&mut self) {
        self.clean = false;
    }
}

impl std::ops::Deref for Pooled<'_> {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        self.conn
            .as_ref()
            .expect("a lent connection is present until dropped")
    }
}

impl std::ops::DerefMut for Pooled<'_> {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        self.conn
            .as_mut()
            .expect("a lent connection is present until dropped")
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        // Pushed before the permit is released (fields drop after this), so the next unit to
        // get a permit finds it.
        if self.clean && !self.pool.permits.is_closed() {
            self.pool
                .idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((conn, Instant::now()));
        } else {
            self.pool.forget(conn);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Row;

    /// Runs `sql` as a whole unit of work on `conn` and settles the connection by its outcome,
    /// as `MetadataStore::read` does.
    async fn run_settled(conn: &mut Pooled<'_>, sql: &'static str) -> Result<()> {
        let out = conn.execute(sql).await.map(drop).map_err(StoreError::from);
        conn.settle(&out);
        out
    }

    /// One connection, so that a connection returned by mistake is the one the next unit gets.
    async fn a_unit_dropped_half_way_leaks_nothing_into_the_next(url: String, setup: Setup) {
        let pool = ConnPool::new(url.clone(), setup, 1);
        let mut conn = pool.acquire().await.unwrap();
        run_settled(&mut conn, "CREATE TABLE probe (x BIGINT)")
            .await
            .unwrap();
        drop(conn);

        let (reached, half_way_reached) = tokio::sync::oneshot::channel();
        let half_way = async {
            let mut conn = pool.acquire().await.unwrap();
            conn.execute("BEGIN").await.unwrap();
            conn.execute("INSERT INTO probe (x) VALUES (1)")
                .await
                .unwrap();
            reached.send(()).unwrap();
            // The client goes away here: the unit is dropped with its transaction open.
            std::future::pending::<()>().await;
        };
        tokio::select! {
            () = half_way => unreachable!("the unit never finishes"),
            _ = half_way_reached => {}
        }

        let mut conn = pool.acquire().await.unwrap();
        let out = async {
            conn.execute("CREATE TEMP TABLE same_connection (x BIGINT)")
                .await?;
            conn.execute("INSERT INTO probe (x) VALUES (2)").await?;
            Ok(())
        }
        .await;
        conn.settle(&out);
        out.unwrap();
        drop(conn);

        // Another client sees the second unit's row committed and the first one's rolled back.
        let mut other = AnyConnection::connect(&url).await.unwrap();
        let rows = sqlx::query("SELECT x FROM probe ORDER BY x")
            .fetch_all(&mut other)
            .await
            .unwrap();
        let seen: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
        assert_eq!(seen, [2]);
        let _ = other.close().await;

        // A unit that finished hands its connection (with its session state) to the next one.
        let mut conn = pool.acquire().await.unwrap();
        conn.execute("SELECT x FROM same_connection").await.unwrap();
        assert_eq!(pool.size(), 1);
        drop(conn);
        pool.close().await;
    }

    #[tokio::test]
    async fn a_unit_dropped_half_way_leaks_nothing_on_sqlite() {
        sqlx::any::install_default_drivers();
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("a.db").display());
        a_unit_dropped_half_way_leaks_nothing_into_the_next(url, Setup::Sqlite).await;
    }

    #[tokio::test]
    #[ignore = "needs ARCA_TEST_PG_URL (a PostgreSQL server): run ./scripts/test.sh"]
    async fn a_unit_dropped_half_way_leaks_nothing_on_postgres() {
        if let Some(url) = crate::testing::fresh_postgres_database().await {
            a_unit_dropped_half_way_leaks_nothing_into_the_next(url, Setup::Postgres).await;
        }
    }

    /// A unit whose statement failed in the database gives up its connection.
    #[tokio::test]
    async fn a_database_failure_drops_the_connection() {
        sqlx::any::install_default_drivers();
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("a.db").display());
        let pool = ConnPool::new(url, Setup::Sqlite, 2);
        let mut conn = pool.acquire().await.unwrap();
        let out = run_settled(&mut conn, "SELECT * FROM no_such_table").await;
        assert!(out.is_err());
        drop(conn);
        assert_eq!((pool.size(), pool.num_idle()), (0, 0));

        let mut conn = pool.acquire().await.unwrap();
        run_settled(&mut conn, "SELECT 1").await.unwrap();
        drop(conn);
        assert_eq!((pool.size(), pool.num_idle()), (1, 1));
    }
}

//! arca-store: `MetadataStore`, the service that keeps the registry's metadata. Every public
//! method is one unit of work: it runs in a transaction (on SQLite, a savepoint of a transaction
//! it may share with concurrent writes), applies the registry's rules, writes a row to
//! `registry_events` for any change, and is committed before it returns, so a caller that got
//! `Ok` holds a durable change.
//!
//! One SQL text serves SQLite and PostgreSQL through sqlx's `Any` driver: `$n` placeholders,
//! BIGINT epoch milliseconds, TEXT, and no backend-specific types. No sqlx type leaves this crate.
//!
//! SQLite allows one writer at a time. Instead of letting writers collide and retry on
//! `SQLITE_BUSY`, the SQLite backend gets a writer pool of exactly one connection, driven by one
//! writer task that commits concurrent writes together, each in its own savepoint
//! (`group_commit.rs`); readers use their own pool and never wait for writers (WAL).

mod artifacts;
pub mod auth;
mod error;
mod events;
mod group_commit;
mod guard;
mod history;
mod keyset;
mod models;
#[cfg(test)]
mod query_plans;
mod roles;
mod search;
mod sources;
mod sql;
#[cfg(feature = "testing")]
pub mod testing;
mod tracking;
mod uri;
pub mod version_list;
mod versions;
mod webhooks;

pub use artifacts::{ArtifactPage, PendingArtifactRecord};
pub use auth::{
    ExperimentOwner, GrantTarget, Protected, Protection, ReadScope, TokenInfo, TokenKind, User,
};
pub use events::{ChainBreak, ChainReport, Event, GENESIS_HASH, with_actor};
pub use group_commit::WriteStats;
pub use guard::ForeignDatabase;
pub use history::{AsOfRef, HISTORY_MAX_RESULTS, HistoryFilter, Snapshot};
pub use roles::{DEFAULT_WORKSPACE, Role, RoleAssignment, RolePermission, RoleRef};
pub use tracking::{NewLoggedModel, NewRun};
pub use uri::StoreUri;
pub use webhooks::{
    AttemptOutcome, ClaimedDelivery, Delivery, DispatchState, DispatchTarget, NewWebhook,
    PlannedDelivery, Webhook, WebhookUpdate,
};

use anyhow::Context;
use error::{Result, StoreError};
use group_commit::{GroupCommit, WorkFuture, WriteCounters};
use sqlx::AnyPool;
use sqlx::Executor;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyConnection, Connection};
use std::sync::Arc;
use std::time::{Duration, Instant};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// The registry's metadata in one database. Cheap to clone: the pools are shared.
#[derive(Clone)]
pub struct MetadataStore {
    writer: AnyPool,
    reader: AnyPool,
    backend: Backend,
    /// The SQLite writer task's queue; `None` on PostgreSQL, where each write is its own
    /// transaction.
    group_commit: Option<GroupCommit>,
    write_counters: Arc<WriteCounters>,
    /// Orders "make a file visible, then record it" per path (see `begin_artifact_record`).
    artifact_commits: artifacts::CommitOrder,
    /// `StoreOptions::timeout`; bounds each unit of work on PostgreSQL.
    timeout: Duration,
}

/// How the store behaves when its database goes away.
#[derive(Debug, Clone, Copy)]
pub struct StoreOptions {
    /// On PostgreSQL, the longest a unit of work waits for a connection and runs: past it the
    /// caller gets `Error::Unavailable` (a 503 the `mlflow` client retries) instead of hanging
    /// while the database is down, restarting or stuck. The pool reconnects by itself when the
    /// database returns. SQLite, a file on the server's own disk, is not bounded.
    pub timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl std::fmt::Debug for MetadataStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetadataStore")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl MetadataStore {
    /// Connects, creates the database file if needed, and runs pending migrations.
    ///
    /// A database that holds another application's tables (an MLflow database, say) is refused
    /// with a [`ForeignDatabase`] error before anything is written to it.
    pub async fn open(uri: &StoreUri) -> anyhow::Result<MetadataStore> {
        MetadataStore::open_with(uri, StoreOptions::default()).await
    }

    /// [`MetadataStore::open`] with other [`StoreOptions`].
    pub async fn open_with(uri: &StoreUri, options: StoreOptions) -> anyhow::Result<MetadataStore> {
        sqlx::any::install_default_drivers();
        let mut store = match uri {
            StoreUri::Sqlite { path } => {
                // Read-only, before the pools: their first connection switches the file to WAL,
                // which is already a write.
                if path.exists() {
                    let url = format!("sqlite://{}?mode=ro", path.display());
                    let mut conn = AnyConnection::connect(&url)
                        .await
                        .with_context(|| format!("opening the SQLite database {url}"))?;
                    let checked = guard::refuse_foreign(&mut conn, false, &uri.redacted()).await;
                    let _ = conn.close().await;
                    checked?;
                }
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)
                        .with_context(|| format!("creating the folder {}", dir.display()))?;
                }
                let url = format!("sqlite://{}?mode=rwc", path.display());
                let writer = sqlite_pool(&url, 1).await?;
                // The first connection switched the file to WAL; readers may now open alongside.
                let reader = sqlite_pool(&url, 4).await?;
                MetadataStore {
                    writer,
                    reader,
                    backend: Backend::Sqlite,
                    group_commit: None,
                    write_counters: Arc::default(),
                    artifact_commits: artifacts::CommitOrder::default(),
                    timeout: options.timeout,
                }
            }
            StoreUri::Postgres { url } => {
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(options.timeout)
                    // sqlx pings a connection before every acquire by default: one more round
                    // trip to PostgreSQL per request. A connection in use a moment ago is
                    // trusted (an error on it surfaces as a 503 and the pool drops it); one idle
                    // for a while may have been cut by the server or a proxy, so it is pinged.
                    .test_before_acquire(false)
                    .before_acquire(|conn, meta| {
                        Box::pin(async move {
                            if meta.idle_for < Duration::from_secs(5) {
                                return Ok(true);
                            }
                            Ok(conn.ping().await.is_ok())
                        })
                    })
                    .connect(url)
                    .await
                    .with_context(|| format!("connecting to PostgreSQL at {}", uri.redacted()))?;
                let mut conn = pool
                    .acquire()
                    .await
                    .with_context(|| format!("connecting to PostgreSQL at {}", uri.redacted()))?;
                guard::refuse_foreign(&mut conn, true, &uri.redacted()).await?;
                drop(conn);
                MetadataStore {
                    writer: pool.clone(),
                    reader: pool,
                    backend: Backend::Postgres,
                    group_commit: None,
                    write_counters: Arc::default(),
                    artifact_commits: artifacts::CommitOrder::default(),
                    timeout: options.timeout,
                }
            }
        };
        let migrator = match store.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator
            .run(&store.writer)
            .await
            .context("running database migrations")?;
        let seal = async {
            let mut tx = store.writer.begin().await?;
            events::seal_legacy_events(&mut tx).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(())
        };
        seal.await
            .map_err(arca_core::Error::from)
            .context("chaining the events written before the event log had hashes")?;
        if store.backend == Backend::Sqlite {
            store.group_commit = Some(GroupCommit::start(
                store.writer.clone(),
                Arc::clone(&store.write_counters),
            ));
        }
        Ok(store)
    }

    /// Runs `work` as one unit of work: it commits only when `work` succeeds, and the caller
    /// gets `Ok` only once that commit has returned, so an `Ok` is a durable change and an error
    /// leaves none. On SQLite the work joins the writer task's next batch, in its own savepoint
    /// (`group_commit.rs`); on PostgreSQL it is a transaction of its own. The work owns what it
    /// uses (`'static`) because on SQLite it runs on the writer task, which a caller that goes
    /// away cannot interrupt halfway.
    /// This is also where the crate's [`StoreError`] turns back into `arca_core::Error`.
    pub(crate) async fn write<T, F>(&self, work: F) -> arca_core::Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> WorkFuture<'c, T> + Send + 'static,
    {
        let actor = events::current_actor();
        let work = unit_of_work(move |conn| Box::pin(events::scope_actor(actor, work(conn))));
        if let Some(group_commit) = &self.group_commit {
            return Ok(group_commit.write(work).await?);
        }
        let unit = async {
            let mut tx = self.writer.begin().await?;
            let out = work(&mut tx).await?;
            let commit_started = Instant::now();
            tx.commit().await?;
            self.write_counters.record(1, commit_started.elapsed());
            Ok::<_, StoreError>(out)
        };
        // Cut off mid-way, the transaction is rolled back when sqlx gets the connection back:
        // nothing is written, unless the COMMIT itself had already reached the server, which a
        // retried create then reports as "already exists".
        Ok(self.bounded(unit).await?)
    }

    /// How the writes so far were committed: transactions, writes, the largest batch and the
    /// time spent in COMMIT.
    pub fn write_stats(&self) -> WriteStats {
        self.write_counters.snapshot()
    }

    /// Runs `work` on a reader connection: it sees committed changes only and never waits for
    /// a writer.
    pub(crate) async fn read<T>(
        &self,
        work: impl AsyncFnOnce(&mut AnyConnection) -> Result<T>,
    ) -> arca_core::Result<T> {
        let unit = async {
            let mut conn = self.reader.acquire().await?;
            work(&mut conn).await
        };
        match self.backend {
            Backend::Sqlite => Ok(unit.await?),
            Backend::Postgres => Ok(self.bounded(unit).await?),
        }
    }

    async fn bounded<T>(&self, unit: impl Future<Output = Result<T>>) -> Result<T> {
        match tokio::time::timeout(self.timeout, unit).await {
            Ok(out) => out,
            Err(_) => Err(StoreError::unavailable()),
        }
    }

    /// Whether the database answers a trivial query within the store's timeout: the server's
    /// readiness check.
    pub async fn ping(&self) -> arca_core::Result<()> {
        let unit = async {
            let mut conn = self.reader.acquire().await?;
            sqlx::query("SELECT 1").execute(&mut *conn).await?;
            Ok(())
        };
        Ok(self.bounded(unit).await?)
    }

    /// How full the connection pools are, for `/metrics`. On PostgreSQL readers and writers
    /// share one pool.
    pub fn pool_stats(&self) -> Vec<PoolStats> {
        let stats = |name: &'static str, pool: &AnyPool| PoolStats {
            name,
            size: pool.size(),
            idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
            max: pool.options().get_max_connections(),
        };
        match self.backend {
            Backend::Sqlite => vec![stats("writer", &self.writer), stats("reader", &self.reader)],
            Backend::Postgres => vec![stats("main", &self.writer)],
        }
    }

    /// Closes the pools; on SQLite the last connection to close checkpoints the WAL.
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}

/// Gives a closure the higher-ranked signature of a unit of work, which inference alone does
/// not find.
fn unit_of_work<T, F>(work: F) -> F
where
    F: for<'c> FnOnce(&'c mut AnyConnection) -> WorkFuture<'c, T>,
{
    work
}

async fn sqlite_pool(url: &str, max_connections: u32) -> anyhow::Result<AnyPool> {
    AnyPoolOptions::new()
        .max_connections(max_connections)
        .min_connections(1)
        // A SQLite connection is a file handle, not a socket: nothing can break it between
        // uses, and the ping sqlx would otherwise send on every acquire is one more round trip
        // to the connection's worker thread (a thread wake-up each way) for every request.
        .test_before_acquire(false)
        // Writers queue for the single writer connection; under a burst that queue can be long.
        .acquire_timeout(Duration::from_secs(120))
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                // synchronous=FULL: a committed write survives power loss, not only a crash.
                // case_sensitive_like: MLflow's LIKE is case-sensitive, ILIKE is not.
                // mmap_size: pages are read in place from the OS page cache, shared by every
                // connection, instead of copied by a pread into each connection's own 2 MiB
                // cache; on the scale bench those preads were an eighth of the server's CPU
                // for a page of 100 models with their latest versions.
                conn.execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
                     PRAGMA case_sensitive_like = ON; PRAGMA mmap_size = 1073741824;",
                )
                .await?;
                Ok(())
            })
        })
        .connect(url)
        .await
        .with_context(|| format!("opening the SQLite database {url}"))
}

pub(crate) use arca_core::now_millis;
pub(crate) use events::record_event;

/// One connection pool's state, as [`MetadataStore::pool_stats`] reports it.
#[derive(Debug, Clone, Copy)]
pub struct PoolStats {
    pub name: &'static str,
    /// Connections open now, idle or in use.
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

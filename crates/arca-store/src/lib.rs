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
mod group_commit;
mod guard;
mod keyset;
mod models;
#[cfg(test)]
mod query_plans;
mod search;
mod sources;
mod sql;
#[cfg(feature = "testing")]
pub mod testing;
mod tracking;
mod uri;
pub mod version_list;
mod versions;

pub use artifacts::{ArtifactPage, PendingArtifactRecord};
pub use auth::{ExperimentOwner, GrantTarget, Protected, ReadScope, TokenInfo, TokenKind, User};
pub use group_commit::WriteStats;
pub use guard::ForeignDatabase;
pub use tracking::{NewLoggedModel, NewRun};
pub use uri::StoreUri;

use anyhow::Context;
use error::{Result, StoreError};
use group_commit::{GroupCommit, WorkFuture, WriteCounters};
use sqlx::Executor;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyConnection, Connection};
use sqlx::{AnyPool, Row};
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
                }
            }
            StoreUri::Postgres { url } => {
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(30))
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
        Ok(unit.await?)
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
        Ok(unit.await?)
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

async fn sqlite_pool(url: &str, max_connections: u32) -> anyhow::Result<AnyPool> {
    AnyPoolOptions::new()
        .max_connections(max_connections)
        .min_connections(1)
        // Writers queue for the single writer connection; under a burst that queue can be long.
        .acquire_timeout(Duration::from_secs(120))
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                // synchronous=FULL: a committed write survives power loss, not only a crash.
                // case_sensitive_like: MLflow's LIKE is case-sensitive, ILIKE is not.
                conn.execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
                     PRAGMA case_sensitive_like = ON;",
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

/// Writes the history row for a change, inside the change's own transaction.
pub(crate) async fn record_event(
    conn: &mut AnyConnection,
    at: i64,
    model_name: &str,
    version: Option<i64>,
    action: &str,
    detail: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO registry_events (at, model_name, version, action, detail) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(at)
    .bind(model_name)
    .bind(version)
    .bind(action)
    .bind(detail)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// One connection pool's state, as [`MetadataStore::pool_stats`] reports it.
#[derive(Debug, Clone, Copy)]
pub struct PoolStats {
    pub name: &'static str,
    /// Connections open now, idle or in use.
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

/// One change from the registry's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryEvent {
    pub at: i64,
    pub model_name: String,
    pub version: Option<i64>,
    pub action: String,
    pub detail: String,
}

impl MetadataStore {
    /// The history of one model, oldest first.
    pub async fn model_history(&self, name: &str) -> arca_core::Result<Vec<RegistryEvent>> {
        self.read(async |conn| {
            let rows = sqlx::query(
                "SELECT at, model_name, version, action, detail FROM registry_events \
                 WHERE model_name = $1 ORDER BY id",
            )
            .bind(name)
            .fetch_all(&mut *conn)
            .await?;
            rows.iter()
                .map(|r| {
                    Ok(RegistryEvent {
                        at: r.try_get("at")?,
                        model_name: r.try_get("model_name")?,
                        version: r.try_get("version")?,
                        action: r.try_get("action")?,
                        detail: r.try_get("detail")?,
                    })
                })
                .collect()
        })
        .await
    }
}

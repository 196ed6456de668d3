//! The artifact manifest: size and SHA-256 of every file in the artifact store.
//!
//! The server records a file after the artifact store has committed it, and forgets it after
//! the store has deleted it, so a crash between the two leaves a file without a record (it is
//! then served unverified) rather than a record without its file. Overwrites are upserts.
//!
//! Racing uploads to one path: each one's bytes are staged (complete, invisible) on their own,
//! then "make it visible, record its digest" runs under a per-path lock
//! ([`MetadataStore::begin_artifact_record`]), so the last file made visible is the last one
//! recorded, and the record always describes the file that is there. Without it, the upload that
//! lost the race (its file replaced) could record last, and every download of the winner would
//! then fail verification. The lock is a stripe of in-process mutexes (one server) and, on
//! PostgreSQL, a transaction-scoped advisory lock on the path's hash as well (several servers
//! sharing a database and a bucket); the record is written in that same transaction, so a holder
//! never needs a second connection.
//!
//! Manifests are directory prefixes. Paths are validated [`ArtifactPath`]s, so a directory's
//! files are exactly the keys in `[dir + "/", dir + "0")` ('0' is the byte after '/'): a range
//! scan on the primary key, with no LIKE pattern to escape. PostgreSQL's column is
//! `COLLATE "C"` so that both backends compare bytes. Pages resume after the last path of the
//! previous page (keyset): every page is one index range scan of its own length, however deep.

use crate::error::Result;
use crate::{Backend, MetadataStore, now_millis};
use arca_core::artifact_path::{ArtifactDigest, ArtifactPath};
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Row, Transaction};
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use tokio::sync::{Mutex, OwnedMutexGuard};

/// In-process commit locks. Few stripes: a holder only renames a file (or completes an upload)
/// and writes one row, and on PostgreSQL each holder also holds a pooled connection.
pub(crate) const COMMIT_STRIPES: usize = 8;

#[derive(Clone)]
pub(crate) struct CommitOrder(Arc<[Arc<Mutex<()>>]>);

impl Default for CommitOrder {
    fn default() -> Self {
        CommitOrder((0..COMMIT_STRIPES).map(|_| Arc::default()).collect())
    }
}

impl CommitOrder {
    async fn lock(&self, path: &ArtifactPath) -> OwnedMutexGuard<()> {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        path.as_str().hash(&mut hasher);
        let stripe = usize::try_from(hasher.finish() % COMMIT_STRIPES as u64).unwrap_or(0);
        Arc::clone(&self.0[stripe]).lock_owned().await
    }
}

/// The right to make a file visible at one path and record it, before any other upload to that
/// path may (see the module docs). Dropped without [`PendingArtifactRecord::record`], it
/// records nothing and releases the path.
pub struct PendingArtifactRecord<'a> {
    store: &'a MetadataStore,
    path: ArtifactPath,
    /// PostgreSQL: the transaction holding the advisory lock; the record is written in it.
    locked: Option<Transaction<'static, Any>>,
    _in_process: OwnedMutexGuard<()>,
}

/// One page of a manifest, and the path to resume after when there are more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactPage {
    pub files: Vec<ArtifactDigest>,
    pub next_after: Option<String>,
}

fn digest_from_row(row: &AnyRow) -> Result<ArtifactDigest> {
    Ok(ArtifactDigest {
        path: row.try_get("path")?,
        size: row.try_get("size")?,
        sha256: row.try_get("sha256")?,
    })
}

/// The bounds of the keys strictly below `dir`.
fn below(dir: &ArtifactPath) -> (String, String) {
    (format!("{dir}/"), format!("{dir}0"))
}

async fn upsert_digest(
    conn: &mut AnyConnection,
    path: &ArtifactPath,
    size: i64,
    sha256: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO artifact_files (path, size, sha256, stored_at) \
         VALUES ($1, $2, $3, $4) \
         ON CONFLICT (path) DO UPDATE SET size = excluded.size, \
         sha256 = excluded.sha256, stored_at = excluded.stored_at",
    )
    .bind(path.as_str())
    .bind(size)
    .bind(sha256)
    .bind(now_millis())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl PendingArtifactRecord<'_> {
    /// Records the file just made visible at the path, and releases the path. On failure any
    /// earlier record of the path is dropped too (see [`MetadataStore::record_stored_file`]).
    pub async fn record(self, size: u64, sha256: &str) -> arca_core::Result<()> {
        let PendingArtifactRecord {
            store,
            path,
            locked,
            _in_process,
        } = self;
        let Some(mut tx) = locked else {
            return store.record_stored_file(&path, size, sha256).await;
        };
        let size = i64::try_from(size).map_err(|e| db_value("size", e))?;
        let written = async {
            upsert_digest(&mut tx, &path, size, sha256).await?;
            tx.commit().await?;
            Ok::<_, crate::error::StoreError>(())
        }
        .await;
        if let Err(err) = written {
            let _ = store.forget_artifacts(&path).await;
            return Err(err.into());
        }
        Ok(())
    }
}

impl MetadataStore {
    /// Takes the right to make a file visible at `path` and record it (see the module docs):
    /// call it once the upload is staged, then commit the file, then
    /// [`PendingArtifactRecord::record`].
    pub async fn begin_artifact_record(
        &self,
        path: &ArtifactPath,
    ) -> arca_core::Result<PendingArtifactRecord<'_>> {
        let in_process = self.artifact_commits.lock(path).await;
        let locked = match self.backend {
            Backend::Sqlite => None,
            Backend::Postgres => {
                let lock = async {
                    let mut tx = self.writer.begin().await?;
                    // Wrapped so that the row has a column type the Any driver reads (the
                    // lock function returns `void`).
                    sqlx::query(
                        "SELECT 1 AS locked FROM \
                         (SELECT pg_advisory_xact_lock(hashtextextended($1, 0))) AS taken",
                    )
                    .bind(path.as_str())
                    .execute(&mut *tx)
                    .await?;
                    Ok::<_, crate::error::StoreError>(tx)
                };
                Some(lock.await?)
            }
        };
        Ok(PendingArtifactRecord {
            store: self,
            path: path.clone(),
            locked,
            _in_process: in_process,
        })
    }

    /// Records (or, for an overwrite, replaces) the size and SHA-256 of a stored file.
    pub async fn record_artifact(
        &self,
        path: &ArtifactPath,
        size: u64,
        sha256: &str,
    ) -> arca_core::Result<()> {
        let size = i64::try_from(size).map_err(|e| db_value("size", e))?;
        let path = path.clone();
        let sha256 = sha256.to_owned();
        self.write(move |conn| {
            Box::pin(async move { upsert_digest(conn, &path, size, &sha256).await })
        })
        .await
    }

    /// The recorded size and SHA-256 of one file, if it was recorded.
    pub async fn artifact_digest(
        &self,
        path: &ArtifactPath,
    ) -> arca_core::Result<Option<ArtifactDigest>> {
        self.read(async |conn| {
            sqlx::query("SELECT path, size, sha256 FROM artifact_files WHERE path = $1")
                .bind(path.as_str())
                .fetch_optional(&mut *conn)
                .await?
                .as_ref()
                .map(digest_from_row)
                .transpose()
        })
        .await
    }

    /// Every recorded file below `dir` (`None`: the whole store), at any depth, by path. Paths
    /// are full store paths.
    pub async fn artifact_manifest(
        &self,
        dir: Option<&ArtifactPath>,
    ) -> arca_core::Result<Vec<ArtifactDigest>> {
        self.read(async |conn| {
            let rows = match dir {
                Some(dir) => {
                    let (from, to) = below(dir);
                    sqlx::query(
                        "SELECT path, size, sha256 FROM artifact_files \
                         WHERE path >= $1 AND path < $2 ORDER BY path",
                    )
                    .bind(from)
                    .bind(to)
                    .fetch_all(&mut *conn)
                    .await?
                }
                None => {
                    sqlx::query("SELECT path, size, sha256 FROM artifact_files ORDER BY path")
                        .fetch_all(&mut *conn)
                        .await?
                }
            };
            rows.iter().map(digest_from_row).collect()
        })
        .await
    }

    /// At most `limit` recorded files below `dir` (`None`: the whole store), by path, starting
    /// after the path `after` (`None`: from the first). Paths are full store paths.
    pub async fn artifact_manifest_page(
        &self,
        dir: Option<&ArtifactPath>,
        after: Option<&str>,
        limit: u32,
    ) -> arca_core::Result<ArtifactPage> {
        let limit = limit.max(1);
        let range = dir.map(below);
        // One lower bound, the later of the directory's start and the page's: SQLite uses only
        // one lower bound of an index range, and the other would be checked row by row from
        // the directory's first file on every page.
        let lower = match (&range, after) {
            (Some((from, _)), Some(after)) if after >= from.as_str() => after.to_owned(),
            (Some((from, _)), _) => from.clone(),
            (None, after) => after.unwrap_or_default().to_owned(),
        };
        self.read(async |conn| {
            let rows = match &range {
                Some((_, to)) => {
                    sqlx::query(
                        "SELECT path, size, sha256 FROM artifact_files \
                         WHERE path > $1 AND path < $2 ORDER BY path LIMIT $3",
                    )
                    .bind(&lower)
                    .bind(to)
                    .bind(i64::from(limit) + 1)
                    .fetch_all(&mut *conn)
                    .await?
                }
                None => {
                    sqlx::query(
                        "SELECT path, size, sha256 FROM artifact_files \
                         WHERE path > $1 ORDER BY path LIMIT $2",
                    )
                    .bind(&lower)
                    .bind(i64::from(limit) + 1)
                    .fetch_all(&mut *conn)
                    .await?
                }
            };
            let mut files = rows
                .iter()
                .map(digest_from_row)
                .collect::<Result<Vec<_>>>()?;
            let more = files.len() > limit as usize;
            files.truncate(limit as usize);
            let next_after = more.then(|| files.last().map(|f| f.path.clone())).flatten();
            Ok(ArtifactPage { files, next_after })
        })
        .await
    }

    /// Records a file the artifact store has just stored. When that fails, any record of an
    /// earlier file at the same path is dropped as well: a download of the new bytes must never
    /// be checked against the old digest (unrecorded files are served unverified).
    pub async fn record_stored_file(
        &self,
        path: &ArtifactPath,
        size: u64,
        sha256: &str,
    ) -> arca_core::Result<()> {
        if let Err(err) = self.record_artifact(path, size, sha256).await {
            let _ = self.forget_artifacts(path).await;
            return Err(err);
        }
        Ok(())
    }

    /// Forgets the file at `path` and every file below `path/`; returns how many records went.
    pub async fn forget_artifacts(&self, path: &ArtifactPath) -> arca_core::Result<u64> {
        let (from, to) = below(path);
        let path = path.clone();
        self.write(move |conn| {
            Box::pin(async move {
                let path = &path;
                let done = sqlx::query(
                    "DELETE FROM artifact_files WHERE path = $1 OR (path >= $2 AND path < $3)",
                )
                .bind(path.as_str())
                .bind(from)
                .bind(to)
                .execute(&mut *conn)
                .await?;
                Ok(done.rows_affected())
            })
        })
        .await
    }
}

fn db_value(what: &str, err: impl std::error::Error + Send + Sync + 'static) -> arca_core::Error {
    arca_core::Error::Internal(anyhow::Error::new(err).context(format!("artifact {what}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StoreUri;

    fn p(raw: &str) -> ArtifactPath {
        ArtifactPath::parse(raw).unwrap()
    }

    fn paths(digests: &[ArtifactDigest]) -> Vec<&str> {
        digests.iter().map(|d| d.path.as_str()).collect()
    }

    /// 100,000 files in one directory, with neighbours outside it: paging by 1,000 visits each
    /// once, in order, and each page's query is one range search of the primary key (no scan,
    /// no sort), so the last page costs what the first does.
    #[tokio::test]
    async fn manifest_pages_walk_100_000_files_by_the_index() {
        let dir = tempfile::tempdir().unwrap();
        let registry = MetadataStore::open(&StoreUri::sqlite(dir.path().join("a.db")))
            .await
            .unwrap();
        const FILES: usize = 100_000;
        registry
            .write(move |conn| {
                Box::pin(async move {
                    for path in ["big", "big0/x", "big-a/y", "other/z"]
                        .into_iter()
                        .map(str::to_owned)
                        .chain((0..FILES).map(|i| format!("big/{:03}/f{i}", i % 997)))
                    {
                        upsert_digest(conn, &p(&path), 1, &"c".repeat(64)).await?;
                    }
                    Ok(())
                })
            })
            .await
            .unwrap();

        let mut walked: Vec<String> = Vec::new();
        let mut after: Option<String> = None;
        let mut pages = 0;
        loop {
            let page = registry
                .artifact_manifest_page(Some(&p("big")), after.as_deref(), 1000)
                .await
                .unwrap();
            pages += 1;
            assert!(page.files.len() <= 1000);
            walked.extend(page.files.into_iter().map(|f| f.path));
            match page.next_after {
                Some(last) => after = Some(last),
                None => break,
            }
        }
        assert_eq!(pages, FILES / 1000);
        assert_eq!(walked.len(), FILES);
        assert!(
            walked.windows(2).all(|w| w[0] < w[1]),
            "in path order, no repeats"
        );
        assert!(walked.iter().all(|path| path.starts_with("big/")));

        let whole = registry
            .artifact_manifest_page(None, None, 10)
            .await
            .unwrap();
        assert_eq!(whole.files[0].path, "big");
        assert!(whole.next_after.is_some());

        let plan: Vec<String> = registry
            .read(async |conn| {
                let rows = sqlx::query(
                    "EXPLAIN QUERY PLAN SELECT path, size, sha256 FROM artifact_files \
                     WHERE path > $1 AND path < $2 ORDER BY path LIMIT $3",
                )
                .bind("big/500/f50000")
                .bind("big0")
                .bind(1001_i64)
                .fetch_all(&mut *conn)
                .await?;
                rows.iter()
                    .map(|row| Ok(row.try_get::<String, _>("detail")?))
                    .collect::<Result<Vec<_>>>()
            })
            .await
            .unwrap();
        let plan = plan.join("; ");
        assert!(
            plan.contains("SEARCH artifact_files USING INDEX")
                && plan.contains("(path>? AND path<?)"),
            "{plan}"
        );
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }

    #[tokio::test]
    async fn manifests_are_prefix_ranges_and_forgetting_is_recursive() {
        let dir = tempfile::tempdir().unwrap();
        let registry = MetadataStore::open(&StoreUri::sqlite(dir.path().join("a.db")))
            .await
            .unwrap();
        for (path, size) in [
            ("0/run/artifacts/MLmodel", 10),
            ("0/run/artifacts/sub/x.bin", 20),
            ("0/run/artifacts0", 1),
            ("0/run/artifacts-other/y", 2),
            ("0/run/artifactsZ", 3),
            ("1/other", 4),
        ] {
            registry
                .record_artifact(&p(path), size, &"a".repeat(64))
                .await
                .unwrap();
        }
        let manifest = registry
            .artifact_manifest(Some(&p("0/run/artifacts")))
            .await
            .unwrap();
        assert_eq!(
            paths(&manifest),
            ["0/run/artifacts/MLmodel", "0/run/artifacts/sub/x.bin"]
        );
        assert_eq!(manifest[1].size, 20);
        assert_eq!(registry.artifact_manifest(None).await.unwrap().len(), 6);

        registry
            .record_artifact(&p("0/run/artifacts/MLmodel"), 11, &"b".repeat(64))
            .await
            .unwrap();
        let digest = registry
            .artifact_digest(&p("0/run/artifacts/MLmodel"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((digest.size, digest.sha256), (11, "b".repeat(64)));
        assert_eq!(registry.artifact_digest(&p("nope")).await.unwrap(), None);

        assert_eq!(
            registry
                .forget_artifacts(&p("0/run/artifacts"))
                .await
                .unwrap(),
            2
        );
        assert_eq!(
            paths(&registry.artifact_manifest(Some(&p("0/run"))).await.unwrap()),
            [
                "0/run/artifacts-other/y",
                "0/run/artifacts0",
                "0/run/artifactsZ"
            ]
        );
        assert_eq!(registry.forget_artifacts(&p("1/other")).await.unwrap(), 1);
    }
}

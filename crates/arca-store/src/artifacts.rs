//! The artifact manifest: size and SHA-256 of every file in the artifact store.
//!
//! The server records a file after the artifact store has committed it, and forgets it after
//! the store has deleted it, so a crash between the two leaves a file without a record (it is
//! then served unverified) rather than a record without its file. Overwrites are upserts.
//!
//! Manifests are directory prefixes. Paths are validated [`ArtifactPath`]s, so a directory's
//! files are exactly the keys in `[dir + "/", dir + "0")` ('0' is the byte after '/'): a range
//! scan on the primary key, with no LIKE pattern to escape. PostgreSQL's column is
//! `COLLATE "C"` so that both backends compare bytes.

use crate::error::Result;
use crate::{MetadataStore, now_millis};
use arca_core::artifact_path::{ArtifactDigest, ArtifactPath};
use sqlx::Row;
use sqlx::any::AnyRow;

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

impl MetadataStore {
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
            Box::pin(async move {
                let path = &path;
                let sha256 = sha256.as_str();
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
            })
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

//! One model's versions, a page at a time, for the model page of the web UI.
//!
//! A model can hold hundreds of thousands of versions (MLflow's own page gives up near 200,000),
//! so nothing here reads them all: the filter becomes a WHERE clause with bound values over one
//! model's rows, ordered by version number (the primary key `(model_id, version)`, or
//! `model_versions_stage` when a stage is chosen, so the order costs no sort), and a page is
//! `LIMIT`/`OFFSET` plus two batch queries for its tags and aliases. The version number orders
//! versions by creation: numbers are handed out in the order versions are created.

use crate::MetadataStore;
use crate::error::Result;
use crate::models::model_id;
use crate::sql::SqlBuilder;
use crate::versions::{DELETED_STAGE, MV_COLUMNS, attach_version_details, version_from_row};
use arca_core::model::{ModelVersion, Page, Stage};
use arca_core::search::PageToken;
use sqlx::Row;

/// Which of a model's versions to list. Empty fields select everything; soft-deleted versions
/// are never listed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionListFilter {
    pub stage: Option<Stage>,
    /// Only the version this alias points at.
    pub alias: Option<String>,
    /// Versions that carry this tag key (with `tag_value`, that exact value too).
    pub tag_key: Option<String>,
    pub tag_value: Option<String>,
    /// Created at or after this instant (epoch milliseconds).
    pub created_from: Option<i64>,
    /// Created before this instant (epoch milliseconds, exclusive).
    pub created_to: Option<i64>,
    /// Lowest version first; the default is the newest first.
    pub oldest_first: bool,
}

impl MetadataStore {
    /// Up to `limit` of the model `name`'s live versions that match `filter`, skipping `offset`,
    /// with their tags and aliases. `next_page_token` is set when more follow.
    pub async fn list_model_versions(
        &self,
        name: &str,
        filter: &VersionListFilter,
        limit: u64,
        offset: u64,
    ) -> arca_core::Result<Page<ModelVersion>> {
        self.read(async |conn| {
            let id = model_id(conn, name).await?;
            let mut q = SqlBuilder::new(&format!(
                "SELECT {MV_COLUMNS} FROM model_versions mv \
             JOIN registered_models rm ON rm.id = mv.model_id WHERE mv.model_id = "
            ));
            q.bind_int(id).push(" AND mv.current_stage <> ");
            q.bind_text(DELETED_STAGE);
            if let Some(stage) = filter.stage {
                q.push(" AND mv.current_stage = ").bind_text(stage.as_str());
            }
            if let Some(alias) = &filter.alias {
                q.push(
                    " AND mv.version IN (SELECT a.version FROM registered_model_aliases a \
                 WHERE a.model_id = ",
                );
                q.bind_int(id).push(" AND a.alias = ");
                q.bind_text(alias.as_str()).push(")");
            }
            match (&filter.tag_key, &filter.tag_value) {
                // A key and value are usually rare: read the few matching versions from the
                // `(key, value)` index instead of probing every version of the model.
                (Some(key), Some(value)) => {
                    q.push(
                        " AND mv.version IN (SELECT t.version FROM model_version_tags t \
                     WHERE t.key = ",
                    );
                    q.bind_text(key.as_str()).push(" AND t.value = ");
                    q.bind_text(value.as_str()).push(" AND t.model_id = ");
                    q.bind_int(id).push(")");
                }
                // A key alone is often on most versions: walk the versions in order and probe.
                (Some(key), None) => {
                    q.push(
                        " AND EXISTS (SELECT 1 FROM model_version_tags t \
                     WHERE t.model_id = mv.model_id AND t.version = mv.version AND t.key = ",
                    );
                    q.bind_text(key.as_str()).push(")");
                }
                (None, _) => {}
            }
            if let Some(from) = filter.created_from {
                q.push(" AND mv.creation_time >= ").bind_int(from);
            }
            if let Some(to) = filter.created_to {
                q.push(" AND mv.creation_time < ").bind_int(to);
            }
            q.push(if filter.oldest_first {
                " ORDER BY mv.version ASC"
            } else {
                " ORDER BY mv.version DESC"
            });
            // One row more than asked tells whether another page follows.
            let limit = limit.clamp(1, 10_000);
            q.push(" LIMIT ").bind_int(limit as i64 + 1);
            q.push(" OFFSET ")
                .bind_int(i64::try_from(offset).unwrap_or(i64::MAX));
            let mut rows = q.query().fetch_all(&mut *conn).await?;
            let more = rows.len() as u64 > limit;
            rows.truncate(limit as usize);
            let mut versions = rows
                .iter()
                .map(|row| version_from_row(row).map(|(_, v)| v))
                .collect::<Result<Vec<_>>>()?;
            attach_version_details(conn, id, &mut versions).await?;
            Ok(Page {
                items: versions,
                next_page_token: more.then(|| PageToken::offset(offset + limit).encode()),
            })
        })
        .await
    }

    /// How many live versions the model `name` has: what deleting the model would delete.
    pub async fn count_model_versions(&self, name: &str) -> arca_core::Result<u64> {
        self.read(async |conn| {
            let id = model_id(conn, name).await?;
            let row = sqlx::query(
                "SELECT COUNT(*) FROM model_versions WHERE model_id = $1 AND current_stage <> $2",
            )
            .bind(id)
            .bind(DELETED_STAGE)
            .fetch_one(&mut *conn)
            .await?;
            let count: i64 = row.try_get(0)?;
            Ok(count.max(0) as u64)
        })
        .await
    }
}

//! The latest metrics of many runs at once, for pages that compare model versions: a chart of
//! one metric across a model's versions reads the runs of a page of versions in a fixed number
//! of statements (`IN_LIST_MAX` runs each), never one run at a time.

use super::runs::metric_from_row;
use super::{IN_LIST_MAX, group_by_owner};
use crate::MetadataStore;
use crate::sql::{Bind, SqlBuilder};
use arca_core::tracking::Metric;
use sqlx::Row;
use std::collections::{BTreeSet, HashMap};

impl MetadataStore {
    /// The latest value of each metric of each run (of metric `key` only, when given), by run
    /// id. Unknown run ids are simply absent.
    pub async fn latest_metrics_of_runs(
        &self,
        run_ids: &[String],
        key: Option<&str>,
    ) -> arca_core::Result<HashMap<String, Vec<Metric>>> {
        self.read(async |conn| {
        let mut rows = Vec::new();
        for chunk in run_ids.chunks(IN_LIST_MAX) {
            let mut q = SqlBuilder::new(
                "SELECT run_uuid, key, value, is_nan, timestamp, step FROM latest_metrics WHERE ",
            );
            if let Some(key) = key {
                q.push("key = ").bind_text(key).push(" AND ");
            }
            q.push("run_uuid IN ")
                .bind_list(chunk.iter().map(|id| Bind::Text(id.clone())))
                .push(" ORDER BY run_uuid, key");
            rows.extend(q.query().fetch_all(&mut *conn).await?);
        }
        group_by_owner::<String, _>(&rows, metric_from_row)
        })
        .await
    }

    /// The metric keys any of these runs has logged, sorted.
    pub async fn metric_keys_of_runs(&self, run_ids: &[String]) -> arca_core::Result<Vec<String>> {
        self.read(async |conn| {
            let mut keys = BTreeSet::new();
            for chunk in run_ids.chunks(IN_LIST_MAX) {
                let mut q =
                    SqlBuilder::new("SELECT DISTINCT key FROM latest_metrics WHERE run_uuid IN ");
                q.bind_list(chunk.iter().map(|id| Bind::Text(id.clone())));
                for row in q.query().fetch_all(&mut *conn).await? {
                    keys.insert(row.try_get::<String, _>(0)?);
                }
            }
            Ok(keys.into_iter().collect())
        })
        .await
    }
}

//! Runs and what they log. A param is logged once (its value cannot change); a metric keeps
//! every (step, timestamp, value) it was given, and `latest_metrics` holds the value a run shows.

use super::experiments::load_active_experiment;
use super::log_writes::{
    insert_dataset_inputs, insert_metrics, insert_model_inputs, insert_model_outputs,
    insert_params, set_run_tags, upsert_run_tags,
};
use super::{delete_key, fetch_for_owners, group_by_owner, load_key_values_of, new_id};
use crate::error::Result;
use crate::sql::Bind;
use crate::{MetadataStore, now_millis};
use arca_core::Error;
use arca_core::model::{Page, Tag};
use arca_core::search::PageToken;
use arca_core::tracking::{
    Dataset, DatasetInput, Lifecycle, Metric, ModelOutput, Param, RUN_NAME_TAG, Run, RunInfo,
    RunStatus,
};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

pub(crate) const INFO_COLUMNS: &str = "run_uuid, experiment_id, name, user_id, status, start_time, end_time, \
                            lifecycle_stage, artifact_uri";

pub(crate) fn run_not_found(id: &str) -> Error {
    Error::not_found(format!("Run with id={id} not found"))
}

pub(crate) fn run_info_from_row(row: &AnyRow) -> Result<RunInfo> {
    let status: String = row.try_get("status")?;
    let stage: String = row.try_get("lifecycle_stage")?;
    Ok(RunInfo {
        run_id: row.try_get("run_uuid")?,
        experiment_id: row.try_get::<i64, _>("experiment_id")?.to_string(),
        run_name: row.try_get("name")?,
        user_id: row.try_get("user_id")?,
        status: RunStatus::parse(&status)?,
        start_time: row.try_get("start_time")?,
        end_time: row.try_get("end_time")?,
        artifact_uri: row.try_get("artifact_uri")?,
        lifecycle_stage: Lifecycle::from_stored(&stage),
    })
}

pub(crate) async fn load_run_info(conn: &mut AnyConnection, run_id: &str) -> Result<RunInfo> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {INFO_COLUMNS} FROM runs WHERE run_uuid = $1"
    )))
    .bind(run_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| run_not_found(run_id))?;
    run_info_from_row(&row)
}

/// Logging goes only to active runs, as in MLflow.
async fn load_active_run(conn: &mut AnyConnection, run_id: &str) -> Result<RunInfo> {
    let info = load_run_info(conn, run_id).await?;
    if info.lifecycle_stage != Lifecycle::Active {
        return Err(Error::invalid(format!(
            "The run {run_id} must be in the 'active' state. Current state is deleted."
        ))
        .into());
    }
    Ok(info)
}

pub(crate) fn metric_from_row(row: &AnyRow) -> Result<Metric> {
    let is_nan: i64 = row.try_get("is_nan")?;
    let value: f64 = row.try_get("value")?;
    Ok(Metric {
        key: row.try_get("key")?,
        value: if is_nan != 0 { f64::NAN } else { value },
        timestamp: row.try_get("timestamp")?,
        step: row.try_get("step")?,
        model_id: None,
        dataset_name: None,
        dataset_digest: None,
        run_id: None,
    })
}

pub(crate) async fn load_run(conn: &mut AnyConnection, run_id: &str) -> Result<Run> {
    let info = load_run_info(conn, run_id).await?;
    let mut runs = load_run_data(conn, vec![info]).await?;
    Ok(runs.remove(0))
}

/// The runs with everything they logged, in the order given: one statement per child table
/// per `IN_LIST_MAX` runs, so that a search page costs the same few statements whatever its
/// size.
pub(crate) async fn load_run_data(
    conn: &mut AnyConnection,
    infos: Vec<RunInfo>,
) -> Result<Vec<Run>> {
    let ids: Vec<Bind> = infos.iter().map(|i| Bind::Text(i.run_id.clone())).collect();
    let rows = fetch_for_owners(
        conn,
        "SELECT run_uuid, key, value, is_nan, timestamp, step FROM latest_metrics \
         WHERE run_uuid IN ",
        &ids,
        " ORDER BY run_uuid, key",
    )
    .await?;
    let mut metrics = group_by_owner::<String, _>(&rows, metric_from_row)?;
    let mut params = load_key_values_of::<String>(conn, "params", "run_uuid", &ids).await?;
    let mut tags = load_key_values_of::<String>(conn, "run_tags", "run_uuid", &ids).await?;
    let rows = fetch_for_owners(
        conn,
        "SELECT i.run_uuid, d.name, d.digest, d.source_type, d.source, d.schema, d.profile, \
         i.tags FROM run_dataset_inputs i JOIN datasets d ON d.dataset_uuid = i.dataset_uuid \
         WHERE i.run_uuid IN ",
        &ids,
        " ORDER BY i.run_uuid, d.name, d.digest",
    )
    .await?;
    let mut dataset_inputs = group_by_owner::<String, _>(&rows, |r| {
        let tags: String = r.try_get(7)?;
        Ok(DatasetInput {
            tags: decode_input_tags(&tags),
            dataset: Dataset {
                name: r.try_get(1)?,
                digest: r.try_get(2)?,
                source_type: r.try_get(3)?,
                source: r.try_get(4)?,
                schema: r.try_get(5)?,
                profile: r.try_get(6)?,
            },
        })
    })?;
    let rows = fetch_for_owners(
        conn,
        "SELECT run_uuid, model_id FROM run_model_inputs WHERE run_uuid IN ",
        &ids,
        " ORDER BY run_uuid, model_id",
    )
    .await?;
    let mut model_inputs = group_by_owner::<String, String>(&rows, |r| Ok(r.try_get(1)?))?;
    let rows = fetch_for_owners(
        conn,
        "SELECT run_uuid, model_id, step FROM run_model_outputs WHERE run_uuid IN ",
        &ids,
        " ORDER BY run_uuid, step, model_id",
    )
    .await?;
    let mut model_outputs = group_by_owner::<String, _>(&rows, |r| {
        Ok(ModelOutput {
            model_id: r.try_get(1)?,
            step: r.try_get(2)?,
        })
    })?;
    Ok(infos
        .into_iter()
        .map(|info| {
            let id = &info.run_id;
            Run {
                metrics: metrics.remove(id).unwrap_or_default(),
                params: params
                    .remove(id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|t| Param {
                        key: t.key,
                        value: t.value,
                    })
                    .collect(),
                tags: tags.remove(id).unwrap_or_default(),
                dataset_inputs: dataset_inputs.remove(id).unwrap_or_default(),
                model_inputs: model_inputs.remove(id).unwrap_or_default(),
                model_outputs: model_outputs.remove(id).unwrap_or_default(),
                info,
            }
        })
        .collect())
}

/// Input tags are few and small; they are kept as one JSON list per input.
pub(super) fn encode_input_tags(tags: &[Tag]) -> String {
    let pairs: Vec<[&str; 2]> = tags
        .iter()
        .map(|t| [t.key.as_str(), t.value.as_str()])
        .collect();
    serde_json::to_string(&pairs).unwrap_or_default()
}

fn decode_input_tags(stored: &str) -> Vec<Tag> {
    serde_json::from_str::<Vec<[String; 2]>>(stored)
        .unwrap_or_default()
        .into_iter()
        .map(|[key, value]| Tag { key, value })
        .collect()
}

/// What a caller supplies to start a run.
#[derive(Debug, Clone, Default)]
pub struct NewRun {
    pub experiment_id: String,
    pub user_id: String,
    pub run_name: Option<String>,
    pub start_time: Option<i64>,
    pub tags: Vec<Tag>,
}

impl MetadataStore {
    pub async fn create_run(&self, new: &NewRun) -> arca_core::Result<Run> {
        let new = new.clone();
        self.write(move |conn| {
            Box::pin(async move {
                let new = &new;
                let experiment = load_active_experiment(conn, &new.experiment_id).await?;
                let run_id = new_id();
                let name = new
                    .run_name
                    .clone()
                    .filter(|n| !n.is_empty())
                    .or_else(|| {
                        new.tags
                            .iter()
                            .find(|t| t.key == RUN_NAME_TAG)
                            .map(|t| t.value.clone())
                    })
                    .unwrap_or_else(super::names::generate);
                let artifact_uri = format!(
                    "{}/{run_id}/artifacts",
                    experiment.artifact_location.trim_end_matches('/')
                );
                // The run comes back from its INSERT and its tags are what was given: a new run
                // has nothing else, so the answer needs no read.
                let row = sqlx::query(AssertSqlSafe(format!(
                    "INSERT INTO runs (run_uuid, experiment_id, name, user_id, status, start_time, \
                     lifecycle_stage, artifact_uri) VALUES ($1, $2, $3, $4, $5, $6, 'active', $7) \
                     RETURNING {INFO_COLUMNS}"
                )))
                .bind(run_id.as_str())
                .bind(experiment.experiment_id.parse::<i64>().unwrap_or_default())
                .bind(name.as_str())
                .bind(new.user_id.as_str())
                .bind(RunStatus::Running.as_str())
                .bind(new.start_time.unwrap_or_else(now_millis))
                .bind(artifact_uri.as_str())
                .fetch_one(&mut *conn)
                .await?;
                let info = run_info_from_row(&row)?;
                let mut tags: Vec<Tag> = crate::models::dedup_tags(&new.tags)
                    .filter(|t| t.key != RUN_NAME_TAG)
                    .cloned()
                    .collect();
                tags.push(Tag {
                    key: RUN_NAME_TAG.into(),
                    value: name,
                });
                tags.sort_by(|a, b| a.key.cmp(&b.key));
                upsert_run_tags(conn, &run_id, &tags).await?;
                Ok(Run {
                    info,
                    metrics: Vec::new(),
                    params: Vec::new(),
                    tags,
                    dataset_inputs: Vec::new(),
                    model_inputs: Vec::new(),
                    model_outputs: Vec::new(),
                })
            })
        })
        .await
    }

    pub async fn get_run(&self, run_id: &str) -> arca_core::Result<Run> {
        self.read(async |conn| load_run(conn, run_id).await).await
    }

    pub async fn update_run(
        &self,
        run_id: &str,
        status: Option<RunStatus>,
        end_time: Option<i64>,
        run_name: Option<&str>,
    ) -> arca_core::Result<RunInfo> {
        let run_id = run_id.to_owned();
        let run_name = run_name.map(str::to_owned);
        self.write(move |conn| {
            Box::pin(async move {
                let run_id = run_id.as_str();
                let run_name = run_name.as_deref();
                load_active_run(conn, run_id).await?;
                if let Some(status) = status {
                    sqlx::query("UPDATE runs SET status = $2 WHERE run_uuid = $1")
                        .bind(run_id)
                        .bind(status.as_str())
                        .execute(&mut *conn)
                        .await?;
                }
                if let Some(end_time) = end_time {
                    sqlx::query("UPDATE runs SET end_time = $2 WHERE run_uuid = $1")
                        .bind(run_id)
                        .bind(end_time)
                        .execute(&mut *conn)
                        .await?;
                }
                if let Some(name) = run_name.filter(|n| !n.is_empty()) {
                    let tag = Tag {
                        key: RUN_NAME_TAG.into(),
                        value: name.into(),
                    };
                    set_run_tags(conn, run_id, &[tag]).await?;
                }
                let info = load_run_info(conn, run_id).await?;
                Ok(info)
            })
        })
        .await
    }

    pub async fn delete_run(&self, run_id: &str) -> arca_core::Result<()> {
        self.set_run_lifecycle(run_id, Lifecycle::Deleted).await
    }

    pub async fn restore_run(&self, run_id: &str) -> arca_core::Result<()> {
        self.set_run_lifecycle(run_id, Lifecycle::Active).await
    }

    async fn set_run_lifecycle(&self, run_id: &str, to: Lifecycle) -> arca_core::Result<()> {
        let run_id = run_id.to_owned();
        self.write(move |conn| {
            Box::pin(async move {
                let run_id = run_id.as_str();
                load_run_info(conn, run_id).await?;
                let deleted_time = (to == Lifecycle::Deleted).then(now_millis);
                sqlx::query(
                    "UPDATE runs SET lifecycle_stage = $2, deleted_time = $3 WHERE run_uuid = $1",
                )
                .bind(run_id)
                .bind(to.as_str())
                .bind(deleted_time)
                .execute(&mut *conn)
                .await?;
                Ok(())
            })
        })
        .await
    }

    /// Params, metrics and tags of one request, applied together or not at all.
    pub async fn log_batch(
        &self,
        run_id: &str,
        metrics: &[Metric],
        params: &[Param],
        tags: &[Tag],
    ) -> arca_core::Result<()> {
        let run_id = run_id.to_owned();
        let metrics = metrics.to_vec();
        let params = params.to_vec();
        let tags = tags.to_vec();
        self.write(move |conn| {
            Box::pin(async move {
                let run_id = run_id.as_str();
                let metrics = metrics.as_slice();
                let params = params.as_slice();
                let tags = tags.as_slice();
                load_active_run(conn, run_id).await?;
                insert_params(conn, run_id, params).await?;
                insert_metrics(conn, run_id, metrics).await?;
                set_run_tags(conn, run_id, tags).await?;
                Ok(())
            })
        })
        .await
    }

    pub async fn delete_run_tag(&self, run_id: &str, key: &str) -> arca_core::Result<()> {
        let run_id = run_id.to_owned();
        let key = key.to_owned();
        self.write(move |conn| {
            Box::pin(async move {
                let run_id = run_id.as_str();
                let key = key.as_str();
                load_active_run(conn, run_id).await?;
                if !delete_key(conn, "run_tags", "run_uuid", Bind::Text(run_id.into()), key).await?
                {
                    return Err(Error::not_found(format!(
                        "No tag with name: {key} in run with id {run_id}"
                    ))
                    .into());
                }
                Ok(())
            })
        })
        .await
    }

    /// Every logged value of one metric, by step then timestamp.
    pub async fn get_metric_history(
        &self,
        run_id: &str,
        key: &str,
        max_results: u64,
        page_token: Option<&PageToken>,
    ) -> arca_core::Result<Page<Metric>> {
        self.read(async |conn| {
            load_run_info(conn, run_id).await?;
            let offset = match page_token.map(|t| &t.start) {
                None => 0,
                Some(arca_core::search::PageStart::Offset(n)) => *n,
                Some(arca_core::search::PageStart::After(_)) => {
                    return Err(arca_core::Error::invalid(
                        "Invalid page token: it was issued for a search, not for a metric's history",
                    )
                    .into());
                }
            };
            let rows = sqlx::query(
                "SELECT key, value, is_nan, timestamp, step FROM metrics \
                 WHERE run_uuid = $1 AND key = $2 ORDER BY step, timestamp, value LIMIT $3 OFFSET $4",
            )
            .bind(run_id)
            .bind(key)
            .bind(max_results as i64 + 1)
            .bind(offset as i64)
            .fetch_all(&mut *conn)
            .await?;
            let next_page_token = crate::search::next_token(rows.len(), max_results, offset);
            let items = rows
                .iter()
                .take(max_results as usize)
                .map(metric_from_row)
                .collect::<Result<Vec<_>>>()?;
            Ok(Page {
                items,
                next_page_token,
            })
        })
        .await
    }

    /// Records datasets (deduplicated per experiment by name and digest) and models as inputs.
    pub async fn log_inputs(
        &self,
        run_id: &str,
        datasets: &[DatasetInput],
        model_ids: &[String],
    ) -> arca_core::Result<()> {
        let run_id = run_id.to_owned();
        let datasets = datasets.to_vec();
        let model_ids = model_ids.to_vec();
        self.write(move |conn| {
            Box::pin(async move {
                let run_id = run_id.as_str();
                let datasets = datasets.as_slice();
                let model_ids = model_ids.as_slice();
                let info = load_active_run(conn, run_id).await?;
                let experiment_id: i64 = info.experiment_id.parse().unwrap_or_default();
                insert_dataset_inputs(conn, run_id, experiment_id, datasets).await?;
                insert_model_inputs(conn, run_id, model_ids).await?;
                Ok(())
            })
        })
        .await
    }

    pub async fn log_outputs(
        &self,
        run_id: &str,
        outputs: &[ModelOutput],
    ) -> arca_core::Result<()> {
        let run_id = run_id.to_owned();
        let outputs = outputs.to_vec();
        self.write(move |conn| {
            Box::pin(async move {
                let run_id = run_id.as_str();
                let outputs = outputs.as_slice();
                load_active_run(conn, run_id).await?;
                insert_model_outputs(conn, run_id, outputs).await?;
                Ok(())
            })
        })
        .await
    }
}

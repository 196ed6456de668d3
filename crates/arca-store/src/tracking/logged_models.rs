//! MLflow 3 logged models: the files `log_model` writes, created PENDING, finalized READY once
//! uploaded, then registered as model versions (`source = models:/m-<id>`).

use super::experiments::load_active_experiment;
use super::{delete_key, fetch_for_owners, group_by_owner, load_key_values_of, upsert_key_value};
use crate::error::Result;
use crate::sql::Bind;
use crate::{MetadataStore, now_millis};
use arca_core::Error;
use arca_core::model::Tag;
use arca_core::tracking::{LoggedModel, LoggedModelStatus, Metric, Param};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

pub(crate) const COLUMNS: &str = "model_id, experiment_id, name, artifact_uri, status, \
     status_message, model_type, source_run_id, creation_time, last_updated_time";

pub(crate) fn logged_model_not_found(id: &str) -> Error {
    Error::not_found(format!("Logged model with ID '{id}' not found."))
}

/// What a caller supplies to create a logged model.
#[derive(Debug, Clone, Default)]
pub struct NewLoggedModel {
    pub experiment_id: String,
    pub name: Option<String>,
    pub model_type: Option<String>,
    pub source_run_id: Option<String>,
    pub params: Vec<Param>,
    pub tags: Vec<Tag>,
}

pub(crate) fn logged_model_from_row(row: &AnyRow) -> Result<LoggedModel> {
    let status: String = row.try_get("status")?;
    Ok(LoggedModel {
        model_id: row.try_get("model_id")?,
        experiment_id: row.try_get::<i64, _>("experiment_id")?.to_string(),
        name: row.try_get("name")?,
        artifact_uri: row.try_get("artifact_uri")?,
        status: LoggedModelStatus::parse(&status)?,
        status_message: row.try_get("status_message")?,
        model_type: row.try_get("model_type")?,
        source_run_id: row.try_get("source_run_id")?,
        creation_timestamp_ms: row.try_get("creation_time")?,
        last_updated_timestamp_ms: row.try_get("last_updated_time")?,
        tags: Vec::new(),
        params: Vec::new(),
        metrics: Vec::new(),
    })
}

/// Fills in the tags, params and metrics (those runs logged against each model) of `models`:
/// one statement per child table per `IN_LIST_MAX` models, so that a search page costs the
/// same few statements whatever its size, as `load_run_data` does for runs.
pub(crate) async fn attach_logged_model_details(
    conn: &mut AnyConnection,
    models: &mut [LoggedModel],
) -> Result<()> {
    let ids: Vec<Bind> = models
        .iter()
        .map(|m| Bind::Text(m.model_id.clone()))
        .collect();
    let mut tags =
        load_key_values_of::<String>(conn, "logged_model_tags", "model_id", &ids).await?;
    let mut params =
        load_key_values_of::<String>(conn, "logged_model_params", "model_id", &ids).await?;
    let rows = fetch_for_owners(
        conn,
        "SELECT model_id, run_uuid, key, value, is_nan, timestamp, step, dataset_name, \
         dataset_digest FROM metrics WHERE model_id IN ",
        &ids,
        " ORDER BY model_id, key, step, timestamp",
    )
    .await?;
    let mut metrics = group_by_owner::<String, _>(&rows, |r| {
        Ok(Metric {
            model_id: Some(r.try_get("model_id")?),
            dataset_name: r.try_get("dataset_name")?,
            dataset_digest: r.try_get("dataset_digest")?,
            run_id: Some(r.try_get("run_uuid")?),
            ..super::runs::metric_from_row(r)?
        })
    })?;
    for model in models {
        model.tags = tags.remove(&model.model_id).unwrap_or_default();
        model.params = params
            .remove(&model.model_id)
            .unwrap_or_default()
            .into_iter()
            .map(|t| Param {
                key: t.key,
                value: t.value,
            })
            .collect();
        model.metrics = metrics.remove(&model.model_id).unwrap_or_default();
    }
    Ok(())
}

/// A live (not deleted) logged model with its details.
pub(crate) async fn load_logged_model(conn: &mut AnyConnection, id: &str) -> Result<LoggedModel> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM logged_models WHERE model_id = $1 AND lifecycle_stage = 'active'"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| logged_model_not_found(id))?;
    let mut model = logged_model_from_row(&row)?;
    attach_logged_model_details(conn, std::slice::from_mut(&mut model)).await?;
    Ok(model)
}

impl MetadataStore {
    pub async fn create_logged_model(
        &self,
        new: &NewLoggedModel,
    ) -> arca_core::Result<LoggedModel> {
        let now = now_millis();
        let new = new.clone();
        self.write(move |conn| {
            Box::pin(async move {
                let new = &new;
                let experiment = load_active_experiment(conn, &new.experiment_id).await?;
                if let Some(run_id) = &new.source_run_id {
                    super::load_run_info(conn, run_id).await?;
                }
                let model_id = format!("m-{}", super::new_id());
                let name = new
                    .name
                    .clone()
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(super::names::generate);
                let artifact_uri = format!(
                    "{}/models/{model_id}/artifacts",
                    experiment.artifact_location.trim_end_matches('/')
                );
                sqlx::query(
                "INSERT INTO logged_models (model_id, experiment_id, name, artifact_uri, status, \
                 model_type, source_run_id, lifecycle_stage, creation_time, last_updated_time) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8, $8)",
            )
            .bind(model_id.as_str())
            .bind(experiment.experiment_id.parse::<i64>().unwrap_or_default())
            .bind(name.as_str())
            .bind(artifact_uri.as_str())
            .bind(LoggedModelStatus::Pending.as_str())
            .bind(new.model_type.as_deref().unwrap_or(""))
            .bind(new.source_run_id.as_deref())
            .bind(now)
            .execute(&mut *conn)
            .await?;
                let id = Bind::Text(model_id.clone());
                for p in &new.params {
                    upsert_key_value(
                        conn,
                        "logged_model_params",
                        "model_id",
                        id.clone(),
                        &p.key,
                        &p.value,
                    )
                    .await?;
                }
                for t in crate::models::dedup_tags(&new.tags) {
                    upsert_key_value(
                        conn,
                        "logged_model_tags",
                        "model_id",
                        id.clone(),
                        &t.key,
                        &t.value,
                    )
                    .await?;
                }
                let model = load_logged_model(conn, &model_id).await?;
                Ok(model)
            })
        })
        .await
    }

    pub async fn get_logged_model(&self, id: &str) -> arca_core::Result<LoggedModel> {
        self.read(async |conn| load_logged_model(conn, id).await)
            .await
    }

    pub async fn finalize_logged_model(
        &self,
        id: &str,
        status: LoggedModelStatus,
    ) -> arca_core::Result<LoggedModel> {
        let id = id.to_owned();
        self.write(move |conn| {
            Box::pin(async move {
                let id = id.as_str();
                load_logged_model(conn, id).await?;
                sqlx::query(
                "UPDATE logged_models SET status = $2, last_updated_time = $3 WHERE model_id = $1",
            )
            .bind(id)
            .bind(status.as_str())
            .bind(now_millis())
            .execute(&mut *conn)
            .await?;
                let model = load_logged_model(conn, id).await?;
                Ok(model)
            })
        })
        .await
    }

    pub async fn delete_logged_model(&self, id: &str) -> arca_core::Result<()> {
        let id = id.to_owned();
        self.write(move |conn| {
            Box::pin(async move {
                let id = id.as_str();
                load_logged_model(conn, id).await?;
                sqlx::query(
                    "UPDATE logged_models SET lifecycle_stage = 'deleted', last_updated_time = $2 \
                 WHERE model_id = $1",
                )
                .bind(id)
                .bind(now_millis())
                .execute(&mut *conn)
                .await?;
                Ok(())
            })
        })
        .await
    }

    pub async fn set_logged_model_tags(&self, id: &str, tags: &[Tag]) -> arca_core::Result<()> {
        let id = id.to_owned();
        let tags = tags.to_vec();
        self.write(move |conn| {
            Box::pin(async move {
                let id = id.as_str();
                let tags = tags.as_slice();
                load_logged_model(conn, id).await?;
                for t in crate::models::dedup_tags(tags) {
                    upsert_key_value(
                        conn,
                        "logged_model_tags",
                        "model_id",
                        Bind::Text(id.into()),
                        &t.key,
                        &t.value,
                    )
                    .await?;
                }
                Ok(())
            })
        })
        .await
    }

    pub async fn delete_logged_model_tag(&self, id: &str, key: &str) -> arca_core::Result<()> {
        let id = id.to_owned();
        let key = key.to_owned();
        self.write(move |conn| {
            Box::pin(async move {
                let id = id.as_str();
                let key = key.as_str();
                load_logged_model(conn, id).await?;
                if !delete_key(
                    conn,
                    "logged_model_tags",
                    "model_id",
                    Bind::Text(id.into()),
                    key,
                )
                .await?
                {
                    return Err(Error::not_found(format!(
                        "No tag with key '{key}' found for logged model with ID '{id}'."
                    ))
                    .into());
                }
                Ok(())
            })
        })
        .await
    }

    pub async fn log_logged_model_params(
        &self,
        id: &str,
        params: &[Param],
    ) -> arca_core::Result<()> {
        let id = id.to_owned();
        let params = params.to_vec();
        self.write(move |conn| {
            Box::pin(async move {
                let id = id.as_str();
                let params = params.as_slice();
                load_logged_model(conn, id).await?;
                for p in params {
                    upsert_key_value(
                        conn,
                        "logged_model_params",
                        "model_id",
                        Bind::Text(id.into()),
                        &p.key,
                        &p.value,
                    )
                    .await?;
                }
                Ok(())
            })
        })
        .await
    }
}

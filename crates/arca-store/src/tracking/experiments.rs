//! Experiments: named groups of runs with an artifact location, soft-deleted and restorable.

use super::{delete_key, load_key_values, upsert_key_value};
use crate::error::Result;
use crate::sql::Bind;
use crate::{MetadataStore, now_millis};
use arca_core::Error;
use arca_core::model::Tag;
use arca_core::tracking::{DEFAULT_EXPERIMENT_ID, Experiment, Lifecycle};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

const COLUMNS: &str =
    "experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time";

pub(crate) fn experiment_not_found(id: &str) -> Error {
    Error::not_found(format!("No Experiment with id={id} exists"))
}

/// Experiment ids are integers on the wire as text; anything else names no experiment.
pub(crate) fn parse_experiment_id(id: &str) -> arca_core::Result<i64> {
    id.trim()
        .parse::<i64>()
        .map_err(|_| experiment_not_found(id))
}

pub(crate) fn experiment_from_row(row: &AnyRow) -> Result<Experiment> {
    let stage: String = row.try_get("lifecycle_stage")?;
    Ok(Experiment {
        experiment_id: row.try_get::<i64, _>("experiment_id")?.to_string(),
        name: row.try_get("name")?,
        artifact_location: row.try_get("artifact_location")?,
        lifecycle_stage: Lifecycle::from_stored(&stage),
        creation_time: row.try_get("creation_time")?,
        last_update_time: row.try_get("last_update_time")?,
        tags: Vec::new(),
    })
}

pub(crate) async fn load_experiment(conn: &mut AnyConnection, id: &str) -> Result<Experiment> {
    let numeric = parse_experiment_id(id)?;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM experiments WHERE experiment_id = $1"
    )))
    .bind(numeric)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| experiment_not_found(id))?;
    let mut experiment = experiment_from_row(&row)?;
    experiment.tags =
        load_key_values(conn, "experiment_tags", "experiment_id", Bind::Int(numeric)).await?;
    Ok(experiment)
}

/// The experiment, which must be active for runs and models to be added to it.
pub(crate) async fn load_active_experiment(
    conn: &mut AnyConnection,
    id: &str,
) -> Result<Experiment> {
    let experiment = load_experiment(conn, id).await?;
    if experiment.lifecycle_stage != Lifecycle::Active {
        return Err(Error::invalid(format!(
            "The experiment {id} must be in the 'active' state. Current state is deleted."
        ))
        .into());
    }
    Ok(experiment)
}

impl MetadataStore {
    /// Creates an experiment; without an `artifact_location` its files go through the server's
    /// artifact proxy under `mlflow-artifacts:/<id>`.
    pub async fn create_experiment(
        &self,
        name: &str,
        artifact_location: Option<&str>,
        tags: &[Tag],
    ) -> arca_core::Result<String> {
        self.create_experiment_by(name, artifact_location, tags, None)
            .await
    }

    /// Creates an experiment and gives `creator` (a user id) MANAGE on it in the same
    /// transaction, as [`MetadataStore::create_registered_model_by`] does for models.
    pub async fn create_experiment_by(
        &self,
        name: &str,
        artifact_location: Option<&str>,
        tags: &[Tag],
        creator: Option<i64>,
    ) -> arca_core::Result<String> {
        if name.trim().is_empty() {
            return Err(Error::invalid("Experiment name cannot be empty."));
        }
        if let Some(location) = artifact_location {
            arca_core::artifact_path::validate_source_uri(location)?;
        }
        let now = now_millis();
        let name = name.to_owned();
        let artifact_location = artifact_location.map(str::to_owned);
        let tags = tags.to_vec();
        self.write(move |conn| {
            Box::pin(async move {
                let name = name.as_str();
                let artifact_location = artifact_location.as_deref();
                let tags = tags.as_slice();
                let id: i64 = sqlx::query(
                "INSERT INTO experiments (name, artifact_location, lifecycle_stage, creation_time, \
                 last_update_time) VALUES ($1, $2, 'active', $3, $3) ON CONFLICT (name) DO NOTHING \
                 RETURNING experiment_id",
            )
            .bind(name)
            .bind(artifact_location.unwrap_or(""))
            .bind(now)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| {
                Error::AlreadyExists(format!("Experiment(name={name}) already exists."))
            })?
            .try_get(0)?;
                if artifact_location.is_none() {
                    sqlx::query(
                        "UPDATE experiments SET artifact_location = $2 WHERE experiment_id = $1",
                    )
                    .bind(id)
                    .bind(format!("mlflow-artifacts:/{id}"))
                    .execute(&mut *conn)
                    .await?;
                }
                for tag in crate::models::dedup_tags(tags) {
                    upsert_key_value(
                        conn,
                        "experiment_tags",
                        "experiment_id",
                        Bind::Int(id),
                        &tag.key,
                        &tag.value,
                    )
                    .await?;
                }
                if let Some(user_id) = creator {
                    crate::auth::grant_manage_to_creator(
                        conn,
                        &crate::auth::GrantOn::Experiment(id),
                        user_id,
                    )
                    .await?;
                }
                Ok(id.to_string())
            })
        })
        .await
    }

    pub async fn get_experiment(&self, id: &str) -> arca_core::Result<Experiment> {
        self.read(async |conn| load_experiment(conn, id).await)
            .await
    }

    pub async fn get_experiment_by_name(&self, name: &str) -> arca_core::Result<Experiment> {
        self.read(async |conn| {
            let id: i64 = sqlx::query("SELECT experiment_id FROM experiments WHERE name = $1")
                .bind(name)
                .fetch_optional(&mut *conn)
                .await?
                .ok_or_else(|| {
                    Error::not_found(format!("Could not find experiment with name '{name}'"))
                })?
                .try_get(0)?;
            load_experiment(conn, &id.to_string()).await
        })
        .await
    }

    pub async fn rename_experiment(&self, id: &str, new_name: &str) -> arca_core::Result<()> {
        if new_name.trim().is_empty() {
            return Err(Error::invalid("Experiment name cannot be empty."));
        }
        let id = id.to_owned();
        let new_name = new_name.to_owned();
        self.write(move |conn| {
            Box::pin(async move {
                let id = id.as_str();
                let new_name = new_name.as_str();
                let experiment = load_experiment(conn, id).await?;
                if experiment.lifecycle_stage != Lifecycle::Active {
                    return Err(Error::invalid("Cannot rename a non-active experiment.").into());
                }
                if experiment.name != new_name {
                    let taken = sqlx::query("SELECT 1 FROM experiments WHERE name = $1")
                        .bind(new_name)
                        .fetch_optional(&mut *conn)
                        .await?;
                    if taken.is_some() {
                        // MLflow answers a rename onto a taken name with BAD_REQUEST (its database's
                        // unique constraint), not RESOURCE_ALREADY_EXISTS as on create.
                        return Err(Error::BadRequest(format!(
                            "Experiment(name={new_name}) already exists."
                        ))
                        .into());
                    }
                }
                sqlx::query(
                "UPDATE experiments SET name = $2, last_update_time = $3 WHERE experiment_id = $1",
            )
            .bind(parse_experiment_id(id)?)
            .bind(new_name)
            .bind(now_millis())
            .execute(&mut *conn)
            .await?;
                Ok(())
            })
        })
        .await
    }

    /// Soft-deletes an experiment and its runs; `restore_experiment` brings both back.
    pub async fn delete_experiment(&self, id: &str) -> arca_core::Result<()> {
        if parse_experiment_id(id)? == DEFAULT_EXPERIMENT_ID {
            return Err(Error::invalid(
                "Cannot delete the default experiment '0'. This is an internally reserved experiment.",
            ));
        }
        self.set_experiment_lifecycle(id, Lifecycle::Deleted).await
    }

    pub async fn restore_experiment(&self, id: &str) -> arca_core::Result<()> {
        self.set_experiment_lifecycle(id, Lifecycle::Active).await
    }

    async fn set_experiment_lifecycle(&self, id: &str, to: Lifecycle) -> arca_core::Result<()> {
        let now = now_millis();
        let id = id.to_owned();
        self.write(move |conn| {
            Box::pin(async move {
                let id = id.as_str();
                let experiment = load_experiment(conn, id).await?;
                // MLflow looks the experiment up among those that can make the move (active ones to
                // delete, deleted ones to restore), so a second delete or restore is "not found".
                if experiment.lifecycle_stage == to {
                    return Err(experiment_not_found(id).into());
                }
                let numeric = parse_experiment_id(id)?;
                sqlx::query(
                    "UPDATE experiments SET lifecycle_stage = $2, last_update_time = $3 \
                 WHERE experiment_id = $1",
                )
                .bind(numeric)
                .bind(to.as_str())
                .bind(now)
                .execute(&mut *conn)
                .await?;
                let deleted_time = (to == Lifecycle::Deleted).then_some(now);
                sqlx::query(
                "UPDATE runs SET lifecycle_stage = $2, deleted_time = $3 WHERE experiment_id = $1",
            )
            .bind(numeric)
            .bind(to.as_str())
            .bind(deleted_time)
            .execute(&mut *conn)
            .await?;
                Ok(())
            })
        })
        .await
    }

    pub async fn set_experiment_tag(&self, id: &str, tag: &Tag) -> arca_core::Result<()> {
        let id = id.to_owned();
        let tag = tag.clone();
        self.write(move |conn| {
            Box::pin(async move {
                let id = id.as_str();
                let tag = &tag;
                load_active_experiment(conn, id).await?;
                let numeric = parse_experiment_id(id)?;
                upsert_key_value(
                    conn,
                    "experiment_tags",
                    "experiment_id",
                    Bind::Int(numeric),
                    &tag.key,
                    &tag.value,
                )
                .await?;
                Ok(())
            })
        })
        .await
    }

    pub async fn delete_experiment_tag(&self, id: &str, key: &str) -> arca_core::Result<()> {
        let id = id.to_owned();
        let key = key.to_owned();
        self.write(move |conn| {
            Box::pin(async move {
                let id = id.as_str();
                let key = key.as_str();
                load_active_experiment(conn, id).await?;
                let numeric = parse_experiment_id(id)?;
                if !delete_key(
                    conn,
                    "experiment_tags",
                    "experiment_id",
                    Bind::Int(numeric),
                    key,
                )
                .await?
                {
                    return Err(Error::not_found(format!(
                        "No tag with name: {key} in experiment with id {id}"
                    ))
                    .into());
                }
                Ok(())
            })
        })
        .await
    }
}

//! Registered models: create, read, rename, update, delete, tags and aliases.

use crate::auth::GrantOn;
use crate::error::{Result, StoreError};
use crate::events::{Change, alias_state, alias_target, model_state, model_state_of};
use crate::versions::{LatestOf, MV_COLUMNS, attach_version_details, version_from_row};
use crate::{MetadataStore, now_millis, record_event};
use arca_core::model::{Alias, AliasName, ModelName, ModelVersion, RegisteredModel, Stage, Tag};
use arca_core::registry::ModelUpdate;
use arca_core::{Error, model::VersionNumber, prompt};
use sqlx::AnyConnection;
use sqlx::AssertSqlSafe;
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::HashMap;

pub(crate) fn model_not_found(name: &str) -> Error {
    Error::not_found(format!("Registered Model with name={name} not found"))
}

/// Finds a model's id and takes its row lock (a no-op UPDATE locks the row on PostgreSQL and is
/// harmless on SQLite, where the single writer already serializes). Every change to a model or its
/// versions goes through here first, so concurrent changes to one model are applied one at a time.
pub(crate) async fn lock_model(conn: &mut AnyConnection, name: &str) -> Result<i64> {
    sqlx::query("UPDATE registered_models SET id = id WHERE name = $1 RETURNING id")
        .bind(name)
        .fetch_optional(&mut *conn)
        .await?
        .map(|row| row.try_get::<i64, _>(0))
        .transpose()?
        .ok_or_else(|| model_not_found(name).into())
}

/// Like [`lock_model`], and also marks the model as updated at `now`.
pub(crate) async fn touch_model(conn: &mut AnyConnection, name: &str, now: i64) -> Result<i64> {
    sqlx::query("UPDATE registered_models SET last_updated_time = $2 WHERE name = $1 RETURNING id")
        .bind(name)
        .bind(now)
        .fetch_optional(&mut *conn)
        .await?
        .map(|row| row.try_get::<i64, _>(0))
        .transpose()?
        .ok_or_else(|| model_not_found(name).into())
}

struct ModelRow {
    id: i64,
    model: RegisteredModel,
}

fn model_from_row(row: &AnyRow) -> Result<ModelRow> {
    Ok(ModelRow {
        id: row.try_get("id")?,
        model: RegisteredModel {
            name: row.try_get("name")?,
            description: row.try_get("description")?,
            creation_timestamp: row.try_get("creation_time")?,
            last_updated_timestamp: row.try_get("last_updated_time")?,
            tags: Vec::new(),
            aliases: Vec::new(),
            latest_versions: Vec::new(),
        },
    })
}

pub(crate) const RM_COLUMNS: &str =
    "rm.id, rm.name, rm.description, rm.creation_time, rm.last_updated_time";

impl MetadataStore {
    pub async fn create_registered_model(
        &self,
        name: &ModelName,
        description: Option<&str>,
        tags: &[Tag],
    ) -> arca_core::Result<RegisteredModel> {
        self.create_registered_model_by(name, description, tags, None)
            .await
    }

    /// Creates a model (or prompt) and gives `creator` (a user id) MANAGE on it in the same
    /// transaction: no model is ever seen, nor left by a crash, without its creator's grant,
    /// and a create that fails grants nothing.
    pub async fn create_registered_model_by(
        &self,
        name: &ModelName,
        description: Option<&str>,
        tags: &[Tag],
        creator: Option<i64>,
    ) -> arca_core::Result<RegisteredModel> {
        let now = now_millis();
        let name = name.clone();
        let description = description.map(str::to_owned);
        let tags = tags.to_vec();
        self.write(move |conn| Box::pin(async move {
            let name = &name;
            let description = description.as_deref();
            let tags = tags.as_slice();
            let row = sqlx::query(
                "INSERT INTO registered_models (name, description, creation_time, last_updated_time) \
                 VALUES ($1, $2, $3, $3) ON CONFLICT (name) DO NOTHING RETURNING id",
            )
            .bind(name.as_str())
            .bind(description)
            .bind(now)
            .fetch_optional(&mut *conn)
            .await?;
            let Some(row) = row else {
                let taken_by_prompt = prompt_tag_present(conn, name.as_str()).await?;
                return Err(prompt::name_taken(
                    name.as_str(),
                    taken_by_prompt,
                    prompt::has_prompt_tag(tags),
                ).into());
            };
            let id: i64 = row.try_get(0)?;
            for tag in dedup_tags(tags) {
                set_model_tag_row(conn, id, tag).await?;
            }
            if let Some(user_id) = creator {
                crate::auth::grant_manage_to_creator(conn, &GrantOn::Model(id), user_id).await?;
            }
            let after = model_state_of(name.as_str(), description, &dedup_tags(tags).cloned().collect::<Vec<_>>());
            record_event(conn, now, Change::model("create_model", name.as_str()).states(None, Some(after)))
                .await?;
            Ok(RegisteredModel {
                name: name.as_str().to_owned(),
                description: description.map(str::to_owned),
                creation_timestamp: now,
                last_updated_timestamp: now,
                tags: dedup_tags(tags).cloned().collect(),
                aliases: Vec::new(),
                latest_versions: Vec::new(),
            })
        }))
        .await
    }

    pub async fn get_registered_model(&self, name: &str) -> arca_core::Result<RegisteredModel> {
        self.read(async |conn| load_model(conn, name).await).await
    }

    pub async fn rename_registered_model(
        &self,
        name: &str,
        new_name: &ModelName,
    ) -> arca_core::Result<RegisteredModel> {
        let now = now_millis();
        let name = name.to_owned();
        let new_name = new_name.clone();
        self.write(move |conn| {
            Box::pin(async move {
                let name = name.as_str();
                let new_name = &new_name;
                let id = touch_model(conn, name, now).await?;
                let before = model_state(conn, name).await?;
                if name != new_name.as_str() {
                    let taken = sqlx::query("SELECT 1 FROM registered_models WHERE name = $1")
                        .bind(new_name.as_str())
                        .fetch_optional(&mut *conn)
                        .await?;
                    if taken.is_some() {
                        return Err(Error::AlreadyExists(format!(
                            "Registered Model (name={new_name}) already exists."
                        ))
                        .into());
                    }
                    sqlx::query("UPDATE registered_models SET name = $2 WHERE id = $1")
                        .bind(id)
                        .bind(new_name.as_str())
                        .execute(&mut *conn)
                        .await
                        .map_err(|e| unique_to_exists(e, new_name.as_str()))?;
                    sqlx::query(
                        "UPDATE model_versions SET last_updated_time = $2 \
                     WHERE model_id = $1 AND current_stage <> 'Deleted_Internal'",
                    )
                    .bind(id)
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
                    // Every version row carries its model's name, the deleted ones too.
                    sqlx::query("UPDATE model_versions SET model_name = $2 WHERE model_id = $1")
                        .bind(id)
                        .bind(new_name.as_str())
                        .execute(&mut *conn)
                        .await?;
                }
                let detail = format!("renamed from {name}");
                let after = model_state(conn, new_name.as_str()).await?;
                let change = Change::model("rename_model", new_name.as_str())
                    .detail(&detail)
                    .states(before, after);
                record_event(conn, now, change).await?;
                let model = load_model(conn, new_name.as_str()).await?;
                Ok(model)
            })
        })
        .await
    }

    pub async fn update_registered_model(
        &self,
        name: &str,
        description: Option<&str>,
    ) -> arca_core::Result<RegisteredModel> {
        let now = now_millis();
        let name = name.to_owned();
        let description = description.map(str::to_owned);
        self.write(move |conn| {
            Box::pin(async move {
                update_registered_model_in(conn, now, &name, description.as_deref()).await
            })
        })
        .await
    }

    /// A model's description and tags changed together (the `ModelRegistry` flavors' update),
    /// all in one transaction: either every change lands or none does.
    pub async fn apply_model_update(
        &self,
        name: &str,
        update: &ModelUpdate,
    ) -> arca_core::Result<RegisteredModel> {
        let now = now_millis();
        let name = name.to_owned();
        let update = update.clone();
        self.write(move |conn| {
            Box::pin(async move {
                let name = name.as_str();
                let update = &update;
                if let Some(description) = &update.description {
                    update_registered_model_in(conn, now, name, Some(description)).await?;
                }
                for tag in &update.set_tags {
                    set_registered_model_tag_in(conn, now, name, tag).await?;
                }
                for key in &update.remove_tags {
                    delete_registered_model_tag_in(conn, now, name, key).await?;
                }
                let model = load_model(conn, name).await?;
                Ok(model)
            })
        })
        .await
    }

    pub async fn delete_registered_model(&self, name: &str) -> arca_core::Result<()> {
        let now = now_millis();
        let name = name.to_owned();
        self.write(move |conn| {
            Box::pin(async move {
                let name = name.as_str();
                let id = lock_model(conn, name).await?;
                let before = model_state(conn, name).await?;
                for table in [
                    "model_version_tags",
                    "registered_model_aliases",
                    "registered_model_tags",
                    "model_versions",
                ] {
                    sqlx::query(AssertSqlSafe(format!(
                        "DELETE FROM {table} WHERE model_id = $1"
                    )))
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
                }
                sqlx::query("DELETE FROM registered_models WHERE id = $1")
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
                let change = Change::model("delete_model", name).states(before, None);
                record_event(conn, now, change).await?;
                Ok(())
            })
        })
        .await
    }

    pub async fn set_registered_model_tag(&self, name: &str, tag: &Tag) -> arca_core::Result<()> {
        let now = now_millis();
        let name = name.to_owned();
        let tag = tag.clone();
        self.write(move |conn| {
            Box::pin(async move { set_registered_model_tag_in(conn, now, &name, &tag).await })
        })
        .await
    }

    pub async fn delete_registered_model_tag(
        &self,
        name: &str,
        key: &str,
    ) -> arca_core::Result<()> {
        let now = now_millis();
        let name = name.to_owned();
        let key = key.to_owned();
        self.write(move |conn| {
            Box::pin(async move { delete_registered_model_tag_in(conn, now, &name, &key).await })
        })
        .await
    }

    pub async fn set_registered_model_alias(
        &self,
        name: &str,
        alias: &AliasName,
        version: VersionNumber,
    ) -> arca_core::Result<()> {
        let now = now_millis();
        let name = name.to_owned();
        let alias = alias.clone();
        self.write(move |conn| Box::pin(async move {
            let name = name.as_str();
            let alias = &alias;
            let id = lock_model(conn, name)
                .await
                .map_err(|e| crate::versions::of_version(e, name, version))?;
            crate::versions::require_live_version(conn, id, name, version).await?;
            let before = alias_target(conn, id, alias.as_str()).await?;
            sqlx::query(
                "INSERT INTO registered_model_aliases (model_id, alias, version) VALUES ($1, $2, $3) \
                 ON CONFLICT (model_id, alias) DO UPDATE SET version = excluded.version",
            )
            .bind(id)
            .bind(alias.as_str())
            .bind(version.get())
            .execute(&mut *conn)
            .await?;
            let change = Change {
                alias: Some(alias.as_str()),
                ..Change::version("set_alias", name, version.get()).detail(alias.as_str())
            }
            .states(
                before.map(|v| alias_state(alias.as_str(), v)),
                Some(alias_state(alias.as_str(), version.get())),
            );
            record_event(conn, now, change).await?;
            Ok(())
        }))
        .await
    }

    pub async fn delete_registered_model_alias(
        &self,
        name: &str,
        alias: &str,
    ) -> arca_core::Result<()> {
        let now = now_millis();
        let name = name.to_owned();
        let alias = alias.to_owned();
        self.write(move |conn| Box::pin(async move {
            let name = name.as_str();
            let alias = alias.as_str();
            let id = lock_model(conn, name).await?;
            let deleted = sqlx::query(
                "DELETE FROM registered_model_aliases WHERE model_id = $1 AND alias = $2 RETURNING version",
            )
            .bind(id)
            .bind(alias)
            .fetch_optional(&mut *conn)
            .await?;
            // MLflow answers a delete of a missing alias with success; so does Arca, without a history row.
            if let Some(row) = deleted {
                let version: i64 = row.try_get(0)?;
                let change = Change {
                    alias: Some(alias),
                    ..Change::version("delete_alias", name, version).detail(alias)
                }
                .states(Some(alias_state(alias, version)), None);
                record_event(conn, now, change).await?;
            }
            Ok(())
        }))
        .await
    }

    pub async fn get_model_version_by_alias(
        &self,
        name: &str,
        alias: &str,
    ) -> arca_core::Result<ModelVersion> {
        self.read(async |conn| {
            // As in MLflow, `latest` (reserved as an alias name) reads the newest live version.
            if alias.eq_ignore_ascii_case("latest") {
                return latest_version(conn, name).await;
            }
            let row = sqlx::query(AssertSqlSafe(format!(
                "SELECT {MV_COLUMNS} FROM registered_model_aliases a \
                 JOIN registered_models rm ON rm.id = a.model_id \
                 JOIN model_versions mv ON mv.model_id = a.model_id AND mv.version = a.version \
                 WHERE rm.name = $1 AND a.alias = $2"
            )))
            .bind(name)
            .bind(alias)
            .fetch_optional(&mut *conn)
            .await?;
            let Some(row) = row else {
                let exists = sqlx::query("SELECT 1 FROM registered_models WHERE name = $1")
                    .bind(name)
                    .fetch_optional(&mut *conn)
                    .await?;
                return Err(if exists.is_some() {
                    Error::invalid(format!("Registered model alias {alias} not found."))
                } else {
                    model_not_found(name)
                }
                .into());
            };
            let (model_id, mut version) = version_from_row(&row)?;
            attach_version_details(conn, model_id, std::slice::from_mut(&mut version)).await?;
            Ok(version)
        })
        .await
    }

    pub async fn get_latest_versions(
        &self,
        name: &str,
        stages: &[Stage],
    ) -> arca_core::Result<Vec<ModelVersion>> {
        self.read(async |conn| {
            let stages = if stages.is_empty() {
                &Stage::ALL[..]
            } else {
                stages
            };
            let latest =
                crate::versions::latest_per_stage(conn, LatestOf::Name(name), stages).await?;
            let Some(&(id, _)) = latest.first() else {
                // No version in these stages, or no such model: only the second is an error.
                model_id(conn, name).await?;
                return Ok(Vec::new());
            };
            let mut versions: Vec<ModelVersion> = latest.into_iter().map(|(_, v)| v).collect();
            crate::versions::attach_aliases(conn, id, &mut versions).await?;
            Ok(versions)
        })
        .await
    }
}

/// What MLflow's server answers for the alias `latest` (which the prompt client sends for
/// `prompts:/name@latest`): the highest live version, whatever its stage.
async fn latest_version(conn: &mut AnyConnection, name: &str) -> Result<ModelVersion> {
    let id = model_id(conn, name).await?;
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {MV_COLUMNS} FROM model_versions mv JOIN registered_models rm ON rm.id = mv.model_id \
         WHERE mv.model_id = $1 AND mv.current_stage <> $2 ORDER BY mv.version DESC LIMIT 1"
    )))
    .bind(id)
    .bind(crate::versions::DELETED_STAGE)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| Error::not_found(format!("Latest version not found for model {name}.")))?;
    let (model_id, mut version) = version_from_row(&row)?;
    attach_version_details(conn, model_id, std::slice::from_mut(&mut version)).await?;
    Ok(version)
}

/// Whether the model `name` carries the prompt tag, whatever its value.
async fn prompt_tag_present(conn: &mut AnyConnection, name: &str) -> Result<bool> {
    Ok(sqlx::query(
        "SELECT 1 FROM registered_model_tags t JOIN registered_models rm ON rm.id = t.model_id \
         WHERE rm.name = $1 AND t.key = $2",
    )
    .bind(name)
    .bind(prompt::IS_PROMPT_TAG)
    .fetch_optional(&mut *conn)
    .await?
    .is_some())
}

pub(crate) async fn model_id(conn: &mut AnyConnection, name: &str) -> Result<i64> {
    sqlx::query("SELECT id FROM registered_models WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut *conn)
        .await?
        .map(|row| row.try_get::<i64, _>(0))
        .transpose()?
        .ok_or_else(|| model_not_found(name).into())
}

/// Reads one model with its tags, aliases and latest version per stage.
pub(crate) async fn load_model(conn: &mut AnyConnection, name: &str) -> Result<RegisteredModel> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {RM_COLUMNS} FROM registered_models rm WHERE rm.name = $1"
    )))
    .bind(name)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| model_not_found(name))?;
    let mut models = vec![model_from_row(&row)?];
    let mut out =
        attach_model_details(conn, models.drain(..).map(|m| (m.id, m.model)).collect()).await?;
    Ok(out.remove(0))
}

/// Reads model rows selected with `RM_COLUMNS` and fills in tags, aliases and latest versions
/// with a fixed number of queries per page, however many versions the models have.
pub(crate) async fn load_models(
    conn: &mut AnyConnection,
    rows: &[AnyRow],
) -> Result<Vec<RegisteredModel>> {
    let models = rows
        .iter()
        .map(|r| model_from_row(r).map(|m| (m.id, m.model)))
        .collect::<Result<Vec<_>>>()?;
    attach_model_details(conn, models).await
}

async fn attach_model_details(
    conn: &mut AnyConnection,
    mut models: Vec<(i64, RegisteredModel)>,
) -> Result<Vec<RegisteredModel>> {
    if models.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = models.iter().map(|(id, _)| *id).collect();
    let positions: HashMap<i64, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();

    let mut q = crate::sql::SqlBuilder::new(
        "SELECT model_id, key, value FROM registered_model_tags WHERE model_id IN ",
    );
    q.bind_list(ids.iter().map(|id| crate::sql::Bind::Int(*id)));
    q.push(" ORDER BY key");
    for row in q.query().fetch_all(&mut *conn).await? {
        let id: i64 = row.try_get(0)?;
        models[positions[&id]].1.tags.push(Tag {
            key: row.try_get(1)?,
            value: row.try_get(2)?,
        });
    }

    let mut q = crate::sql::SqlBuilder::new(
        "SELECT model_id, alias, version FROM registered_model_aliases WHERE model_id IN ",
    );
    q.bind_list(ids.iter().map(|id| crate::sql::Bind::Int(*id)));
    q.push(" ORDER BY alias");
    for row in q.query().fetch_all(&mut *conn).await? {
        let id: i64 = row.try_get(0)?;
        models[positions[&id]].1.aliases.push(Alias {
            alias: row.try_get(1)?,
            version: VersionNumber::from_stored(row.try_get(2)?),
        });
    }

    // Entries of `latest_versions` carry tags but, as in MLflow, no aliases.
    let latest = crate::versions::latest_per_stage(conn, LatestOf::Ids(&ids), &Stage::ALL).await?;
    for (id, version) in latest {
        models[positions[&id]].1.latest_versions.push(version);
    }
    Ok(models.into_iter().map(|(_, m)| m).collect())
}

async fn set_model_tag_row(conn: &mut AnyConnection, id: i64, tag: &Tag) -> Result<()> {
    sqlx::query(
        "INSERT INTO registered_model_tags (model_id, key, value) VALUES ($1, $2, $3) \
         ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value",
    )
    .bind(id)
    .bind(tag.key.as_str())
    .bind(tag.value.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The last value given for a key wins, as when the tags are set one by one.
pub(crate) fn dedup_tags(tags: &[Tag]) -> impl Iterator<Item = &Tag> {
    tags.iter()
        .enumerate()
        .filter(|(i, t)| !tags[i + 1..].iter().any(|later| later.key == t.key))
        .map(|(_, t)| t)
}

fn unique_to_exists(err: sqlx::Error, name: &str) -> StoreError {
    match &err {
        sqlx::Error::Database(e) if e.is_unique_violation() => {
            Error::AlreadyExists(format!("Registered Model (name={name}) already exists.")).into()
        }
        _ => err.into(),
    }
}

/// [`MetadataStore::update_registered_model`]'s work inside a transaction the caller commits.
pub(crate) async fn update_registered_model_in(
    conn: &mut AnyConnection,
    now: i64,
    name: &str,
    description: Option<&str>,
) -> Result<RegisteredModel> {
    let id = touch_model(conn, name, now).await?;
    let before = model_state(conn, name).await?;
    if let Some(description) = description {
        sqlx::query("UPDATE registered_models SET description = $2 WHERE id = $1")
            .bind(id)
            .bind(description)
            .execute(&mut *conn)
            .await?;
    }
    let after = model_state(conn, name).await?;
    record_event(
        conn,
        now,
        Change::model("update_model", name).states(before, after),
    )
    .await?;
    let model = load_model(conn, name).await?;
    Ok(model)
}

/// [`MetadataStore::set_registered_model_tag`]'s work inside a transaction the caller commits.
pub(crate) async fn set_registered_model_tag_in(
    conn: &mut AnyConnection,
    now: i64,
    name: &str,
    tag: &Tag,
) -> Result<()> {
    let id = touch_model(conn, name, now).await?;
    let before = model_state(conn, name).await?;
    set_model_tag_row(conn, id, tag).await?;
    let after = model_state(conn, name).await?;
    let change = Change::model("set_model_tag", name)
        .detail(&tag.key)
        .states(before, after);
    record_event(conn, now, change).await?;
    Ok(())
}

/// [`MetadataStore::delete_registered_model_tag`]'s work inside a transaction the caller commits.
pub(crate) async fn delete_registered_model_tag_in(
    conn: &mut AnyConnection,
    now: i64,
    name: &str,
    key: &str,
) -> Result<()> {
    let id = touch_model(conn, name, now).await?;
    let before = model_state(conn, name).await?;
    // Deleting a tag that is not there succeeds, as in MLflow.
    let deleted = sqlx::query("DELETE FROM registered_model_tags WHERE model_id = $1 AND key = $2")
        .bind(id)
        .bind(key)
        .execute(&mut *conn)
        .await?;
    if deleted.rows_affected() > 0 {
        let after = model_state(conn, name).await?;
        let change = Change::model("delete_model_tag", name)
            .detail(key)
            .states(before, after);
        record_event(conn, now, change).await?;
    }
    Ok(())
}

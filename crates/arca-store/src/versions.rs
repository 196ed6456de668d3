//! Model versions: numbered per model from 1, never reused (a soft-deleted version keeps its row
//! with the stage `Deleted_Internal`), moved through stages, tagged and aliased.

use crate::error::{Result, StoreError};
use crate::events::{Change, record_events, version_state_of};
use crate::models::{lock_model, touch_model};
use crate::sql::{Bind, SqlBuilder, rows_per_statement, values_list};
use crate::{MetadataStore, now_millis, record_event};
use arca_core::Error;
use arca_core::model::{ModelName, ModelVersion, NewModelVersion, Stage, Tag, VersionNumber};
use arca_core::registry::VersionUpdate;
use serde_json::Value;
use sqlx::AnyConnection;
use sqlx::AssertSqlSafe;
use sqlx::Row;
use sqlx::any::AnyRow;

pub(crate) const DELETED_STAGE: &str = "Deleted_Internal";

/// [`MV_COLUMNS`] as an INSERT or UPDATE on `model_versions` returns them.
const MV_RETURNING: &str = "model_id, model_name AS name, version, creation_time, \
     last_updated_time, user_id, current_stage, description, source, run_id, run_link, \
     logged_model_id";

pub(crate) const MV_COLUMNS: &str = "mv.model_id, mv.model_name AS name, mv.version, mv.creation_time, \
     mv.last_updated_time, mv.user_id, mv.current_stage, mv.description, mv.source, mv.run_id, \
     mv.run_link, mv.logged_model_id";

/// MLflow answers any operation on a version of a model that does not exist with the version's
/// "not found", not the model's: clients and scripts match on that message.
pub(crate) fn of_version(err: StoreError, name: &str, version: VersionNumber) -> StoreError {
    if err.is_not_found() {
        version_not_found(name, version).into()
    } else {
        err
    }
}

pub(crate) fn version_not_found(name: &str, version: VersionNumber) -> Error {
    Error::not_found(format!(
        "Model Version (name={name}, version={version}) not found"
    ))
}

pub(crate) fn version_from_row(row: &AnyRow) -> Result<(i64, ModelVersion)> {
    let stage: String = row.try_get("current_stage")?;
    let version = ModelVersion {
        name: row.try_get("name")?,
        version: VersionNumber::from_stored(row.try_get("version")?),
        creation_timestamp: row.try_get("creation_time")?,
        last_updated_timestamp: row.try_get("last_updated_time")?,
        user_id: row.try_get("user_id")?,
        current_stage: Stage::parse(&stage)?,
        description: row.try_get("description")?,
        source: row.try_get("source")?,
        run_id: row.try_get("run_id")?,
        run_link: row.try_get("run_link")?,
        model_id: row.try_get("logged_model_id")?,
        tags: Vec::new(),
        aliases: Vec::new(),
    };
    Ok((row.try_get("model_id")?, version))
}

/// Fills in the tags of versions that all belong to the model `model_id`.
pub(crate) async fn attach_tags(
    conn: &mut AnyConnection,
    model_id: i64,
    versions: &mut [ModelVersion],
) -> Result<()> {
    // Chunks keep the bind count far below SQLite's and PostgreSQL's parameter limits.
    for chunk in versions.chunks_mut(500) {
        let mut q =
            SqlBuilder::new("SELECT version, key, value FROM model_version_tags WHERE model_id = ");
        q.bind_int(model_id).push(" AND version IN ");
        q.bind_list(chunk.iter().map(|v| Bind::Int(v.version.get())));
        q.push(" ORDER BY key");
        for row in q.query().fetch_all(&mut *conn).await? {
            let version: i64 = row.try_get(0)?;
            if let Some(v) = chunk.iter_mut().find(|v| v.version.get() == version) {
                v.tags.push(Tag {
                    key: row.try_get(1)?,
                    value: row.try_get(2)?,
                });
            }
        }
    }
    Ok(())
}

pub(crate) async fn attach_aliases(
    conn: &mut AnyConnection,
    model_id: i64,
    versions: &mut [ModelVersion],
) -> Result<()> {
    for chunk in versions.chunks_mut(500) {
        let mut q = SqlBuilder::new(
            "SELECT version, alias FROM registered_model_aliases WHERE model_id = ",
        );
        q.bind_int(model_id).push(" AND version IN ");
        q.bind_list(chunk.iter().map(|v| Bind::Int(v.version.get())));
        q.push(" ORDER BY alias");
        for row in q.query().fetch_all(&mut *conn).await? {
            let version: i64 = row.try_get(0)?;
            if let Some(v) = chunk.iter_mut().find(|v| v.version.get() == version) {
                v.aliases.push(row.try_get(1)?);
            }
        }
    }
    Ok(())
}

/// Tags and aliases for versions of one model.
pub(crate) async fn attach_version_details(
    conn: &mut AnyConnection,
    model_id: i64,
    versions: &mut [ModelVersion],
) -> Result<()> {
    if versions.is_empty() {
        return Ok(());
    }
    attach_tags(conn, model_id, versions).await?;
    attach_aliases(conn, model_id, versions).await
}

/// Whose latest versions [`latest_per_stage`] reads: models by id, or one model by name.
pub(crate) enum LatestOf<'a> {
    Ids(&'a [i64]),
    Name(&'a str),
}

/// The newest live version in each of `stages` for each model `of` names, with its tags (not
/// its aliases), in one statement. Each (model, stage) pair is one index seek on
/// `model_versions_stage`, whatever the number of versions; the tags come along as a LEFT JOIN
/// (one row per tag, the version's columns repeated), so a page of models costs one statement
/// for all their latest versions instead of one per model.
pub(crate) async fn latest_per_stage(
    conn: &mut AnyConnection,
    of: LatestOf<'_>,
    stages: &[Stage],
) -> Result<Vec<(i64, ModelVersion)>> {
    if matches!(of, LatestOf::Ids([])) || stages.is_empty() {
        return Ok(Vec::new());
    }
    let q = latest_per_stage_query(&of, stages);
    let mut out: Vec<(i64, ModelVersion)> = Vec::new();
    for row in q.query().fetch_all(&mut *conn).await? {
        let model_id: i64 = row.try_get("model_id")?;
        let version: i64 = row.try_get("version")?;
        let same = out
            .last()
            .is_some_and(|(id, v)| *id == model_id && v.version.get() == version);
        if !same {
            out.push(version_from_row(&row)?);
        }
        if let Some(key) = row.try_get::<Option<String>, _>("tag_key")? {
            let value: String = row.try_get("tag_value")?;
            if let Some((_, v)) = out.last_mut() {
                v.tags.push(Tag { key, value });
            }
        }
    }
    Ok(out)
}

/// [`latest_per_stage`]'s statement. The (model, stage) pairs and their newest version are
/// computed first, as a materialized CTE read before `model_versions` (CROSS JOIN fixes that
/// order on SQLite): left to itself, SQLite flattens such a subquery into the join, walks every
/// version of each model and runs the MAX seek once per version and stage, which is 3,600
/// seeks for a model of 900 versions and 400,000 for one of 100,000.
pub(crate) fn latest_per_stage_query(of: &LatestOf<'_>, stages: &[Stage]) -> SqlBuilder {
    // The stage names are this crate's own constants, not user input.
    let stage_table = stages
        .iter()
        .map(|s| format!("SELECT '{}' AS stage", s.as_str()))
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let mut q = SqlBuilder::new(&format!(
        "WITH lv AS MATERIALIZED (SELECT m.id AS model_id, \
         (SELECT MAX(x.version) FROM model_versions x \
          WHERE x.model_id = m.id AND x.current_stage = s.stage) AS version \
         FROM registered_models m CROSS JOIN ({stage_table}) s WHERE "
    ));
    match of {
        LatestOf::Ids(ids) => {
            q.push("m.id IN ");
            q.bind_list(ids.iter().map(|id| Bind::Int(*id)));
        }
        LatestOf::Name(name) => {
            q.push("m.name = ");
            q.bind_text(*name);
        }
    }
    q.push(&format!(
        ") SELECT {MV_COLUMNS}, t.key AS tag_key, t.value AS tag_value \
         FROM lv CROSS JOIN model_versions mv \
         LEFT JOIN model_version_tags t ON t.model_id = mv.model_id AND t.version = mv.version \
         WHERE mv.model_id = lv.model_id AND mv.version = lv.version \
         ORDER BY mv.model_id, mv.version, t.key"
    ));
    q
}

pub(crate) async fn require_live_version(
    conn: &mut AnyConnection,
    model_id: i64,
    name: &str,
    version: VersionNumber,
) -> Result<()> {
    let row = sqlx::query(
        "SELECT 1 FROM model_versions WHERE model_id = $1 AND version = $2 AND current_stage <> $3",
    )
    .bind(model_id)
    .bind(version.get())
    .bind(DELETED_STAGE)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(_) => Ok(()),
        None => Err(version_not_found(name, version).into()),
    }
}

pub(crate) async fn load_version(
    conn: &mut AnyConnection,
    name: &str,
    version: VersionNumber,
) -> Result<ModelVersion> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {MV_COLUMNS} FROM model_versions mv JOIN registered_models rm ON rm.id = mv.model_id \
         WHERE rm.name = $1 AND mv.version = $2 AND mv.current_stage <> $3"
    )))
    .bind(name)
    .bind(version.get())
    .bind(DELETED_STAGE)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| version_not_found(name, version))?;
    let (model_id, mut mv) = version_from_row(&row)?;
    attach_one_version_details(conn, model_id, &mut mv).await?;
    Ok(mv)
}

/// A live version of the model `model_id` (whose name is `name`, for the error), with its tags
/// and aliases: what a change reads once, both to check that the version is there and as the
/// state its event records before the change.
pub(crate) async fn load_live_version(
    conn: &mut AnyConnection,
    model_id: i64,
    name: &str,
    version: VersionNumber,
) -> Result<ModelVersion> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {MV_COLUMNS} FROM model_versions mv \
         WHERE mv.model_id = $1 AND mv.version = $2 AND mv.current_stage <> $3"
    )))
    .bind(model_id)
    .bind(version.get())
    .bind(DELETED_STAGE)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| version_not_found(name, version))?;
    let (_, mut mv) = version_from_row(&row)?;
    attach_one_version_details(conn, model_id, &mut mv).await?;
    Ok(mv)
}

/// [`attach_version_details`] for one version, in one statement instead of two.
async fn attach_one_version_details(
    conn: &mut AnyConnection,
    model_id: i64,
    mv: &mut ModelVersion,
) -> Result<()> {
    let rows = sqlx::query(
        "SELECT 'tag' AS kind, key, value FROM model_version_tags \
         WHERE model_id = $1 AND version = $2 \
         UNION ALL SELECT 'alias', alias, '' FROM registered_model_aliases \
         WHERE model_id = $1 AND version = $2 ORDER BY 1 DESC, 2",
    )
    .bind(model_id)
    .bind(mv.version.get())
    .fetch_all(&mut *conn)
    .await?;
    for row in &rows {
        let kind: String = row.try_get(0)?;
        if kind == "tag" {
            mv.tags.push(Tag {
                key: row.try_get(1)?,
                value: row.try_get(2)?,
            });
        } else {
            mv.aliases.push(row.try_get(1)?);
        }
    }
    Ok(())
}

/// Where the files of a `models:/m-<id>` (MLflow 3 logged model) or `runs:/<run>/<path>`
/// source are; any other source is already a location.
async fn resolve_tracking_source(conn: &mut AnyConnection, source: &str) -> Result<String> {
    if let Some(model_id) = source
        .strip_prefix("models:/")
        .filter(|id| id.starts_with("m-") && !id.contains('/'))
    {
        let row = sqlx::query("SELECT artifact_uri FROM logged_models WHERE model_id = $1")
            .bind(model_id)
            .fetch_optional(&mut *conn)
            .await?;
        if let Some(row) = row {
            return Ok(row.try_get(0)?);
        }
    }
    if let Some(rest) = source.strip_prefix("runs:/") {
        let (run_id, path) = rest.split_once('/').unwrap_or((rest, ""));
        let row = sqlx::query("SELECT artifact_uri FROM runs WHERE run_uuid = $1")
            .bind(run_id)
            .fetch_optional(&mut *conn)
            .await?;
        if let Some(row) = row {
            let root: String = row.try_get(0)?;
            let path = path.trim_matches('/');
            return Ok(if path.is_empty() {
                root
            } else {
                format!("{}/{path}", root.trim_end_matches('/'))
            });
        }
    }
    Ok(source.to_owned())
}

/// Notes on a logged model which registered versions were made from it (the tag MLflow's
/// server writes, `mlflow.modelVersions`: a JSON list of `{"name", "version"}`).
async fn tag_logged_model_with_version(
    conn: &mut AnyConnection,
    model_id: &str,
    name: &str,
    version: i64,
) -> Result<()> {
    const KEY: &str = "mlflow.modelVersions";
    let existing =
        sqlx::query("SELECT value FROM logged_model_tags WHERE model_id = $1 AND key = $2")
            .bind(model_id)
            .bind(KEY)
            .fetch_optional(&mut *conn)
            .await?
            .map(|r| r.try_get::<String, _>(0))
            .transpose()?;
    let mut list: Vec<serde_json::Value> = existing
        .and_then(|v| serde_json::from_str(&v).ok())
        .unwrap_or_default();
    list.push(serde_json::json!({"name": name, "version": version}));
    sqlx::query(
        "INSERT INTO logged_model_tags (model_id, key, value) VALUES ($1, $2, $3) \
         ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value",
    )
    .bind(model_id)
    .bind(KEY)
    .bind(serde_json::Value::Array(list).to_string())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A `models:/<name>/<version>` source (what `copy_model_version` writes) points at another
/// registered version; its files are wherever that version's files are.
fn registry_source(source: &str) -> Option<(&str, VersionNumber)> {
    let rest = source.strip_prefix("models:/")?;
    let (name, version) = rest.rsplit_once('/')?;
    let version = VersionNumber::parse(version).ok()?;
    (!name.is_empty()).then_some((name, version))
}

impl MetadataStore {
    pub async fn create_model_version(
        &self,
        name: &ModelName,
        new: &NewModelVersion,
    ) -> arca_core::Result<ModelVersion> {
        let now = now_millis();
        let name = name.clone();
        let new = new.clone();
        self.write(move |conn| Box::pin(async move {
            let name = &name;
            let new = &new;
            let lineage = crate::sources::check_version_source(conn, new).await?;
            // Allocating the number bumps the counter under the model row's lock, in the same
            // transaction as the insert: two writers, even in two processes, never get one number.
            let row = sqlx::query(
                "UPDATE registered_models SET next_version = next_version + 1, last_updated_time = $2 \
                 WHERE name = $1 RETURNING id, next_version, name",
            )
            .bind(name.as_str())
            .bind(now)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| crate::models::model_not_found(name.as_str()))?;
            let model_id: i64 = row.try_get(0)?;
            let version: i64 = row.try_get::<i64, _>(1)? - 1;
            let model_name: String = row.try_get(2)?;
            // A version made from a logged model belongs to the run that logged it.
            let mut run_id = lineage.run_id;
            if let Some(logged) = &lineage.model_id {
                let row = sqlx::query(
                    "SELECT source_run_id FROM logged_models WHERE model_id = $1 AND lifecycle_stage = 'active'",
                )
                .bind(logged.as_str())
                .fetch_optional(&mut *conn)
                .await?
                .ok_or_else(|| Error::not_found(format!("Logged model with ID '{logged}' not found.")))?;
                if run_id.is_empty() {
                    run_id = row
                        .try_get::<Option<String>, _>(0)?
                        .unwrap_or_default();
                }
                tag_logged_model_with_version(conn, logged, name.as_str(), version).await?;
            }
            // The row comes back from the INSERT itself, and the tags are what was given: the
            // answer and the event's state cost no further read.
            let row = sqlx::query(AssertSqlSafe(format!(
                "INSERT INTO model_versions (model_id, model_name, version, creation_time, \
                 last_updated_time, user_id, current_stage, description, source, run_id, run_link, \
                 status, logged_model_id) \
                 VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8, $9, $10, 'READY', $11) \
                 RETURNING {MV_RETURNING}"
            )))
            .bind(model_id)
            .bind(model_name.as_str())
            .bind(version)
            .bind(now)
            .bind(new.user_id.as_deref())
            .bind(Stage::None.as_str())
            .bind(new.description.as_deref().unwrap_or(""))
            .bind(lineage.source.as_str())
            .bind(run_id.as_str())
            .bind(new.run_link.as_deref().unwrap_or(""))
            .bind(lineage.model_id.as_deref())
            .fetch_one(&mut *conn)
            .await?;
            let (_, mut mv) = version_from_row(&row)?;
            let mut tags: Vec<Tag> = crate::models::dedup_tags(&new.tags).cloned().collect();
            tags.sort_by(|a, b| a.key.cmp(&b.key));
            insert_version_tags(conn, model_id, version, &tags).await?;
            mv.tags = tags;
            let change = Change::version("create_version", name.as_str(), version)
                .detail(&lineage.source)
                .states(None, Some(version_state_of(&mv)));
            record_event(conn, now, change).await?;
            Ok(mv)
        }))
        .await
    }

    pub async fn get_model_version(
        &self,
        name: &str,
        version: VersionNumber,
    ) -> arca_core::Result<ModelVersion> {
        self.read(async |conn| load_version(conn, name, version).await)
            .await
    }

    pub async fn update_model_version(
        &self,
        name: &str,
        version: VersionNumber,
        description: Option<&str>,
    ) -> arca_core::Result<ModelVersion> {
        let now = now_millis();
        let name = name.to_owned();
        let description = description.map(str::to_owned);
        self.write(move |conn| {
            Box::pin(async move {
                update_model_version_in(conn, now, &name, version, description.as_deref()).await
            })
        })
        .await
    }

    /// A version's description, tags and stage changed together (the `ModelRegistry` flavors'
    /// update), all in one transaction: either every change lands or none does.
    pub async fn apply_version_update(
        &self,
        name: &str,
        version: VersionNumber,
        update: &VersionUpdate,
    ) -> arca_core::Result<ModelVersion> {
        let now = now_millis();
        let name = name.to_owned();
        let update = update.clone();
        self.write(move |conn| {
            Box::pin(async move {
                let name = name.as_str();
                let update = &update;
                if let Some(description) = &update.description {
                    update_model_version_in(conn, now, name, version, Some(description)).await?;
                }
                for tag in &update.set_tags {
                    set_model_version_tag_in(conn, now, name, version, tag).await?;
                }
                for key in &update.remove_tags {
                    delete_model_version_tag_in(conn, now, name, version, key).await?;
                }
                if let Some(stage) = update.stage {
                    transition_model_version_stage_in(conn, now, name, version, stage, false)
                        .await?;
                }
                let mv = load_version(conn, name, version).await?;
                Ok(mv)
            })
        })
        .await
    }

    pub async fn transition_model_version_stage(
        &self,
        name: &str,
        version: VersionNumber,
        stage: Stage,
        archive_existing_versions: bool,
    ) -> arca_core::Result<ModelVersion> {
        if archive_existing_versions && !stage.is_active() {
            return Err(Error::invalid(format!(
                "Model version transition cannot archive existing model versions because '{stage}' \
                 is not an Active stage. Valid stages are Staging and Production."
            )));
        }
        let now = now_millis();
        let name = name.to_owned();
        self.write(move |conn| {
            Box::pin(async move {
                let name = name.as_str();
                let out = transition_model_version_stage_in(
                    conn,
                    now,
                    name,
                    version,
                    stage,
                    archive_existing_versions,
                )
                .await?;
                Ok(out)
            })
        })
        .await
    }

    /// The newest `limit` version numbers of `name` in `stage`, newest first: what a transition
    /// with "archive existing versions" would archive, for a confirmation that names them.
    pub async fn versions_in_stage(
        &self,
        name: &str,
        stage: Stage,
        limit: u32,
    ) -> arca_core::Result<Vec<VersionNumber>> {
        self.read(async |conn| {
            let rows = sqlx::query(
                "SELECT mv.version FROM model_versions mv JOIN registered_models rm \
                 ON rm.id = mv.model_id WHERE rm.name = $1 AND mv.current_stage = $2 \
                 ORDER BY mv.version DESC LIMIT $3",
            )
            .bind(name)
            .bind(stage.as_str())
            .bind(i64::from(limit))
            .fetch_all(&mut *conn)
            .await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in &rows {
                let v: i64 = row.try_get(0)?;
                out.push(VersionNumber::parse(&v.to_string())?);
            }
            Ok(out)
        })
        .await
    }

    pub async fn delete_model_version(
        &self,
        name: &str,
        version: VersionNumber,
    ) -> arca_core::Result<()> {
        let now = now_millis();
        let name = name.to_owned();
        self.write(move |conn| {
            Box::pin(async move {
                let name = name.as_str();
                let model_id = touch_model(conn, name, now)
                    .await
                    .map_err(|e| of_version(e, name, version))?;
                let before = load_live_version(conn, model_id, name, version).await?;
                sqlx::query(
                    "UPDATE model_versions SET current_stage = $3, last_updated_time = $4 \
                 WHERE model_id = $1 AND version = $2",
                )
                .bind(model_id)
                .bind(version.get())
                .bind(DELETED_STAGE)
                .bind(now)
                .execute(&mut *conn)
                .await?;
                sqlx::query(
                    "DELETE FROM registered_model_aliases WHERE model_id = $1 AND version = $2",
                )
                .bind(model_id)
                .bind(version.get())
                .execute(&mut *conn)
                .await?;
                let change = Change::version("delete_version", name, version.get())
                    .states(Some(version_state_of(&before)), None);
                record_event(conn, now, change).await?;
                Ok(())
            })
        })
        .await
    }

    pub async fn set_model_version_tag(
        &self,
        name: &str,
        version: VersionNumber,
        tag: &Tag,
    ) -> arca_core::Result<()> {
        let now = now_millis();
        let name = name.to_owned();
        let tag = tag.clone();
        self.write(move |conn| {
            Box::pin(async move { set_model_version_tag_in(conn, now, &name, version, &tag).await })
        })
        .await
    }

    pub async fn delete_model_version_tag(
        &self,
        name: &str,
        version: VersionNumber,
        key: &str,
    ) -> arca_core::Result<()> {
        let now = now_millis();
        let name = name.to_owned();
        let key = key.to_owned();
        self.write(move |conn| {
            Box::pin(
                async move { delete_model_version_tag_in(conn, now, &name, version, &key).await },
            )
        })
        .await
    }

    /// Where a version's files are: its source, through copies (`models:/<name>/<version>`),
    /// runs (`runs:/`) and logged models (`models:/m-<id>`) to a location.
    pub async fn get_model_version_download_uri(
        &self,
        name: &str,
        version: VersionNumber,
    ) -> arca_core::Result<String> {
        self.download_uri(name, version, true).await
    }

    /// The download URI MLflow's `get-download-uri` answers: as [`Self::get_model_version_download_uri`],
    /// except that a `runs:/` source is handed back as it is (the client resolves it).
    pub async fn get_model_version_download_uri_for_client(
        &self,
        name: &str,
        version: VersionNumber,
    ) -> arca_core::Result<String> {
        self.download_uri(name, version, false).await
    }

    async fn download_uri(
        &self,
        name: &str,
        version: VersionNumber,
        resolve_runs: bool,
    ) -> arca_core::Result<String> {
        self.read(async |conn| {
            let mut current = load_version(conn, name, version).await?;
            // A bounded walk: copies of copies resolve, a cycle cannot hang the request.
            for _ in 0..16 {
                let Some((src_name, src_version)) = registry_source(&current.source) else {
                    if !resolve_runs && current.source.starts_with("runs:/") {
                        return Ok(current.source);
                    }
                    return resolve_tracking_source(conn, &current.source).await;
                };
                match load_version(conn, src_name, src_version).await {
                    Ok(next) => current = next,
                    Err(e) if e.is_not_found() => return Ok(current.source),
                    Err(e) => return Err(e),
                }
            }
            Ok(current.source)
        })
        .await
    }
}

async fn set_version_tag_row(
    conn: &mut AnyConnection,
    model_id: i64,
    version: i64,
    tag: &Tag,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO model_version_tags (model_id, version, key, value) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (model_id, version, key) DO UPDATE SET value = excluded.value",
    )
    .bind(model_id)
    .bind(version)
    .bind(tag.key.as_str())
    .bind(tag.value.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A new version's tags, in one statement; their keys are unique.
async fn insert_version_tags(
    conn: &mut AnyConnection,
    model_id: i64,
    version: i64,
    tags: &[Tag],
) -> Result<()> {
    for chunk in tags.chunks(rows_per_statement(4)) {
        let sql = format!(
            "INSERT INTO model_version_tags (model_id, version, key, value) VALUES {}",
            values_list(conn, chunk.len(), 4)
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for tag in chunk {
            q = q
                .bind(model_id)
                .bind(version)
                .bind(tag.key.as_str())
                .bind(tag.value.as_str());
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// [`MetadataStore::update_model_version`]'s work inside a transaction the caller commits.
pub(crate) async fn update_model_version_in(
    conn: &mut AnyConnection,
    now: i64,
    name: &str,
    version: VersionNumber,
    description: Option<&str>,
) -> Result<ModelVersion> {
    let model_id = lock_model(conn, name)
        .await
        .map_err(|e| of_version(e, name, version))?;
    let mut mv = load_live_version(conn, model_id, name, version).await?;
    if let Some(description) = description {
        let before = version_state_of(&mv);
        sqlx::query(
            "UPDATE model_versions SET description = $3, last_updated_time = $4 \
             WHERE model_id = $1 AND version = $2",
        )
        .bind(model_id)
        .bind(version.get())
        .bind(description)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        mv.description = description.to_owned();
        mv.last_updated_timestamp = now;
        let after = version_state_of(&mv);
        let change = Change::version("update_version", name, version.get())
            .states(Some(before), Some(after));
        record_event(conn, now, change).await?;
    }
    Ok(mv)
}

/// [`MetadataStore::transition_model_version_stage`]'s work inside a transaction the caller commits.
pub(crate) async fn transition_model_version_stage_in(
    conn: &mut AnyConnection,
    now: i64,
    name: &str,
    version: VersionNumber,
    stage: Stage,
    archive_existing_versions: bool,
) -> Result<ModelVersion> {
    let model_id = touch_model(conn, name, now)
        .await
        .map_err(|e| of_version(e, name, version))?;
    let mut mv = load_live_version(conn, model_id, name, version).await?;
    let before = version_state_of(&mv);
    sqlx::query(
        "UPDATE model_versions SET current_stage = $3, last_updated_time = $4 \
         WHERE model_id = $1 AND version = $2",
    )
    .bind(model_id)
    .bind(version.get())
    .bind(stage.as_str())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    mv.current_stage = stage;
    mv.last_updated_timestamp = now;
    let detail = if archive_existing_versions {
        format!("{stage} (archived existing)")
    } else {
        stage.as_str().to_owned()
    };
    let mut changes = vec![
        Change::version("transition_stage", name, version.get())
            .detail(&detail)
            .states(Some(before), Some(version_state_of(&mv))),
    ];
    let archived = if archive_existing_versions {
        archive_others(conn, now, model_id, version, stage).await?
    } else {
        Vec::new()
    };
    let archive_detail =
        format!("Archived (archive_existing_versions by version {version} to {stage})");
    for (other, before, after) in archived {
        changes.push(
            Change::version("transition_stage", name, other)
                .detail(&archive_detail)
                .states(Some(before), Some(after)),
        );
    }
    record_events(conn, now, changes).await?;
    Ok(mv)
}

/// The side effect of a transition with `archive_existing_versions`: every other version in
/// `stage` moves to Archived. Returns each one's number and its states before and after, for a
/// `transition_stage` event of its own (after the event of the transition that caused it, in the
/// same transaction), so that a version's history and the stage as of any time are read from its
/// own events.
async fn archive_others(
    conn: &mut AnyConnection,
    now: i64,
    model_id: i64,
    cause: VersionNumber,
    stage: Stage,
) -> Result<Vec<(i64, Value, Value)>> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {MV_COLUMNS} FROM model_versions mv WHERE mv.model_id = $1 \
         AND mv.current_stage = $2 AND mv.version <> $3 ORDER BY mv.version"
    )))
    .bind(model_id)
    .bind(stage.as_str())
    .bind(cause.get())
    .fetch_all(&mut *conn)
    .await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut others = rows
        .iter()
        .map(|r| Ok(version_from_row(r)?.1))
        .collect::<Result<Vec<_>>>()?;
    attach_version_details(conn, model_id, &mut others).await?;
    sqlx::query(
        "UPDATE model_versions SET current_stage = $3, last_updated_time = $4 \
         WHERE model_id = $1 AND current_stage = $2 AND version <> $5",
    )
    .bind(model_id)
    .bind(stage.as_str())
    .bind(Stage::Archived.as_str())
    .bind(now)
    .bind(cause.get())
    .execute(&mut *conn)
    .await?;
    Ok(others
        .into_iter()
        .map(|mut mv| {
            let before = version_state_of(&mv);
            mv.current_stage = Stage::Archived;
            (mv.version.get(), before, version_state_of(&mv))
        })
        .collect())
}

/// [`MetadataStore::set_model_version_tag`]'s work inside a transaction the caller commits.
pub(crate) async fn set_model_version_tag_in(
    conn: &mut AnyConnection,
    now: i64,
    name: &str,
    version: VersionNumber,
    tag: &Tag,
) -> Result<()> {
    let model_id = lock_model(conn, name)
        .await
        .map_err(|e| of_version(e, name, version))?;
    let mut mv = load_live_version(conn, model_id, name, version).await?;
    let before = version_state_of(&mv);
    set_version_tag_row(conn, model_id, version.get(), tag).await?;
    match mv.tags.iter_mut().find(|t| t.key == tag.key) {
        Some(t) => t.value = tag.value.clone(),
        None => mv.tags.push(tag.clone()),
    }
    let change = Change::version("set_version_tag", name, version.get())
        .detail(&tag.key)
        .states(Some(before), Some(version_state_of(&mv)));
    record_event(conn, now, change).await?;
    Ok(())
}

/// [`MetadataStore::delete_model_version_tag`]'s work inside a transaction the caller commits.
pub(crate) async fn delete_model_version_tag_in(
    conn: &mut AnyConnection,
    now: i64,
    name: &str,
    version: VersionNumber,
    key: &str,
) -> Result<()> {
    let model_id = lock_model(conn, name)
        .await
        .map_err(|e| of_version(e, name, version))?;
    let mut mv = load_live_version(conn, model_id, name, version).await?;
    let before = version_state_of(&mv);
    let deleted = sqlx::query(
        "DELETE FROM model_version_tags WHERE model_id = $1 AND version = $2 AND key = $3",
    )
    .bind(model_id)
    .bind(version.get())
    .bind(key)
    .execute(&mut *conn)
    .await?;
    if deleted.rows_affected() > 0 {
        mv.tags.retain(|t| t.key != key);
        let change = Change::version("delete_version_tag", name, version.get())
            .detail(key)
            .states(Some(before), Some(version_state_of(&mv)));
        record_event(conn, now, change).await?;
    }
    Ok(())
}

//! The MLflow model-registry endpoints (`ModelRegistryService`). Each handler parses its request
//! into domain types, makes one call to the `MetadataStore` service and renders the result.

use super::{max_results_arg, page_token_arg, required, tags_arg};
use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{Mlflow, RequestMessage, opt_bool, opt_int64};
use crate::wire::{ModelVersionJson, RegisteredModelJson, TagIn};
use arca_core::model::{
    AliasName, ModelName, NewModelVersion, Stage, Tag, VersionNumber, check_tag_key,
    parse_description,
};
use arca_core::prompt;
use arca_core::search::{
    MODEL_SEARCH_DEFAULT, MODEL_SEARCH_MAX, SearchEntity, VERSION_SEARCH_DEFAULT,
    VERSION_SEARCH_MAX, parse_filter, parse_order_by,
};
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

/// The model a call names: present, and a name MLflow would accept.
fn name_arg(value: Option<String>) -> ApiResult<String> {
    let name = required(value, "name")?;
    arca_core::model::check_model_name(&name)?;
    Ok(name)
}

fn version_arg(value: Option<String>) -> ApiResult<VersionNumber> {
    Ok(VersionNumber::parse(&required(value, "version")?)?)
}

fn description_arg(value: Option<String>) -> ApiResult<Option<String>> {
    Ok(value.map(|d| parse_description(&d)).transpose()?)
}

fn model_json(m: &arca_core::model::RegisteredModel) -> Value {
    json!({ "registered_model": RegisteredModelJson::from(m) })
}

fn version_json(v: &arca_core::model::ModelVersion) -> Value {
    json!({ "model_version": ModelVersionJson::from(v) })
}

#[derive(Deserialize)]
pub struct CreateModel {
    name: Option<String>,
    tags: Option<Vec<TagIn>>,
    description: Option<String>,
}
impl RequestMessage for CreateModel {
    const REPEATED: &'static [&'static str] = &["tags"];
}

pub async fn create_registered_model(
    State(app): State<AppState>,
    caller: Option<axum::Extension<crate::auth::Caller>>,
    Mlflow(req): Mlflow<CreateModel>,
) -> ApiResult<Json<Value>> {
    let name = ModelName::parse(&required(req.name, "name")?)?;
    let tags = tags_arg(req.tags)?;
    let description = description_arg(req.description)?;
    let model = app
        .metadata
        .create_registered_model_by(
            &name,
            description.as_deref(),
            &tags,
            crate::auth::Caller::id_of(caller.as_deref()),
        )
        .await?;
    Ok(Json(model_json(&model)))
}

#[derive(Deserialize)]
pub struct ByName {
    name: Option<String>,
}
impl RequestMessage for ByName {}

pub async fn get_registered_model(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<ByName>,
) -> ApiResult<Json<Value>> {
    let name = name_arg(req.name)?;
    Ok(Json(model_json(
        &app.metadata.get_registered_model(&name).await?,
    )))
}

pub async fn delete_registered_model(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<ByName>,
) -> ApiResult<Json<Value>> {
    let name = name_arg(req.name)?;
    app.metadata.delete_registered_model(&name).await?;
    Ok(Json(json!({})))
}

#[derive(Deserialize)]
pub struct RenameModel {
    name: Option<String>,
    new_name: Option<String>,
}
impl RequestMessage for RenameModel {}

pub async fn rename_registered_model(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<RenameModel>,
) -> ApiResult<Json<Value>> {
    let name = name_arg(req.name)?;
    let new_name = ModelName::parse(&required(req.new_name, "new_name")?)?;
    let model = app
        .metadata
        .rename_registered_model(&name, &new_name)
        .await?;
    Ok(Json(model_json(&model)))
}

#[derive(Deserialize)]
pub struct UpdateModel {
    name: Option<String>,
    description: Option<String>,
}
impl RequestMessage for UpdateModel {}

pub async fn update_registered_model(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<UpdateModel>,
) -> ApiResult<Json<Value>> {
    let name = name_arg(req.name)?;
    let description = description_arg(req.description)?;
    let model = app
        .metadata
        .update_registered_model(&name, description.as_deref())
        .await?;
    Ok(Json(model_json(&model)))
}

#[derive(Deserialize)]
pub struct Search {
    filter: Option<String>,
    #[serde(default, deserialize_with = "opt_int64")]
    max_results: Option<i64>,
    order_by: Option<Vec<String>>,
    page_token: Option<String>,
}
impl RequestMessage for Search {
    const REPEATED: &'static [&'static str] = &["order_by"];
}

pub async fn search_registered_models(
    State(app): State<AppState>,
    caller: Option<axum::Extension<crate::auth::Caller>>,
    Mlflow(req): Mlflow<Search>,
) -> ApiResult<Json<super::Paged<RegisteredModelJson>>> {
    let entity = SearchEntity::RegisteredModels;
    let max_results = max_results_arg(req.max_results, MODEL_SEARCH_DEFAULT, MODEL_SEARCH_MAX)?;
    let filter = parse_filter(entity, req.filter.as_deref().unwrap_or(""))?;
    let order_by = parse_order_by(entity, &req.order_by.unwrap_or_default())?;
    let token = page_token_arg(req.page_token)?;
    let page = app
        .metadata
        .search_registered_models_as(
            crate::auth::read_scope(&app, caller.as_ref().map(|c| &c.0)).as_ref(),
            &filter,
            &order_by,
            max_results,
            token.as_ref(),
        )
        .await?;
    Ok(super::paged_serialized("registered_models", page, |m| {
        RegisteredModelJson::from(m)
    }))
}

#[derive(Deserialize)]
pub struct LatestVersions {
    name: Option<String>,
    stages: Option<Vec<String>>,
}
impl RequestMessage for LatestVersions {
    const REPEATED: &'static [&'static str] = &["stages"];
}

pub async fn get_latest_versions(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<LatestVersions>,
) -> ApiResult<Json<Value>> {
    let name = name_arg(req.name)?;
    let stages = req
        .stages
        .unwrap_or_default()
        .iter()
        .map(|s| Stage::parse(s))
        .collect::<Result<Vec<_>, _>>()?;
    let versions = app.metadata.get_latest_versions(&name, &stages).await?;
    let mut body = json!({});
    if !versions.is_empty() {
        body["model_versions"] = json!(
            versions
                .iter()
                .map(ModelVersionJson::from)
                .collect::<Vec<_>>()
        );
    }
    Ok(Json(body))
}

#[derive(Deserialize)]
pub struct CreateVersion {
    name: Option<String>,
    source: Option<String>,
    run_id: Option<String>,
    tags: Option<Vec<TagIn>>,
    run_link: Option<String>,
    description: Option<String>,
    model_id: Option<String>,
}
impl RequestMessage for CreateVersion {
    const REPEATED: &'static [&'static str] = &["tags"];
}

pub async fn create_model_version(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<CreateVersion>,
) -> ApiResult<Json<Value>> {
    let name = ModelName::parse(&required(req.name, "name")?)?;
    let source = required(req.source, "source")?;
    for tag in req.tags.iter().flatten() {
        if let (Some(key), Some(value)) = (&tag.key, &tag.value) {
            prompt::check_prompt_text(key, value)?;
        }
    }
    let tags = tags_arg(req.tags)?;
    let new = NewModelVersion {
        source,
        run_id: req.run_id.unwrap_or_default(),
        run_link: req.run_link,
        description: description_arg(req.description)?,
        model_id: req.model_id.filter(|m| !m.is_empty()),
        user_id: None,
        tags,
    };
    let version = app.metadata.create_model_version(&name, &new).await?;
    Ok(Json(version_json(&version)))
}

#[derive(Deserialize)]
pub struct ByVersion {
    name: Option<String>,
    version: Option<String>,
}
impl RequestMessage for ByVersion {}

pub async fn get_model_version(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<ByVersion>,
) -> ApiResult<Json<Value>> {
    let name = name_arg(req.name)?;
    let version = version_arg(req.version)?;
    Ok(Json(version_json(
        &app.metadata.get_model_version(&name, version).await?,
    )))
}

pub async fn delete_model_version(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<ByVersion>,
) -> ApiResult<Json<Value>> {
    let name = name_arg(req.name)?;
    let version = version_arg(req.version)?;
    app.metadata.delete_model_version(&name, version).await?;
    Ok(Json(json!({})))
}

pub async fn get_model_version_download_uri(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<ByVersion>,
) -> ApiResult<Json<Value>> {
    let name = name_arg(req.name)?;
    let version = version_arg(req.version)?;
    let uri = app
        .metadata
        .get_model_version_download_uri_for_client(&name, version)
        .await?;
    Ok(Json(json!({ "artifact_uri": uri })))
}

#[derive(Deserialize)]
pub struct UpdateVersion {
    name: Option<String>,
    version: Option<String>,
    description: Option<String>,
}
impl RequestMessage for UpdateVersion {}

pub async fn update_model_version(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<UpdateVersion>,
) -> ApiResult<Json<Value>> {
    let name = name_arg(req.name)?;
    let version = version_arg(req.version)?;
    let description = description_arg(req.description)?;
    let mv = app
        .metadata
        .update_model_version(&name, version, description.as_deref())
        .await?;
    Ok(Json(version_json(&mv)))
}

#[derive(Deserialize)]
pub struct Transition {
    name: Option<String>,
    version: Option<String>,
    stage: Option<String>,
    #[serde(default, deserialize_with = "opt_bool")]
    archive_existing_versions: Option<bool>,
}
impl RequestMessage for Transition {}

pub async fn transition_model_version_stage(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<Transition>,
) -> ApiResult<Json<Value>> {
    let name = name_arg(req.name)?;
    let version = version_arg(req.version)?;
    let stage = Stage::parse(&required(req.stage, "stage")?)?;
    let mv = app
        .metadata
        .transition_model_version_stage(
            &name,
            version,
            stage,
            req.archive_existing_versions.unwrap_or(false),
        )
        .await?;
    Ok(Json(version_json(&mv)))
}

pub async fn search_model_versions(
    State(app): State<AppState>,
    caller: Option<axum::Extension<crate::auth::Caller>>,
    Mlflow(req): Mlflow<Search>,
) -> ApiResult<Json<super::Paged<ModelVersionJson>>> {
    let entity = SearchEntity::ModelVersions;
    let max_results = max_results_arg(req.max_results, VERSION_SEARCH_DEFAULT, VERSION_SEARCH_MAX)?;
    let filter = parse_filter(entity, req.filter.as_deref().unwrap_or(""))?;
    let order_by = parse_order_by(entity, &req.order_by.unwrap_or_default())?;
    let token = page_token_arg(req.page_token)?;
    let page = app
        .metadata
        .search_model_versions_as(
            crate::auth::read_scope(&app, caller.as_ref().map(|c| &c.0)).as_ref(),
            &filter,
            &order_by,
            max_results,
            token.as_ref(),
        )
        .await?;
    Ok(super::paged_serialized("model_versions", page, |v| {
        ModelVersionJson::from(v)
    }))
}

#[derive(Deserialize)]
pub struct ModelTag {
    name: Option<String>,
    key: Option<String>,
    value: Option<String>,
}
impl RequestMessage for ModelTag {}

pub async fn set_registered_model_tag(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<ModelTag>,
) -> ApiResult<Json<Value>> {
    let name = name_arg(req.name)?;
    let key = required(req.key, "key")?;
    // MLflow stores a tag sent without a value with the empty value.
    let tag = Tag::parse(&key, req.value.as_deref().unwrap_or(""))?;
    app.metadata.set_registered_model_tag(&name, &tag).await?;
    Ok(Json(json!({})))
}

pub async fn delete_registered_model_tag(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<ModelTag>,
) -> ApiResult<Json<Value>> {
    let name = name_arg(req.name)?;
    let key = required(req.key, "key")?;
    check_tag_key(&key)?;
    app.metadata
        .delete_registered_model_tag(&name, &key)
        .await?;
    Ok(Json(json!({})))
}

#[derive(Deserialize)]
pub struct VersionTag {
    name: Option<String>,
    version: Option<String>,
    key: Option<String>,
    value: Option<String>,
}
impl RequestMessage for VersionTag {}

pub async fn set_model_version_tag(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<VersionTag>,
) -> ApiResult<Json<Value>> {
    let name = name_arg(req.name)?;
    let version = version_arg(req.version)?;
    let key = required(req.key, "key")?;
    // MLflow stores a tag sent without a value with the empty value.
    let value = req.value.unwrap_or_default();
    prompt::check_prompt_text(&key, &value)?;
    let tag = Tag::parse(&key, &value)?;
    app.metadata
        .set_model_version_tag(&name, version, &tag)
        .await?;
    Ok(Json(json!({})))
}

pub async fn delete_model_version_tag(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<VersionTag>,
) -> ApiResult<Json<Value>> {
    let name = name_arg(req.name)?;
    let version = version_arg(req.version)?;
    let key = required(req.key, "key")?;
    check_tag_key(&key)?;
    app.metadata
        .delete_model_version_tag(&name, version, &key)
        .await?;
    Ok(Json(json!({})))
}

#[derive(Deserialize)]
pub struct AliasReq {
    name: Option<String>,
    alias: Option<String>,
    version: Option<String>,
}
impl RequestMessage for AliasReq {}

pub async fn set_registered_model_alias(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<AliasReq>,
) -> ApiResult<Json<Value>> {
    let name = name_arg(req.name)?;
    let alias = AliasName::parse(&required(req.alias, "alias")?)?;
    let version = version_arg(req.version)?;
    app.metadata
        .set_registered_model_alias(&name, &alias, version)
        .await?;
    Ok(Json(json!({})))
}

pub async fn delete_registered_model_alias(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<AliasReq>,
) -> ApiResult<Json<Value>> {
    let name = name_arg(req.name)?;
    let alias = AliasName::parse_ref(&required(req.alias, "alias")?)?;
    app.metadata
        .delete_registered_model_alias(&name, alias.as_str())
        .await?;
    Ok(Json(json!({})))
}

pub async fn get_model_version_by_alias(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<AliasReq>,
) -> ApiResult<Json<Value>> {
    let name = name_arg(req.name)?;
    let alias = AliasName::parse_ref(&required(req.alias, "alias")?)?;
    let mv = app
        .metadata
        .get_model_version_by_alias(&name, alias.as_str())
        .await?;
    Ok(Json(version_json(&mv)))
}

/// This module's endpoints, relative to `/api/2.0/mlflow`.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/registered-models/create", post(create_registered_model))
        .route("/registered-models/rename", post(rename_registered_model))
        .route(
            "/registered-models/update",
            axum::routing::patch(update_registered_model),
        )
        .route(
            "/registered-models/delete",
            axum::routing::delete(delete_registered_model),
        )
        .route("/registered-models/get", get(get_registered_model))
        .route("/registered-models/search", get(search_registered_models))
        .route(
            "/registered-models/get-latest-versions",
            post(get_latest_versions).get(get_latest_versions),
        )
        .route("/registered-models/set-tag", post(set_registered_model_tag))
        .route(
            "/registered-models/delete-tag",
            axum::routing::delete(delete_registered_model_tag),
        )
        .route(
            "/registered-models/alias",
            post(set_registered_model_alias)
                .delete(delete_registered_model_alias)
                .get(get_model_version_by_alias),
        )
        .route("/model-versions/create", post(create_model_version))
        .route(
            "/model-versions/update",
            axum::routing::patch(update_model_version),
        )
        .route(
            "/model-versions/transition-stage",
            post(transition_model_version_stage),
        )
        .route(
            "/model-versions/delete",
            axum::routing::delete(delete_model_version),
        )
        .route("/model-versions/get", get(get_model_version))
        .route("/model-versions/search", get(search_model_versions))
        .route(
            "/model-versions/get-download-uri",
            get(get_model_version_download_uri),
        )
        .route("/model-versions/set-tag", post(set_model_version_tag))
        .route(
            "/model-versions/delete-tag",
            axum::routing::delete(delete_model_version_tag),
        )
}

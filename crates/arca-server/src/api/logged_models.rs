//! MLflow 3 logged models (`/logged-models`), which `mlflow.<flavor>.log_model` creates,
//! uploads files to and finalizes before registering a version from them.

use super::{ok, required, tags_arg};
use crate::AppState;
use crate::api::artifact_roots::list_logged_model_artifacts;
use crate::error::ApiResult;
use crate::extract::{Mlflow, RequestMessage};
use crate::tracking_wire as wire;
use crate::wire::TagIn;
use arca_core::search::{
    complete_logged_model_order, parse_logged_model_filter, parse_logged_model_order_by,
};
use arca_core::tracking::{
    LoggedModelStatus, MAX_PARAM_VALUE_LEN, Param, check_value_len, parse_entity_key,
};
use arca_store::NewLoggedModel;
use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{delete, get, patch, post};
use serde::Deserialize;
use serde_json::{Value, json};

fn params_arg(params: Option<Vec<TagIn>>) -> ApiResult<Vec<Param>> {
    params
        .unwrap_or_default()
        .into_iter()
        .map(|p| {
            let key = parse_entity_key("Param", &required(p.key, "key")?)?;
            let value = p.value.unwrap_or_default();
            check_value_len("Param value", &key, &value, MAX_PARAM_VALUE_LEN)?;
            Ok(Param { key, value })
        })
        .collect()
}

#[derive(Deserialize)]
pub struct CreateLoggedModel {
    experiment_id: Option<String>,
    name: Option<String>,
    model_type: Option<String>,
    source_run_id: Option<String>,
    params: Option<Vec<TagIn>>,
    tags: Option<Vec<TagIn>>,
}
impl RequestMessage for CreateLoggedModel {}

pub async fn create_logged_model(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<CreateLoggedModel>,
) -> ApiResult<Json<Value>> {
    let new = NewLoggedModel {
        experiment_id: required(req.experiment_id, "experiment_id")?,
        name: req.name,
        model_type: req.model_type,
        source_run_id: req.source_run_id.filter(|r| !r.is_empty()),
        params: params_arg(req.params)?,
        tags: tags_arg(req.tags)?,
    };
    let model = app.metadata.create_logged_model(&new).await?;
    Ok(Json(json!({ "model": wire::logged_model(&model) })))
}

pub async fn get_logged_model(
    State(app): State<AppState>,
    Path(model_id): Path<String>,
) -> ApiResult<Json<Value>> {
    let model = app.metadata.get_logged_model(&model_id).await?;
    Ok(Json(json!({ "model": wire::logged_model(&model) })))
}

#[derive(Deserialize)]
pub struct Finalize {
    status: Option<String>,
}
impl RequestMessage for Finalize {}

pub async fn finalize_logged_model(
    State(app): State<AppState>,
    Path(model_id): Path<String>,
    Mlflow(req): Mlflow<Finalize>,
) -> ApiResult<Json<Value>> {
    let status = LoggedModelStatus::parse(&required(req.status, "status")?)?;
    let model = app
        .metadata
        .finalize_logged_model(&model_id, status)
        .await?;
    Ok(Json(json!({ "model": wire::logged_model(&model) })))
}

pub async fn delete_logged_model(
    State(app): State<AppState>,
    Path(model_id): Path<String>,
) -> ApiResult<Json<Value>> {
    app.metadata.delete_logged_model(&model_id).await?;
    ok()
}

#[derive(Deserialize)]
pub struct Tags {
    tags: Option<Vec<TagIn>>,
}
impl RequestMessage for Tags {}

pub async fn set_logged_model_tags(
    State(app): State<AppState>,
    Path(model_id): Path<String>,
    Mlflow(req): Mlflow<Tags>,
) -> ApiResult<Json<Value>> {
    let tags = tags_arg(req.tags)?;
    app.metadata.set_logged_model_tags(&model_id, &tags).await?;
    ok()
}

pub async fn delete_logged_model_tag(
    State(app): State<AppState>,
    Path((model_id, key)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    app.metadata
        .delete_logged_model_tag(&model_id, &key)
        .await?;
    ok()
}

#[derive(Deserialize)]
pub struct Params {
    params: Option<Vec<TagIn>>,
}
impl RequestMessage for Params {}

pub async fn log_logged_model_params(
    State(app): State<AppState>,
    Path(model_id): Path<String>,
    Mlflow(req): Mlflow<Params>,
) -> ApiResult<Json<Value>> {
    let params = params_arg(req.params)?;
    app.metadata
        .log_logged_model_params(&model_id, &params)
        .await?;
    ok()
}

#[derive(Deserialize)]
pub struct OrderByIn {
    field_name: Option<String>,
    #[serde(default, deserialize_with = "crate::extract::opt_bool")]
    ascending: Option<bool>,
    dataset_name: Option<String>,
    dataset_digest: Option<String>,
}

#[derive(Deserialize)]
pub struct SearchLoggedModels {
    experiment_ids: Option<Vec<String>>,
    filter: Option<String>,
    #[serde(default, deserialize_with = "crate::extract::opt_int64")]
    max_results: Option<i64>,
    order_by: Option<Vec<OrderByIn>>,
    page_token: Option<String>,
}
impl RequestMessage for SearchLoggedModels {
    const REPEATED: &'static [&'static str] = &["experiment_ids"];
}

/// MLflow answers 50 logged models per page unless asked otherwise.
const SEARCH_DEFAULT: u64 = 50;
const SEARCH_MAX: u64 = 10_000;

pub async fn search_logged_models(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<SearchLoggedModels>,
) -> ApiResult<Json<Value>> {
    let max = super::max_results_arg(req.max_results, SEARCH_DEFAULT, SEARCH_MAX)?;
    let filter = parse_logged_model_filter(req.filter.as_deref().unwrap_or(""))?;
    let order = req
        .order_by
        .unwrap_or_default()
        .into_iter()
        .map(|o| {
            parse_logged_model_order_by(
                &required(o.field_name, "field_name")?,
                o.ascending,
                o.dataset_name.as_deref(),
                o.dataset_digest.as_deref(),
            )
            .map_err(Into::into)
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let order = complete_logged_model_order(order);
    let token = super::page_token_arg(req.page_token)?;
    let page = app
        .metadata
        .search_logged_models(
            &req.experiment_ids.unwrap_or_default(),
            &filter,
            &order,
            max,
            token.as_ref(),
        )
        .await?;
    Ok(super::paged("models", page, |x| {
        json!(wire::logged_model(x))
    }))
}

/// This module's endpoints, relative to `/api/2.0/mlflow`.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/logged-models/search", post(search_logged_models))
        .route("/logged-models", post(create_logged_model))
        .route(
            "/logged-models/{model_id}",
            get(get_logged_model)
                .patch(finalize_logged_model)
                .delete(delete_logged_model),
        )
        .route(
            "/logged-models/{model_id}/tags",
            patch(set_logged_model_tags),
        )
        .route(
            "/logged-models/{model_id}/tags/{tag_key}",
            delete(delete_logged_model_tag),
        )
        .route(
            "/logged-models/{model_id}/params",
            post(log_logged_model_params),
        )
        .route(
            "/logged-models/{model_id}/artifacts/directories",
            get(list_logged_model_artifacts),
        )
}

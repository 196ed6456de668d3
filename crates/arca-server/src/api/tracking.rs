//! The MLflow tracking endpoints (`MlflowService`): experiments, runs, params, metrics, tags,
//! dataset inputs and model outputs. The client sends a run's id as both `run_id` and the
//! legacy `run_uuid`; either is accepted.

use super::{ok, required, tags_arg};
use crate::AppState;
use crate::api::artifact_roots::list_run_artifacts;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Mlflow, RequestMessage, opt_int64};
use crate::tracking_wire::{self as wire, opt_double};
use crate::wire::TagIn;
use arca_core::ErrorCode;
use arca_core::model::Tag;
use arca_core::search::{
    parse_experiment_filter, parse_experiment_order_by, parse_run_filter, parse_run_order_by,
};
use arca_core::tracking::ViewType;
use arca_core::tracking::{
    Dataset, DatasetInput, MAX_BATCH_METRICS, MAX_BATCH_PARAMS, MAX_BATCH_TAGS, MAX_BATCH_TOTAL,
    MAX_EXPERIMENT_TAG_VALUE_LEN, MAX_PARAM_VALUE_LEN, MAX_TAG_VALUE_LEN, Metric, ModelOutput,
    Param, RunStatus, check_value_len, parse_entity_key, truncate_value,
};
use arca_store::NewRun;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

/// MLflow caps one page of metric history at 25000 points by default.
const METRIC_HISTORY_DEFAULT: u64 = 25_000;
const METRIC_HISTORY_MAX: u64 = 25_000;

fn run_id_arg(run_id: Option<String>, run_uuid: Option<String>) -> ApiResult<String> {
    required(run_id.filter(|r| !r.is_empty()).or(run_uuid), "run_id")
}

fn run_tags(tags: Option<Vec<TagIn>>) -> ApiResult<Vec<Tag>> {
    tags_arg(tags)?
        .into_iter()
        .map(|tag| {
            parse_entity_key("Tag", &tag.key)?;
            Ok(Tag {
                value: truncate_value(tag.value, MAX_TAG_VALUE_LEN),
                key: tag.key,
            })
        })
        .collect()
}

// ---------------------------------------------------------------- experiments

#[derive(Deserialize)]
pub struct CreateExperiment {
    name: Option<String>,
    artifact_location: Option<String>,
    tags: Option<Vec<TagIn>>,
}
impl RequestMessage for CreateExperiment {
    const REPEATED: &'static [&'static str] = &["tags"];
}

/// An experiment id: present, and an integer, as MLflow requires of the ids it hands out.
fn experiment_id_arg(value: Option<String>) -> ApiResult<String> {
    let id = required(value, "experiment_id")?;
    let digits = id.strip_prefix('-').unwrap_or(&id);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::invalid(format!(
            "Invalid experiment ID '{id}'. Experiment ID must be a valid integer."
        )));
    }
    Ok(id)
}

/// MLflow's limit on experiment names.
const MAX_EXPERIMENT_NAME_LEN: usize = 500;

fn experiment_name_arg(value: Option<String>, field: &str) -> ApiResult<String> {
    let name = required(value, field)?;
    if name.chars().count() > MAX_EXPERIMENT_NAME_LEN {
        return Err(ApiError::invalid(format!(
            "'{field}' exceeds the maximum length of {MAX_EXPERIMENT_NAME_LEN} characters"
        )));
    }
    Ok(name)
}

pub async fn create_experiment(
    State(app): State<AppState>,
    caller: Option<axum::Extension<crate::auth::Caller>>,
    Mlflow(req): Mlflow<CreateExperiment>,
) -> ApiResult<Json<Value>> {
    let name = experiment_name_arg(req.name, "name")?;
    let location = req.artifact_location.filter(|l| !l.is_empty());
    let tags = tags_arg(req.tags)?;
    let id = app
        .metadata
        .create_experiment_by(
            &name,
            location.as_deref(),
            &tags,
            crate::auth::Caller::id_of(caller.as_deref()),
        )
        .await?;
    Ok(Json(json!({ "experiment_id": id })))
}

#[derive(Deserialize)]
pub struct ByExperiment {
    experiment_id: Option<String>,
    experiment_name: Option<String>,
    new_name: Option<String>,
    key: Option<String>,
    value: Option<String>,
}
impl RequestMessage for ByExperiment {}

pub async fn get_experiment(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<ByExperiment>,
) -> ApiResult<Json<Value>> {
    let id = experiment_id_arg(req.experiment_id)?;
    let experiment = app.metadata.get_experiment(&id).await?;
    Ok(Json(json!({ "experiment": wire::experiment(&experiment) })))
}

pub async fn get_experiment_by_name(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<ByExperiment>,
) -> ApiResult<Json<Value>> {
    let name = required(req.experiment_name, "experiment_name")?;
    let experiment = app.metadata.get_experiment_by_name(&name).await?;
    Ok(Json(json!({ "experiment": wire::experiment(&experiment) })))
}

pub async fn update_experiment(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<ByExperiment>,
) -> ApiResult<Json<Value>> {
    let id = experiment_id_arg(req.experiment_id)?;
    let new_name = experiment_name_arg(req.new_name, "new_name")?;
    app.metadata.rename_experiment(&id, &new_name).await?;
    ok()
}

pub async fn delete_experiment(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<ByExperiment>,
) -> ApiResult<Json<Value>> {
    let id = experiment_id_arg(req.experiment_id)?;
    app.metadata.delete_experiment(&id).await?;
    ok()
}

pub async fn restore_experiment(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<ByExperiment>,
) -> ApiResult<Json<Value>> {
    let id = experiment_id_arg(req.experiment_id)?;
    app.metadata.restore_experiment(&id).await?;
    ok()
}

pub async fn set_experiment_tag(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<ByExperiment>,
) -> ApiResult<Json<Value>> {
    let id = experiment_id_arg(req.experiment_id)?;
    let key = parse_entity_key("Tag", &required(req.key, "key")?)?;
    let value = req.value.ok_or_else(|| ApiError::missing("value"))?;
    check_value_len("Tag value", &key, &value, MAX_EXPERIMENT_TAG_VALUE_LEN)?;
    app.metadata
        .set_experiment_tag(&id, &Tag { key, value })
        .await?;
    ok()
}

pub async fn delete_experiment_tag(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<ByExperiment>,
) -> ApiResult<Json<Value>> {
    let id = experiment_id_arg(req.experiment_id)?;
    let key = required(req.key, "key")?;
    app.metadata.delete_experiment_tag(&id, &key).await?;
    ok()
}

// ---------------------------------------------------------------- runs

#[derive(Deserialize)]
pub struct CreateRun {
    experiment_id: Option<String>,
    user_id: Option<String>,
    run_name: Option<String>,
    #[serde(default, deserialize_with = "opt_int64")]
    start_time: Option<i64>,
    tags: Option<Vec<TagIn>>,
}
impl RequestMessage for CreateRun {
    const REPEATED: &'static [&'static str] = &["tags"];
}

pub async fn create_run(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<CreateRun>,
) -> ApiResult<Json<Value>> {
    let new = NewRun {
        experiment_id: match req.experiment_id.filter(|e| !e.is_empty()) {
            Some(id) => experiment_id_arg(Some(id))?,
            // MLflow fails on this with a 400 BAD_REQUEST (a database error); the client always
            // sends an experiment id.
            None => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    ErrorCode::BadRequest,
                    "Missing value for required parameter 'experiment_id'. See the API docs for \
                     more information about request parameters.",
                ));
            }
        },
        user_id: req.user_id.unwrap_or_default(),
        run_name: req.run_name,
        start_time: req.start_time,
        tags: run_tags(req.tags)?,
    };
    let run = app.metadata.create_run(&new).await?;
    let mut run = wire::run(&run);
    // MLflow's answer to runs/create has no `outputs` (a new run has none); runs/get has it.
    run.outputs = None;
    Ok(Json(json!({ "run": run })))
}

#[derive(Deserialize)]
pub struct ByRun {
    run_id: Option<String>,
    run_uuid: Option<String>,
}
impl RequestMessage for ByRun {}

pub async fn get_run(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<ByRun>,
) -> ApiResult<Json<Value>> {
    let run_id = run_id_arg(req.run_id, req.run_uuid)?;
    let run = app.metadata.get_run(&run_id).await?;
    Ok(Json(json!({ "run": wire::run(&run) })))
}

pub async fn delete_run(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<ByRun>,
) -> ApiResult<Json<Value>> {
    let run_id = run_id_arg(req.run_id, req.run_uuid)?;
    app.metadata.delete_run(&run_id).await?;
    ok()
}

pub async fn restore_run(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<ByRun>,
) -> ApiResult<Json<Value>> {
    let run_id = run_id_arg(req.run_id, req.run_uuid)?;
    app.metadata.restore_run(&run_id).await?;
    ok()
}

#[derive(Deserialize)]
pub struct UpdateRun {
    run_id: Option<String>,
    run_uuid: Option<String>,
    status: Option<String>,
    #[serde(default, deserialize_with = "opt_int64")]
    end_time: Option<i64>,
    run_name: Option<String>,
}
impl RequestMessage for UpdateRun {}

pub async fn update_run(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<UpdateRun>,
) -> ApiResult<Json<Value>> {
    let run_id = run_id_arg(req.run_id, req.run_uuid)?;
    let status = req.status.map(|s| RunStatus::parse(&s)).transpose()?;
    let info = app
        .metadata
        .update_run(&run_id, status, req.end_time, req.run_name.as_deref())
        .await?;
    Ok(Json(json!({ "run_info": wire::run_info(&info) })))
}

#[derive(Deserialize)]
pub struct MetricIn {
    key: Option<String>,
    #[serde(default, deserialize_with = "opt_double")]
    value: Option<f64>,
    #[serde(default, deserialize_with = "opt_int64")]
    timestamp: Option<i64>,
    #[serde(default, deserialize_with = "opt_int64")]
    step: Option<i64>,
    model_id: Option<String>,
    dataset_name: Option<String>,
    dataset_digest: Option<String>,
}

impl MetricIn {
    /// `at` names the metric in the request as MLflow's messages do: "" for log-metric,
    /// "metrics[3]." in a batch.
    fn parse(self, at: &str) -> ApiResult<Metric> {
        Ok(Metric {
            key: parse_entity_key("Metric", &required(self.key, &format!("{at}key"))?)?,
            value: self
                .value
                .ok_or_else(|| ApiError::missing(&format!("{at}value")))?,
            timestamp: self
                .timestamp
                .ok_or_else(|| ApiError::missing(&format!("{at}timestamp")))?,
            step: self.step.unwrap_or(0),
            model_id: self.model_id.filter(|m| !m.is_empty()),
            dataset_name: self.dataset_name.filter(|m| !m.is_empty()),
            dataset_digest: self.dataset_digest.filter(|m| !m.is_empty()),
            run_id: None,
        })
    }
}

#[derive(Deserialize)]
pub struct LogMetric {
    run_id: Option<String>,
    run_uuid: Option<String>,
    #[serde(flatten)]
    metric: MetricIn,
}
impl RequestMessage for LogMetric {}

pub async fn log_metric(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<LogMetric>,
) -> ApiResult<Json<Value>> {
    let run_id = run_id_arg(req.run_id, req.run_uuid)?;
    let metric = req.metric.parse("")?;
    app.metadata.log_batch(&run_id, &[metric], &[], &[]).await?;
    ok()
}

#[derive(Deserialize)]
pub struct KeyValueOnRun {
    run_id: Option<String>,
    run_uuid: Option<String>,
    key: Option<String>,
    value: Option<String>,
}
impl RequestMessage for KeyValueOnRun {}

fn param_arg(key: Option<String>, value: Option<String>) -> ApiResult<Param> {
    let key = parse_entity_key("Param", &required(key, "key")?)?;
    // MLflow stores a param sent without a value (or with null) as the empty string.
    let value = truncate_value(value.unwrap_or_default(), MAX_PARAM_VALUE_LEN);
    Ok(Param { key, value })
}

pub async fn log_param(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<KeyValueOnRun>,
) -> ApiResult<Json<Value>> {
    let run_id = run_id_arg(req.run_id, req.run_uuid)?;
    let param = param_arg(req.key, req.value)?;
    app.metadata.log_batch(&run_id, &[], &[param], &[]).await?;
    ok()
}

pub async fn set_tag(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<KeyValueOnRun>,
) -> ApiResult<Json<Value>> {
    let run_id = run_id_arg(req.run_id, req.run_uuid)?;
    let tags = run_tags(Some(vec![TagIn {
        key: req.key,
        value: req.value,
    }]))?;
    app.metadata.log_batch(&run_id, &[], &[], &tags).await?;
    ok()
}

pub async fn delete_tag(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<KeyValueOnRun>,
) -> ApiResult<Json<Value>> {
    let run_id = run_id_arg(req.run_id, req.run_uuid)?;
    let key = required(req.key, "key")?;
    app.metadata.delete_run_tag(&run_id, &key).await?;
    ok()
}

#[derive(Deserialize)]
pub struct LogBatch {
    run_id: Option<String>,
    run_uuid: Option<String>,
    metrics: Option<Vec<MetricIn>>,
    params: Option<Vec<TagIn>>,
    tags: Option<Vec<TagIn>>,
}
impl RequestMessage for LogBatch {}

pub async fn log_batch(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<LogBatch>,
) -> ApiResult<Json<Value>> {
    let run_id = run_id_arg(req.run_id, req.run_uuid)?;
    let metrics = req.metrics.unwrap_or_default();
    let params = req.params.unwrap_or_default();
    let tags = req.tags.unwrap_or_default();
    for (what, got, max) in [
        ("metrics", metrics.len(), MAX_BATCH_METRICS),
        ("params", params.len(), MAX_BATCH_PARAMS),
        ("tags", tags.len(), MAX_BATCH_TAGS),
        (
            "total entities",
            metrics.len() + params.len() + tags.len(),
            MAX_BATCH_TOTAL,
        ),
    ] {
        if got > max {
            return Err(ApiError::invalid(format!(
                "A batch logging request can contain at most {max} {what}. Got {got} {what}. \
                 Please split up {what} across multiple requests and try again."
            )));
        }
    }
    let metrics = metrics
        .into_iter()
        .enumerate()
        .map(|(i, m)| m.parse(&format!("metrics[{i}].")))
        .collect::<ApiResult<Vec<_>>>()?;
    let params = params
        .into_iter()
        .map(|p| param_arg(p.key, p.value))
        .collect::<ApiResult<Vec<_>>>()?;
    let tags = run_tags(Some(tags))?;
    app.metadata
        .log_batch(&run_id, &metrics, &params, &tags)
        .await?;
    ok()
}

#[derive(Deserialize)]
pub struct MetricHistory {
    run_id: Option<String>,
    run_uuid: Option<String>,
    metric_key: Option<String>,
    page_token: Option<String>,
    #[serde(default, deserialize_with = "opt_int64")]
    max_results: Option<i64>,
}
impl RequestMessage for MetricHistory {}

pub async fn get_metric_history(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<MetricHistory>,
) -> ApiResult<Json<Value>> {
    let run_id = run_id_arg(req.run_id, req.run_uuid)?;
    let key = required(req.metric_key, "metric_key")?;
    let max = super::max_results_arg(req.max_results, METRIC_HISTORY_DEFAULT, METRIC_HISTORY_MAX)?;
    let token = super::page_token_arg(req.page_token)?;
    let page = app
        .metadata
        .get_metric_history(&run_id, &key, max, token.as_ref())
        .await?;
    Ok(super::paged("metrics", page, |x| json!(wire::metric(x))))
}

#[derive(Deserialize)]
pub struct DatasetIn {
    name: Option<String>,
    digest: Option<String>,
    source_type: Option<String>,
    source: Option<String>,
    schema: Option<String>,
    profile: Option<String>,
}

#[derive(Deserialize)]
pub struct DatasetInputIn {
    tags: Option<Vec<TagIn>>,
    dataset: Option<DatasetIn>,
}

#[derive(Deserialize)]
pub struct ModelRef {
    model_id: Option<String>,
    #[serde(default, deserialize_with = "opt_int64")]
    step: Option<i64>,
}

#[derive(Deserialize)]
pub struct LogInputs {
    run_id: Option<String>,
    datasets: Option<Vec<DatasetInputIn>>,
    models: Option<Vec<ModelRef>>,
}
impl RequestMessage for LogInputs {}

pub async fn log_inputs(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<LogInputs>,
) -> ApiResult<Json<Value>> {
    let run_id = required(req.run_id, "run_id")?;
    let datasets = req
        .datasets
        .unwrap_or_default()
        .into_iter()
        .map(|input| {
            let d = input.dataset.ok_or_else(|| ApiError::missing("dataset"))?;
            Ok(DatasetInput {
                tags: tags_arg(input.tags)?,
                dataset: Dataset {
                    name: required(d.name, "name")?,
                    // MLflow stores a dataset sent without a digest with an empty one.
                    digest: d.digest.unwrap_or_default(),
                    source_type: d.source_type.unwrap_or_default(),
                    source: d.source.unwrap_or_default(),
                    schema: d.schema,
                    profile: d.profile,
                },
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let models = req
        .models
        .unwrap_or_default()
        .into_iter()
        .map(|m| required(m.model_id, "model_id"))
        .collect::<ApiResult<Vec<_>>>()?;
    app.metadata.log_inputs(&run_id, &datasets, &models).await?;
    ok()
}

#[derive(Deserialize)]
pub struct LogOutputs {
    run_id: Option<String>,
    models: Option<Vec<ModelRef>>,
}
impl RequestMessage for LogOutputs {}

pub async fn log_outputs(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<LogOutputs>,
) -> ApiResult<Json<Value>> {
    let run_id = required(req.run_id, "run_id")?;
    let outputs = req
        .models
        .unwrap_or_default()
        .into_iter()
        .map(|m| {
            Ok(ModelOutput {
                model_id: required(m.model_id, "model_id")?,
                step: m.step.unwrap_or(0),
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    app.metadata.log_outputs(&run_id, &outputs).await?;
    ok()
}

// ---------------------------------------------------------------- search

/// MLflow's limits for experiment and run search pages.
const SEARCH_DEFAULT: u64 = 1000;
const SEARCH_MAX: u64 = 50_000;

fn view_arg(raw: Option<String>) -> ApiResult<ViewType> {
    Ok(raw
        .filter(|v| !v.is_empty())
        .map(|v| ViewType::parse(&v))
        .transpose()?
        .unwrap_or_default())
}

#[derive(Deserialize)]
pub struct SearchExperiments {
    #[serde(default, deserialize_with = "opt_int64")]
    max_results: Option<i64>,
    page_token: Option<String>,
    filter: Option<String>,
    order_by: Option<Vec<String>>,
    view_type: Option<String>,
}
impl RequestMessage for SearchExperiments {
    const REPEATED: &'static [&'static str] = &["order_by"];
}

pub async fn search_experiments(
    State(app): State<AppState>,
    caller: Option<axum::Extension<crate::auth::Caller>>,
    Mlflow(req): Mlflow<SearchExperiments>,
) -> ApiResult<Json<Value>> {
    // MLflow's experiment search has no default page size: a request without one is refused.
    if req.max_results.is_none_or(|n| n < 1) {
        return Err(ApiError::invalid(format!(
            "Invalid value {} for parameter 'max_results' supplied. It must be a positive integer",
            req.max_results.unwrap_or(0)
        )));
    }
    let max = super::max_results_arg(req.max_results, SEARCH_DEFAULT, SEARCH_MAX)?;
    let filter = parse_experiment_filter(req.filter.as_deref().unwrap_or(""))?;
    let order_by = parse_experiment_order_by(&req.order_by.unwrap_or_default())?;
    let token = super::page_token_arg(req.page_token)?;
    let page = app
        .metadata
        .search_experiments_as(
            crate::auth::read_scope(&app, caller.as_ref().map(|c| &c.0)).as_ref(),
            &filter,
            &order_by,
            view_arg(req.view_type)?,
            max,
            token.as_ref(),
        )
        .await?;
    Ok(super::paged("experiments", page, |x| {
        json!(wire::experiment(x))
    }))
}

#[derive(Deserialize)]
pub struct SearchRuns {
    experiment_ids: Option<Vec<String>>,
    filter: Option<String>,
    run_view_type: Option<String>,
    #[serde(default, deserialize_with = "opt_int64")]
    max_results: Option<i64>,
    order_by: Option<Vec<String>>,
    page_token: Option<String>,
}
impl RequestMessage for SearchRuns {
    const REPEATED: &'static [&'static str] = &["experiment_ids", "order_by"];
}

pub async fn search_runs(
    State(app): State<AppState>,
    Mlflow(req): Mlflow<SearchRuns>,
) -> ApiResult<Json<Value>> {
    let max = super::max_results_arg(req.max_results, SEARCH_DEFAULT, SEARCH_MAX)?;
    let filter = parse_run_filter(req.filter.as_deref().unwrap_or(""))?;
    let order_by = parse_run_order_by(&req.order_by.unwrap_or_default())?;
    let token = super::page_token_arg(req.page_token)?;
    let page = app
        .metadata
        .search_runs(
            &req.experiment_ids.unwrap_or_default(),
            &filter,
            &order_by,
            view_arg(req.run_view_type)?,
            max,
            token.as_ref(),
        )
        .await?;
    Ok(super::paged("runs", page, |x| json!(wire::run(x))))
}

/// This module's endpoints, relative to `/api/2.0/mlflow`.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/experiments/create", post(create_experiment))
        .route("/experiments/get", get(get_experiment))
        .route(
            "/experiments/search",
            post(search_experiments).get(search_experiments),
        )
        .route("/runs/search", post(search_runs).get(search_runs))
        .route("/experiments/get-by-name", get(get_experiment_by_name))
        .route("/experiments/update", post(update_experiment))
        .route("/experiments/delete", post(delete_experiment))
        .route("/experiments/restore", post(restore_experiment))
        .route("/experiments/set-experiment-tag", post(set_experiment_tag))
        .route(
            "/experiments/delete-experiment-tag",
            post(delete_experiment_tag),
        )
        .route("/runs/create", post(create_run))
        .route("/runs/get", get(get_run))
        .route("/runs/update", post(update_run))
        .route("/runs/delete", post(delete_run))
        .route("/runs/restore", post(restore_run))
        .route("/runs/log-metric", post(log_metric))
        .route("/runs/log-parameter", post(log_param))
        .route("/runs/set-tag", post(set_tag))
        .route("/runs/delete-tag", post(delete_tag))
        .route("/runs/log-batch", post(log_batch))
        .route("/runs/log-inputs", post(log_inputs))
        .route("/runs/outputs", post(log_outputs))
        .route("/metrics/get-history", get(get_metric_history))
        .route("/artifacts/list", get(list_run_artifacts))
}

//! Routes. Every MLflow endpoint is served under `/api/2.0/mlflow` and, for the MLflow UI and
//! tools that use it, `/ajax-api/2.0/mlflow`.

pub(crate) mod artifact_roots;
pub mod artifacts;
mod logged_models;
pub(crate) mod multipart;
mod registry;
mod tracking;

use crate::error::{ApiError, ApiResult};
use crate::wire::TagIn;
use arca_core::model::Tag;
use arca_core::search::PageToken;
use axum::Json;
use serde_json::{Value, json};

/// The empty message most mutations answer with.
pub(crate) fn ok() -> ApiResult<Json<Value>> {
    Ok(Json(json!({})))
}

pub(crate) fn required(value: Option<String>, field: &str) -> ApiResult<String> {
    match value {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(ApiError::missing(field)),
    }
}

pub(crate) fn tags_arg(tags: Option<Vec<TagIn>>) -> ApiResult<Vec<Tag>> {
    tags.unwrap_or_default()
        .into_iter()
        .map(|t| {
            let key = required(t.key, "key")?;
            // MLflow stores a tag sent without a value with the empty value.
            Ok(Tag::parse(&key, t.value.as_deref().unwrap_or(""))?)
        })
        .collect()
}

pub(crate) fn max_results_arg(value: Option<i64>, default: u64, max: u64) -> ApiResult<u64> {
    let Some(n) = value else {
        return Ok(default);
    };
    match u64::try_from(n) {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(ApiError::invalid(format!(
            "Invalid value {n} for parameter 'max_results' supplied: it must be between 1 and {max}."
        ))),
    }
}

pub(crate) fn page_token_arg(value: Option<String>) -> ApiResult<Option<PageToken>> {
    Ok(PageToken::from_request(value.as_deref())?)
}

use crate::AppState;
use axum::Router;
use axum::routing::{get, post};

pub fn mlflow_routes() -> Router<AppState> {
    use artifact_roots::*;
    use axum::routing::{delete, patch};
    use logged_models::*;
    use registry::*;
    use tracking::*;
    Router::new()
        .route("/experiments/create", post(create_experiment))
        .route("/experiments/get", get(get_experiment))
        .route(
            "/experiments/search",
            post(search_experiments).get(search_experiments),
        )
        .route("/runs/search", post(search_runs).get(search_runs))
        .route("/logged-models/search", post(search_logged_models))
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
        .route("/artifacts/list", get(list_run_artifacts))
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

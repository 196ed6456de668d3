//! Where a run's, a logged model's or a model version's files are in Arca's artifact store, and
//! the tracking API's own listings of them (`artifacts/list`, logged-model directories).
//!
//! Only `mlflow-artifacts:` locations are in the store; a run of an experiment whose
//! `artifact_location` points elsewhere (`s3://...`) has its files where the client put them,
//! and Arca, which never fetches a user-supplied URL, lists nothing for it.

use super::required;
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Mlflow, RequestMessage};
use arca_core::artifact_path::ArtifactPath;
use arca_core::model::VersionNumber;
use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};

/// The store path of an `mlflow-artifacts:/<path>` (or `mlflow-artifacts://host/<path>`) URI.
pub(crate) fn store_path_of(uri: &str) -> Option<Option<ArtifactPath>> {
    let rest = uri.strip_prefix("mlflow-artifacts:")?;
    let path = match rest.strip_prefix("//") {
        Some(authority_and_path) => &authority_and_path[authority_and_path.find('/')?..],
        None => rest,
    };
    ArtifactPath::parse_dir(path.trim_start_matches('/')).ok()
}

/// The artifact root of exactly one of: a run, a logged model, a model version.
pub(crate) async fn resolve_root(
    state: &AppState,
    run_id: Option<String>,
    model_id: Option<String>,
    name: Option<String>,
    version: Option<String>,
) -> ApiResult<String> {
    let given = [run_id.is_some(), model_id.is_some(), name.is_some()]
        .iter()
        .filter(|g| **g)
        .count();
    if given != 1 {
        return Err(ApiError::invalid(
            "Name exactly one of: run_id, model_id, or name with version.",
        ));
    }
    if let Some(run_id) = run_id {
        return Ok(state.metadata.get_run(&run_id).await?.info.artifact_uri);
    }
    if let Some(model_id) = model_id {
        return Ok(state
            .metadata
            .get_logged_model(&model_id)
            .await?
            .artifact_uri);
    }
    let name = required(name, "name")?;
    let version = VersionNumber::parse(&required(version, "version")?)?;
    Ok(state
        .metadata
        .get_model_version_download_uri(&name, version)
        .await?)
}

/// `{root_uri, files: [{path, is_dir, file_size}]}` with paths relative to the root, as the
/// tracking API's `artifacts/list` answers.
async fn listing(state: &AppState, root_uri: &str, sub: Option<&str>) -> ApiResult<Value> {
    let mut body = json!({ "root_uri": root_uri });
    let Some(root) = store_path_of(root_uri) else {
        return Ok(body);
    };
    let sub = ArtifactPath::parse_dir(sub.unwrap_or(""))?;
    let dir = match (&root, &sub) {
        (Some(root), Some(sub)) => Some(root.join(sub)?),
        (Some(root), None) => Some(root.clone()),
        (None, sub) => sub.clone(),
    };
    let entries = state
        .artifacts
        .list(dir.as_ref())
        .await
        .map_err(|e| ApiError::from(arca_core::Error::Internal(anyhow::Error::new(e))))?;
    let files: Vec<Value> = entries
        .into_iter()
        .map(|e| {
            let path = match &sub {
                Some(sub) => format!("{}/{}", sub.as_str(), e.name),
                None => e.name.clone(),
            };
            match e.size {
                Some(size) if !e.is_dir => {
                    json!({"path": path, "is_dir": false, "file_size": size})
                }
                _ => json!({"path": path, "is_dir": true}),
            }
        })
        .collect();
    if !files.is_empty() {
        body["files"] = json!(files);
    }
    Ok(body)
}

#[derive(Deserialize)]
pub struct ListRunArtifacts {
    run_id: Option<String>,
    run_uuid: Option<String>,
    path: Option<String>,
}
impl RequestMessage for ListRunArtifacts {}

pub async fn list_run_artifacts(
    State(state): State<AppState>,
    Mlflow(req): Mlflow<ListRunArtifacts>,
) -> ApiResult<Json<Value>> {
    let run_id = required(
        req.run_id.filter(|r| !r.is_empty()).or(req.run_uuid),
        "run_id",
    )?;
    let root = state.metadata.get_run(&run_id).await?.info.artifact_uri;
    listing(&state, &root, req.path.as_deref()).await.map(Json)
}

#[derive(Deserialize)]
pub struct ListModelArtifacts {
    artifact_directory_path: Option<String>,
}
impl RequestMessage for ListModelArtifacts {}

pub async fn list_logged_model_artifacts(
    State(state): State<AppState>,
    Path(model_id): Path<String>,
    Mlflow(req): Mlflow<ListModelArtifacts>,
) -> ApiResult<Json<Value>> {
    let root = state
        .metadata
        .get_logged_model(&model_id)
        .await?
        .artifact_uri;
    listing(&state, &root, req.artifact_directory_path.as_deref())
        .await
        .map(Json)
}

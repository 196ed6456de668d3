//! Large files the way MLflow's artifact proxy moves them: multipart uploads through presigned
//! part URLs (`POST /api/2.0/mlflow-artifacts/mpu/{create,complete,abort}/<dir>`) and presigned
//! downloads (`GET /api/2.0/mlflow-artifacts/presigned/<path>`), also under `/ajax-api`. The
//! bytes go straight between the client and the bucket; see `arca_artifacts::direct` for which
//! stores can.
//!
//! The wire shapes are the real client's (`HttpArtifactRepository`): the URL names the
//! directory and the body's `path` is the client's *local* file, of which only the base name
//! counts, as in MLflow's S3 repository. The file's artifact path goes through the same
//! [`ArtifactPath::parse`] gate as every proxy route.
//!
//! Where the store cannot presign, the answer is MLflow's own: 501 `NOT_IMPLEMENTED` with the
//! message the client matches on (`Multipart upload is not supported ...`) to fall back to a
//! plain PUT through the server; a presigned download's 501 makes it fall back to a plain GET
//! when `MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD` is set. Checks come in MLflow's order: the
//! path, the request's fields, then the store's support.
//!
//! Beyond MLflow (whose S3 handlers answer these with a 500): an unknown `upload_id` is a 404,
//! and parts that are missing, repeated or refused by the bucket are a 400.

use crate::AppState;
use crate::api::artifacts::{content_disposition, path_after, store_error};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Mlflow, RequestMessage, opt_int64};
use arca_artifacts::{Error as StoreError, MAX_PARTS};
use arca_core::ErrorCode;
use arca_core::artifact_path::ArtifactPath;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

/// MLflow's `_UnsupportedMultipartUploadException.MESSAGE`: the client falls back to a plain
/// upload only when the message starts with exactly this.
const UPLOAD_UNSUPPORTED: &str =
    "Multipart upload is not supported for the current artifact repository";
const DOWNLOAD_UNSUPPORTED: &str =
    "Multipart download is not supported for the current artifact repository";

pub(crate) fn multipart_routes() -> Router<AppState> {
    let mut router = Router::new();
    for base in ["/api", "/ajax-api"] {
        let routes = format!("{base}/2.0/mlflow-artifacts");
        router = router
            .route(
                &format!("{routes}/mpu/create/{{*path}}"),
                post(create_multipart_upload),
            )
            .route(
                &format!("{routes}/mpu/complete/{{*path}}"),
                post(complete_multipart_upload),
            )
            .route(
                &format!("{routes}/mpu/abort/{{*path}}"),
                post(abort_multipart_upload),
            )
            .route(
                &format!("{routes}/presigned/{{*path}}"),
                get(presigned_download),
            );
    }
    router
}

fn not_implemented(message: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_IMPLEMENTED,
        ErrorCode::NotImplemented,
        message,
    )
}

/// The file an upload request is about: the URL's directory and the base name of the client's
/// local file (`path` in the body, required).
fn upload_target(dir: &ArtifactPath, local_file: Option<String>) -> ApiResult<ArtifactPath> {
    let local_file = crate::api::required(local_file, "path")?;
    let name = local_file.rsplit('/').next().unwrap_or_default();
    if name.is_empty() {
        return Err(ApiError::invalid(format!(
            "Invalid value '{local_file}' for parameter 'path': it must name a file, whose base \
             name becomes the artifact's name."
        )));
    }
    Ok(ArtifactPath::parse(&format!("{dir}/{name}"))?)
}

fn upload_id_arg(upload_id: Option<String>) -> ApiResult<String> {
    crate::api::required(upload_id, "upload_id")
}

#[derive(Deserialize)]
pub struct CreateMultipartUpload {
    path: Option<String>,
    #[serde(default, deserialize_with = "opt_int64")]
    num_parts: Option<i64>,
}

impl RequestMessage for CreateMultipartUpload {}

async fn create_multipart_upload(
    State(state): State<AppState>,
    uri: Uri,
    Mlflow(req): Mlflow<CreateMultipartUpload>,
) -> ApiResult<Json<Value>> {
    let dir = path_after(&uri, "mpu/create")?;
    let target = upload_target(&dir, req.path)?;
    if !state.artifacts.supports_direct_uploads() {
        return Err(not_implemented(UPLOAD_UNSUPPORTED));
    }
    let num_parts = req.num_parts.unwrap_or(0);
    let parts = usize::try_from(num_parts)
        .ok()
        .filter(|n| (1..=MAX_PARTS).contains(n))
        .ok_or_else(|| {
            ApiError::invalid(format!(
                "Invalid value {num_parts} for parameter 'num_parts' supplied: it must be between \
                 1 and {MAX_PARTS}."
            ))
        })?;
    let upload = state
        .artifacts
        .start_direct_upload(&target, parts)
        .await
        .map_err(|e| match e {
            StoreError::Unsupported(_) => not_implemented(UPLOAD_UNSUPPORTED),
            e => store_error(e),
        })?;
    let credentials: Vec<Value> = upload
        .part_urls
        .into_iter()
        .zip(1..)
        .map(|(url, part_number)| json!({"url": url, "part_number": part_number}))
        .collect();
    Ok(Json(
        json!({"upload_id": upload.upload_id, "credentials": credentials}),
    ))
}

#[derive(Deserialize)]
pub struct UploadedPart {
    #[serde(default, deserialize_with = "opt_int64")]
    part_number: Option<i64>,
    etag: Option<String>,
}

#[derive(Deserialize)]
pub struct CompleteMultipartUpload {
    path: Option<String>,
    upload_id: Option<String>,
    parts: Option<Vec<UploadedPart>>,
}

impl RequestMessage for CompleteMultipartUpload {}

async fn complete_multipart_upload(
    State(state): State<AppState>,
    uri: Uri,
    Mlflow(req): Mlflow<CompleteMultipartUpload>,
) -> ApiResult<Json<Value>> {
    let dir = path_after(&uri, "mpu/complete")?;
    let target = upload_target(&dir, req.path)?;
    let parts = req.parts.ok_or_else(|| ApiError::missing("parts"))?;
    if !state.artifacts.supports_direct_uploads() {
        return Err(not_implemented(UPLOAD_UNSUPPORTED));
    }
    let upload_id = upload_id_arg(req.upload_id)?;
    let etags = etags_in_order(parts)?;

    // The old file's digest must not outlive its bytes; until the new one is recorded the file
    // is served unverified, never checked against the wrong record. When the store refused the
    // completion the old bytes are still there, and so is their record again.
    let pending = state.metadata.begin_artifact_record(&target).await?;
    let previous = state.metadata.artifact_digest(&target).await?;
    state.metadata.forget_artifacts(&target).await?;
    let stored = match state
        .artifacts
        .complete_direct_upload(&target, &upload_id, etags)
        .await
    {
        Ok(stored) => stored,
        Err(err) => {
            let unchanged = matches!(
                err,
                StoreError::NoSuchUpload(_) | StoreError::PartsRejected(_)
            );
            if let Some(previous) = previous.filter(|_| unchanged) {
                let size = u64::try_from(previous.size).unwrap_or_default();
                let _ = state
                    .metadata
                    .record_artifact(&target, size, &previous.sha256)
                    .await;
            }
            return Err(store_error(err));
        }
    };
    pending.record(stored.size, &stored.sha256).await?;
    Ok(Json(json!({})))
}

/// The ETags by part number, which must run 1, 2, ... with none missing or repeated: the store
/// assembles the file in exactly this order.
fn etags_in_order(mut parts: Vec<UploadedPart>) -> ApiResult<Vec<String>> {
    parts.sort_by_key(|p| p.part_number);
    parts
        .into_iter()
        .zip(1..)
        .map(|(part, expected)| {
            if part.part_number != Some(expected) {
                return Err(ApiError::invalid(format!(
                    "Invalid 'parts': part numbers must run from 1 with none missing or repeated \
                     (part {expected} is {}).",
                    match part.part_number {
                        Some(n) => format!("followed by {n}"),
                        None => "missing its part_number".to_owned(),
                    }
                )));
            }
            part.etag.filter(|e| !e.is_empty()).ok_or_else(|| {
                ApiError::invalid(format!(
                    "Invalid 'parts': part {expected} has no etag; send the ETag header the store \
                     answered to its upload."
                ))
            })
        })
        .collect()
}

#[derive(Deserialize)]
pub struct AbortMultipartUpload {
    path: Option<String>,
    upload_id: Option<String>,
}

impl RequestMessage for AbortMultipartUpload {}

async fn abort_multipart_upload(
    State(state): State<AppState>,
    uri: Uri,
    Mlflow(req): Mlflow<AbortMultipartUpload>,
) -> ApiResult<Json<Value>> {
    let dir = path_after(&uri, "mpu/abort")?;
    let target = upload_target(&dir, req.path)?;
    if !state.artifacts.supports_direct_uploads() {
        return Err(not_implemented(UPLOAD_UNSUPPORTED));
    }
    let upload_id = upload_id_arg(req.upload_id)?;
    state
        .artifacts
        .abort_direct_upload(&target, &upload_id)
        .await
        .map_err(store_error)?;
    Ok(Json(json!({})))
}

async fn presigned_download(State(state): State<AppState>, uri: Uri) -> ApiResult<Json<Value>> {
    let path = path_after(&uri, "presigned")?;
    if !state.artifacts.supports_presigned_downloads() {
        return Err(not_implemented(DOWNLOAD_UNSUPPORTED));
    }
    let disposition = content_disposition(path.file_name());
    let download = state
        .artifacts
        .presigned_download(&path, disposition.to_str().unwrap_or("attachment"))
        .await
        .map_err(|e| match e {
            StoreError::Unsupported(_) => not_implemented(DOWNLOAD_UNSUPPORTED),
            e => store_error(e),
        })?;
    Ok(Json(
        json!({"url": download.url, "headers": {}, "file_size": download.size}),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(n: Option<i64>, etag: &str) -> UploadedPart {
        UploadedPart {
            part_number: n,
            etag: Some(etag.to_owned()),
        }
    }

    #[test]
    fn parts_are_put_in_order_and_must_be_complete() {
        let etags = etags_in_order(vec![part(Some(2), "b"), part(Some(1), "a")]).unwrap();
        assert_eq!(etags, ["a", "b"]);
        for bad in [
            vec![part(Some(1), "a"), part(Some(3), "c")],
            vec![part(Some(1), "a"), part(Some(1), "a")],
            vec![part(Some(0), "a")],
            vec![part(None, "a")],
            vec![part(Some(1), "")],
        ] {
            assert_eq!(
                etags_in_order(bad).unwrap_err().status(),
                StatusCode::BAD_REQUEST
            );
        }
    }

    #[test]
    fn the_target_is_the_directory_and_the_local_file_name() {
        let dir = ArtifactPath::parse("0/run/artifacts/sub").unwrap();
        assert_eq!(
            upload_target(&dir, Some("/home/me/model.bin".into()))
                .unwrap()
                .as_str(),
            "0/run/artifacts/sub/model.bin"
        );
        assert_eq!(
            upload_target(&dir, Some("model.bin".into()))
                .unwrap()
                .as_str(),
            "0/run/artifacts/sub/model.bin"
        );
        for bad in [
            None,
            Some(""),
            Some("/tmp/"),
            Some("/tmp/.."),
            Some("a\\..\\b"),
        ] {
            assert_eq!(
                upload_target(&dir, bad.map(str::to_owned))
                    .unwrap_err()
                    .status(),
                StatusCode::BAD_REQUEST,
                "{bad:?}"
            );
        }
    }
}

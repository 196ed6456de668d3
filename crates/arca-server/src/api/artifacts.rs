//! The MLflow artifact proxy (`/api/2.0/mlflow-artifacts/artifacts/...`), `server-info`, and
//! Arca's artifact manifest (`/api/2.0/arca/artifacts/manifest`).
//!
//! The `mlflow` client reads and writes every `mlflow-artifacts:/` URI through these routes, so
//! the model files never need a client with storage credentials.
//!
//! Paths: the artifact path is taken from the raw request path, percent-decoded exactly once
//! here, and parsed into an [`ArtifactPath`] before anything else happens; a path that fails is
//! a 400 and no store or database call is made. Axum's own `Path` extractor is not used because
//! it answers invalid UTF-8 with a plain-text 400, not MLflow's JSON error.
//!
//! Uploads stream straight into the store (no body limit, constant memory), and the SHA-256 and
//! size computed on the way are recorded once the store has committed the file; committing and
//! recording run under a per-path lock, so racing uploads leave the record of the file that
//! stayed. Downloads are
//! checked against that record as they stream; on a mismatch the response stops short of its
//! `Content-Length`, so the client sees a broken transfer, never a corrupted file in full.
//!
//! Files are served as attachments with `X-Content-Type-Options: nosniff`, and types a browser
//! would execute (HTML, SVG, JavaScript) go out as `text/plain`: an uploaded artifact must not
//! become a script running on the registry's origin.

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Mlflow, RequestMessage};
use arca_artifacts::{Error as StoreError, StoreFailure, StoredFile};
use arca_core::ErrorCode;
use arca_core::artifact_path::ArtifactPath;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};

/// The artifact routes, under `/api` and `/ajax-api` alike.
pub fn artifact_routes() -> Router<AppState> {
    let mut router = Router::new();
    for base in ["/api", "/ajax-api"] {
        router = router
            .route(
                &format!("{base}/2.0/mlflow-artifacts/artifacts"),
                get(list_artifacts),
            )
            .route(
                &format!("{base}/2.0/mlflow-artifacts/artifacts/{{*path}}"),
                get(download_artifact)
                    .put(upload_artifact)
                    .delete(delete_artifact)
                    .layer(DefaultBodyLimit::disable()),
            )
            .route(&format!("{base}/3.0/mlflow/server-info"), get(server_info))
            .route(
                &format!("{base}/2.0/arca/artifacts/manifest"),
                get(artifact_manifest),
            );
    }
    router
        .merge(crate::api::multipart::multipart_routes())
        .layer(axum::middleware::from_fn(
            crate::api::refuse_cross_site_writes,
        ))
}

/// The artifact path of a proxy request: what follows the route prefix, decoded once.
fn artifact_path(uri: &Uri) -> ApiResult<ArtifactPath> {
    path_after(uri, "artifacts")
}

/// The artifact path after `/api/2.0/mlflow-artifacts/<route>/` (or `/ajax-api/...`), decoded
/// once and parsed.
pub(crate) fn path_after(uri: &Uri, route: &str) -> ApiResult<ArtifactPath> {
    let raw = [
        "/api/2.0/mlflow-artifacts/",
        "/ajax-api/2.0/mlflow-artifacts/",
    ]
    .iter()
    .find_map(|base| {
        uri.path()
            .strip_prefix(base)?
            .strip_prefix(route)?
            .strip_prefix('/')
    })
    .ok_or_else(|| ApiError::invalid("Missing artifact path."))?;
    let decoded = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| {
            ApiError::invalid(format!(
                "Invalid artifact path '{raw}': it is not valid UTF-8 once percent-decoded."
            ))
        })?;
    Ok(ArtifactPath::parse(&decoded)?)
}

pub(crate) fn store_error(err: StoreError) -> ApiError {
    match err {
        StoreError::NoSuchUpload(_) => ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::ResourceDoesNotExist,
            err.to_string(),
        ),
        StoreError::PartsRejected(_) => ApiError::invalid(err.to_string()),
        StoreError::Unsupported(_) => ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            ErrorCode::NotImplemented,
            err.to_string(),
        ),
        StoreError::NotFound(path) => ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::ResourceDoesNotExist,
            format!("No such artifact: '{path}'"),
        ),
        StoreError::Conflict(_) => ApiError::invalid(err.to_string()),
        StoreError::Body(source) => {
            tracing::info!(error = %source, "an artifact upload was interrupted; nothing was stored");
            ApiError::invalid(format!(
                "The upload was interrupted before the body ended ({source}); nothing was stored."
            ))
        }
        other => match other.store_failure() {
            Some(failure) => store_failure(failure, &other),
            None => arca_core::Error::Internal(anyhow::Error::new(other)).into(),
        },
    }
}

/// A failing store is the operator's to fix or wait out, so the answer says which: a 503 the
/// client retries while the store is unreachable, and a 507 it does not retry when the disk is
/// full or read-only (MLflow answers these with a 500 and a traceback). An upload that fails
/// this way has left nothing behind, and no version or record was written for it.
pub(crate) fn store_failure(failure: StoreFailure, err: &StoreError) -> ApiError {
    tracing::warn!(error = ?err, ?failure, "the artifact store failed");
    let (status, code, message) = match failure {
        StoreFailure::Unreachable => (
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::TemporarilyUnavailable,
            "The artifact store is unavailable or not answering; try again shortly.",
        ),
        StoreFailure::Full => (
            StatusCode::INSUFFICIENT_STORAGE,
            ErrorCode::InternalError,
            "The artifact store is full (no space left on its disk or quota); nothing was stored.",
        ),
        StoreFailure::ReadOnly => (
            StatusCode::INSUFFICIENT_STORAGE,
            ErrorCode::InternalError,
            "The artifact store refused the write: its folder is read-only or not writable by \
             the server; nothing was stored.",
        ),
    };
    ApiError::new(status, code, message)
}

async fn upload_artifact(
    State(state): State<AppState>,
    uri: Uri,
    body: Body,
) -> ApiResult<Response> {
    let path = artifact_path(&uri)?;
    let staged = state
        .artifacts
        .stage(&path, body.into_data_stream())
        .await
        .map_err(store_error)?;
    // Of racing uploads to this path, the one made visible last is the one recorded last.
    let pending = state.metadata.begin_artifact_record(&path).await?;
    let stored = staged.commit().await.map_err(store_error)?;
    pending.record(stored.size, &stored.sha256).await?;
    state.metrics.artifact_bytes_in(stored.size);
    Ok(StatusCode::OK.into_response())
}

async fn download_artifact(State(state): State<AppState>, uri: Uri) -> ApiResult<Response> {
    let path = artifact_path(&uri)?;
    let recorded = state.metadata.artifact_digest(&path).await?;
    let mut download = state.artifacts.get(&path).await.map_err(store_error)?;
    if let Some(recorded) = recorded {
        let expected = StoredFile {
            size: u64::try_from(recorded.size).unwrap_or_default(),
            sha256: recorded.sha256,
        };
        download = download.verified(&path, expected);
    }
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static(content_type(path.file_name())),
        ),
        (header::CONTENT_LENGTH, HeaderValue::from(download.size)),
        (
            header::CONTENT_DISPOSITION,
            content_disposition(path.file_name()),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
    ];
    let metrics = state.metrics.clone();
    let counted = download.stream.inspect(move |chunk| {
        if let Ok(bytes) = chunk {
            metrics.artifact_bytes_out(bytes.len() as u64);
        }
    });
    Ok((headers, Body::from_stream(counted)).into_response())
}

async fn delete_artifact(State(state): State<AppState>, uri: Uri) -> ApiResult<Json<Value>> {
    let path = artifact_path(&uri)?;
    state.artifacts.delete(&path).await.map_err(store_error)?;
    state.metadata.forget_artifacts(&path).await?;
    Ok(Json(json!({})))
}

#[derive(Deserialize)]
pub struct ListArtifacts {
    path: Option<String>,
}

impl RequestMessage for ListArtifacts {}

async fn list_artifacts(
    State(state): State<AppState>,
    Mlflow(req): Mlflow<ListArtifacts>,
) -> ApiResult<Json<Value>> {
    let dir = ArtifactPath::parse_dir(req.path.as_deref().unwrap_or(""))?;
    let entries = state
        .artifacts
        .list(dir.as_ref())
        .await
        .map_err(store_error)?;
    if entries.is_empty() {
        return Ok(Json(json!({})));
    }
    let files: Vec<Value> = entries
        .into_iter()
        .map(|e| match e.size {
            Some(size) if !e.is_dir => json!({"path": e.name, "is_dir": false, "file_size": size}),
            _ => json!({"path": e.name, "is_dir": true}),
        })
        .collect();
    Ok(Json(json!({ "files": files })))
}

/// What the `mlflow` client asks before transferring artifacts. It uses multipart uploads and
/// presigned downloads (see [`crate::api::multipart`]) when these say so, unless the
/// `MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD/DOWNLOAD` switches decide for it.
async fn server_info(State(state): State<AppState>) -> Json<Value> {
    Json(json!({
        "store_type": "SqlStore",
        "workspaces_enabled": false,
        "multipart_uploads_enabled": state.artifacts.supports_direct_uploads(),
        "multipart_downloads_enabled": state.artifacts.supports_presigned_downloads(),
        "artifact_serving_enabled": true,
        "artifacts_presigned_only": false,
    }))
}

/// What the manifest is of: a store path, or a run, a logged model or a model version; and
/// which page.
#[derive(Deserialize)]
pub struct ArtifactManifest {
    path: Option<String>,
    run_id: Option<String>,
    model_id: Option<String>,
    name: Option<String>,
    version: Option<String>,
    #[serde(default, deserialize_with = "crate::extract::opt_int64")]
    max_results: Option<i64>,
    page_token: Option<String>,
}

impl RequestMessage for ArtifactManifest {}

/// Files in a manifest page unless `max_results` says otherwise, and the most it may say.
pub const MANIFEST_PAGE_DEFAULT: u64 = 1000;
pub const MANIFEST_PAGE_MAX: u64 = 10_000;

async fn artifact_manifest(
    State(state): State<AppState>,
    Mlflow(req): Mlflow<ArtifactManifest>,
) -> ApiResult<Json<Value>> {
    let limit =
        crate::api::max_results_arg(req.max_results, MANIFEST_PAGE_DEFAULT, MANIFEST_PAGE_MAX)?;
    let after = manifest_token(req.page_token.as_deref())?;
    let dir = match req.path {
        Some(path) => ArtifactPath::parse_dir(&path)?,
        None => {
            let root = crate::api::artifact_roots::resolve_root(
                &state,
                req.run_id,
                req.model_id,
                req.name,
                req.version,
            )
            .await?;
            crate::api::artifact_roots::store_path_of(&root).ok_or_else(|| {
                ApiError::invalid(format!(
                    "The files of this entity are at '{root}', outside Arca's artifact store, so \
                     Arca has no manifest of them."
                ))
            })?
        }
    };
    let limit = u32::try_from(limit).unwrap_or(u32::MAX);
    manifest_page(&state, dir.as_ref(), after.as_ref(), limit)
        .await
        .map(Json)
}

/// A manifest page token: the hex of the last path of the page before. Hex keeps it URL-safe
/// without escaping; what it holds is still checked as any artifact path is.
fn manifest_token(raw: Option<&str>) -> ApiResult<Option<ArtifactPath>> {
    let Some(raw) = raw.filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    hex::decode(raw.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|path| ArtifactPath::parse(&path).ok())
        .map(Some)
        .ok_or_else(|| {
            ApiError::invalid(format!(
                "Invalid page token '{raw}': pass the next_page_token of a previous manifest \
                 page unchanged."
            ))
        })
}

/// `{"files": [{"path", "size", "sha256"}], "next_page_token"}` for at most `limit` recorded
/// files below `dir` (the whole store for `None`), at any depth, by path, after the path
/// `after`; paths are relative to `dir`. `next_page_token` only when there are more. `{}` when
/// there are none, as MLflow renders an empty list.
pub async fn manifest_page(
    state: &AppState,
    dir: Option<&ArtifactPath>,
    after: Option<&ArtifactPath>,
    limit: u32,
) -> ApiResult<Value> {
    let page = state
        .metadata
        .artifact_manifest_page(dir, after.map(ArtifactPath::as_str), limit)
        .await?;
    if page.files.is_empty() {
        return Ok(json!({}));
    }
    let files: Vec<Value> = page
        .files
        .into_iter()
        .map(|d| {
            let relative = match dir {
                Some(dir) => d
                    .path
                    .strip_prefix(dir.as_str())
                    .and_then(|rest| rest.strip_prefix('/'))
                    .unwrap_or(&d.path)
                    .to_owned(),
                None => d.path,
            };
            json!({"path": relative, "size": d.size, "sha256": d.sha256})
        })
        .collect();
    let mut body = json!({ "files": files });
    if let Some(last) = page.next_after {
        body["next_page_token"] = json!(hex::encode(last));
    }
    Ok(body)
}

/// A small table of the types the MLflow flavors write; everything else is a byte stream.
fn content_type(file_name: &str) -> &'static str {
    let extension = file_name
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "txt" | "log" | "md" | "py" | "cfg" | "ini" | "toml" | "html" | "htm" | "svg" | "js"
        | "mjs" | "xml" => "text/plain; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "json" => "application/json",
        "yaml" | "yml" => "application/yaml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "pdf" => "application/pdf",
        "gz" | "tgz" => "application/gzip",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    }
}

/// `attachment; filename="..."`, with an RFC 5987 `filename*` for names that are not plain ASCII.
pub(crate) fn content_disposition(file_name: &str) -> HeaderValue {
    let plain = file_name
        .chars()
        .all(|c| (c.is_ascii_graphic() && c != '"' && c != '\\') || c == ' ');
    let value = if plain {
        format!("attachment; filename=\"{file_name}\"")
    } else {
        let ascii: String = file_name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "._-".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let encoded =
            percent_encoding::utf8_percent_encode(file_name, percent_encoding::NON_ALPHANUMERIC);
        format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
    };
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_never_let_a_browser_run_an_artifact() {
        assert_eq!(content_type("notes.TXT"), "text/plain; charset=utf-8");
        assert_eq!(content_type("report.html"), "text/plain; charset=utf-8");
        assert_eq!(content_type("x.svg"), "text/plain; charset=utf-8");
        assert_eq!(content_type("MLmodel"), "application/octet-stream");
        assert_eq!(content_type("model.skops"), "application/octet-stream");
        assert_eq!(content_type("conda.yaml"), "application/yaml");
    }

    #[test]
    fn dispositions_quote_plain_names_and_encode_others() {
        assert_eq!(
            content_disposition("model.pkl"),
            "attachment; filename=\"model.pkl\""
        );
        assert_eq!(
            content_disposition("mödel \"1\".bin"),
            "attachment; filename=\"m_del__1_.bin\"; filename*=UTF-8''m%C3%B6del%20%221%22%2Ebin"
        );
    }

    #[test]
    fn proxy_paths_are_decoded_once_and_validated() {
        let ok: Uri = "/api/2.0/mlflow-artifacts/artifacts/0/a%20b/c.txt"
            .parse()
            .unwrap();
        assert_eq!(artifact_path(&ok).unwrap().as_str(), "0/a b/c.txt");
        for bad in [
            "/api/2.0/mlflow-artifacts/artifacts/../x",
            "/api/2.0/mlflow-artifacts/artifacts/%2e%2e/x",
            "/api/2.0/mlflow-artifacts/artifacts/%252e%252e/x",
            "/api/2.0/mlflow-artifacts/artifacts//etc/passwd",
            "/api/2.0/mlflow-artifacts/artifacts/a%00b",
            "/api/2.0/mlflow-artifacts/artifacts/a%5cb",
            "/api/2.0/mlflow-artifacts/artifacts/a%FFb",
            "/api/2.0/mlflow-artifacts/artifacts/a%3Fb",
            "/api/2.0/mlflow-artifacts/artifacts/a%23b",
        ] {
            let uri: Uri = bad.parse().unwrap();
            assert_eq!(
                artifact_path(&uri).unwrap_err().status(),
                StatusCode::BAD_REQUEST,
                "{bad}"
            );
        }
    }
}
